"""Downloadable R bundles: each of the book's R scripts zipped with the data it reads.

A chapter's R script, downloaded on its own, finds its data in ``$DATA_DIR`` or next to
it. The bundle ``_static/r/NAME.zip`` holds both: the script, ``export_results.R``, the
data files the script names on its ``# Data:`` line, the data licences and a short
``README.txt``, so that ``Rscript NAME.R`` runs in the unzipped folder. Each page's
download menu offers the bundles of the scripts it uses.

The zip files are the same bytes for the same inputs (fixed timestamps, sorted names).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

BUNDLE_DIR = "_static/r"
HELPER = "export_results.R"
LIBRARIES = {HELPER, "lme_tests.R"}  # scripts other scripts source, not bundled on their own
SOURCED = re.compile(r"""^\s*source\(["']([\w-]+\.R)["']\)""", re.M)
DATA_LINE = re.compile(r"^# Data: ([^(\n]+)", re.M)
PAGE_SCRIPT = re.compile(r"""["<]r/([\w-]+\.R)[">]""")
README = """\
{script}: the R code of "Mixed Effects, Executed", with the data it reads.

Run it in this folder:
    Rscript {script}
or open it in RStudio and set the working directory to this folder
(Session > Set Working Directory > To Source File Location).

It needs R with the packages lme4, lmerTest and performance
(in R: install.packages(c("lme4", "lmerTest", "performance"))).
The data ({data}) are read from this folder; to keep them elsewhere, set the
environment variable DATA_DIR to their folder, or give the file as the first argument.
The licences of the data are in LICENSE-DATA.md.
"""


def data_files(script: Path) -> list[str]:
    """The data files a script declares on its ``# Data:`` line.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.R"
    >>> _ = path.write_text("# Data: exam.csv, sleepstudy.csv (somewhere)\\n")
    >>> data_files(path)
    ['exam.csv', 'sleepstudy.csv']
    """
    found = DATA_LINE.search(script.read_text(encoding="utf-8"))
    if not found:
        raise ValueError(f"{script} has no '# Data: FILE.csv' line naming the data it reads.")
    return [name.strip() for name in found.group(1).split(",") if name.strip()]


def page_scripts(source: Path) -> list[str]:
    """The R scripts (other than the export helper) that a chapter's source refers to, in order."""
    names = PAGE_SCRIPT.findall(source.read_text(encoding="utf-8"))
    return [n for n in dict.fromkeys(names) if n not in LIBRARIES]


def helper_files(script: Path) -> list[str]:
    """The book's helper scripts that ``script`` sources, with the export helper always included."""
    sourced = SOURCED.findall(script.read_text(encoding="utf-8"))
    return list(dict.fromkeys([HELPER, *sourced]))


def bundle(script: Path, data_dir: Path, licences: Path) -> bytes:
    """The zip of one script with its helper, data, licences and README, as bytes."""
    data = data_files(script)
    members = {script.name: script.read_bytes(), "LICENSE-DATA.md": licences.read_bytes(),
               "README.txt": README.format(script=script.name, data=", ".join(data)).encode()}
    for name in helper_files(script):
        members[name] = (script.parent / name).read_bytes()
    for name in data:
        path = data_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{script.name} declares the data file {name}, which is not in {data_dir}.")
        members[name] = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(members):
            info = zipfile.ZipInfo(f"{script.stem}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, members[name])
    return out.getvalue()


def write_bundles(r_dir: Path, data_dir: Path, licences: Path, out: Path) -> list[Path]:
    """Write a bundle for every script in ``r_dir``; a bundle newer than all its inputs is kept."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for script in sorted(r_dir.glob("*.R")):
        if script.name in LIBRARIES:
            continue
        target = out / f"{script.stem}.zip"
        inputs = [script, *(r_dir / n for n in helper_files(script)), licences,
                  *(data_dir / n for n in data_files(script))]
        if target.exists() and all(p.exists() and p.stat().st_mtime_ns <= target.stat().st_mtime_ns for p in inputs):
            written.append(target)
            continue
        content = bundle(script, data_dir, licences)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
        written.append(target)
    return written
