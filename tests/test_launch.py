"""Launch buttons: Binder and Colab open each chapter's executed (or student) notebook, published on
the notebooks branch; every URL comes from the one repository setting in _config.yml."""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from site_server import SITE

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
OWNER_REPO = REPO_URL.split("github.com/")[1]
SOURCE_BRANCH = CONFIG["repository"]["branch"]
NB_BRANCH = CONFIG["sphinx"]["config"]["lme_notebooks_branch"]
BINDER = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
COLAB = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
PUBLISHED = ROOT / "_build" / "notebooks"
HREF = re.compile(r"<a\s[^>]*href=[\"']([^\"']+)[\"']", re.I)


def chapters() -> list[str]:
    """Pages of the table of contents that execute code (the ones with launch buttons)."""
    toc = (ROOT / "_toc.yml").read_text()
    return [n for n in re.findall(r"file: (\S+)", toc) if "```{code-cell}" in (ROOT / f"{n}.md").read_text()]


def has_exercises(docname: str) -> bool:
    return "{solution-start}" in (ROOT / f"{docname}.md").read_text()


def launch_links(docname: str) -> list[str]:
    page = SITE / f"{docname}.html"
    if not page.exists():
        pytest.fail(f"{page} not built: run 'make book' first")
    links = [htmllib.unescape(h) for h in HREF.findall(page.read_text(encoding="utf-8"))]
    return [h for h in links if h.startswith((f"{BINDER}/v2/", f"{COLAB}/github/"))]


def expected_links(docname: str) -> list[str]:
    paths = [f"{docname}.ipynb"] + ([f"{docname}_student.ipynb"] if has_exercises(docname) else [])
    out = []
    for path in paths:
        out += [f"{BINDER}/v2/gh/{OWNER_REPO}/{NB_BRANCH}?urlpath=lab/tree/{path}",
                f"{COLAB}/github/{OWNER_REPO}/blob/{NB_BRANCH}/{path}"]
    return out


def published_path(url: str) -> Path:
    """The file in the built output that a launch URL opens."""
    if url.startswith(BINDER):
        rel = url.split("?urlpath=lab/tree/", 1)[1]
    else:
        rel = url.split(f"/blob/{NB_BRANCH}/", 1)[1]
    return PUBLISHED / rel


def test_config_names_one_github_repository_and_the_launch_services():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL), REPO_URL
    assert BINDER == "https://mybinder.org" and COLAB == "https://colab.research.google.com"
    assert NB_BRANCH and NB_BRANCH != SOURCE_BRANCH


@pytest.mark.parametrize("docname", chapters())
def test_launch_links_open_the_published_notebooks(docname):
    links = launch_links(docname)
    assert links, f"{docname}: no launch links"
    assert sorted(set(links)) == sorted(expected_links(docname)), links
    assert not [u for u in links if u.endswith(".md") or ".md?" in u], "a launch link opens the MyST source"
    for url in links:
        target = published_path(url)
        assert target.is_file(), f"{url} opens {target}, which the build did not write"


@pytest.mark.parametrize("docname", chapters())
def test_published_notebooks_are_executed_and_start_with_the_setup_cell(docname):
    full = json.loads((PUBLISHED / f"{docname}.ipynb").read_text())
    setup = full["cells"][0]
    assert setup["id"] == "lme-setup" and setup["cell_type"] == "code" and not setup["outputs"]
    assert f'"{REPO_URL}"' in "".join(setup["source"]) and f"--branch={NB_BRANCH}" in "".join(setup["source"])
    code = [c for c in full["cells"][1:] if c["cell_type"] == "code"]
    assert code and all(c["execution_count"] for c in code) and any(c["outputs"] for c in code)
    downloaded = json.loads((SITE / "_sources" / f"{docname}.ipynb").read_text())
    assert full["cells"][1:] == downloaded["cells"]  # the page's download, after the set-up cell
    if has_exercises(docname):
        student = json.loads((PUBLISHED / f"{docname}_student.ipynb").read_text())
        offered = json.loads((SITE / "_static" / "student" / f"{Path(docname).name}.ipynb").read_text())
        assert student["cells"][0] == setup and student["cells"][1:] == offered["cells"]
        assert not any(c["outputs"] for c in student["cells"] if c["cell_type"] == "code")


def test_published_tree_holds_only_launched_notebooks():
    launched = {published_path(u) for d in chapters() for u in expected_links(d)}
    assert set(PUBLISHED.rglob("*.ipynb")) == launched


def test_setup_cell_does_nothing_where_lme_helpers_is_installed(tmp_path):
    setup = json.loads((PUBLISHED / f"{chapters()[0]}.ipynb").read_text())["cells"][0]
    code = "".join(setup["source"]) + "\nimport os; print(os.getcwd())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path) and not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def published_branch(tmp_path_factory) -> Path:
    """Run the workflow's publishing script against a local bare repository."""
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    remote = tmp_path_factory.mktemp("remote") / "book.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    proc = subprocess.run(["bash", "scripts/publish-notebooks.sh", str(remote)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"to {remote} {NB_BRANCH}" in proc.stdout
    return remote


def branch_files(remote: Path) -> set[str]:
    out = subprocess.run(["git", "ls-tree", "-r", "--name-only", NB_BRANCH], cwd=remote, capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


@pytest.mark.slow
def test_publishing_commits_every_launched_notebook_with_the_sources(published_branch):
    files = branch_files(published_branch)
    for docname in chapters():
        for url in expected_links(docname):
            assert str(published_path(url).relative_to(PUBLISHED)) in files, url
    # what Binder builds from and what the set-up cell installs from
    assert {"binder/requirements.txt", "binder/postBuild", "requirements.txt", "pyproject.toml", "setup.py",
            "lme_helpers/__init__.py", "data/SHA256SUMS", "book/r/exam_null.R"} <= files
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    assert len(worktrees.strip().splitlines()) == len(set(worktrees.strip().splitlines()))


@pytest.mark.slow
def test_setup_cell_installs_the_book_where_lme_helpers_is_missing(published_branch, tmp_path):
    """What Colab does: a Python without lme_helpers runs the set-up cell (cloning the published
    branch, here from a local copy) and then the chapter's code, which reads its R script and data."""
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    docname = "book/04_null_model_icc"
    setup = "".join(json.loads((PUBLISHED / f"{docname}.ipynb").read_text())["cells"][0]["source"])
    setup = setup.replace(f'"{REPO_URL}"', f'"{published_branch}"')
    check = ("\nimport os, lme_helpers as lh\nprint(os.getcwd())\nprint(lh.data.load('exam').shape)\n"
             "print(os.path.exists('r/exam_null.R'), os.path.exists(f'{os.path.basename(os.getcwd())}'))")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LME_HELPERS_DATA", "VIRTUAL_ENV")}
    env["PIP_CONSTRAINT"] = str(ROOT / "requirements.txt")  # the pinned versions (pip's cache holds them)
    work = tmp_path / "content"
    work.mkdir()
    proc = subprocess.run([str(python), "-c", setup + check], cwd=work, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cwd, shape, found = proc.stdout.strip().splitlines()[-3:]
    assert cwd == str(work / "book-repository" / "book")
    assert shape == "(4059, 10)" and found.startswith("True")


def test_readme_running_page_and_metadata_name_the_configured_repository():
    readme = (ROOT / "README.md").read_text()
    running = (ROOT / "book" / "running.md").read_text()
    assert REPO_URL in readme and f"git+{REPO_URL}" in readme
    assert "<repository URL>" not in readme + running
    assert "git clone <" not in readme + running
    assert re.search(r"^repository-code: \"?" + re.escape(REPO_URL), (ROOT / "CITATION.cff").read_text(), re.M)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'Source = "{REPO_URL}"' in pyproject and f'Homepage = "{REPO_URL}"' in pyproject
    assert f"git+{REPO_URL}" in (ROOT / "lme_helpers" / "README.md").read_text()
    for url in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", readme + running + pyproject):
        assert url.rstrip(".") == REPO_URL, url


def test_running_page_shows_the_configured_repository():
    page = htmllib.unescape(re.sub(r"<[^>]+>", "", (SITE / "book" / "running.html").read_text(encoding="utf-8")))
    assert f"git clone {REPO_URL}" in page and f"git+{REPO_URL}" in page
    assert f"branch {NB_BRANCH}" in page
