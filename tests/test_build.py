"""Building the book: staleness after helper changes, and identical output from two builds.

Builds a copy of the repository in a temporary folder with the project's own
virtual environment, so the real _build is left alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from site_server import copy_repository

pytestmark = pytest.mark.slow

JB = Path(sys.executable).parent / "jupyter-book"


def build(root: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), **extra_env}
    proc = subprocess.run([str(JB), "build", str(root), "--warningiserror", "--nitpick", "--keep-going"],
                          env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def page_text(path: Path) -> str:
    """The page with whitespace normalised and Sphinx's cache-busting ``?v=`` suffixes removed.

    Those suffixes are checksums of static files that exist only from a build's
    second pass on, so they depend on the build's history, not on its content.
    """
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"\?v=[0-9a-f]{8}\b", "", html)
    return re.sub(r"\s+", " ", html)


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    if not (ROOT / "book" / "_static" / "vendor" / "VERSIONS").exists():
        pytest.fail("book/_static/vendor is missing: run 'make book' first.")
    root = copy_repository(tmp_path_factory.mktemp("book") / "repo")
    # One chapter at a time here, while `make book` runs several kernels at once: the
    # comparison below also shows that parallel execution changes nothing on the pages.
    proc = build(root, LME_BUILD_JOBS="1")
    assert "at a time)" not in proc.stdout + proc.stderr
    return root


def test_two_builds_give_identical_pages(fresh_copy):
    """A build from scratch reproduces every page and downloadable notebook of the main build byte for byte."""
    main = ROOT / "_build" / "html"
    if not (main / "index.html").exists():
        pytest.fail("No main build in _build/html: run 'make book' first.")
    new = fresh_copy / "_build" / "html"
    pages = sorted(p.relative_to(new) for p in new.glob("book/*.html"))
    assert pages
    for rel in pages:
        assert page_text(new / rel) == page_text(main / rel), f"{rel} differs between two builds"
    notebooks = sorted(p.relative_to(new) for p in new.glob("_sources/book/*.ipynb"))
    assert len(notebooks) >= 9
    for rel in notebooks:
        assert (new / rel).read_bytes() == (main / rel).read_bytes(), f"{rel} differs between two builds"


def test_helper_change_reexecutes_chapters(fresh_copy):
    """Changing lme_helpers must change the pages that show its output on the next build."""
    running = fresh_copy / "_build" / "html" / "book" / "running.html"
    init = fresh_copy / "lme_helpers" / "__init__.py"
    version = re.search(r'__version__ = "([^"]+)"', init.read_text()).group(1)
    assert f"<td>{version}</td>" in running.read_text()
    init.write_text(init.read_text().replace(f'__version__ = "{version}"', '__version__ = "9.9.9-changed"'))
    proc = build(fresh_copy)
    assert "re-executing every chapter" in proc.stdout + proc.stderr
    assert "without encryption" not in proc.stdout + proc.stderr  # the kernels get CurveZMQ keys
    # every kernel is shut down with its notebook (an orphan would say so once the build exits,
    # on the same output, which subprocess.run waits for)
    assert "Parent appears to have exited" not in proc.stdout + proc.stderr
    html = running.read_text()
    assert "<td>9.9.9-changed</td>" in html and f"<td>{version}</td>" not in html
    # and a no-op rebuild keeps the cache (nothing re-executed)
    proc = build(fresh_copy)
    assert "re-executing" not in proc.stdout + proc.stderr
    assert "Executing notebook" not in proc.stdout + proc.stderr
    assert "at a time)" not in proc.stdout + proc.stderr


def test_book_builds_without_r(tmp_path):
    """Without R the book still builds; R tabs say their output needs R and parity tables are not computed."""
    root = copy_repository(tmp_path / "repo")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nparts:\n  - caption: Lectures\n    chapters:\n"
        "      - file: book/04_null_model_icc\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root), "LME_HELPERS_NO_R": "1"}
    # no -W here: the reduced table of contents leaves cross-references to other chapters dangling
    proc = subprocess.run([str(JB), "build", str(root), "--keep-going"], env=env,
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Executing notebook failed" not in output
    html = (root / "_build" / "html" / "book" / "04_null_model_icc.html").read_text()
    assert "R output not shown" in html and "built without R" in html
    assert "Not computed: R was not available" in html
    assert "Scaled residuals:" not in html  # no lme4 output (lme_helpers' summary has no such line)


def test_parallel_execution_reports_a_failing_cell(tmp_path):
    """A cell error in a chapter executed in the parallel pool still fails the build and names the error."""
    root = copy_repository(tmp_path / "repo")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nparts:\n  - caption: Pages\n    chapters:\n"
        "      - file: book/running\n      - file: book/datasets\n"
    )
    chapter = root / "book" / "datasets.md"
    chapter.write_text(chapter.read_text() + "\n```{code-cell} ipython3\nraise ZeroDivisionError('planted failure')\n```\n")
    env = {**os.environ, "PYTHONPATH": str(root), "LME_BUILD_JOBS": "2"}
    proc = subprocess.run([str(JB), "build", str(root), "--keep-going"], env=env,
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert "executing 2 chapters (2 at a time)" in output
    assert "book/datasets: a cell failed" in output
    assert proc.returncode != 0
    assert "planted failure" in output and "datasets" in output
