"""What a reader who clicks "launch Binder" gets: a clean environment built from exactly the
binder/ files, in which every chapter executes from top to bottom.

Binder's own image adds R from binder/apt.txt; here R comes from the system when present.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

EXECUTE = r"""
import sys, jupytext, nbclient
path, cwd = sys.argv[1], sys.argv[2]
nb = jupytext.read(path)
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
print("executed", path, len(nb.cells), "cells")
"""


def chapters() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    names = re.findall(r"file: (\S+)", toc)
    return [n for n in names if "code-cell" in (ROOT / f"{n}.md").read_text()]


def test_binder_files_use_the_canonical_requirements():
    assert (ROOT / "binder" / "requirements.txt").read_text().strip().endswith("-r ../requirements.txt")
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    reqs = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^jupytext==", reqs, re.M), "jupytext opens MyST chapters as notebooks in Binder"
    apt = (ROOT / "binder" / "apt.txt").read_text().split()
    assert {"r-base-core", "r-cran-lme4"} <= set(apt)
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("binder") / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", "binder/requirements.txt"], cwd=ROOT, check=True, timeout=1800)
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
    env.pop("LME_BOOK_BUILD", None)
    subprocess.run(["bash", "binder/postBuild"], cwd=ROOT, check=True, env=env, timeout=600)
    return env_dir


@pytest.mark.parametrize("chapter", chapters())
def test_chapter_executes_in_the_binder_environment(binder_env, chapter):
    python = binder_env / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("LME_BOOK_BUILD", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{binder_env / 'bin'}:{env['PATH']}"
    path = ROOT / f"{chapter}.md"
    proc = subprocess.run([str(python), "-c", EXECUTE, str(path), str(path.parent)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "executed" in proc.stdout
    assert sys.executable != str(python)
