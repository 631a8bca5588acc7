"""Measure the book's performance budgets and write them to bench/results.json.

Usage: make bench   (or .venv/bin/python bench/run.py [--quick])

Budgets (this 2-core machine): cold build of the whole book <= 90 s (slides, quiz files and
handout PDFs included), no-op rebuild <= 3 s,
``make book`` with nothing changed <= 3 s and at most 0.5 s more than the Jupyter Book build it
runs (the system check answers from its cache), ``make book`` after editing one chapter's text
<= 10 s, each chapter executing on its own <= 20 s,
each chapter page <= 400 KB, the whole site <= 20 MB, every page's charts drawn within 3 s
of navigation, each slide deck <= 400 KB and ready (every chart drawn) within 5 s,
lme_helpers.fit at most 3x a plain statsmodels fit on the book's models. Reported without a
budget: each handout's pages and size, and the seconds the build spent printing them.
Timings are medians where several runs are cheap; they are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
JB = Path(sys.executable).parent / "jupyter-book"
BUDGETS = {
    "cold_build_s": 90, "noop_rebuild_s": 3, "make_book_noop_s": 3, "make_book_overhead_s": 0.5,
    "make_book_edit_s": 10, "chapter_execution_s": 20,
    "page_kb": 400, "site_mb": 20, "charts_drawn_s": 3, "deck_kb": 400, "deck_ready_s": 5, "fit_overhead_x": 3,
}
REPORTED = ["deck_slides", "handout_pages", "handout_kb", "handouts_print_s"]


def timed(cmd, **kw) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def builds(results: dict) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="lme-bench-"))
    from site_server import copy_repository

    root = copy_repository(tmp / "repo")
    # `make book` in the copy uses this checkout's environment and front-end packages as they are
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [str(JB), "build", str(root), "--warningiserror", "--nitpick", "--keep-going", "--quiet"]
    make = ["make", "-C", str(root), "book", f"VENV={ROOT / '.venv'}"]
    results["cold_build_s"] = timed(cmd, env=env)
    timed(make, env=env)  # the first `make book` also checks the system and caches the answer
    results["noop_rebuild_s"] = statistics.median(timed(cmd, env=env) for _ in range(3))
    results["make_book_noop_s"] = statistics.median(timed(make, env=env) for _ in range(3))
    results["make_book_overhead_s"] = round(max(0.0, results["make_book_noop_s"] - results["noop_rebuild_s"]), 3)
    chapter = root / "book" / "04_null_model_icc.md"
    chapter.write_text(chapter.read_text().replace("## Overview\n", "## Overview\n\nAn edited sentence.\n", 1))
    results["make_book_edit_s"] = timed(make, env=env)
    return root


def chapter_times(results: dict) -> None:
    import jupytext
    import nbclient
    from lme_parallel import encrypted_kernel

    toc = (ROOT / "_toc.yml").read_text()
    import re

    times = {}
    for name in re.findall(r"file: (\S+)", toc):
        path = ROOT / f"{name}.md"
        if "code-cell" not in path.read_text():
            continue
        nb = jupytext.read(path)
        start = time.perf_counter()
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", **encrypted_kernel(),
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        times[name] = round(time.perf_counter() - start, 2)
    results["chapter_execution_s"] = times


def page_weight(results: dict, site: Path) -> None:
    from site_server import site_pages

    pages = {rel: (site / rel).stat().st_size / 1024 for rel in site_pages(site)}
    results["page_kb"] = {k: round(v, 1) for k, v in pages.items()}
    results["site_mb"] = round(sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20, 2)


def drawing(results: dict, site: Path) -> None:
    from playwright.sync_api import sync_playwright
    from site_server import CHROMIUM_ARGS, chromium_path, serve_site, site_pages

    out = {}
    with serve_site(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for rel in site_pages(site):
            runs = []
            for _ in range(3):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{base}/{rel}", wait_until="load")
                page.wait_for_function("() => [...document.querySelectorAll('figure.lme-chart')].every(f => f.dataset.drawn)",
                                       timeout=30_000)
                at = page.evaluate("() => Math.max(0, ...[...document.querySelectorAll('figure.lme-chart')].map(f => +f.dataset.drawnAt || 0))")
                runs.append(at / 1000)
                context.close()
            if max(runs) > 0:
                out[rel] = round(statistics.median(runs), 3)
        browser.close()
    results["charts_drawn_s"] = out


def teaching(results: dict, site: Path) -> None:
    """The slide decks (size, slides, time until every chart is drawn) and the handouts."""
    from playwright.sync_api import sync_playwright
    from site_server import CHROMIUM_ARGS, chromium_path, serve_site

    decks = sorted((site / "slides").glob("*.html"))
    results["deck_kb"] = {p.stem: round(p.stat().st_size / 1024, 1) for p in decks}
    results["deck_slides"] = {p.stem: p.read_text().count('data-lme-slide="') for p in decks}
    ready = {}
    with serve_site(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for deck in decks:
            runs = []
            for _ in range(3):
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{base}/slides/{deck.name}", wait_until="load")
                page.wait_for_function("() => document.documentElement.dataset.lmeDeck === 'ready'", timeout=30_000)
                runs.append(time.perf_counter() - start)
                context.close()
            ready[deck.stem] = round(statistics.median(runs), 3)
        browser.close()
    results["deck_ready_s"] = ready
    manifest = site.parent / ".lme_handouts.json"
    printed = json.loads(manifest.read_text()) if manifest.exists() else {}
    results["handout_pages"] = {k.split("/")[-1]: v["pages"] for k, v in printed.items()}
    results["handout_kb"] = {k.split("/")[-1]: v["kb"] for k, v in printed.items()}
    last_run = site.parent / ".lme_handouts_last_run.json"  # the cold build printed every handout
    results["handouts_print_s"] = json.loads(last_run.read_text())["seconds"] if last_run.exists() else None


def fit_overhead(results: dict) -> None:
    import numpy as np

    import lme_helpers as lh
    from lme_helpers.fitting import _build_model, _prepare
    from lme_helpers.formula import parse_formula

    exam, sleep = lh.data.load("exam"), lh.data.load("sleepstudy")
    eng = lh.data.load("england_schools").dropna(subset=["ATT8SCR"])
    eng = eng.assign(log_att8=np.log(eng.ATT8SCR), log_fsm=np.log(eng.PTFSM6CLA1A / 24), log_abs=np.log(eng.PERCTOT / 9))
    models = [
        ("normexam ~ 1 + (1 | school)", exam, True),
        ("normexam ~ 1 + (1 | school)", exam, False),
        ("normexam ~ standLRT + (1 | school)", exam, True),
        ("normexam ~ standLRT + (standLRT | school)", exam, True),
        ("normexam ~ standLRT + sex + schavg + (standLRT | school)", exam, False),
        ("Reaction ~ Days + (Days | Subject)", sleep, True),
        ("log_att8 ~ log_fsm + log_abs + (1 | LANAME)", eng, True),
        ("log_att8 ~ log_fsm + log_abs + (log_fsm | LANAME)", eng, True),
    ]
    out = {}
    for formula, data, reml in models:
        model = _build_model(_prepare(parse_formula(formula), data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = statistics.median(_time(model.fit, reml=reml) for _ in range(5))
            ours = statistics.median(_time(lh.fit, formula, data, reml=reml, warn=False) for _ in range(5))
        out[f"{formula} ({'REML' if reml else 'ML'})"] = round(ours / plain, 2)
    results["fit_overhead_x"] = out


def _time(f, *args, **kwargs) -> float:
    start = time.perf_counter()
    f(*args, **kwargs)
    return time.perf_counter() - start


def report(results: dict) -> bool:
    ok = True
    print(f"{'figure':<28}{'measured':>12}{'budget':>10}  verdict")
    for key, budget in BUDGETS.items():
        value = results.get(key)
        if value is None or value == {}:
            print(f"{key:<28}{'not measured':>12}{budget:>10}")
            ok = False
            continue
        worst = max(value.values()) if isinstance(value, dict) else value
        passed = worst <= budget
        ok &= passed
        which = f"  (worst: {max(value, key=value.get)})" if isinstance(value, dict) else ""
        print(f"{key:<28}{worst:>12.2f}{budget:>10}  {'within' if passed else 'OVER'}{which}")
    for key in REPORTED:
        value = results.get(key)
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
        print(f"{key:<28}{shown}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the builds and chapter executions")
    args = parser.parse_args()
    from lme_parallel import jobs

    results: dict = {"machine": {"cpus": os.cpu_count(), "build_kernels": jobs(), "python": sys.version.split()[0]}}
    site = ROOT / "_build" / "html"
    if not args.quick:
        root = builds(results)
        site = root / "_build" / "html"
        chapter_times(results)
    page_weight(results, site)
    drawing(results, site)
    teaching(results, site)
    fit_overhead(results)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{results['machine']['cpus']} CPUs; chapters executed in up to {results['machine']['build_kernels']} kernels at once")
    ok = report(results)
    print("results written to bench/results.json")
    if not ok:
        print("Some figures are over budget (reported, not a test failure).")


if __name__ == "__main__":
    main()
