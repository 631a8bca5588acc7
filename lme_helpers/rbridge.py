"""Run R's lme4 from Python with Rscript, passing data as files (never hand-copied values).

R is optional: :func:`r_status` says whether ``Rscript`` and the needed R
packages are present, and :func:`run_r` raises :class:`RNotAvailable` with
the reason when they are not.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RStatus", "RNotAvailable", "RResult", "PendingRResult", "r_status", "run_r", "start_r",
           "R_PACKAGES", "lme4_term"]

R_PACKAGES = ("lme4", "performance", "lmerTest", "jsonlite")


class RNotAvailable(RuntimeError):
    """R or one of the R packages the book uses is not installed."""


@dataclass(frozen=True)
class RStatus:
    """Whether R can run the book's code, and the versions found."""

    available: bool
    rscript: str | None
    versions: dict = field(default_factory=dict)
    reason: str = ""

    @property
    def summary(self) -> str:
        """One line, e.g. ``R 4.2.2; lme4 1.1.31; performance 0.10.2``."""
        if not self.available:
            return f"R not available: {self.reason}"
        return "; ".join(f"{k} {v}" for k, v in self.versions.items())


STATUS_CACHE_ENV = "LME_HELPERS_R_STATUS_CACHE"


@functools.lru_cache(maxsize=1)
def r_status() -> RStatus:
    """Find ``Rscript`` and the R packages :data:`R_PACKAGES`.

    Set the environment variable ``LME_HELPERS_NO_R=1`` to behave as if R were
    absent (to test or build the R-free version of the book).

    Starting R to ask takes a second or two. When the environment variable
    ``LME_HELPERS_R_STATUS_CACHE`` names a file (the book's build sets it), the
    answer is kept there and reused for as long as ``Rscript`` and R's library
    folders are unchanged: installing, upgrading or removing an R package, or R
    itself, changes them and R is asked again.

    Examples
    --------
    >>> status = r_status()
    >>> status.available != bool(status.reason)  # a reason exactly when R cannot be used
    True
    >>> status.summary.startswith("R not available: " if not status.available else f"R {status.versions['R']}; lme4 ")
    True
    """
    if os.environ.get("LME_HELPERS_NO_R"):
        return RStatus(False, None, {}, "disabled by LME_HELPERS_NO_R")
    rscript = shutil.which("Rscript")
    if rscript is None:
        return RStatus(False, None, {}, "Rscript is not on the PATH")
    cache = Path(os.environ[STATUS_CACHE_ENV]) if os.environ.get(STATUS_CACHE_ENV) else None
    if cache is not None:
        cached = _cached_status(cache, rscript)
        if cached is not None:
            return cached
    status, libraries = _probe_r(rscript)
    if cache is not None and libraries:
        record = {"key": _r_environment_key(rscript, libraries), "libraries": libraries, "status": asdict(status)}
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(record, indent=1))
        except OSError:  # a read-only location only costs the next caller a new probe
            pass
    return status


def _probe_r(rscript: str) -> tuple[RStatus, list[str]]:
    """Ask R for its version, the packages' versions and its library folders."""
    code = (
        "cat('LIBS', .libPaths(), sep = '\\t'); cat('\\n');"
        "pk <- c(" + ", ".join(f'"{p}"' for p in R_PACKAGES) + ");"
        "ok <- vapply(pk, requireNamespace, logical(1), quietly = TRUE);"
        "if (!all(ok)) { cat('MISSING', pk[!ok], '\\n'); quit(status = 3) };"
        "cat('R', paste(R.version$major, R.version$minor, sep = '.'), '\\n');"
        "for (p in pk) cat(p, as.character(packageVersion(p)), '\\n')"
    )
    try:
        out = subprocess.run([rscript, "--vanilla", "-e", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return RStatus(False, rscript, {}, f"Rscript failed to start: {exc}"), []
    lines = out.stdout.strip().splitlines()
    libraries = lines.pop(0).split("\t")[1:] if lines and lines[0].startswith("LIBS") else []
    if out.returncode != 0:
        missing = " ".join(lines).replace("MISSING", "").split()
        reason = f"R packages missing: {', '.join(missing)}" if missing else out.stderr.strip()[:200]
        return RStatus(False, rscript, {}, reason), libraries
    versions = dict(line.split(None, 1) for line in lines)
    return RStatus(True, rscript, {k: v.strip() for k, v in versions.items()}, ""), libraries


def _r_environment_key(rscript: str, libraries: list[str]) -> list:
    """What R's answer depends on: Rscript itself, R's environment variables, and the
    library folders with the book's packages in them (their modification times change
    when a package is installed, upgraded or removed)."""

    def stamp(path: Path) -> list:
        try:
            info = path.stat()
        except OSError:
            return [str(path), None]
        return [str(path), info.st_mtime_ns, info.st_size]

    real = Path(rscript).resolve()
    key = [stamp(real), sorted([k, v] for k, v in os.environ.items() if k.startswith("R_"))]
    for lib in libraries:
        key.append(stamp(Path(lib)))
        key.extend(stamp(Path(lib) / pkg / "DESCRIPTION") for pkg in R_PACKAGES)
    return key


def _cached_status(cache: Path, rscript: str) -> RStatus | None:
    try:
        record = json.loads(cache.read_text())
        if record["key"] != _r_environment_key(rscript, record["libraries"]):  # lists, as JSON keeps them
            return None
        return RStatus(**record["status"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class RResult:
    """What an R script printed and the JSON results it wrote."""

    script: Path
    stdout: str
    results: dict


SECTION_MARK = "---- {} ----"
"""A script's sections start at comment lines ``# ---- name ----``; with ``sections=True``,
:func:`run_r` prints ``---- name ----`` before each section's output."""

_SECTIONS_DRIVER = r"""
# Runs the script named by LME_R_SECTIONS_SCRIPT one section at a time (sections start at
# comment lines "# ---- name ----"), printing "---- name ----" before each section's output.
lines <- readLines(Sys.getenv("LME_R_SECTIONS_SCRIPT"), warn = FALSE)
pattern <- "^# ---- (.+) ----[[:space:]]*$"
starts <- grep(pattern, lines)
bounds <- c(1L, starts, length(lines) + 1L)
for (k in seq_len(length(bounds) - 1L)) {
  from <- bounds[k]
  to <- bounds[k + 1L] - 1L
  if (from > to) next
  if (from %in% starts) {
    cat(sprintf("---- %s ----\n", sub(pattern, "\\1", lines[from])))
    from <- from + 1L
  }
  if (from <= to) {
    source(exprs = parse(text = lines[from:to], keep.source = FALSE), local = globalenv(),
           echo = FALSE, print.eval = TRUE)
  }
}
"""


def run_r(script: str | Path, data: pd.DataFrame | str | Path | None = None, timeout: int = 300,
          sections: bool = False) -> RResult:
    """Run an R script with ``Rscript`` and collect its printed output and JSON results.

    The script is called as ``Rscript script.R DATA.csv RESULTS.json``: it reads
    the data from the first argument and may write a JSON object to the
    second. Run by hand (in RStudio) it falls back to its own defaults.

    With ``sections=True`` the script is run section by section: a section starts
    at a comment line ``# ---- name ----``, and its output is preceded by the line
    ``---- name ----``, so that a page can show one section's code and output
    (:class:`~lme_helpers.sidebyside.SideBySide`'s ``r_section``) while the script
    itself holds nothing but comments to mark them.

    Parameters
    ----------
    script : str or Path
        The ``.R`` file.
    data : DataFrame, path or None
        Data passed to the script: a DataFrame is written to a temporary CSV;
        a path is passed as it is.
    timeout : int
        Seconds before the run is stopped.

    Raises
    ------
    RNotAvailable
        When R or a needed package is missing (the message says which).
    RuntimeError
        When the script fails; the message holds R's error output.

    Examples
    --------
    >>> from lme_helpers.data import data_dir
    >>> from pathlib import Path
    >>> script = Path(__file__).parents[1] / "book" / "r" / "exam_null.R"
    >>> out = run_r(script, data_dir() / "exam.csv") if r_status().available else None
    >>> out is None or round(out.results["null"]["loglik"], 2)
    -5507.33
    """
    status = r_status()
    if not status.available:
        raise RNotAvailable(status.reason)
    script = Path(script).resolve()
    if not script.exists():
        raise FileNotFoundError(f"R script {script} not found.")
    with tempfile.TemporaryDirectory(prefix="lme-r-") as tmp:
        if hasattr(data, "to_csv"):
            data_path = Path(tmp) / "data.csv"
            data.to_csv(data_path, index=False)
        else:
            data_path = Path(data) if data is not None else None
        out_path = Path(tmp) / "results.json"
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        runner = script
        if sections:
            runner = Path(tmp) / "run_sections.R"
            runner.write_text(_SECTIONS_DRIVER, encoding="utf-8")
            env["LME_R_SECTIONS_SCRIPT"] = str(script)
        args = [status.rscript, "--vanilla", str(runner)]
        args += [str(data_path) if data_path is not None else "", str(out_path)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=script.parent, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"R script {script.name} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
        results = json.loads(out_path.read_text()) if out_path.exists() else {}
    return RResult(script, proc.stdout, results)


class PendingRResult:
    """An R run started in the background (:func:`start_r`); reading ``stdout`` or ``results`` waits for it.

    It stands in for an :class:`RResult` wherever one is read, so that a page can start its R
    script first and fit its Python models while R runs.
    """

    def __init__(self, script: str | Path, data=None, timeout: int = 300, sections: bool = False):
        import concurrent.futures

        self.script = Path(script)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(run_r, script, data, timeout, sections)

    def result(self) -> RResult:
        """The finished run (raises what :func:`run_r` raised)."""
        try:
            return self._future.result()
        finally:
            self._pool.shutdown(wait=False)

    @property
    def stdout(self) -> str:
        return self.result().stdout

    @property
    def results(self) -> dict:
        return self.result().results


def start_r(script: str | Path, data: pd.DataFrame | str | Path | None = None, timeout: int = 300,
            sections: bool = False) -> PendingRResult:
    """Start :func:`run_r` in the background and return at once; the result is read when it is needed.

    Examples
    --------
    >>> from lme_helpers.data import data_dir
    >>> script = Path(__file__).parents[1] / "book" / "r" / "exam_null.R"
    >>> pending = start_r(script, data_dir() / "exam.csv") if r_status().available else None
    >>> pending is None or round(pending.results["null"]["loglik"], 2)
    -5507.33
    """
    return PendingRResult(script, data, timeout, sections)


def lme4_term(name: str) -> str:
    """Translate a patsy/statsmodels term name to lme4's spelling.

    Examples
    --------
    >>> lme4_term("Intercept"), lme4_term("sex[T.M]"), lme4_term("standLRT:sex[T.M]")
    ('(Intercept)', 'sexM', 'standLRT:sexM')
    >>> lme4_term("sex[F]")  # a factor's full coding, in a model without an intercept
    'sexF'
    """
    if name == "Intercept":
        return "(Intercept)"
    parts = []
    for part in name.split(":"):
        if "[" in part and part.endswith("]"):
            var, level = part[:-1].split("[T." if "[T." in part else "[", 1)
            if var.startswith("C(") and var.endswith(")"):
                var = var[2:-1].split(",")[0]
            parts.append(f"{var}{level}")
        else:
            parts.append(part)
    return ":".join(parts)
