"""Student notebooks: questions and starter code without solutions, which run once completed."""

from __future__ import annotations

import re

import nbclient
import nbformat
import pytest
from conftest import ROOT
from site_server import SITE

from lme_helpers.notebooks import has_exercises, reinsert_solutions, solution_cells, student_notebook


def chapters_with_exercises() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    return [n for n in re.findall(r"file: (\S+)", toc) if has_exercises(ROOT / f"{n}.md")]


CHAPTERS = chapters_with_exercises()


def test_every_lecture_and_the_practical_have_exercises():
    assert len(CHAPTERS) >= 9, CHAPTERS
    assert "book/09_practical" in CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_is_published_without_solutions(chapter):
    published = SITE / "_static" / "student" / f"{chapter.split('/')[-1]}.ipynb"
    assert published.exists(), f"{published} was not written by the build"
    student = nbformat.read(published, as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    solutions = solution_cells(ROOT / f"{chapter}.md")
    assert solutions, chapter
    for label, cells in solutions.items():
        for cell in cells:
            assert cell.source.strip() not in text, f"solution code of {label} leaked into the student notebook"
    assert "solution-start" not in text
    answers = [c for c in student.cells if c.metadata.get("exercise")]
    assert len(answers) >= 3
    assert student == student_notebook(ROOT / f"{chapter}.md")  # the published file is current


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_runs_once_completed(chapter):
    student = student_notebook(ROOT / f"{chapter}.md")
    completed = reinsert_solutions(student, ROOT / f"{chapter}.md")
    assert len(completed.cells) > len(student.cells) - len(solution_cells(ROOT / f"{chapter}.md"))
    nbclient.NotebookClient(completed, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "book")}}).execute()
