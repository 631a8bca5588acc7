"""Slide decks generated from the executed chapters (reveal.js, served from the book's own files).

A chapter marks what goes on its deck (see CONTRIBUTING.md, "Slides"):

- a code cell tagged ``slide`` puts its outputs (a chart, a table) on a slide, titled by the
  nearest heading above it;
- a Markdown cell tagged ``slide`` (``+++ {"tags": ["slide"]}``) becomes a slide, titled by
  its first heading or, if it has none, by the nearest heading above it;
- a Markdown cell tagged ``notes`` gives the speaker notes of the slide before it.

myst-nb keeps no trace of a Markdown cell's metadata in the document tree, so this module
wraps its rendering of tagged Markdown cells between two comment nodes
(``lme-cell-start slide`` ... ``lme-cell-end``), which the page's HTML writer leaves out.
When the chapter's page is written, the deck is assembled from the same resolved document
tree: every slide is rendered by the same HTML writer as the page, so an equation, a glued
number, a table or a chart on a slide is the one on the page. Charts are the page's
``<figure class="lme-chart">`` blocks, drawn by ``lme-charts.js`` with the vendored
vega-embed; equations by the vendored MathJax.

A deck is written to ``slides/NAME.html`` for every chapter on the core path
(``book/path.yml``) and for any other page with a slide tag.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

CELL_TAGS = ("slide", "notes")
START, END = "lme-cell-start", "lme-cell-end"
OUT_DIR = "slides"
# The deck is laid out on this canvas and scaled by reveal.js to fill the screen, so that a
# 1280 x 720 projector shows it 25% larger: text, tables and charts read from the back.
WIDTH, HEIGHT = 1024, 576


def patch_markdown_cells() -> None:
    """Make myst-nb mark the start and end of every Markdown cell tagged ``slide`` or ``notes``."""
    from myst_nb.sphinx_ import SphinxNbRenderer

    original = SphinxNbRenderer.render_nb_cell_markdown
    if getattr(original, "lme_marks_cells", False):
        return

    def render_nb_cell_markdown(self, token) -> None:
        tags = [t for t in (token.meta.get("metadata", {}).get("tags") or []) if t in CELL_TAGS]
        if not tags:
            return original(self, token)
        self.current_node.append(nodes.comment("", f"{START} {' '.join(tags)}"))
        original(self, token)
        self.current_node.append(nodes.comment("", END))

    render_nb_cell_markdown.lme_marks_cells = True
    SphinxNbRenderer.render_nb_cell_markdown = render_nb_cell_markdown


@dataclass
class Slide:
    title: nodes.Node | None
    body: list[nodes.Node]
    source: str  # "markdown" or "code"
    anchor: str = ""
    notes: list[nodes.Node] = field(default_factory=list)


def _is_mark(node: nodes.Node) -> bool:
    return isinstance(node, nodes.comment) and node.astext().startswith((START, END))


def _is_slide_cell(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and "cell" in node["classes"] and "tag_slide" in node["classes"]


def _events(parent: nodes.Element):
    """The document in reading order: headings, cell marks, code cells and other blocks."""
    for child in parent.children:
        if isinstance(child, nodes.section):
            yield "heading", child
            yield from _events(child)
        elif isinstance(child, nodes.title):
            continue
        elif _is_mark(child):
            yield "mark", child
        elif isinstance(child, nodes.container) and "cell" in child["classes"]:
            yield "cell", child
        elif isinstance(child, nodes.Element) and any(
                _is_mark(n) or _is_slide_cell(n) for n in child.findall(include_self=False)):
            yield from _events(child)  # a tagged cell inside another block (a solution, say)
        else:
            yield "block", child


def collect_slides(doctree: nodes.document) -> list[Slide]:
    """The chapter's slides in reading order, each with its title, content and speaker notes."""
    slides: list[Slide] = []
    heading: nodes.section | None = None
    region: dict | None = None  # the tagged Markdown cell being read
    for kind, node in _events(doctree):
        if kind == "heading":
            heading = node
            if region is not None and region["heading"] is None:
                region["heading"] = node
        elif kind == "mark":
            text = node.astext()
            if text.startswith(START):
                region = {"tags": text.split()[1:], "heading": None, "above": heading, "blocks": []}
            elif region is not None:
                _close(region, slides)
                region = None
        elif kind == "cell" and _is_slide_cell(node):
            outputs = [c for c in node.children if isinstance(c, nodes.container) and "cell_output" in c["classes"]]
            if not outputs:
                logger.warning("a code cell tagged 'slide' has no output to show", location=node)
                continue
            slides.append(Slide(_title(heading), outputs, "code", _anchor(heading)))
        elif kind == "block" and region is not None:
            region["blocks"].append(node)
    return slides


def _close(region: dict, slides: list[Slide]) -> None:
    if "slide" in region["tags"]:
        own = region["heading"]
        title_from = own if own is not None else region["above"]
        slides.append(Slide(_title(title_from), region["blocks"], "markdown", _anchor(title_from)))
    if "notes" in region["tags"] and slides:
        slides[-1].notes.extend(region["blocks"])


def _title(section: nodes.section | None) -> nodes.Node | None:
    if section is None:
        return None
    return next((c for c in section.children if isinstance(c, nodes.title)), None)


def _anchor(section: nodes.section | None) -> str:
    return section["ids"][0] if section is not None and section["ids"] else ""


# ---------------------------------------------------------------------------------------
# rendering


def _render(builder, node: nodes.Node) -> str:
    """HTML of a node, written by the page's own HTML writer (a copy: the page is unchanged)."""
    return builder.render_partial(node.deepcopy())["fragment"]


def _render_title(builder, title: nodes.Node | None) -> str:
    if title is None:
        return ""
    para = nodes.paragraph("", "", *[c.deepcopy() for c in title.children])
    rendered = _render(builder, para).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S)


HREF = re.compile(r'(href|src)="([^"]*)"')


def relink(fragment: str, page: str) -> str:
    """Rewrite the page's relative links for a deck in ``slides/`` (a sibling of ``book/``).

    >>> relink('<a href="#eq-1">(1)</a> <a href="05_x.html">5</a> <img src="../_images/a.png">', "04_y.html")
    '<a href="../book/04_y.html#eq-1">(1)</a> <a href="../book/05_x.html">5</a> <img src="../_images/a.png">'
    """

    def fix(m: re.Match) -> str:
        attr, url = m.groups()
        if re.match(r"^([a-z][a-z0-9+.-]*:|/|\.\./)", url, re.I) or not url:
            return m.group(0)
        if url.startswith("#"):
            return f'{attr}="../book/{page}{url}"'
        return f'{attr}="../book/{url}"'

    return HREF.sub(fix, fragment)


def _deck_html(*, title: str, chapter_href: str, slides_html: list[str], book_title: str,
               anchors: set[str]) -> str:
    static = "../_static"
    config = json.dumps({"width": WIDTH, "height": HEIGHT})
    cover = (
        '<section class="lme-title-slide" data-lme-kind="title">'
        f'<p class="lme-deck-book">{html.escape(book_title)}</p>'
        f"<h1>{title}</h1>"
        f'<p class="lme-deck-links"><a href="{chapter_href}">Read the chapter</a> (exercises, quiz and code)</p>'
        '<p class="lme-deck-keys">→ or Space: next · ←: back · Esc: overview · S: speaker notes</p>'
        "</section>"
    )
    practise = [f'<li><a href="{chapter_href}#{anchor}">{text}</a></li>'
                for anchor, text in (("check-your-understanding", "Check your understanding: the quiz"),
                                     ("exercises", "The exercises, with worked solutions"))
                if anchor in anchors]
    end = (
        '<section class="lme-end-slide" data-lme-kind="end">'
        "<h2>Now practise</h2>"
        f'<ul>{"".join(practise)}<li><a href="{chapter_href}">The whole chapter</a></li></ul>'
        "</section>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Slides: {html.escape(re.sub(r"<[^>]+>", "", title))}</title>
<link rel="icon" href="{static}/favicon.svg">
<link rel="stylesheet" href="{static}/vendor/reveal/reveal.css">
<link rel="stylesheet" href="{static}/lme-book.css">
<link rel="stylesheet" href="{static}/lme-slides.css">
</head>
<body>
<main class="reveal" aria-label="Slides">
<div class="slides">
{cover}
{"".join(slides_html)}
{end}
</div>
</main>
<script src="{static}/vendor/vega.min.js"></script>
<script src="{static}/vendor/vega-lite.min.js"></script>
<script src="{static}/vendor/vega-embed.min.js"></script>
<script src="{static}/vendor/reveal/reveal.js"></script>
<script src="{static}/vendor/reveal/notes.js"></script>
<script id="lme-deck-config" type="application/json">{config}</script>
<script src="{static}/lme-slides.js" data-charts="{static}/lme-charts.js"></script>
<script async src="{static}/vendor/mathjax/tex-svg-full.js"></script>
</body>
</html>
"""


def render_deck(builder, pagename: str, page_title: str, slides: list[Slide], book_title: str,
                anchors: set[str] = frozenset()) -> str:
    page = Path(pagename).name + ".html"
    parts = []
    for i, slide in enumerate(slides, start=1):
        title = _render_title(builder, slide.title)
        body = "".join(_render(builder, n) for n in slide.body)
        notes = "".join(_render(builder, n) for n in slide.notes)
        source = f"../book/{page}#{slide.anchor}" if slide.anchor else f"../book/{page}"
        parts.append(
            f'<section data-lme-kind="{slide.source}" data-lme-slide="{i}" data-lme-source="{source}">'
            + (f"<h2>{title}</h2>" if title else "")
            + f'<div class="lme-slide-body">{body}</div>'
            + (f'<aside class="notes">{notes}</aside>' if notes else "")
            + "</section>\n"
        )
    return _deck_html(title=page_title, chapter_href=f"../book/{page}",
                      slides_html=[relink(p, page) for p in parts], book_title=book_title,
                      anchors=set(anchors))


# ---------------------------------------------------------------------------------------
# Sphinx


def deck_pages(app) -> set[str]:
    """Pages that get a deck: the core-path chapters, whether or not they are tagged yet."""
    from lme_path import load_path

    chapters = {ch["file"] for ch in load_path()["chapters"]}
    return {d for d in app.env.found_docs if Path(d).name in chapters}


def deck_href(pagename: str) -> str:
    """The deck of ``pagename``, relative to the page."""
    return f"../{OUT_DIR}/{Path(pagename).name}.html"


def _write_deck(app, pagename, templatename, context, doctree) -> None:
    if doctree is None or app.builder.format != "html":
        return
    slides = collect_slides(doctree)
    if not slides and pagename not in deck_pages(app):
        return
    title = _render_title(app.builder, next(iter(doctree.findall(nodes.title)), None))
    anchors = {i for section in doctree.findall(nodes.section) for i in section["ids"]}
    deck = render_deck(app.builder, pagename, title, slides, app.config.html_title or app.config.project, anchors)
    target = Path(app.outdir) / OUT_DIR / f"{Path(pagename).name}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != deck:
        target.write_text(deck, encoding="utf-8")


def setup(app):
    patch_markdown_cells()
    app.connect("html-page-context", _write_deck, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
