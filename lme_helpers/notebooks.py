"""Student notebooks: a chapter's questions and starter code, without the solutions.

A chapter marks each solution with the MyST directives ``{solution-start} LABEL``
and ``{solution-end}``. :func:`student_notebook` removes everything between them
(text and code) and leaves one empty code cell per exercise for the reader's
answer; :func:`reinsert_solutions` puts the solutions back, which is how the
tests check that a completed student notebook runs from top to bottom.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

__all__ = ["student_notebook", "reinsert_solutions", "solution_cells", "has_exercises"]

_START = re.compile(r"^```\{solution-start\}\s*(\S+)[^\n]*\n(?::[^\n]*\n)*```\s*$", re.M)
_END = re.compile(r"^```\{solution-end\}\s*\n```\s*$", re.M)


def has_exercises(path: str | Path) -> bool:
    """True when a chapter has at least one solution block.

    Examples
    --------
    >>> has_exercises(Path(__file__).parents[1] / "book" / "04_null_model_icc.md")
    True
    """
    return bool(_START.search(Path(path).read_text(encoding="utf-8")))


def _split(text: str):
    """Yield (kind, payload) pieces of a markdown cell: ('text', s), ('start', label), ('end', None)."""
    pos = 0
    marks = sorted([(m.start(), m.end(), "start", m.group(1)) for m in _START.finditer(text)]
                   + [(m.start(), m.end(), "end", None) for m in _END.finditer(text)])
    for start, end, kind, label in marks:
        if text[pos:start].strip():
            yield "text", text[pos:start]
        yield kind, label
        pos = end
    if text[pos:].strip():
        yield "text", text[pos:]


def _read(path: str | Path) -> nbformat.NotebookNode:
    import jupytext  # imported here: the book's build checks pages for exercises without it

    return jupytext.read(path, fmt="md:myst")


def _walk(nb):
    """Yield (cell or text piece, current solution label or None)."""
    import nbformat

    label = None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            yield cell, label
            continue
        for kind, payload in _split(cell.source):
            if kind == "start":
                label = payload
                yield ("start", payload), label
            elif kind == "end":
                yield ("end", label), None
                label = None
            else:
                yield nbformat.v4.new_markdown_cell(payload.strip("\n")), label


def student_notebook(path: str | Path) -> nbformat.NotebookNode:
    """The chapter at ``path`` as a notebook with every solution replaced by an empty answer cell.

    Parameters
    ----------
    path : str or Path
        A MyST Markdown chapter.

    Returns
    -------
    NotebookNode
        Questions, text and starter code; one code cell per exercise, tagged
        with the exercise label in ``metadata["exercise"]``, for the answer.

    Examples
    --------
    >>> nb = student_notebook(Path(__file__).parents[1] / "book" / "04_null_model_icc.md")
    >>> sum(1 for c in nb.cells if c.metadata.get("exercise"))
    3
    """
    import nbformat

    nb = _read(path)
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    for item, label in _walk(nb):
        if isinstance(item, tuple):
            kind, lab = item
            if kind == "start":
                answer = nbformat.v4.new_code_cell(f"# Your answer to exercise '{lab}' here.\n")
                answer.metadata["exercise"] = lab
                out.cells.append(answer)
            continue
        if label is not None:
            continue  # inside a solution: leave it out
        cell = copy.deepcopy(item)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            # cells tagged remove-cell stay: the set-up they hide on the page is needed to run the notebook
        out.cells.append(cell)
    out.metadata.pop("jupytext", None)
    out.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    for i, cell in enumerate(out.cells):  # stable ids: the same chapter always gives the same file
        cell["id"] = f"cell-{i:03d}"
    return out


def solution_cells(path: str | Path) -> dict[str, list]:
    """The code cells of each solution in the chapter, by exercise label."""
    nb = _read(path)
    out: dict[str, list] = {}
    for item, label in _walk(nb):
        if label is not None and not isinstance(item, tuple) and item.cell_type == "code":
            out.setdefault(label, []).append(item)
    return out


def reinsert_solutions(student: nbformat.NotebookNode, path: str | Path) -> nbformat.NotebookNode:
    """Replace each answer cell of a student notebook with the chapter's solution code."""
    solutions = solution_cells(path)
    nb = copy.deepcopy(student)
    cells = []
    for cell in nb.cells:
        label = cell.metadata.get("exercise") if cell.cell_type == "code" else None
        if label is None:
            cells.append(cell)
        else:
            cells.extend(copy.deepcopy(solutions.get(label, [])))
    nb.cells = cells
    return nb
