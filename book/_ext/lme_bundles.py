"""Downloadable R bundles: each of the book's R scripts zipped with the data it reads.

A chapter's R script, downloaded on its own, finds its data in ``$DATA_DIR`` or next to
it. The bundle ``_static/r/NAME.zip`` holds both: the script, ``export_results.R``, the
data files the script names on its ``# Data:`` line, the data licences and a short
``README.txt``, so that ``Rscript NAME.R`` runs in the unzipped folder. Each page's
download menu offers the bundles of the scripts it uses.

A script whose tasks are marked with section lines ``# ---- task1 ----`` (the practical's)
is solved; its bundle also holds a student version, ``NAME_student.R``: the same set-up,
section lines and comments, each task headed by its title from the chapter, and a blank
where each task's solution code is.

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
SECTION = re.compile(r"^# ---- (\w+) ----\s*$")
TASK = re.compile(r"^task(\d+)$")
TASK_HEADING = re.compile(r"^## (Task (\d+): .+?)\s*$", re.M)
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
STUDENT_README = """
Two versions of the script:
    {student}  for students: the set-up and the tasks, with a blank for each task's code
    {script}  the worked solutions of every task
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


def student_name(script: Path) -> str:
    return f"{script.stem}_student.R"


def task_titles(script: Path) -> dict[str, str]:
    """``{"task1": "Task 1: ...", ...}`` from the chapter that uses ``script`` (its ``## Task N:`` headings)."""
    titles: dict[str, str] = {}
    for page in sorted(script.parent.parent.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if f"r/{script.name}" in text:
            titles.update({f"task{n}": title for title, n in TASK_HEADING.findall(text)})
    return titles


def student_version(text: str, titles: dict[str, str] | None = None) -> str | None:
    r"""The script without its solutions: every ``# ---- taskN ----`` section keeps its section
    line (under the task's title) and its whole-line comments, and its code becomes a blank to
    fill in; the set-up is kept as it is, and the sections after the tasks (which use the
    solutions' results) are left to the solved script. ``None`` for a script with no task
    sections.

    >>> solved = "# ---- setup ----\nx <- 1\n# ---- task1 ----\n# a hint\ny <- x + 1  # the answer\n# ---- end ----\n"
    >>> print(student_version(solved, {"task1": "Task 1: add one"}))
    # The student version: the set-up runs as it is; write each task's code where it says so.
    # The worked solutions are in {solved}.
    # ---- setup ----
    x <- 1
    # Task 1: add one
    # ---- task1 ----
    # a hint
    # Your code for task 1:
    <BLANKLINE>
    <BLANKLINE>
    # The script's other sections (end) are in {solved}.
    <BLANKLINE>
    """
    titles = titles or {}
    kept: list[str] = []
    section = "head"
    sections: list[tuple[str, list[str]]] = [(section, kept)]
    for line in text.splitlines():
        marker = SECTION.match(line)
        if marker:
            section, kept = marker.group(1), [line]
            sections.append((section, kept))
        else:
            kept.append(line)
    if not any(TASK.match(name) for name, _ in sections):
        return None
    out: list[str] = []
    left_out = []
    for name, lines in sections:
        task = TASK.match(name)
        if name in ("head", "setup"):
            if name == "setup":
                out += ["# The student version: the set-up runs as it is; write each task's code where it says so.",
                        "# The worked solutions are in {solved}."]
            out += lines
        elif task:
            if name in titles:
                out.append(f"# {titles[name]}")
            out.append(lines[0])
            out += [line for line in lines[1:] if line.lstrip().startswith("#")]  # the hints
            out += [f"# Your code for task {task.group(1)}:", "", ""]
        else:
            left_out.append(name)
    if left_out:
        out.append(f"# The script's other sections ({', '.join(left_out)}) are in {{solved}}.")
    return "\n".join(out) + "\n"


def bundle(script: Path, data_dir: Path, licences: Path) -> bytes:
    """The zip of one script with its helper, data, licences and README, as bytes."""
    data = data_files(script)
    members = {script.name: script.read_bytes(), "LICENSE-DATA.md": licences.read_bytes(),
               "README.txt": README.format(script=script.name, data=", ".join(data)).encode()}
    student = student_version(script.read_text(encoding="utf-8"), task_titles(script))
    if student is not None:
        members[student_name(script)] = student.replace("{solved}", script.name).encode()
        members["README.txt"] += STUDENT_README.format(script=script.name, student=student_name(script)).encode()
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
        inputs = [script, *(r_dir / n for n in helper_files(script)), licences, *r_dir.parent.glob("*.md"),
                  *(data_dir / n for n in data_files(script))]
        if target.exists() and all(p.exists() and p.stat().st_mtime_ns <= target.stat().st_mtime_ns for p in inputs):
            written.append(target)
            continue
        content = bundle(script, data_dir, licences)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
        written.append(target)
    return written
