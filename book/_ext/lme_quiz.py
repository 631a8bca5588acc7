"""Concept-check quizzes: ``book/quizzes/NAME.yml`` on the chapter page and as a Moodle GIFT file.

The file format is described in CONTRIBUTING.md ("Concept-check quizzes"): questions of type
``choice`` (one correct option, a ``why`` for every option) or ``numeric`` (``answer: {glue:
name}``, a ``tolerance`` and a ``why``). A numeric answer is a value the executed chapter
glued, so the quiz cannot disagree with the page.

- The ``{quiz}`` directive shows a chapter's questions where it is placed. A chapter with a
  quiz file that does not place it gets a section "Check your understanding", holding
  ``{quiz}``, just before its exercises. The page checks answers as they are
  given, with no server: ``lme-quiz.js`` marks the choice right or wrong and explains every
  option. The questions are ordinary form controls (radio buttons, a text field, a button),
  so they work with the keyboard and screen readers.
- At the end of every build, each chapter's questions, with the numeric answers read from the
  chapter's executed glue values, are written as GIFT (Moodle's text format for importing
  questions) to ``_static/quizzes/NAME.gift``, and all of them to ``_static/quizzes/all.gift``.

A quiz that does not follow the format, or names a value the chapter does not glue, fails the
build with a message naming the file and the question.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

QUIZ_DIR = "book/quizzes"  # relative to the book's root (its confdir)
OUT_DIR = "_static/quizzes"
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MIN_QUESTIONS = 5


class QuizError(ValueError):
    """A quiz file that does not follow the format."""


# ---------------------------------------------------------------------------------------
# reading and checking a quiz file


def quiz_path(root: Path, name: str) -> Path:
    return Path(root) / QUIZ_DIR / f"{name}.yml"


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise QuizError(f"{where}: {message}")


def load_quiz(path: Path) -> list[dict]:
    """The questions of a quiz file, checked against the format (QuizError says what is wrong).

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.yml"
    >>> _ = f.write_text("questions:\\n  - id: a\\n    type: numeric\\n    prompt: How many?\\n"
    ...                  "    answer: {glue: n}\\n    tolerance: 0.5\\n    why: Count them.\\n")
    >>> load_quiz(f)[0]["answer"]
    {'glue': 'n'}
    """
    where = str(path)
    try:
        spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QuizError(f"{where}: not valid YAML ({exc})") from None
    _require(isinstance(spec, dict) and set(spec) == {"questions"}, where, "the file must hold one key, 'questions'")
    questions = spec["questions"]
    _require(isinstance(questions, list) and questions, where, "'questions' must be a non-empty list")
    seen = set()
    for i, q in enumerate(questions, start=1):
        _require(isinstance(q, dict), where, f"question {i} is not a mapping")
        qid = q.get("id")
        at = f"{where}, question {i} ({qid})"
        _require(isinstance(qid, str) and ID.match(qid), at, "'id' must be lower-case letters, digits and hyphens")
        _require(qid not in seen, at, "the id is used twice")
        seen.add(qid)
        _require(isinstance(q.get("prompt"), str) and q["prompt"].strip(), at, "'prompt' is missing")
        if q.get("type") == "choice":
            _require(set(q) <= {"id", "type", "prompt", "options"}, at, f"unknown keys {sorted(set(q) - {'id', 'type', 'prompt', 'options'})}")
            options = q.get("options")
            _require(isinstance(options, list) and len(options) >= 2, at, "a choice question needs at least two options")
            for k, o in enumerate(options, start=1):
                _require(isinstance(o, dict) and set(o) <= {"text", "correct", "why"}, at,
                         f"option {k} may have only 'text', 'correct' and 'why'")
                _require(isinstance(o.get("text"), str) and o["text"].strip(), at, f"option {k} has no text")
                _require(isinstance(o.get("why"), str) and o["why"].strip(), at,
                         f"option {k} has no 'why' (every option explains why it is right or wrong)")
                _require(isinstance(o.get("correct", False), bool), at, f"option {k}: 'correct' must be true or false")
            _require(sum(bool(o.get("correct")) for o in options) == 1, at, "exactly one option must be correct")
        elif q.get("type") == "numeric":
            _require(set(q) <= {"id", "type", "prompt", "answer", "tolerance", "why"}, at,
                     f"unknown keys {sorted(set(q) - {'id', 'type', 'prompt', 'answer', 'tolerance', 'why'})}")
            answer = q.get("answer")
            _require(isinstance(answer, dict) and set(answer) == {"glue"} and isinstance(answer["glue"], str), at,
                     "'answer' must be {glue: name}, a value the chapter glues (never a typed-in number)")
            tol = q.get("tolerance")
            _require(isinstance(tol, (int, float)) and not isinstance(tol, bool) and tol >= 0, at,
                     "'tolerance' must be a positive number (or 0 for a whole-number answer)")
            _require(isinstance(q.get("why"), str) and q["why"].strip(), at, "'why' is missing")
        else:
            raise QuizError(f"{at}: 'type' must be 'choice' or 'numeric'")
    return questions


def glue_number(value, name: str, where: str) -> float:
    """A glued value as a number: from a glue.json entry, its text/plain, or a number."""
    if isinstance(value, dict):
        value = value.get("data", value).get("text/plain")
    try:
        number = float(str(value).strip().strip("'\""))
    except (TypeError, ValueError):
        raise QuizError(f"{where}: the glued value {name!r} is not a number ({value!r})") from None
    if not math.isfinite(number):
        raise QuizError(f"{where}: the glued value {name!r} is not finite")
    return number


def resolve(questions: list[dict], lookup, where: str) -> list[dict]:
    """The questions with every numeric answer replaced by its value (``lookup(name)``)."""
    out = []
    for q in questions:
        q = dict(q)
        if q["type"] == "numeric":
            name = q["answer"]["glue"]
            try:
                raw = lookup(name)
            except KeyError:
                raise QuizError(f"{where}, question {q['id']}: the chapter glues no value named {name!r}") from None
            q["value"] = glue_number(raw, name, f"{where}, question {q['id']}")
            if q["tolerance"] == 0 and q["value"] != round(q["value"]):
                raise QuizError(f"{where}, question {q['id']}: tolerance 0 needs a whole-number answer "
                                f"({name} = {q['value']!r})")
        out.append(q)
    return out


def shuffled(chapter: str, qid: str, options: list[dict]) -> list[tuple[int, dict]]:
    """A question's options in the order the page shows them, each with its index in the file.

    The order is drawn from a seed made of the chapter's and the question's names, so it is
    the same in every build (the pages stay byte-identical) but differs between questions: the
    correct option is not always in one place. Each option keeps its own explanation.

    >>> opts = [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}]
    >>> shuffled("04_x", "q1", opts) == shuffled("04_x", "q1", opts)
    True
    >>> sorted(k for k, _ in shuffled("04_x", "q1", opts))
    [0, 1, 2, 3]
    """
    seed = int.from_bytes(hashlib.sha256(f"{chapter}/{qid}".encode()).digest()[:8], "big")
    order = list(enumerate(options))
    random.Random(seed).shuffle(order)
    return order


def decimals(tolerance: float) -> int:
    """Decimal places that show an answer to its tolerance: 0.005 -> 2, 0.05 -> 1, 0.5 -> 0.

    >>> [decimals(t) for t in (0.005, 0.0005, 0.05, 0.5, 2, 0)]
    [2, 3, 1, 0, 0, 0]
    """
    if tolerance == 0:  # a whole number, given exactly
        return 0
    return max(0, math.ceil(-math.log10(2 * tolerance) - 1e-9))


# ---------------------------------------------------------------------------------------
# the page


class lme_html(nodes.Element):
    """An HTML element with given tag and attributes (only the quiz's form controls use it)."""


VOID = {"input"}


def visit_lme_html(self, node: lme_html) -> None:
    attrs = "".join(f" {k}" if v is True else f' {k}="{_attr(v)}"' for k, v in node["attrs"].items())
    self.body.append(f"<{node['tag']}{attrs}>")


def depart_lme_html(self, node: lme_html) -> None:
    if node["tag"] not in VOID:
        self.body.append(f"</{node['tag']}>")


def _attr(value) -> str:
    import html

    return html.escape(str(value), quote=True)


def skip(self, node) -> None:
    raise nodes.SkipNode


def _el(tag: str, children=(), **attrs) -> lme_html:
    node = lme_html("", tag=tag, attrs={k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()})
    node.extend(children)
    return node


class QuizDirective(SphinxDirective):
    """``{quiz}``: the chapter's questions (``{quiz} NAME`` for another file in book/quizzes)."""

    optional_arguments = 1

    def run(self):
        name = self.arguments[0] if self.arguments else Path(self.env.docname).name
        path = quiz_path(self.env.app.confdir, name)
        self.env.note_dependency(str(path))
        if not path.exists():
            raise self.error(f"no quiz file {path} (see CONTRIBUTING.md, 'Concept-check quizzes')")
        from myst_nb.ext.glue.utils import RetrievalError, retrieve_glue_data

        def lookup(key):
            try:
                return retrieve_glue_data(self.state.document, key).data.get("text/plain")
            except RetrievalError:
                raise KeyError(key) from None

        try:
            questions = resolve(load_quiz(path), lookup, str(path))
        except QuizError as exc:
            raise self.error(str(exc)) from None
        quiz = _el("div", class_="lme-quiz", data_quiz=name)
        for number, q in enumerate(questions, start=1):
            quiz += self._question(name, number, q)
        return [quiz]

    def _inline(self, text: str) -> list[nodes.Node]:
        parsed, messages = self.state.inline_text(text.strip(), self.lineno)
        return parsed + messages

    def _block(self, text: str, **attrs) -> lme_html:
        return _el("div", self._inline(text), **attrs)

    def _question(self, name: str, number: int, q: dict) -> lme_html:
        qid = f"quiz-{name.replace('_', '-')}-{q['id']}"
        form = _el("form", class_=f"lme-quiz-question lme-quiz-{q['type']}", id=qid, data_type=q["type"],
                   novalidate=True)
        prompt_id = f"{qid}-prompt"
        prompt = [_el("span", [nodes.Text(f"Question {number}. ")], class_="lme-quiz-number"), *self._inline(q["prompt"])]
        if q["type"] == "choice":
            fieldset = _el("fieldset")
            fieldset += _el("legend", prompt, id=prompt_id)
            # shown shuffled (the same order in every build); the id keeps the option's
            # index in the quiz file, so that a link or a test can name an option
            for k, option in shuffled(name, q["id"], q["options"]):
                oid = f"{qid}-{k}"
                row = _el("div", class_="lme-quiz-option", data_correct="true" if option.get("correct") else "false")
                row += _el("input", type="radio", name=qid, id=oid, value=str(k))
                row += _el("label", self._inline(option["text"]), for_=oid)
                row += self._block(option["why"], class_="lme-quiz-why", hidden=True)
                fieldset += row
            form += fieldset
        else:
            places = decimals(q["tolerance"])
            shown = f"{q['value']:.{places}f}"
            form["attrs"].update({"data-answer": repr(q["value"]), "data-tolerance": repr(q["tolerance"]),
                                  "data-shown": shown})
            form += _el("p", [_el("label", prompt, for_=f"{qid}-input", id=prompt_id)], class_="lme-quiz-prompt")
            form += _el("input", type="text", inputmode="decimal", autocomplete="off", id=f"{qid}-input",
                        name=f"{qid}-input", class_="lme-quiz-input", aria_describedby=f"{qid}-feedback")
        form += _el("button", [nodes.Text("Check")], type="submit", class_="lme-quiz-check")
        form += _el("p", class_="lme-quiz-feedback", id=f"{qid}-feedback", role="status", aria_live="polite")
        if q["type"] == "numeric":
            why = self._block(q["why"], class_="lme-quiz-why", hidden=True)
            why.insert(0, _el("strong", [nodes.Text(f"The answer: {shown} (± {q['tolerance']:g}). ")]))
            form += why
        return form


# ---------------------------------------------------------------------------------------
# export to Moodle (GIFT)


def _markdown_html(text: str) -> str:
    """Inline Markdown (with $maths$) as HTML for a VLE: maths as \\( \\) for its MathJax filter."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark").use(dollarmath_plugin, allow_space=True, double_inline=True)
    md.add_render_rule("math_inline", lambda self, tokens, idx, options, env: f"\\({_escape_html(tokens[idx].content)}\\)")
    md.add_render_rule("math_inline_double", lambda self, tokens, idx, options, env: f"\\[{_escape_html(tokens[idx].content)}\\]")
    # MyST roles ({term}`x`, {glue:text}`x`) are shown by their text
    text = re.sub(r"\{[a-z:]+\}`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text.strip())
    return md.renderInline(text)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gift_escape(text: str) -> str:
    """Escape GIFT's reserved characters (as Moodle's own exporter does).

    >>> gift_escape("τ₀₀ / (τ₀₀ + σ²) = {x}: #1 ~ \\\\(a\\\\)")
    'τ₀₀ / (τ₀₀ + σ²) \\\\= \\\\{x\\\\}\\\\: \\\\#1 \\\\~ \\\\\\\\(a\\\\\\\\)'
    """
    for char in "\\#=~{}:":
        text = text.replace(char, "\\" + char)
    return text.replace("\r", "").replace("\n", "\\n")


def _number(value: float) -> str:
    return f"{value:.10g}"


def gift(chapter: str, title: str, questions: list[dict]) -> str:
    """One chapter's questions in Moodle's GIFT format (HTML text; numeric answers filled in)."""
    lines = [f"// {title}: questions generated from book/quizzes/{chapter}.yml", "",
             f"$CATEGORY: $course$/top/Mixed Effects, Executed/{gift_escape(title).replace('/', '-')}", ""]
    for q in questions:
        name = gift_escape(f"{chapter}: {q['id']}")
        text = "[html]" + gift_escape(_markdown_html(q["prompt"]))
        if q["type"] == "choice":
            answers = [f"\t{'=' if o.get('correct') else '~'}{gift_escape(_markdown_html(o['text']))}"
                       f"#{gift_escape(_markdown_html(o['why']))}" for o in q["options"]]
            lines += [f"::{name}::{text}{{", *answers, "}", ""]
        else:
            why = gift_escape(_markdown_html(q["why"]))
            shown = f"{q['value']:.{decimals(q['tolerance'])}f}"
            # a wrong try gets no answer (a student may try again); the worked answer is the
            # general feedback, which Moodle shows once the question is finished
            lines += [f"::{name}::{text}{{#",
                      f"\t={_number(q['value'])}:{_number(q['tolerance'])}#Right. {why}",
                      "\t~#Not quite: check your working and try again.",
                      f"\t####{gift_escape('The answer: ' + shown + '. ')}{why}",
                      "}", ""]
    return "\n".join(lines)


def first_asked(questions: list[dict], asked: set) -> list[dict]:
    """The questions not asked before in the book, for ``all.gift``: a numeric question whose
    answer is one already asked for (the same glued name, or the same non-integer value to ten
    significant digits: the same quantity glued by two chapters) is left out.

    >>> asked = set()
    >>> q = {"id": "a", "type": "numeric", "answer": {"glue": "lam"}, "value": 0.2880123}
    >>> [len(first_asked([q], asked)), len(first_asked([dict(q, answer={"glue": "lam_min"})], asked))]
    [1, 0]
    >>> len(first_asked([dict(q, answer={"glue": "n"}, value=65.0)], asked))
    1
    """
    kept = []
    for q in questions:
        if q["type"] == "numeric":
            keys = {("glue", q["answer"]["glue"])}
            if q["value"] != round(q["value"]):
                keys.add(("value", _number(q["value"])))
            if keys & asked:
                continue
            asked.update(keys)
        kept.append(q)
    return kept


def quiz_chapters(app) -> dict[str, Path]:
    """``{docname: quiz file}`` for every page with a quiz file of its name."""
    folder = Path(app.confdir) / QUIZ_DIR
    files = {p.stem: p for p in folder.glob("*.yml")} if folder.exists() else {}
    found = {}
    for docname in sorted(app.env.found_docs):
        if Path(docname).name in files:
            found[docname] = files.pop(Path(docname).name)
    for stem, path in files.items():
        logger.warning(f"{path}: no page of the book is named {stem!r}, so the quiz is shown nowhere")
    return found


def _glue_values(app, docname: str) -> dict:
    path = Path(app.outdir).parent / "jupyter_execute" / f"{docname}.glue.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _page_title(app, docname: str) -> str:
    title = app.env.titles.get(docname)
    return title.astext() if title is not None else Path(docname).name


def _write_gift(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    everything = []
    asked: set[tuple[str, float]] = set()
    for docname, path in quiz_chapters(app).items():
        try:
            values = _glue_values(app, docname)
            questions = resolve(load_quiz(path), values.__getitem__, str(path))
        except QuizError as exc:
            logger.warning(str(exc))
            continue
        chapter, title = Path(docname).name, _page_title(app, docname)
        (out / f"{chapter}.gift").write_text(gift(chapter, title, questions), encoding="utf-8")
        everything.append(gift(chapter, title, first_asked(questions, asked)))
    (out / "all.gift").write_text("\n".join(everything), encoding="utf-8")


def _check_quizzes(app, env) -> None:
    """Every quiz file reads (a warning, which fails the build, says what is wrong if not)."""
    for path in quiz_chapters(app).values():
        try:
            load_quiz(path)
        except QuizError as exc:
            logger.warning(str(exc))


QUIZ_SECTION = "## Check your understanding\n\n```{quiz}\n```\n\n"


def add_quiz_section(text: str) -> str:
    """The chapter's source with a "Check your understanding" section before its exercises
    (or at the end), unless it places its ``{quiz}`` itself.

    >>> add_quiz_section("# T\\n\\n## Exercises\\n\\nDo.\\n").split("\\n")[2:6]
    ['## Check your understanding', '', '```{quiz}', '```']
    """
    if re.search(r"^[`:]{3,}\s*\{quiz\}", text, re.M):
        return text
    m = re.search(r"^## (Exercises|Key takeaways)\s*$", text, re.M)
    if m is None:
        return text.rstrip("\n") + "\n\n" + QUIZ_SECTION
    return text[:m.start()] + QUIZ_SECTION + text[m.start():]


def _inject_quiz(app, docname: str, source: list[str]) -> None:
    """``source-read``: a page with a quiz file shows its quiz, whether or not it has ``{quiz}``."""
    has_quiz = quiz_path(app.confdir, Path(docname).name).exists()
    if not hasattr(app.env, "lme_quiz_pages"):
        app.env.lme_quiz_pages = {}
    app.env.lme_quiz_pages[docname] = has_quiz
    if has_quiz:
        source[0] = add_quiz_section(source[0])


def _outdated_quizzes(app, env, added, changed, removed) -> list[str]:
    """Pages whose quiz file appeared or disappeared since they were read."""
    known = getattr(env, "lme_quiz_pages", {})
    return [d for d, had in known.items() if d in env.found_docs and d not in changed
            and quiz_path(app.confdir, Path(d).name).exists() != had]


def _purge(app, env, docname: str) -> None:
    getattr(env, "lme_quiz_pages", {}).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    env.lme_quiz_pages = {**getattr(env, "lme_quiz_pages", {}),
                          **{d: v for d, v in getattr(other, "lme_quiz_pages", {}).items() if d in docnames}}


def setup(app):
    app.add_node(lme_html, html=(visit_lme_html, depart_lme_html), latex=(skip, None), text=(skip, None),
                 man=(skip, None), texinfo=(skip, None))
    app.add_directive("quiz", QuizDirective)
    app.add_css_file("lme-teaching.css")
    app.add_js_file("lme-quiz.js", defer="defer")
    app.connect("source-read", _inject_quiz)
    app.connect("env-get-outdated", _outdated_quizzes)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check_quizzes)
    app.connect("build-finished", _write_gift, priority=470)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
