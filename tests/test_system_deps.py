"""The system check of `make book` / `make test` (scripts/system-deps.sh) without root: it runs when
everything is present, or stops and names what to install; and its answer is cached.

The script runs as an unprivileged user (``nobody``, when the tests run as root and ``runuser`` is
there; else as the current non-root user), in a copy of the repository, with a PATH made of
links to the programs it may use, so that a program can be taken away.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT

BASICS = ["bash", "env", "cat", "head", "tail", "grep", "cksum", "stat", "readlink", "dirname", "mkdir", "mv", "id",
          "uname", "printf", "sed", "ls", "rm", "cp", "find", "sort", "tr"]


@pytest.fixture
def work():
    """A folder the unprivileged user can reach (pytest's own temporary folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="lme-system-deps-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot run the check as an unprivileged user")
    return ["runuser", "-u", "nobody", "--"]


def fake_path(folder: Path, programs: list[str]) -> Path:
    """A PATH folder with links to the named programs (those that exist here)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in BASICS + programs:
        found = shutil.which(name)
        if found and not (folder / name).exists():
            (folder / name).symlink_to(found)
    return folder


def run_check(work: Path, mode: str, programs: list[str], **env) -> subprocess.CompletedProcess:
    repo = work / "repo"
    if not repo.exists():
        (repo / "scripts").mkdir(parents=True)
        shutil.copy(ROOT / "scripts" / "system-deps.sh", repo / "scripts")
        for p in (repo, repo / "scripts"):
            os.chmod(p, 0o777)  # the unprivileged user writes its cache in the copy
    path = fake_path(work / f"bin-{'-'.join(programs) or 'none'}", programs)
    environ = {"PATH": str(path), "HOME": str(work), "LANG": "C.UTF-8", **env}
    return subprocess.run([*as_user(), shutil.which("env"), "-i", *(f"{k}={v}" for k, v in environ.items()),
                           "bash", str(repo / "scripts" / "system-deps.sh"), mode],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("mode", ["book", "test"])
def test_on_this_machine_without_root_it_runs_or_names_what_to_install(work, mode):
    """With this machine's own PATH, as an unprivileged user: exit 0, or exit 1 with instructions;
    never an attempt to install, never a permission error."""
    run_check(work, mode, [], LME_SYSTEM_CACHE="none")  # lays out the copy
    proc = subprocess.run([*as_user(), shutil.which("env"), "-i", f"PATH={os.environ['PATH']}", f"HOME={work}",
                           "LME_SYSTEM_CACHE=none", "bash", str(work / "repo" / "scripts" / "system-deps.sh"), mode],
                          capture_output=True, text=True, timeout=300)
    assert "apt-get" not in proc.stdout and "ermission denied" not in proc.stderr, proc.stderr
    if proc.returncode != 0:
        assert proc.returncode == 1 and "install the above, then run make again" in proc.stderr, proc.stderr


def test_without_npm_it_stops_and_names_what_to_install(work):
    proc = run_check(work, "book", ["apt-get", "dpkg-query"], LME_SYSTEM_CACHE="none")
    assert proc.returncode == 1
    assert "Node.js and npm are needed" in proc.stderr and "sudo apt-get install nodejs npm" in proc.stderr
    assert "install the above, then run make again" in proc.stderr


def test_names_the_homebrew_and_dnf_commands(work):
    fake = work / "fake"
    fake.mkdir()
    (fake / "uname").write_text("#!/bin/sh\necho Darwin\n")
    (fake / "dnf").write_text("#!/bin/sh\nexit 0\n")
    for f in fake.iterdir():
        f.chmod(0o755)
    run_check(work, "book", [], LME_SYSTEM_CACHE="none")  # lays out the copy
    path = fake_path(work / "bin-mac", [])
    (path / "uname").unlink()
    (path / "uname").symlink_to(fake / "uname")
    proc = subprocess.run([*as_user(), shutil.which("env"), "-i", f"PATH={path}", "LME_SYSTEM_CACHE=none",
                           "bash", str(work / "repo" / "scripts" / "system-deps.sh"), "book"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "brew install node" in proc.stderr, proc.stderr
    path = fake_path(work / "bin-fedora", [])
    (path / "dnf").symlink_to(fake / "dnf")
    proc = subprocess.run([*as_user(), shutil.which("env"), "-i", f"PATH={path}", "LME_SYSTEM_CACHE=none",
                           "bash", str(work / "repo" / "scripts" / "system-deps.sh"), "book"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "sudo dnf install nodejs npm" in proc.stderr, proc.stderr


def test_with_npm_but_without_r_the_book_builds_and_the_tests_stop(work):
    if not (shutil.which("npm") and shutil.which("node")):
        pytest.skip("Node.js and npm are not installed here")
    book = run_check(work, "book", ["npm", "node", "apt-get", "dpkg-query"], LME_SYSTEM_CACHE="none")
    assert book.returncode == 0, book.stderr
    assert "R with lme4 not found; the book will be built without its R output" in book.stderr
    assert "r-cran-lme4" in book.stderr and "install.packages" in book.stderr
    test = run_check(work, "test", ["npm", "node", "apt-get", "dpkg-query"], LME_SYSTEM_CACHE="none")
    assert test.returncode == 1
    assert "the tests need R with lme4" in test.stderr and "sudo apt-get install r-base-core" in test.stderr


def test_with_everything_present_it_runs_and_caches_the_answer(work):
    """The second call answers from the cache without starting R; a changed environment is checked again."""
    real = {p: shutil.which(p) for p in ("npm", "node", "Rscript")}
    if not all(real.values()):
        pytest.skip("Node.js and R are not both installed here")
    log = work / "rscript.log"
    log.write_text("")
    log.chmod(0o666)
    path = fake_path(work / "bin-all", ["npm", "node", "apt-get", "dpkg-query"])
    (path / "Rscript").write_text(f'#!/bin/sh\necho started >> "{log}"\nexec "{real["Rscript"]}" "$@"\n')
    (path / "Rscript").chmod(0o755)
    first = run_check(work, "book", [], PATH=str(path))
    if first.returncode != 0:
        pytest.skip(f"this machine lacks a package the check needs: {first.stderr.strip()[-300:]}")
    starts = log.read_text().count("started")
    assert starts == 1
    cache = work / "repo" / "_build" / ".system-deps-book"
    libs = (work / "repo" / "_build" / ".system-deps-book.libs").read_text().split()
    assert cache.is_file() and libs and all(Path(lib).is_dir() for lib in libs)
    again = run_check(work, "book", [], PATH=str(path))
    assert again.returncode == 0 and again.stderr == first.stderr
    assert log.read_text().count("started") == 1  # answered from the cache
    (path / "Rscript").write_text((path / "Rscript").read_text() + "# upgraded\n")  # R changed: asked again
    os.utime(path / "Rscript", (time.time() + 5, time.time() + 5))
    third = run_check(work, "book", [], PATH=str(path))
    assert third.returncode == 0 and log.read_text().count("started") == 2
