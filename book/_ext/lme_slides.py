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
from html.parser import HTMLParser
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
    source: str  # "markdown", "code" or "outline" (made from a section's heading and first paragraph)
    anchor: str = ""
    notes: list[nodes.Node] = field(default_factory=list)  # the chapter's own notes (a cell tagged notes)
    section: nodes.section | None = None
    after: list[nodes.Node] = field(default_factory=list)  # prose after the slide, to the next heading
    later: list[nodes.Node] = field(default_factory=list)  # or else prose under the next headings
    before: list[nodes.Node] = field(default_factory=list)  # prose just before the slide
    caption: nodes.Node | None = None  # a line above a bare output

    @property
    def speaker_notes(self) -> list[nodes.Node]:
        """The notes cell if the chapter wrote one, else the prose that follows the slide on the
        page (or, for a slide at the end of a section, the prose before it or just after)."""
        return self.notes or self.after or self.before or self.later

    @property
    def optional(self) -> bool:
        """On a section marked {going-further} (or inside one)."""
        section = self.section
        while isinstance(section, nodes.section):
            if any(isinstance(c, nodes.paragraph) and "lme-going-further" in c["classes"] for c in section.children):
                return True
            section = section.parent
        return False


NOTES_BLOCKS = 3  # at most this many paragraphs of prose make a slide's notes


def _is_prose(node: nodes.Node) -> bool:
    if isinstance(node, nodes.paragraph):
        return "lme-going-further" not in node["classes"] and bool(node.astext().strip())
    return isinstance(node, (nodes.bullet_list, nodes.enumerated_list, nodes.math_block))


def last_sentence(paragraph: nodes.paragraph) -> nodes.paragraph:
    """The paragraph's last sentence, with its inline markup (maths, code, glued numbers).

    >>> p = nodes.paragraph("", "", nodes.Text("It is wide. The table shows "), nodes.literal("", "x"), nodes.Text(":"))
    >>> last_sentence(p).astext()
    'The table shows x:'
    """
    boundary = re.compile(r"[.!?]\s+(?=[A-Z(*`$])")
    cut = None
    for i, child in enumerate(paragraph.children):
        if isinstance(child, nodes.Text):
            for m in boundary.finditer(str(child)):
                cut = (i, m.end())
    out = nodes.paragraph(classes=["lme-slide-caption"])
    if cut is None:
        out.extend(c.deepcopy() for c in paragraph.children)
        return out
    i, at = cut
    rest = str(paragraph.children[i])[at:]
    if rest:
        out += nodes.Text(rest)
    out.extend(c.deepcopy() for c in paragraph.children[i + 1:])
    return out


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
    prose: list[nodes.Node] = []  # prose since the last heading or slide
    crossed = False  # a heading since the last slide

    def add(slide: Slide) -> None:
        nonlocal prose, crossed
        slide.before = prose[-2:]
        slides.append(slide)
        prose, crossed = [], False

    for kind, node in _events(doctree):
        if kind == "heading":
            heading = node
            prose, crossed = [], True
            if region is not None and region["heading"] is None:
                region["heading"] = node
        elif kind == "mark":
            text = node.astext()
            if text.startswith(START):
                region = {"tags": text.split()[1:], "heading": None, "above": heading, "blocks": []}
            elif region is not None:
                _close(region, slides, add)
                region = None
        elif kind == "cell" and _is_slide_cell(node):
            outputs = [c for c in node.children if isinstance(c, nodes.container) and "cell_output" in c["classes"]]
            if not outputs:
                logger.warning("a code cell tagged 'slide' has no output to show", location=node)
                continue
            slide = Slide(_title(heading), outputs, "code", _anchor(heading), section=heading)
            if prose and isinstance(prose[-1], nodes.paragraph) and not any(
                    "lme-chart" in n.astext() or isinstance(n, nodes.image) for o in outputs for n in o.findall()
                    if isinstance(n, (nodes.raw, nodes.image))):
                slide.caption = last_sentence(prose[-1])
            add(slide)
        elif kind == "block" and region is not None:
            region["blocks"].append(node)
        elif kind == "block" and _is_prose(node):
            prose.append(node)
            if slides:
                target = slides[-1].later if crossed else slides[-1].after
                if len(target) < NOTES_BLOCKS and not (crossed and slides[-1].after):
                    target.append(node)
    # what a slide shows or a notes cell says is not prose for another slide's notes
    shown = {id(n) for s in slides for block in s.body + s.notes for n in block.findall()}

    def opening(section) -> list[nodes.Node]:
        if not isinstance(section, nodes.section):
            return []
        return [c for c in section.children if _is_prose(c) and id(c) not in shown][:NOTES_BLOCKS]

    for i, slide in enumerate(slides):
        if slide.speaker_notes:
            continue
        # a slide with no prose of its own around it: its section's opening prose, or that of
        # the slide after it in the same section, or the enclosing section's
        following = slides[i + 1].after if i + 1 < len(slides) and slides[i + 1].section is slide.section else []
        parent = slide.section.parent if slide.section is not None else None
        slide.later = opening(slide.section) or following or opening(parent)
    return slides


def _close(region: dict, slides: list[Slide], add) -> None:
    if "slide" in region["tags"]:
        own = region["heading"]
        title_from = own if own is not None else region["above"]
        add(Slide(_title(title_from), region["blocks"], "markdown", _anchor(title_from), section=title_from))
    if "notes" in region["tags"] and slides:
        slides[-1].notes.extend(region["blocks"])


TAKEAWAYS = "Key takeaways"


def _section_titled(doctree: nodes.document, text: str) -> nodes.section | None:
    def same(title: str) -> bool:
        return title.replace("\u2019", "'") == text

    return next((s for s in doctree.findall(nodes.section) if (t := _title(s)) is not None and same(t.astext())),
                None)


def _first_prose(section: nodes.section | None, limit: int = NOTES_BLOCKS) -> list[nodes.Node]:
    if section is None:
        return []
    return [c for c in section.children if _is_prose(c)][:limit]


TAKEAWAYS_CHARS = 800  # a longer list of takeaways goes on two slides


def _halves(body: list[nodes.Node]) -> list[list[nodes.Node]]:
    """The takeaways on one slide, or on two when they are long: a single list is cut between
    its items where about half the text has gone by."""
    lists = [n for n in body if isinstance(n, (nodes.bullet_list, nodes.enumerated_list))]
    if sum(len(n.astext()) for n in body) <= TAKEAWAYS_CHARS or len(lists) != 1 or len(lists[0].children) < 2:
        return [body]
    items = list(lists[0].children)
    total, run, cut = sum(len(i.astext()) for i in items), 0, 1
    for k, item in enumerate(items[:-1], start=1):
        run += len(item.astext())
        cut = k
        if run >= total / 2:
            break
    first, second = lists[0].copy(), lists[0].copy()
    first.extend(i.deepcopy() for i in items[:cut])
    second.extend(i.deepcopy() for i in items[cut:])
    at = body.index(lists[0])
    return [body[:at] + [first], [second] + body[at + 1:]]


def takeaways_slides(doctree: nodes.document, slides: list[Slide]) -> list[Slide]:
    """The slides of the chapter's Key takeaways (two when the list is long), unless one of its
    slides already shows them."""
    slide = takeaways_slide(doctree, slides)
    return [] if slide is None else _split(slide)


def _split(slide: Slide) -> list[Slide]:
    parts = _halves(slide.body)
    if len(parts) == 1:
        return [slide]
    more = nodes.title("", f"{slide.title.astext()} (continued)") if slide.title is not None else None
    return [Slide(slide.title, parts[0], slide.source, slide.anchor, section=slide.section, later=slide.later),
            Slide(more, parts[1], slide.source, slide.anchor, section=slide.section, later=slide.later)]


def takeaways_slide(doctree: nodes.document, slides: list[Slide]) -> Slide | None:
    """A slide of the chapter's Key takeaways, unless one of its slides already shows them."""
    section = _section_titled(doctree, TAKEAWAYS)
    if section is None:
        return None
    whats_next = _first_prose(_section_titled(doctree, "What's next"))
    shown = [s for s in slides if s.section is section or (s.anchor and s.anchor in section["ids"])]
    if shown:
        for s in shown:
            if not s.notes and not s.after:
                s.later = whats_next or s.later
        return None
    body = [c for c in section.children if not isinstance(c, nodes.title) and _is_prose(c)]
    if not body:
        return None
    return Slide(_title(section), body, "markdown", _anchor(section), section=section,
                 later=whats_next)


def outline_slides(doctree: nodes.document, core: list[str], minutes: dict) -> list[Slide]:
    """For a chapter with no slide of its own (the practical): a slide for each of its core
    sections, with the section's heading and first paragraph (a task's question), and one
    on how to work through them, with the times of ``book/path.yml``."""
    slides = []
    overview = _section_titled(doctree, "Overview")
    if overview is not None and _first_prose(overview, 1):
        slides.append(Slide(_title(overview), _first_prose(overview, 1), "outline", _anchor(overview),
                            section=overview, later=_first_prose(overview)[1:] or _first_prose(overview, 1)))
    plan = nodes.bullet_list()
    for text in (f"About {minutes['total']} in all: {minutes['reading']} to read and set up, "
                 f"{minutes['exercises']} for the tasks, in order.",
                 "Python: the student notebook (the chapter's download menu, student .ipynb); "
                 "every task ends with a check function that says whether your answer is right.",
                 "R: the practical's zip (download menu): the student script with a blank for each task, "
                 "beside the script with the worked solutions.",
                 "Each task's worked solution folds out under it on the page, in Python and in R."):
        item = nodes.list_item()
        item += nodes.paragraph("", text)
        plan += item
    slides.append(Slide(nodes.title("", "How to work through it"), [plan], "outline",
                        later=[nodes.paragraph("", "Students choose Python or R; the tasks, data and checks "
                                                   "are the same in both.")]))
    for heading in core:
        section = _section_titled(doctree, heading)
        if section is None or overview is not None and section is overview:
            continue
        first = next((p for p in section.findall(nodes.paragraph) if _is_prose(p)
                      and not isinstance(p.parent, nodes.title)), None)
        body = [first] if first is not None else []
        notes = [p for p in section.findall(nodes.paragraph) if _is_prose(p)][1:1 + NOTES_BLOCKS]
        slides.append(Slide(_title(section), body, "outline", _anchor(section), section=section,
                            later=notes or body))
    return slides


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


class _TabSets(HTMLParser):
    """Where the first tab set of a fragment is: its extent, and each tab's label and content."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.set_start = self.set_end = None
        self.set_depth = None
        self.tabs: list[list] = []  # [label, start, end]
        self.label = None
        self.content_depth = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def feed_fragment(self, fragment: str) -> None:
        self.line_starts = [0]
        for line in fragment.split("\n"):
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div":
            self.depth += 1
            if self.set_start is None and "sd-tab-set" in classes:
                self.set_start, self.set_depth = self._offset(), self.depth
            elif self.set_depth is not None and self.set_end is None and "sd-tab-content" in classes \
                    and self.depth == self.set_depth + 1:
                self.content_depth = self.depth
                self.tabs.append([self.label or f"Tab {len(self.tabs) + 1}",
                                  self._offset() + len(self.get_starttag_text()), None])
        elif tag == "label" and self.set_depth is not None and self.set_end is None and "sd-tab-label" in classes:
            self.label = ""

    def handle_data(self, data):
        if self.label is not None and self.content_depth is None and self.set_end is None:
            self.label += data

    def handle_endtag(self, tag):
        if tag == "label" and self.label is not None:
            self.label = html.unescape(self.label.strip())
        if tag != "div":
            return
        if self.content_depth is not None and self.depth == self.content_depth:
            self.tabs[-1][2] = self._offset()
            self.content_depth, self.label = None, None
        elif self.set_depth is not None and self.set_end is None and self.depth == self.set_depth:
            self.set_end = self._offset() + len("</div>")
        self.depth -= 1


def split_tabs(fragment: str) -> list[tuple[str, str]] | None:
    """A slide's HTML with a tab set, as one fragment per tab (the tab set replaced by the
    tab's content); ``None`` if it has no tab set. A projector cannot click a tab, and all
    tabs stacked on one slide are too small to read.

    >>> split_tabs('<p>x</p><div class="sd-tab-set"><input id="a"><label class="sd-tab-label" for="a">Py</label>'
    ...            '<div class="sd-tab-content"><div>1</div></div><label class="sd-tab-label">R</label>'
    ...            '<div class="sd-tab-content">2</div></div>')
    [('Py', '<p>x</p><div>1</div>'), ('R', '<p>x</p>2')]
    """
    if "sd-tab-set" not in fragment:
        return None
    parser = _TabSets()
    parser.feed_fragment(fragment)
    if parser.set_end is None or not parser.tabs or any(end is None for _, _, end in parser.tabs):
        return None
    head, tail = fragment[:parser.set_start], fragment[parser.set_end:]
    return [(label, head + fragment[start:end] + tail) for label, start, end in parser.tabs]


CODE_BLOCK = re.compile(r'<div class="highlight(?:[^"]*)"><pre>(.*?)</pre></div>', re.S)
SHORT_CODE = 4  # lines of code kept above a tab's output on a slide


def _trim_code(fragment: str) -> str:
    """A tab's code on a slide: kept when short, left to the chapter when long and followed by
    its output (the output is what the slide is for)."""
    if "lme-output" not in fragment and "cell_output" not in fragment:
        return fragment
    return CODE_BLOCK.sub(lambda m: m.group(0) if m.group(1).strip().count("\n") < SHORT_CODE else "", fragment)


GOING_FURTHER = '<span class="lme-slide-optional" title="A going-further section: optional, not on the one-week path">going further</span>'


def render_deck(builder, pagename: str, page_title: str, slides: list[Slide], book_title: str,
                anchors: set[str] = frozenset()) -> str:
    page = Path(pagename).name + ".html"
    parts = []
    number = 0
    for slide in slides:
        title = _render_title(builder, slide.title)
        caption = _render(builder, slide.caption) if slide.caption is not None else ""
        body = caption + "".join(_render(builder, n) for n in slide.body)
        notes = "".join(_render(builder, n) for n in slide.speaker_notes)
        source = f"../book/{page}#{slide.anchor}" if slide.anchor else f"../book/{page}"
        optional = slide.optional
        pieces = split_tabs(body) or [("", body)]
        for tab, content in pieces:
            number += 1
            heading = title + (f' <span class="lme-slide-tab">{html.escape(tab)}</span>' if tab else "")
            if optional:
                heading += " " + GOING_FURTHER
            parts.append(
                f'<section data-lme-kind="{slide.source}" data-lme-slide="{number}" data-lme-source="{source}"'
                + (' data-lme-optional="yes"' if optional else "") + ">"
                + (f"<h2>{heading}</h2>" if heading else "")
                + f'<div class="lme-slide-body">{_trim_code(content) if tab else content}</div>'
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


def path_entry(pagename: str) -> dict | None:
    """The chapter's entry in ``book/path.yml`` (None for a page not on the path)."""
    from lme_path import load_path

    return next((ch for ch in load_path()["chapters"] if ch["file"] == Path(pagename).name), None)


def deck_href(pagename: str) -> str:
    """The deck of ``pagename``, relative to the page."""
    return f"../{OUT_DIR}/{Path(pagename).name}.html"


def _write_deck(app, pagename, templatename, context, doctree) -> None:
    if doctree is None or app.builder.format != "html":
        return
    slides = collect_slides(doctree)
    if not slides and pagename not in deck_pages(app):
        return
    entry = path_entry(pagename)
    if not slides and entry is not None:
        from lme_path import hours

        slides = outline_slides(doctree, entry["core"], {
            "total": hours(entry["core_minutes"]), "reading": hours(entry["reading"]),
            "exercises": hours(entry.get("exercises", 0))})
    slides.extend(takeaways_slides(doctree, slides))
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
