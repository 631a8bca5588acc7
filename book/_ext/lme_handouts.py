"""Handouts: each core chapter (and the cheat sheet) printed to PDF by Chromium at build time.

The print stylesheet (``lme-teaching.css``) shows every tab of a tab set one after the other,
every solution and folded box open, and nothing cut off at the paper's edge; charts are drawn
at the paper's width before printing. A reader gets the same by printing a chapter from the
browser (the download menu's "print", or Ctrl+P); the build prints every core chapter to
``_build/handouts/NAME.pdf`` (beside the site, which they would double in size) and records
their page counts, which ``make bench`` reports and the tests check. The cheat sheet's one
page is also published with the site, as ``handouts/cheatsheet.pdf``.

A chapter is printed again only when its page or the files that draw it have changed (a
fingerprint per chapter in ``_build/.lme_handouts.json``). Pages are printed two at a time.
Without Chromium (or with ``LME_HANDOUTS=0``) the book builds without handouts and says so;
the tests require them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

OUT_DIR = "handouts"  # under _build, beside the site
PUBLISHED = {"book/cheatsheet"}  # also copied into the site's handouts/ folder
MANIFEST = ".lme_handouts.json"
LAST_RUN = ".lme_handouts_last_run.json"  # how many were printed by the last build that printed any, and how long it took
AT_ONCE = 2
# Files that change what a printed page looks like, besides the page itself.
DRAWN_BY = ["_static/lme-book.css", "_static/lme-teaching.css", "_static/lme-charts.js", "_static/vendor/VERSIONS"]
VERSION = "1"  # bump to print every handout again after changing how they are made
# A4 less the page margins of lme-teaching.css (13 mm each side), in CSS pixels
PRINT_WIDTH = round((210 - 26) / 25.4 * 96)
FOOTER = ('<div style="font-size:7px;width:100%;padding:0 13mm;color:#555;font-family:sans-serif;'
          'display:flex;justify-content:space-between"><span class="title"></span>'
          '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')


def chromium() -> str | None:
    """The system Chromium (``$CHROMIUM``, else chromium, chromium-browser or google-chrome), or None."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def enabled() -> str:
    """Empty when handouts can be printed, else the reason they cannot."""
    if os.environ.get("LME_HANDOUTS", "1") == "0":
        return "LME_HANDOUTS=0"
    if chromium() is None:
        return "Chromium was not found (set CHROMIUM=/path/to/chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    return ""


def page_count(pdf: bytes) -> int:
    """Pages of a PDF written by Chromium (its page objects are plain dictionaries).

    >>> page_count(b"<< /Type /Pages /Count 2 >> << /Type /Page >> <</Type/Page/Parent 1 0 R>>")
    2
    """
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def handout_pages(app) -> dict[str, str]:
    """``{docname: pdf name}``: the core-path chapters and the cheat sheet."""
    from lme_path import load_path

    chapters = {ch["file"] for ch in load_path()["chapters"]}
    return {d: f"{Path(d).name}.pdf" for d in sorted(app.env.found_docs)
            if Path(d).name in chapters or Path(d).name == "cheatsheet"}


def fingerprint(site: Path, rel: str) -> str:
    h = hashlib.sha256(VERSION.encode())
    page = (site / rel).read_text(encoding="utf-8")
    h.update(re.sub(r"\?v=[0-9a-f]{8}\b", "", page).encode())  # Sphinx's cache-busting suffixes
    for extra in DRAWN_BY:
        path = site / extra
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(site: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


PREPARE = """async () => {
    const charts = [...document.querySelectorAll('figure.lme-chart')];
    for (let i = 0; i < 400 && !charts.every(f => ['yes', 'error'].includes(f.dataset.drawn)); i++) {
        await new Promise(r => setTimeout(r, 50));
    }
    if (document.querySelector('.math')) {
        for (let i = 0; i < 400 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
            await new Promise(r => setTimeout(r, 50));
        }
        await MathJax.startup.promise;
    }
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    await document.fonts.ready;
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return charts.filter(f => f.dataset.drawn !== 'yes').length;
}"""


def print_pages(site: Path, jobs: dict[str, Path], browser_path: str) -> dict[str, dict]:
    """Print ``{page (relative to site): target pdf}``, two at a time; each one's pages and seconds."""
    import asyncio

    return asyncio.run(_print_pages(site, jobs, browser_path))


async def _print_pages(site: Path, jobs: dict[str, Path], browser_path: str) -> dict[str, dict]:
    import asyncio

    from playwright.async_api import async_playwright

    done = {}
    with serve(site) as base:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=browser_path,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                                    "--no-first-run", "--disable-background-networking"])
            context = await browser.new_context(viewport={"width": PRINT_WIDTH, "height": 1000})
            # nothing but the book's own server
            await context.route(re.compile(r"^(?!" + re.escape(base) + r"|data:|blob:|about:)"),
                                lambda route: route.abort())
            slots = asyncio.Semaphore(AT_ONCE)

            async def one(rel: str, target: Path) -> None:
                async with slots:
                    start = time.perf_counter()
                    page = await context.new_page()
                    await page.emulate_media(media="print")
                    await page.goto(f"{base}/{rel}", wait_until="load")
                    undrawn = await page.evaluate(PREPARE)
                    if undrawn:
                        raise RuntimeError(f"{rel}: {undrawn} chart(s) could not be drawn for the handout")
                    pdf = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                                         display_header_footer=True, header_template="<span></span>",
                                         footer_template=FOOTER)
                    await page.close()
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(pdf)
                    done[rel] = {"pages": page_count(pdf), "seconds": round(time.perf_counter() - start, 2),
                                 "kb": round(len(pdf) / 1024, 1)}

            try:
                await asyncio.gather(*(one(rel, target) for rel, target in jobs.items()))
            finally:
                await browser.close()
    return done


def _write_handouts(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    reason = enabled()
    if reason:
        logger.info(f"lme_handouts: no handouts (PDF) this time: {reason}")
        return
    site = Path(app.outdir)
    manifest_path = site.parent / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    jobs, keys = {}, {}
    for docname, pdf in handout_pages(app).items():
        rel = f"{docname}.html"
        if not (site / rel).exists():
            continue
        keys[docname] = fingerprint(site, rel)
        target = site.parent / OUT_DIR / pdf
        if manifest.get(docname, {}).get("key") != keys[docname] or not target.exists():
            jobs[docname] = target
    if jobs:
        _print(site, jobs, manifest, keys, manifest_path)
    published = site / OUT_DIR
    for old in published.glob("*.pdf") if published.exists() else ():
        if f"book/{old.stem}" not in PUBLISHED:
            old.unlink()
    for docname in sorted(PUBLISHED & set(keys)):  # the cheat sheet, on the site too
        published.mkdir(exist_ok=True)
        shutil.copyfile(site.parent / OUT_DIR / handout_pages(app)[docname], published / handout_pages(app)[docname])


def _print(site: Path, jobs: dict, manifest: dict, keys: dict, manifest_path: Path) -> None:
    start = time.perf_counter()
    logger.info(f"lme_handouts: printing {len(jobs)} handout{'s' if len(jobs) > 1 else ''} with Chromium")
    printed = print_pages(site, {f"{d}.html": t for d, t in jobs.items()}, chromium())
    for docname in jobs:
        manifest[docname] = {"key": keys[docname], **printed[f"{docname}.html"]}
    manifest = {d: v for d, v in manifest.items() if d in keys}
    wall = time.perf_counter() - start
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    (manifest_path.parent / LAST_RUN).write_text(json.dumps({"printed": len(jobs), "seconds": round(wall, 2)}) + "\n")
    logger.info(f"lme_handouts: {len(jobs)} printed in {wall:.1f} s")


def handout_href(app, pagename: str) -> str | None:
    """The page's published handout, relative to a page in book/, or None (none published or printed)."""
    if enabled() or pagename not in PUBLISHED or pagename not in handout_pages(app):
        return None
    return f"../{OUT_DIR}/{handout_pages(app)[pagename]}"


def setup(app):
    app.connect("build-finished", _write_handouts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
