"""Take full-page screenshots of the built book in headless Chromium.

Usage: python scripts/screenshots.py [--width 1280] [--out _build/screenshots] [page ...]
Pages are paths under _build/html such as book/01_grouped_data.html (default: all chapter pages).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from site_server import CHROMIUM_ARGS, chromium_path, serve_site, site_pages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pages", nargs="*")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--out", default="_build/screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pages = args.pages or site_pages()
    with serve_site() as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        for rel in pages:
            page.goto(f"{base}/{rel}", wait_until="load")
            page.wait_for_function("() => [...document.querySelectorAll('figure.lme-chart')].every(f => f.dataset.drawn)", timeout=15000)
            # a tall viewport instead of full_page capture, which distorts resizing charts
            height = page.evaluate("() => document.documentElement.scrollHeight")
            page.set_viewport_size({"width": args.width, "height": min(height, 30000)})
            page.wait_for_timeout(500)
            target = out / f"{rel.replace('/', '_').removesuffix('.html')}-{args.width}.png"
            page.screenshot(path=str(target))
            page.set_viewport_size({"width": args.width, "height": 900})
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
