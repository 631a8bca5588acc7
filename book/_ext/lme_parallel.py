"""Execute the chapters that need it in parallel, before Sphinx reads them one by one.

With ``execute_notebooks: cache``, myst-nb executes each notebook while Sphinx
reads it, so chapters run one after another and a many-core machine waits on
one kernel at a time. Just before reading (``env-before-read-docs``) this module
finds the chapters without an up-to-date entry in the execution cache, runs
them in a pool of kernels (longest first, using the times of the last build),
and stores the results in the cache. Sphinx's reading then takes every chapter
from the cache, exactly as on a rebuild. The kernels get CurveZMQ keys, so the
build talks to them encrypted.

Nothing else changes: the notebook is read and hashed with myst-nb's own reader
and jupyter-cache's own hash, and executed with the same function, working
directory, timeout and error setting as myst-nb uses. A chapter that fails here
is not cached, so myst-nb executes it again while reading and reports the error
in its usual way (and ``raise_on_error`` stops the build).

``LME_BUILD_JOBS`` sets the number of kernels (default: the number of CPUs,
at most 4; ``1`` turns the pool off and leaves execution to myst-nb).
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path, PurePosixPath

from sphinx.util import logging

logger = logging.getLogger(__name__)
JOBS_ENV = "LME_BUILD_JOBS"
TIMES_FILE = ".lme_execution_times.json"


def jobs() -> int:
    """Number of kernels to run at once."""
    value = os.environ.get(JOBS_ENV, "")
    if value.strip():
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"{JOBS_ENV} must be a whole number, not {value!r}") from None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 4))


def schedule(pending: dict[str, Path], last_times: dict[str, float]) -> list[str]:
    """Order documents longest first: by last build's time, else by source size.

    Chapters without a recorded time come first (a guess of 'long' costs little), the
    largest first.

    >>> from pathlib import Path
    >>> schedule({"a": Path(__file__), "b": Path(__file__)}, {"a": 3.0, "b": 9.5})
    ['b', 'a']
    """
    known = sorted((d for d in pending if d in last_times), key=lambda d: -last_times[d])
    unknown = sorted((d for d in pending if d not in last_times), key=lambda d: -pending[d].stat().st_size)
    return unknown + known


def read_notebook(env, docname: str):
    """``(path, notebook)`` as myst-nb reads ``docname`` for execution, or None when myst-nb
    would not execute it (plain Markdown, no code, excluded, or its own execution settings)."""
    from myst_nb.core.read import create_nb_reader

    nb_config = env.mystnb_config
    path = Path(env.doc2path(docname))
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    reader = create_nb_reader(str(path), env.myst_config, nb_config, text)
    if reader is None:
        return None  # plain Markdown
    notebook = reader.read(text)
    if not any(cell.cell_type == "code" for cell in notebook.cells):
        return None
    if nb_config.metadata_key in notebook.metadata:
        return None  # per-notebook execution settings: leave it to myst-nb
    if any(PurePosixPath(path.as_posix()).match(p) for p in nb_config.execution_excludepatterns or ()):
        return None
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    for rgx, alias in (nb_config.kernel_rgx_aliases or {}).items():
        if kernel is not None and re.fullmatch(rgx, kernel):
            notebook.metadata["kernelspec"]["name"] = alias
            break
    return path, notebook


def _cache(env):
    from jupyter_cache import get_cache

    return get_cache(env.mystnb_config.execution_cache_path or ".jupyter_cache")


def _needs_execution(env, docname: str, cache):
    found = read_notebook(env, docname)
    if found is None:
        return None
    try:
        cache.match_cache_notebook(found[1])
        return None  # already executed
    except KeyError:
        return found


def write_executed_notebook(app, doctree) -> None:
    """``doctree-read`` handler: the page's downloadable ``.ipynb`` with its outputs.

    myst-nb writes the notebook it read, which holds outputs only when it executed
    the chapter itself, not when it took them from the cache. This writes the
    cached, executed notebook in its place, whichever way the outputs were obtained,
    with stable cell ids and merged streams, so that every build gives the same file.
    """
    env = app.env
    if getattr(env, "mystnb_config", None) is None or env.mystnb_config.execution_mode != "cache":
        return
    found = read_notebook(env, env.docname)
    if found is None:
        return
    try:
        _, merged = _cache(env).merge_match_into_notebook(found[1])
    except KeyError:
        return  # not executed (the build reports why)
    import nbformat
    from myst_nb.core.utils import coalesce_streams

    from lme_helpers.notebooks import read_glue

    glued = read_glue(nbformat.from_dict(merged))  # for the student notebook, which writes the numbers in
    for i, cell in enumerate(merged.cells):
        cell["id"] = f"cell-{i:03d}"
        if cell.cell_type == "code":  # as myst-nb does: glued values are for the page, not the notebook
            cell.outputs = [o for o in cell.outputs if "scrapbook" not in o.get("metadata", {})]
            if env.mystnb_config.merge_streams:
                # as on the page: printed text in one piece per stream (the kernel splits it
                # into messages at varying points, which would make every build's file differ)
                cell.outputs = coalesce_streams(cell.outputs)
    target = Path(app.outdir).parent / "jupyter_execute" / f"{env.docname}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(merged), encoding="utf-8")
    glue_file = target.with_suffix(".glue.json")
    text = json.dumps(glued, indent=1, sort_keys=True, default=str)
    if not glue_file.exists() or glue_file.read_text(encoding="utf-8") != text:
        glue_file.write_text(text, encoding="utf-8")


def encrypted_kernel() -> dict:
    """Keyword arguments for nbclient that give each kernel CurveZMQ keys, when libzmq has them.

    Kernels otherwise talk to the build over unencrypted local TCP (and ipykernel
    prints a warning saying so for each one). The kernel manager stays nbclient's
    own, so nbclient shuts the kernel down when the notebook is done.
    """
    import zmq
    from traitlets.config import Config

    if not zmq.has("curve"):
        return {}
    return {"config": Config({"KernelManager": {"transport_encryption": "auto"}})}


def execute_outdated(app, env, docnames: list[str]) -> None:
    """``env-before-read-docs`` handler: fill the execution cache for ``docnames`` in parallel."""
    nb_config = getattr(env, "mystnb_config", None)
    workers = jobs()
    if nb_config is None or nb_config.execution_mode != "cache" or workers < 2:
        return
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    cache = _cache(env)
    pending = {}
    for docname in docnames:
        found = _needs_execution(env, docname, cache)
        if found is not None:
            pending[docname] = found
    if not pending:
        return

    times_path = Path(app.outdir).parent / TIMES_FILE
    try:
        last_times = json.loads(times_path.read_text())
    except (OSError, ValueError):
        last_times = {}
    order = schedule({d: p for d, (p, _) in pending.items()}, last_times)
    kernels = min(workers, len(order))
    logger.info(f"executing {len(order)} {'chapter' if len(order) == 1 else 'chapters'} ({kernels} at a time)")

    def run(docname: str):
        path, notebook = pending[docname]
        return single_nb_execution(notebook, cwd=str(path.parent), timeout=nb_config.execution_timeout,
                                   allow_errors=nb_config.execution_allow_errors, meta_override=True,
                                   **encrypted_kernel())

    with ThreadPoolExecutor(max_workers=kernels) as pool:
        futures = {pool.submit(run, d): d for d in order}
        for future in as_completed(futures):
            docname = futures[future]
            path, notebook = pending[docname]
            try:
                result = future.result()
            except Exception as exc:  # a dead kernel and the like: myst-nb will run it again and report
                logger.info(f"{docname}: parallel execution stopped ({type(exc).__name__}); it runs again while reading")
                continue
            if result.err is not None:
                logger.info(f"{docname}: a cell failed; the chapter runs again while reading, to report it")
                continue
            cache.cache_notebook_bundle(CacheBundleIn(result.nb, str(path), data={"execution_seconds": result.time}),
                                        check_validity=False, overwrite=True)
            last_times[docname] = round(result.time, 2)
    try:
        times_path.write_text(json.dumps(last_times, indent=1, sort_keys=True))
    except OSError:
        pass
