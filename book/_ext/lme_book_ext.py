"""Sphinx extension: re-execute every chapter when the helper package, data or R code change.

myst-nb's execution cache is keyed on each notebook's own text, so a change in
an imported module would otherwise leave stale outputs in the built pages.
This extension fingerprints ``lme_helpers/``, ``data/``, the book's ``.R``
files, ``requirements.txt`` and whether R with lme4 is available; when the
fingerprint differs from the last successful build it clears the execution
cache and the saved build environment, so every chapter is read and executed
again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import lme_bundles
import lme_launch
from lme_parallel import execute_outdated, write_executed_notebook

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ["lme_helpers", "data", "book/r", "book/_ext", "requirements.txt"]
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
R_STATUS_CACHE = "LME_HELPERS_R_STATUS_CACHE"
STUDENT_DIR = "_static/student"


def fingerprint(root: Path = ROOT) -> str:
    """SHA-256 over the watched files' paths and bytes, plus R's availability."""
    h = hashlib.sha256()
    for entry in WATCHED:
        path = root / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []
        for f in files:
            if SKIP_PARTS & set(f.parts) or f.suffix in {".pyc"}:
                continue
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    try:
        from lme_helpers.rbridge import r_status

        h.update(r_status().summary.encode())
    except Exception as exc:  # pragma: no cover - reported in the fingerprint itself
        h.update(f"rbridge unavailable: {exc}".encode())
    return h.hexdigest()


def _stamp_path(app) -> Path:
    return Path(app.outdir).parent / ".lme_fingerprint"


def _on_config_inited(app, config) -> None:
    # R's answer to "is lme4 installed?" is kept next to the build and reused by every
    # chapter's kernel (they inherit this environment) until R or its packages change.
    os.environ.setdefault(R_STATUS_CACHE, str(Path(app.outdir).parent / ".lme_r_status.json"))
    current = fingerprint()
    app.lme_fingerprint = current
    stamp = _stamp_path(app)
    previous, _, state = stamp.read_text().strip().partition(" ") if stamp.exists() else ("", "", "")
    doctrees = Path(app.doctreedir)
    if previous == current:
        if state != "clean" and doctrees.exists():
            # The last build had warnings or errors: read every page again so that they are
            # reported again, but keep the executed notebooks (their inputs have not changed).
            shutil.rmtree(doctrees)
        return
    cache = Path(config.nb_execution_cache_path) if config.nb_execution_cache_path else Path(app.outdir).parent / ".jupyter_cache"
    for folder in (cache, doctrees, Path(app.outdir) / STUDENT_DIR, Path(app.outdir).parent / lme_launch.OUT_DIR):
        if folder.exists():
            shutil.rmtree(folder)
    if previous:
        print("lme_book_ext: helpers, data or R environment changed; re-executing every chapter")


def _on_build_finished(app, exception) -> None:
    clean = exception is None and app.statuscode == 0 and getattr(app, "_warncount", 0) == 0
    _stamp_path(app).write_text(f"{app.lme_fingerprint} {'clean' if clean else 'dirty'}\n")



def _student_source(app, pagename: str) -> Path | None:
    path = Path(app.srcdir) / f"{pagename}.md"
    if not path.exists():
        return None
    from lme_helpers.notebooks import has_exercises

    return path if has_exercises(path) else None


def _executed_notebook(app, docname: str) -> Path:
    return Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"


def _launch_menu(app, pagename, templatename, context, doctree) -> None:
    """Launch buttons that open the page's published notebooks (see lme_launch), or none
    when the page has no executed notebook."""
    if not _executed_notebook(app, pagename).exists():
        context["header_buttons"] = [g for g in context.get("header_buttons", []) if g.get("label") != "launch-buttons"]
        return
    lme_launch.replace_launch_buttons(app, pagename, context, student=_student_source(app, pagename) is not None)


def _write_published_notebooks(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    docs = sorted(app.env.found_docs)
    executed = {d: _executed_notebook(app, d) for d in docs if _executed_notebook(app, d).exists()}
    student_dir = Path(app.outdir) / STUDENT_DIR
    student = {d: student_dir / f"{Path(d).name}.ipynb" for d in executed
               if (student_dir / f"{Path(d).name}.ipynb").exists()}
    lme_launch.write_published_tree(app, executed, student)


def _write_r_bundles(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    lme_bundles.write_bundles(ROOT / "book" / "r", ROOT / "data", ROOT / "LICENSE-DATA.md",
                              Path(app.outdir) / lme_bundles.BUNDLE_DIR)


def _add_bundle_buttons(app, pagename, templatename, context, doctree) -> None:
    """Offer each R script the page uses as a zip with its data, in the download menu."""
    source = Path(app.srcdir) / f"{pagename}.md"
    if not source.exists():
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            for script in lme_bundles.page_scripts(source):
                group["buttons"].append({
                    "type": "link",
                    "url": context["pathto"](f"{lme_bundles.BUNDLE_DIR}/{Path(script).stem}.zip", 1),
                    "text": f"{script} + data (.zip)",
                    "tooltip": f"Download the R script {script} with the data it reads, ready to run",
                    "icon": "fas fa-file-zipper",
                    "label": f"download-r-bundle-{Path(script).stem}",
                })


def _add_student_button(app, pagename, templatename, context, doctree) -> None:
    """Offer the page's student notebook (exercises without solutions) in the download menu."""
    if _student_source(app, pagename) is None:
        return
    url = context["pathto"](f"{STUDENT_DIR}/{Path(pagename).name}.ipynb", 1)
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(0, {
                "type": "link",
                "url": url,
                "text": "student .ipynb",
                "tooltip": "Download the exercises as a notebook, without solutions",
                "icon": "fas fa-graduation-cap",
                "label": "download-student-notebook-button",
            })


def student_glue(outdir: Path, docname: str) -> dict:
    """The values the executed chapter glued (written next to its executed notebook), for its student notebook."""
    path = Path(outdir).parent / "jupyter_execute" / f"{docname}.glue.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_student_notebooks(app, exception) -> None:
    """Write each chapter's student notebook (see lme_helpers.notebooks), the one file that the download
    menu offers and that the published tree (lme_launch) starts from; rewritten only when it changes."""
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    from lme_helpers.notebooks import student_notebook

    out = Path(app.outdir) / STUDENT_DIR
    out.mkdir(parents=True, exist_ok=True)
    for docname in sorted(app.env.found_docs):
        source = _student_source(app, docname)
        target = out / f"{Path(docname).name}.ipynb"
        if source is None:
            target.unlink(missing_ok=True)  # a chapter whose exercises were removed
            continue
        text = nbformat.writes(student_notebook(source, student_glue(app.outdir, docname)))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def _drop_thebe(app, pagename, templatename, context, doctree) -> None:
    """Remove the live-code (Thebe) scripts: the book keeps live code off.

    Jupyter Book always loads sphinx-thebe, whose set-up script is added once per
    build that reads documents; an incremental rebuild then declares its
    constants twice and the page reports a script error. The book does not use
    Thebe (it would load code from a CDN), so its files are dropped.
    """

    def keep(asset) -> bool:
        name = getattr(asset, "filename", None) or str(asset)
        body = (getattr(asset, "attributes", None) or {}).get("body", "")
        return "thebe" not in str(name).lower() and "THEBE_JS_URL" not in body

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if keep(a)]


def _fix_citation_list_role(app, pagename, templatename, context, doctree) -> None:
    """Drop docutils' role="list" on bibliographies: its children are doc-biblioentry, not
    listitem, which accessibility checkers rightly report as an invalid list."""
    body = context.get("body")
    if body and 'role="list" class="citation-list"' in body:
        context["body"] = body.replace('<div role="list" class="citation-list">', '<div class="citation-list">')


def _chapter_number(docname: str) -> int | None:
    """The chapter number of a page named ``book/NN_...``, else None."""
    import re

    m = re.match(r"book/(\d\d)_", docname)
    return int(m.group(1)) if m else None


def _number_within_chapters(app, env) -> list[str]:
    """Number exercises and equations within each chapter ("Exercise 4.2", "(4.1)").

    Sphinx numbers enumerable nodes across the whole book (Exercise 24 in chapter 8); a
    textbook numbers them within its chapters. This runs after Sphinx has assigned its
    numbers and renumbers each chapter's exercises and equations in their order.
    """
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        chapter = _chapter_number(docname)
        if chapter is None:
            continue
        for figtype in ("exercise", "displaymath"):
            numbers = by_type.get(figtype)
            if not numbers:
                continue
            ordered = sorted(numbers, key=lambda key: numbers[key])
            renumbered = {key: (chapter, k + 1) for k, key in enumerate(ordered)}
            if renumbered != numbers:
                by_type[figtype] = renumbered
                changed.append(docname)
    return sorted(set(changed))


def setup(app):
    app.connect("env-get-updated", _number_within_chapters, priority=900)
    app.connect("html-page-context", _fix_citation_list_role)
    app.connect("html-page-context", _drop_thebe, priority=900)
    # Chapters executed for the book render charts with the book's offline renderer
    # (the kernel inherits this process's environment); elsewhere they use Altair's own.
    os.environ["LME_BOOK_BUILD"] = "1"
    # Chapters run in parallel kernels, one per CPU: a multi-threaded BLAS in each would only
    # fight over the same cores (the book's matrices are small), so each kernel gets one thread.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    app.connect("config-inited", _on_config_inited, priority=900)
    app.connect("env-before-read-docs", execute_outdated)
    app.connect("doctree-read", write_executed_notebook)
    app.connect("html-page-context", _add_student_button, priority=950)
    app.connect("build-finished", _write_student_notebooks, priority=400)
    app.add_config_value("lme_notebooks_branch", "notebooks", "html", types=[str])
    app.connect("html-page-context", _launch_menu, priority=960)
    app.connect("build-finished", _write_published_notebooks, priority=450)
    app.connect("html-page-context", _add_bundle_buttons, priority=955)
    app.connect("build-finished", _write_r_bundles, priority=460)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
