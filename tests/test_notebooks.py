"""Student notebooks: plain notebooks with the tasks and given code, without solutions or the
book's machinery, which run in a clean kernel once completed."""

from __future__ import annotations

import ast
import json
import re
import shutil

import nbclient
import nbformat
import pytest
from conftest import ROOT
from site_server import SITE

from lme_helpers.notebooks import (
    MYST_LEFTOVERS,
    has_exercises,
    plain_code,
    reinsert_solutions,
    solution_cells,
    student_notebook,
    to_markdown,
    undefined_names,
)

# The book's own machinery: glued numbers, claims, tab sets, R runs and parity tables. (A helper
# from lme_helpers.sidebyside or .rbridge that a chapter's visible code itself uses may stay.)
MACHINERY = re.compile(r"lme_helpers\.book|\bSideBySide\b|\bglue\(|\bclaim\(|\b(run|start)_r\(|\bsolution\(|\.parity\(")


def chapters_with_exercises() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    return [n for n in re.findall(r"file: (\S+)", toc) if has_exercises(ROOT / f"{n}.md")]


CHAPTERS = chapters_with_exercises()


def glue_of(chapter: str) -> dict:
    path = ROOT / "_build" / "jupyter_execute" / f"{chapter}.glue.json"
    assert path.exists(), f"{path} was not written by the build"
    return json.loads(path.read_text())


def published(chapter: str) -> nbformat.NotebookNode:
    path = SITE / "_static" / "student" / f"{chapter.split('/')[-1]}.ipynb"
    assert path.exists(), f"{path} was not written by the build"
    return nbformat.read(path, as_version=4)


def test_every_lecture_and_the_practical_have_exercises():
    assert len(CHAPTERS) >= 9, CHAPTERS
    assert "book/09_practical" in CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_is_published_without_solutions(chapter):
    student = published(chapter)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    solutions = solution_cells(ROOT / f"{chapter}.md")
    assert solutions, chapter
    for label, cells in solutions.items():
        for cell in cells:
            assert cell.source.strip() not in code, f"solution code of {label} leaked into the student notebook"
    answers = [c for c in student.cells if c.metadata.get("exercise")]
    assert len(answers) >= 3
    assert student == student_notebook(ROOT / f"{chapter}.md", glue_of(chapter))  # the published file is current


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_is_plain_markdown_and_code(chapter):
    student = published(chapter)
    for cell in student.cells:
        if cell.cell_type == "markdown":
            left = MYST_LEFTOVERS.search(cell.source)
            assert left is None, f"MyST syntax {left.group(0)!r} left in {chapter}'s student notebook:\n{cell.source}"
        else:
            assert not MACHINERY.search(cell.source), f"book machinery in {chapter}'s student notebook:\n{cell.source}"
            assert not cell.outputs
            assert set(cell.metadata.get("tags", [])) <= {"raises-exception"}
    headings = [c.source for c in student.cells if c.cell_type == "markdown" and "### Exercise" in c.source]
    numbered = re.search(r"book/(\d\d)_", chapter)
    if numbered and chapter != "book/09_practical":
        assert headings and all(f"Exercise {int(numbered.group(1))}." in h for h in headings)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_name_a_given_cell_uses_is_defined_or_named_in_the_text(chapter):
    assert undefined_names(published(chapter)) == []


def test_markdown_conversion():
    chapter = ROOT / "book" / "04_null_model_icc.md"
    text = ("(sec-x)=\n## A section\n\n```{admonition} Why\n:class: tip\nBecause {glue:text}`rho:.1%` "
            "of it, {cite:p}`snijders2012multilevel`.\n```\n\n```{math}\n:label: eq-icc\n\\rho = a\n```\n"
            "See {eq}`eq-icc`, {doc}`05_shrinkage`, {term}`the ICC <ICC>`, {download}`x <r/exam_null.R>`.\n"
            "```python\n{not_a_role}`x`\n```")
    out = to_markdown(text, {"rho": 0.1686}, chapter)
    assert "(sec-x)=" not in out and "## A section" in out
    assert "> **Why**" in out and "16.9%" in out and "(Snijders and Bosker 2012)" in out
    assert "$$" in out and "See (4." in out and "*Shrinkage*" in out and "the ICC" in out
    assert "{not_a_role}`x`" in out  # ordinary code blocks are left alone
    with pytest.raises(KeyError):
        to_markdown("{glue:text}`missing`", {}, chapter)


def test_plain_code_takes_the_machinery_out():
    assert plain_code("from lme_helpers.book import glue\nx = 1\nglue('x', x)") == "x = 1"
    assert plain_code("SideBySide(None, '''\nm = fit()\n''', 'r/a.R', globals(), r_section='t')") == "m = fit()"
    assert plain_code("side.parity(m)") == ""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from lme_helpers.rbridge import run_r, r_status\nfrom lme_helpers.book import glue\n"
                                  "res = run_r('r/x.R') if r_status().available else None"),
        nbformat.v4.new_code_cell("if res is not None:\n    print(res)")])
    nb.cells[0].metadata["tags"] = ["remove-cell"]
    from lme_helpers.notebooks import _context
    ctx = _context(nb)
    assert plain_code(nb.cells[0].source, removed=True, ctx=ctx) == (
        "res = None  # the book's R output is not part of this notebook")
    assert plain_code("%matplotlib inline") == "%matplotlib inline"  # not Python: left as it is


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_runs_once_completed(chapter, tmp_path):
    student = published(chapter)
    completed = reinsert_solutions(student, ROOT / f"{chapter}.md")
    assert len(completed.cells) > len(student.cells) - len(solution_cells(ROOT / f"{chapter}.md"))
    code = "\n".join(c.source for c in completed.cells if c.cell_type == "code")
    assert not MACHINERY.search(code)
    # a clean kernel in an empty folder: nothing from the book's folders is needed
    nbclient.NotebookClient(completed, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()


@pytest.mark.slow
def test_practical_runs_from_a_folder_with_only_the_notebook_and_the_data(tmp_path):
    """The download a student gets: the notebook and the data file, in a folder of their own."""
    chapter = "book/09_practical"
    shutil.copy(ROOT / "data" / "england_ks4_2022_23.csv", tmp_path)
    completed = reinsert_solutions(published(chapter), ROOT / f"{chapter}.md")
    nbformat.write(completed, tmp_path / "09_practical.ipynb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["09_practical.ipynb", "england_ks4_2022_23.csv"]
    nb = nbformat.read(tmp_path / "09_practical.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert outputs.count("✓ Right") >= 10  # every check passed on the worked solutions


def test_practical_tasks_name_what_the_checks_read():
    student = student_notebook(ROOT / "book" / "09_practical.md", glue_of("book/09_practical"))
    text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    checks = [c.source for c in student.cells if c.cell_type == "code" and c.source.startswith("check_")]
    assert len(checks) >= 9
    for source in checks:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call):
                for arg in node.args:
                    assert isinstance(arg, ast.Name), source
                    assert f"`{arg.id}`" in text, f"the check reads {arg.id}, which no task names"
