"""Serve the built site on loopback for browser tests and screenshots."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


COPY_SKIP = {".venv", "_build", "node_modules", ".git", ".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__"}


def copy_repository(dest: Path, root: Path = ROOT) -> Path:
    """Copy the repository's working tree to ``dest``, without environments, builds and caches."""

    def ignore(folder, names):
        return [n for n in names if n in COPY_SKIP or n.endswith(".egg-info")]

    shutil.copytree(root, dest, ignore=ignore)
    return dest


def chromium_path() -> str:
    """Path of the system Chromium: ``$CHROMIUM`` if set, else Chromium or Chrome on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("Chromium not found; on Debian: apt-get install chromium (make test does this as root).")


def site_pages(site: Path = SITE) -> list[str]:
    """The book's HTML pages (relative paths), excluding Sphinx's own utility pages."""
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    pages = []
    for p in sorted(site.rglob("*.html")):
        rel = p.relative_to(site).as_posix()
        if rel in skip or rel.startswith(("_static/", "_sources/", "_sphinx_design_static/")):
            continue
        pages.append(rel)
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


@contextlib.contextmanager
def serve_site(site: Path = SITE):
    """Serve ``site`` on 127.0.0.1 at a free port; yields the base URL."""
    if not (site / "index.html").exists():
        raise FileNotFoundError(f"No built site at {site}; run 'make book' first.")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
