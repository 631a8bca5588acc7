"""Student notebooks: a chapter's text, tasks and given code, without the solutions.

A chapter is a MyST Markdown notebook written for the book's build: its text has roles
(``{glue:text}`rho:.1%```, ``{term}``, ``{cite:p}`` ...) and directives (``{exercise}``,
``{admonition}``, ``{math}`` ...), and some of its cells are the book's own machinery (glued
numbers, claims, Python-and-R tabs, parity tables). :func:`student_notebook` turns it into a
plain notebook that runs anywhere the book's requirements are installed:

- the Markdown is plain Jupyter Markdown: glued numbers are written in (from the executed
  chapter), exercises become headed sections ("Exercise 4.2: ..."), admonitions become
  quotes, references and citations become text;
- each solution (between ``{solution-start} LABEL`` and ``{solution-end}``) becomes one empty
  code cell for the answer, tagged with the exercise label in ``metadata["exercise"]``;
- the book's machinery is taken out of the code: ``glue`` and ``claim`` calls, imports of
  ``lme_helpers.book``, ``.sidebyside`` and ``.rbridge``, parity tables, and whatever only
  they use; a Python-and-R tab set (``SideBySide``) becomes the Python code it ran;
- text that only the page can keep (a download menu, tabs, hidden solutions) goes between the
  MyST comment lines ``% page-only`` and ``% end page-only``, which leave it on the page and out
  of the notebook; a comment line ``% notebook: ...`` is the notebook's own wording, invisible on
  the page; other ``%`` comment lines are dropped;
- a first code cell says, in comments, how to install ``lme_helpers`` outside the book.

:func:`reinsert_solutions` puts the solutions back (as the same plain code), which is how the
tests check that a completed student notebook runs from top to bottom.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

__all__ = ["student_notebook", "reinsert_solutions", "solution_cells", "has_exercises", "to_markdown",
           "plain_code", "read_glue", "notebook_text", "install_hint", "MYST_LEFTOVERS"]

_START = re.compile(r"^```\{solution-start\}\s*(\S+)[^\n]*\n(?::[^\n]*\n)*```\s*$", re.M)
_END = re.compile(r"^```\{solution-end\}\s*\n```\s*$", re.M)

MACHINERY_MODULES = ("lme_helpers.book", "lme_helpers.sidebyside", "lme_helpers.rbridge")
MACHINERY_CALLS = {"glue", "claim", "run_r", "start_r", "SideBySide"}
KEEP_TAGS = {"raises-exception"}
MYST_LEFTOVERS = re.compile(r"\{[\w:-]+\}`|^\s*(`{3,}|:{3,})\{|^\(\S+\)=\s*$|\{glue|^:label:|^:class:", re.M)
"""Patterns of MyST syntax that must not remain in a student notebook's Markdown."""


def has_exercises(path: str | Path) -> bool:
    """True when a chapter has at least one solution block.

    Examples
    --------
    >>> has_exercises(Path(__file__).parents[1] / "book" / "04_null_model_icc.md")
    True
    """
    return bool(_START.search(Path(path).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------
# glued values
# --------------------------------------------------------------------------


def read_glue(executed: str | Path | dict) -> dict:
    """The values a chapter glued, from its executed notebook (a path, or the notebook as a dict).

    myst-nb stores each glued value as an output with ``metadata["scrapbook"]``; its
    ``text/plain`` is the value's ``repr``, read back here as a Python literal.
    """
    nb = executed if isinstance(executed, dict) else json.loads(Path(executed).read_text(encoding="utf-8"))
    values = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            scrap = (out.get("metadata") or {}).get("scrapbook")
            if not scrap:
                continue
            prefix = scrap.get("mime_prefix", "")
            data = out.get("data") or {}
            text = data.get(f"{prefix}text/plain", data.get("text/plain", ""))
            text = "".join(text) if isinstance(text, list) else text
            try:
                values[scrap["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[scrap["name"]] = text
    return values


# --------------------------------------------------------------------------
# Markdown: MyST to plain Jupyter Markdown
# --------------------------------------------------------------------------


class _Book:
    """What the Markdown conversion needs to know about the book: titles, labels, references."""

    def __init__(self, chapter: Path):
        self.chapter = Path(chapter)
        self.folder = self.chapter.parent
        m = re.match(r"(\d\d)_", self.chapter.name)
        self.number = int(m.group(1)) if m else None
        self._titles: dict[str, str] | None = None
        self._labels: dict[str, str] | None = None
        self._bib: dict[str, tuple[str, str]] | None = None
        self.equations = self._equation_numbers()

    def _equation_numbers(self) -> dict[str, str]:
        text = self.chapter.read_text(encoding="utf-8")
        labels = re.findall(r"^```\{math\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", text, re.M)
        prefix = f"{self.number}." if self.number is not None else ""
        return {label: f"{prefix}{k + 1}" for k, label in enumerate(labels)}

    def title(self, doc: str) -> str:
        if self._titles is None:
            self._titles = {}
            for path in self.folder.glob("*.md"):
                found = re.search(r"^# (.+)$", path.read_text(encoding="utf-8"), re.M)
                if found:
                    self._titles[path.stem] = found.group(1).strip()
        return self._titles.get(Path(doc).stem, Path(doc).stem)

    def label(self, name: str) -> str:
        if self._labels is None:
            self._labels = {}
            for path in self.folder.glob("*.md"):
                text = path.read_text(encoding="utf-8")
                for m in re.finditer(r"^\((\S+)\)=\s*\n+#+\s+(.+)$", text, re.M):
                    self._labels[m.group(1)] = m.group(2).strip()
                for m in re.finditer(r"^(?:`{3,}|:{3,})\{exercise\}\s*(.*)\n(?::[^\n]*\n)*?:label:\s*(\S+)", text, re.M):
                    self._labels[m.group(2)] = m.group(1).strip()
        return self._labels.get(name, name)

    def cite(self, key: str) -> tuple[str, str]:
        if self._bib is None:
            self._bib = {}
            bib = self.folder / "references.bib"
            text = bib.read_text(encoding="utf-8") if bib.exists() else ""
            for entry in re.split(r"\n(?=@)", text):
                head = re.match(r"@\w+\{([^,]+),", entry.strip())
                if not head:
                    continue
                author = re.search(r"\bauthor\s*=\s*\{(.+?)\}\s*,?\s*\n", entry, re.S)
                year = re.search(r"\byear\s*=\s*\{?(\d{4})", entry)
                names = [a.strip() for a in author.group(1).split(" and ")] if author else ["?"]
                last = [n.strip("{}") if n.startswith("{") else n.split(",")[0].strip("{} ") if "," in n
                        else n.split()[-1].strip("{}") for n in names]
                if len(last) == 1:
                    who = last[0]
                elif len(last) == 2:
                    who = f"{last[0]} and {last[1]}"
                else:
                    who = f"{last[0]} et al."
                self._bib[head.group(1).strip()] = (who, year.group(1) if year else "n.d.")
        return self._bib.get(key, (key, ""))


def _split_target(content: str) -> tuple[str | None, str]:
    """``text <target>`` → (text, target); ``target`` → (None, target)."""
    m = re.match(r"^(.*?)\s*<([^<>]+)>\s*$", content, re.S)
    return (m.group(1).strip(), m.group(2).strip()) if m and m.group(1).strip() else (None, content.strip())


def _format_glue(value, spec: str) -> str:
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            pass
    return str(value)


def _role(name: str, content: str, glue: dict | None, book: _Book) -> str:
    if name.startswith("glue") or name == "glue":
        key, _, spec = content.partition(":")
        if glue is None or key not in glue:
            raise KeyError(f"The text uses the glued value {key!r}, which the executed chapter does not have.")
        return _format_glue(glue[key], spec)
    if name in ("cite:p", "cite:t", "cite", "cite:ps", "cite:ts"):
        refs = [book.cite(k.strip()) for k in content.split(",")]
        if name.startswith("cite:t"):
            return "; ".join(f"{who} ({year})" for who, year in refs)
        return "(" + "; ".join(f"{who} {year}" for who, year in refs) + ")"
    if name == "math":
        return f"${content}$"
    if name == "eq":
        return f"({book.equations.get(content.strip(), content.strip())})"
    text, target = _split_target(content)
    if text is not None:
        return text
    if name == "doc":
        return f"*{book.title(target)}*"
    if name in ("ref", "numref"):
        return f"*{book.label(target)}*"
    if name == "download":
        return f"`{Path(target).name}`"
    if name == "term":
        return target
    return target


_ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<content>[^`]*)`")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$")
_PLAIN_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?!\{)")
ADMONITIONS = {"note", "tip", "warning", "important", "caution", "attention", "hint", "seealso", "danger",
               "error"}
DROPPED = {"chapter-path", "core-path", "tableofcontents", "bibliography", "glossary"}


def _inline(text: str, glue: dict | None, book: _Book) -> str:
    return _ROLE.sub(lambda m: _role(m.group("name"), m.group("content"), glue, book), text)


def _quote(title: str, body: str) -> str:
    lines = [f"> **{title}**" if title else ">", ">"] if title else []
    for line in body.strip("\n").splitlines():
        lines.append(f"> {line}".rstrip())
    return "\n".join(lines)


def _directive(name: str, arg: str, options: dict, body: str, glue: dict | None, book: _Book,
               exercises: list) -> str:
    body = to_markdown(body, glue, book, exercises) if name not in ("math", "code", "code-block") else body
    if name in DROPPED:
        return ""
    if name == "going-further":
        return "*A section for a second reading.*"
    if name == "exercise":
        title = _inline(arg, glue, book)
        if "nonumber" in options or book.number is None:
            heading = f"### {title}" if title else "### Exercise"
        else:
            exercises.append(options.get("label"))
            heading = f"### Exercise {book.number}.{len(exercises)}" + (f": {title}" if title else "")
        return f"{heading}\n\n{body.strip()}"
    if name == "math":
        label = options.get("label")
        tag = f" \\tag{{{book.equations[label]}}}" if label in book.equations else ""
        return f"$$\n{body.strip()}{tag}\n$$"
    if name in ("code", "code-block"):
        return f"```{arg}\n{body.rstrip()}\n```"
    if name == "admonition":
        return _quote(_inline(arg, glue, book), body)
    if name in ADMONITIONS:
        return _quote(name.capitalize(), body)
    if name in ("figure", "image"):
        return body.strip()
    return body.strip()


def to_markdown(text: str, glue: dict | None, book: _Book | str | Path, exercises: list | None = None) -> str:
    """MyST Markdown as plain Jupyter Markdown: directives rendered, roles replaced, glued values written in.

    Parameters
    ----------
    text : str
        A Markdown cell of a chapter.
    glue : dict or None
        The chapter's glued values (:func:`read_glue`).
    book : path of the chapter
        For chapter and exercise numbers, titles of other chapters, labels and the bibliography.

    Examples
    --------
    >>> chapter = Path(__file__).parents[1] / "book" / "04_null_model_icc.md"
    >>> to_markdown("So {glue:text}`rho:.1%` of it, see {doc}`05_shrinkage`.", {"rho": 0.1686}, chapter)
    'So 16.9% of it, see *Shrinkage*.'
    """
    book = book if isinstance(book, _Book) else _Book(Path(book))
    exercises = [] if exercises is None else exercises
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\(\S+\)=\s*$", line) or re.match(r"^\+\+\+", line):
            i += 1
            continue
        plain = _PLAIN_FENCE.match(line)
        if plain:  # an ordinary code block: copied as it is
            fence = plain.group("fence")
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            out.extend(lines[i:j + 1])
            i = j + 1
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group("fence")
            j = i + 1
            body: list[str] = []
            options: dict = {}
            in_options = True
            while j < len(lines) and lines[j].strip() != fence:
                opt = re.match(r"^\s*:([\w-]+):\s*(.*)$", lines[j])
                if in_options and opt:
                    options[opt.group(1)] = opt.group(2).strip()
                else:
                    in_options = False
                    body.append(lines[j])
                j += 1
            rendered = _directive(m.group("name"), m.group("arg").strip(), options, "\n".join(body), glue, book,
                                  exercises)
            headings = [h for h in out if h.startswith("#")]
            if rendered and headings and rendered.startswith("### "):
                first, _, rest = rendered.partition("\n")
                if first[4:].strip() == headings[-1].lstrip("#").strip():
                    rendered = rest.strip("\n")  # the section's heading already says it
            if rendered:
                out.extend(rendered.splitlines())
            i = j + 1
            continue
        out.append(_inline(line, glue, book))
        i += 1
    result = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", result).strip("\n")


# --------------------------------------------------------------------------
# code: the book's machinery taken out
# --------------------------------------------------------------------------


def _call_name(node: ast.AST) -> str | None:
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _calls(node: ast.AST) -> set[str]:
    return {_call_name(n) for n in ast.walk(node) if isinstance(n, ast.Call)} - {None}


def _side_by_side_code(node: ast.AST) -> str | None:
    """The Python (lme_helpers) code of a ``SideBySide(...)`` call in ``node``, else None."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and _call_name(n) == "SideBySide":
            code = next((k.value for k in n.keywords if k.arg == "helpers"), None)
            if code is None and len(n.args) >= 2:
                code = n.args[1]
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                text = textwrap.dedent(code.value).strip("\n")
                try:
                    return text if ast.parse(text).body else ""  # comments alone: nothing to run
                except SyntaxError:
                    return text
            return ""
    return None


def _statements(source: str):
    """``(statement, its source text)`` for each top-level statement, or None when the code is not Python."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    lines = source.splitlines()
    out = []
    previous_end = 0
    for stmt in tree.body:  # each statement with the comments and blank lines before it
        out.append((stmt, "\n".join(lines[previous_end:stmt.end_lineno])))
        previous_end = stmt.end_lineno
    return out


def _is_machinery(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.ImportFrom) and (stmt.module or "") in MACHINERY_MODULES:
        return True
    if isinstance(stmt, ast.Import) and any(a.name in MACHINERY_MODULES for a in stmt.names):
        return True
    calls = _calls(stmt)
    return bool(calls & MACHINERY_CALLS) or "parity" in calls


def _stored(node: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


class _Context:
    """What the whole chapter says about its names: which the book's machinery binds, which code
    that stays reads, and which hidden assignments nothing reads."""

    def __init__(self, machinery_bound: set[str] | None = None, needed: set[str] | None = None,
                 unused: set[str] | None = None):
        self.machinery_bound = machinery_bound or set()
        self.needed = needed or set()
        self.unused = unused or set()


def plain_code(source: str, removed: bool = False, ctx: _Context | None = None) -> str:
    """A code cell's source without the book's machinery (see the module's description).

    ``removed`` says that the book hides the cell. ``ctx`` (from the whole chapter) lets a
    machinery import keep the names that code which stays uses, turns a machinery assignment
    that such code reads (``r_results = run_r(...)``) into ``name = None``, and takes out
    hidden assignments that nothing reads and statements that only touch machinery.

    Examples
    --------
    >>> plain_code('x = 1\\nglue("x", x)\\nclaim(x > 0, "x is positive")')
    'x = 1'
    >>> plain_code("SideBySide(None, 'm = 2', 'r/a.R', globals())")
    'm = 2'
    """
    ctx = ctx or _Context()
    parsed = _statements(source)
    if parsed is None:
        return source
    kept = []
    for stmt, text in parsed:
        code = _side_by_side_code(stmt)
        if code is not None:
            if code:
                kept.append(code)
            continue
        if isinstance(stmt, ast.ImportFrom) and (stmt.module or "") in MACHINERY_MODULES:
            names = [a for a in stmt.names if (a.asname or a.name) in ctx.needed
                     and a.name not in MACHINERY_CALLS | {"claim", "glue"}]
            if names:
                listed = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in names)
                kept.append(f"from {stmt.module} import {listed}")
            continue
        if _is_machinery(stmt):
            wanted = sorted(_stored(stmt) & ctx.needed) if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else []
            kept.extend(f"{name} = None  # the book's R output is not part of this notebook" for name in wanted)
            continue
        reads = _loads(stmt)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name) and stmt.value.id in ctx.machinery_bound:
            continue  # displays a machinery object (a tab set, a report)
        if removed and reads & ctx.machinery_bound - ctx.needed:
            continue
        if removed and isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = _stored(stmt)
            if targets and targets <= ctx.unused:
                continue
        kept.append(text)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def _names(source: str, ctx) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


# --------------------------------------------------------------------------
# the notebook
# --------------------------------------------------------------------------


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


_PAGE_ONLY = re.compile(r"^%\s*page-only\s*\n.*?^%\s*end page-only\s*(\n|$)", re.M | re.S)
_NOTEBOOK_LINE = re.compile(r"^%\s*notebook:\s?(.*)$", re.M)
_COMMENT_LINE = re.compile(r"^%.*(\n|$)", re.M)


def notebook_text(text: str) -> str:
    r"""A chapter's Markdown as the notebook has it: page-only blocks out, notebook-only lines in.

    Examples
    --------
    >>> notebook_text("Read on.\n% page-only\nOpen the tab.\n% end page-only\n% notebook: Run the cell.\n% a note")
    'Read on.\nRun the cell.\n'
    """
    text = _PAGE_ONLY.sub("", text)
    text = _NOTEBOOK_LINE.sub(lambda m: m.group(1), text)
    return _COMMENT_LINE.sub("", text)


def install_hint(path: str | Path) -> str:
    """The commented first cell of a student notebook: how to install ``lme_helpers`` with its data.

    The repository comes from the book's ``_config.yml`` (as on the page on running the book).
    """
    url = None
    for folder in Path(path).resolve().parents:
        config = folder / "_config.yml"
        if config.exists():
            found = re.search(r"^repository:\s*\n(?:\s+\S.*\n)*?\s+url:\s*(\S+)", config.read_text(), re.M)
            url = found.group(1).rstrip("/") if found else None
            break
    source = f"git+{url}" if url else "git+<the book's repository>"
    return ("# Outside the book's own environment (Binder, Colab, your computer), install the book's\n"
            "# helper package and its data once, then restart the kernel:\n"
            f'# pip install "lme_helpers @ {source}"\n')


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


def _hidden(cell) -> bool:
    tags = set(cell.metadata.get("tags", []))
    return bool(tags & {"remove-cell", "remove-input"})


def _context(nb) -> _Context:
    """The chapter-wide facts :func:`plain_code` needs (iterated until hidden cells stop changing)."""
    machinery_bound: set[str] = set()
    visible_reads: set[str] = set()
    hidden: list[str] = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        parsed = _statements(c.source) or []
        for stmt, _ in parsed:
            code = _side_by_side_code(stmt)
            if code is not None:
                machinery_bound |= _stored(stmt)
                visible_reads |= _names(code, ast.Load)
            elif _is_machinery(stmt):
                machinery_bound |= _stored(stmt)
            elif not _hidden(c):
                visible_reads |= _loads(stmt)
        if _hidden(c):
            hidden.append(c.source)
    # a function that hidden code defines from machinery (a table that needs lme4's results)
    # is machinery too: the calls to it go with it
    grown = True
    while grown:
        grown = False
        for source in hidden:
            for stmt, _ in _statements(source) or []:
                if (isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and stmt.name not in machinery_bound
                        and _loads(stmt) & machinery_bound):
                    machinery_bound.add(stmt.name)
                    grown = True
    bound = set()
    for source in hidden:
        bound |= _names(source, ast.Store)
    ctx = _Context(machinery_bound, visible_reads, bound - visible_reads)
    while True:
        reads = set(visible_reads)
        for source in hidden:
            reads |= _names(plain_code(source, removed=True, ctx=ctx), ast.Load)
        unused = bound - reads
        if unused == ctx.unused:
            return ctx
        ctx = _Context(machinery_bound, visible_reads, unused)


def _clean_cell(cell, ctx: _Context):
    import nbformat

    code = plain_code(cell.source, removed=_hidden(cell), ctx=ctx)
    if not code.strip():
        return None
    tags = [t for t in cell.metadata.get("tags", []) if t in KEEP_TAGS]
    new = nbformat.v4.new_code_cell(code)
    if tags:
        new.metadata["tags"] = tags
    return new


def student_notebook(path: str | Path, glue: dict | None = None) -> nbformat.NotebookNode:
    """The chapter at ``path`` as a plain notebook with every solution replaced by an empty answer cell.

    Parameters
    ----------
    path : str or Path
        A MyST Markdown chapter.
    glue : dict, optional
        The values the executed chapter glued (:func:`read_glue`), written into the text.
        Needed when the text outside the solutions uses glued values.

    Returns
    -------
    NotebookNode
        Plain Markdown and code; one code cell per exercise, tagged with the exercise label
        in ``metadata["exercise"]``, for the answer.

    Examples
    --------
    >>> nb = student_notebook(Path(__file__).parents[1] / "book" / "02_fixed_random.md", glue={})  # doctest: +SKIP
    """
    import nbformat

    path = Path(path)
    nb = _read(path)
    book = _Book(path)
    ctx = _context(nb)
    exercises: list = []
    out = nbformat.v4.new_notebook()
    out.cells.append(nbformat.v4.new_code_cell(install_hint(path)))
    for item, label in _walk(nb):
        if isinstance(item, tuple):
            kind, lab = item
            if kind == "start":
                answer = nbformat.v4.new_code_cell("# Your answer here.\n")
                answer.metadata["exercise"] = lab
                out.cells.append(answer)
            continue
        if label is not None:
            continue  # inside a solution: left out
        if item.cell_type == "markdown":
            text = to_markdown(notebook_text(item.source), glue, book, exercises)
            if text.strip():
                out.cells.append(nbformat.v4.new_markdown_cell(text))
        elif item.cell_type == "code":
            cell = _clean_cell(item, ctx)
            if cell is not None:
                out.cells.append(cell)
    out.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(out.cells):  # stable ids: the same chapter always gives the same file
        cell["id"] = f"cell-{i:03d}"
    return out


def solution_cells(path: str | Path) -> dict[str, list]:
    """The code cells of each solution in the chapter, by exercise label, as plain code."""
    nb = _read(path)
    ctx = _context(nb)
    out: dict[str, list] = {}
    for item, label in _walk(nb):
        if label is not None and not isinstance(item, tuple) and item.cell_type == "code":
            cell = _clean_cell(item, ctx)
            if cell is not None:
                out.setdefault(label, []).append(cell)
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


def undefined_names(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """Names a given cell reads that no earlier given cell defines and no earlier text names.

    The text names a variable in backticks (`` `icc_p8` ``); answer cells are the reader's,
    so what they define counts only when the text asks for it by name.
    """
    known = set(dir(builtins)) | {"display", "get_ipython"}
    named: set[str] = set()
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            named |= set(re.findall(r"`([A-Za-z_]\w*)`", cell.source))
            named |= {m for code in re.findall(r"`([^`]+)`", cell.source) for m in re.findall(r"[A-Za-z_]\w*", code)}
            continue
        if cell.metadata.get("exercise"):
            continue
        stored = _names(cell.source, ast.Store)
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                stored |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                stored.add(node.name)
            elif isinstance(node, ast.arg):
                stored.add(node.arg)
        for name in sorted(_names(cell.source, ast.Load) - known - named - stored):
            problems.append((i, name))
        known |= stored
    return problems


__all__.append("undefined_names")
