"""The built site: page weight, no external requests in the markup, no error output, launch buttons.

These tests read _build/html, which `make test` builds first.
"""

from __future__ import annotations

import re

import pytest
from site_server import SITE, site_pages

PAGE_BUDGET = 400 * 1024  # bytes of HTML per chapter page (shared libraries excluded)
SITE_BUDGET = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    if not (SITE / "index.html").exists():
        pytest.fail("No built site in _build/html: run 'make book' (make test does it first).")
    return {rel: (SITE / rel).read_text(encoding="utf-8") for rel in site_pages()}


def test_every_toc_chapter_was_built(pages):
    toc = (SITE.parents[1] / "_toc.yml").read_text()
    for name in re.findall(r"file: (\S+)", toc) + [re.search(r"root: (\S+)", toc).group(1)]:
        assert f"{name}.html" in pages, name


def test_chapter_pages_stay_under_the_weight_budget(pages):
    heavy = {rel: len(html.encode()) for rel, html in pages.items() if len(html.encode()) > PAGE_BUDGET}
    assert not heavy, f"pages over {PAGE_BUDGET} bytes: {heavy}"


def test_whole_site_under_budget():
    total = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file())
    assert total < SITE_BUDGET, total


RESOURCE = re.compile(r"<(script|img|iframe|source|audio|video)[^>]*\ssrc=[\"']([^\"']+)|<link[^>]*\shref=[\"']([^\"']+)", re.I)


def test_no_page_loads_anything_from_another_host(pages):
    for rel, html in pages.items():
        for m in RESOURCE.finditer(html):
            url = m.group(2) or m.group(3)
            tag = m.group(0)
            if m.group(3) and not re.search(r"rel=[\"'](stylesheet|preload|icon|modulepreload|prefetch)", tag):
                continue  # navigation links (next, prev, canonical) are not requests
            assert not re.match(r"^(https?:)?//", url), f"{rel} loads {url}"


def test_no_cell_shows_an_error(pages):
    for rel, html in pages.items():
        assert "Traceback (most recent call last)" not in html, rel
        assert 'class="output traceback' not in html, rel
        assert "Error loading script" not in html, rel


STDERR_BLOCK = re.compile(r'class="output stderr".*?<pre>(.*?)</pre>', re.S)
EXPECTED_STDERR = re.compile(r"^(<span></span>)?(DataWarning|SingularFitWarning|ConvergenceWarning): ")


def test_stderr_shows_only_the_books_own_warnings(pages):
    """Warnings that tell the reader something (rows dropped, a singular fit) are shown; nothing else is."""
    for rel, html in pages.items():
        for block in STDERR_BLOCK.findall(html):
            for line in filter(None, (ln.strip() for ln in block.splitlines())):
                assert EXPECTED_STDERR.match(line), f"{rel} shows unexpected error output: {line[:200]}"


def test_charts_use_the_book_renderer(pages):
    chapter = pages["book/01_grouped_data.html"]
    assert chapter.count('<figure class="lme-chart"') >= 2
    assert "cdn.jsdelivr" not in chapter


def test_chapter_pages_have_launch_and_download_buttons(pages):
    for rel, html in pages.items():
        if 'class="cell docutils container"' not in html:
            continue  # only executable chapters launch in Binder
        assert "mybinder.org/v2/gh/" in html, rel
        assert "_sources/" in html, rel


def test_downloadable_notebooks_hold_their_outputs():
    """The '.ipynb' download of each chapter is the executed notebook, free of session internals."""
    import json

    notebooks = sorted((SITE / "_sources" / "book").glob("*.ipynb"))
    assert len(notebooks) >= 9
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code and all(c["execution_count"] for c in code), f"{path.name}: cells without execution counts"
        assert any(c["outputs"] for c in code), f"{path.name}: no outputs"
        text = path.read_text(encoding="utf-8")
        # memory addresses would mean an object's default repr leaked (and differ between builds)
        assert not re.search(r" at 0x[0-9a-f]{6,}", text), f"{path.name} shows a memory address"
        assert "application/papermill.record" not in text, f"{path.name} keeps glue records"


HREF = re.compile(r"<a\s[^>]*href=[\"']([^\"']+)[\"']", re.I)
IDS = re.compile(r"\sid=[\"']([^\"']+)[\"']")


def test_internal_links_and_anchors_resolve(pages):
    """An offline link check: every internal link points to an existing file and anchor."""
    id_cache: dict = {}
    broken = []
    for rel, html in pages.items():
        base = (SITE / rel).parent
        for href in HREF.findall(html):
            if re.match(r"^(https?:|mailto:|javascript:|#$)", href) or href.startswith("//"):
                continue
            path, _, anchor = href.partition("#")
            target = (base / path).resolve() if path else (SITE / rel).resolve()
            if not target.exists():
                broken.append(f"{rel}: {href}")
                continue
            if anchor and target.suffix == ".html":
                if target not in id_cache:
                    id_cache[target] = set(IDS.findall(target.read_text(encoding="utf-8")))
                if anchor not in id_cache[target]:
                    broken.append(f"{rel}: {href} (no anchor)")
    assert not broken, broken[:20]
