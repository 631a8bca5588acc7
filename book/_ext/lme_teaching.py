"""What a lecturer needs to teach the week: slides, quizzes, handouts, and where to find them.

This extension loads the three that make the materials (``lme_slides``, ``lme_quiz``,
``lme_handouts``) and links them up:

- under each core chapter's time box, a line "Teach this chapter: Slides · Handout (PDF) ·
  Quiz for a VLE (GIFT)", and the same links in a "Teaching materials" menu in the page's
  header;
- ``{teaching-materials}`` (the instructor page): a table of every core chapter with its
  time, slides, handout, quiz and student notebook;
- ``lme-print.js``: before printing, every folded box is opened (and closed again after), so
  that a printed chapter shows what its handout shows.
"""

from __future__ import annotations

from pathlib import Path

import lme_handouts
import lme_quiz
import lme_slides
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

MARKER = "<!--lme-teaching-links-->"


def _core_chapters(env) -> list[tuple[dict, str]]:
    """``(path.yml entry, docname)`` of every core chapter, in the order of the path."""
    from lme_path import load_path

    by_name = {Path(d).name: d for d in env.found_docs}
    return [(ch, by_name[ch["file"]]) for ch in load_path()["chapters"] if ch["file"] in by_name]


def _materials(app, docname: str) -> list[tuple[str, str, str]]:
    """``(text, href relative to a page in book/, tooltip)`` of a chapter's teaching materials."""
    name = Path(docname).name
    items = [("Slides", lme_slides.deck_href(docname), "The chapter's slide deck (opens full screen; S: speaker notes)")]
    items.append(("Handout (print)", "javascript:window.print()",
                  "Print the chapter, or save it as a PDF: every tab, solution and chart, in order"))
    if lme_quiz.quiz_path(app.confdir, name).exists():
        items.append(("Quiz for a VLE (GIFT)", f"../{lme_quiz.OUT_DIR}/{name}.gift",
                      "The chapter's concept-check questions, to import into Moodle"))
    return items


def _place_marker(app, doctree) -> None:
    """Leave a marker after a core chapter's time box, where the page's teaching links go."""
    if Path(app.env.docname).name not in {ch["file"] for ch, _ in _core_chapters(app.env)}:
        return
    for box in doctree.findall(nodes.admonition):
        if "lme-chapter-path" in box["classes"]:
            box.parent.insert(box.parent.index(box) + 1, nodes.raw("", MARKER, format="html"))
            return


def _links(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body", "")
    if MARKER not in body:
        return
    items = _materials(app, pagename)
    links = " · ".join(f'<button type="button" class="lme-print-button" title="{tip}">{text}</button>'
                       if href.startswith("javascript:") else f'<a href="{href}" title="{tip}">{text}</a>'
                       for text, href, tip in items)
    guide = context["pathto"]("book/instructor") if "book/instructor" in app.env.found_docs else None
    more = f' · <a href="{guide}">Instructor’s guide</a>' if guide else ""
    context["body"] = body.replace(MARKER, f'<p class="lme-teaching-links">Teach this chapter: {links}{more}</p>')
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            index = context["header_buttons"].index(group)
            context["header_buttons"].insert(index, {
                "type": "group",
                "tooltip": "Teaching materials",
                "icon": "fas fa-person-chalkboard",
                "label": "teaching-buttons",
                "buttons": [{"type": "javascript", "javascript": href.removeprefix("javascript:"), "text": text,
                             "tooltip": tip, "icon": "fas fa-print", "label": "teaching-handout"}
                            if href.startswith("javascript:") else
                            {"type": "link", "url": href, "text": text, "tooltip": tip,
                             "icon": "fas fa-person-chalkboard" if text == "Slides" else "fas fa-file-lines",
                             "label": f"teaching-{text.split()[0].lower()}"} for text, href, tip in items],
            })
            break


def lecture_minutes(chapters: list[dict], sessions: list[list[int]], minutes: int) -> dict[str, int]:
    """Minutes of lecture for each chapter's deck: each session's ``minutes`` shared between its
    chapters in proportion to their core reading time (``book/path.yml``).

    >>> lecture_minutes([{"file": "a", "reading": 20}, {"file": "b", "reading": 30}, {"file": "c", "reading": 10}],
    ...                 [[1, 2], [3]], 50)
    {'a': 20, 'b': 30, 'c': 50}
    """
    out = {}
    for session in sessions:
        members = [chapters[i - 1] for i in session if 0 < i <= len(chapters)]
        total = sum(int(ch["reading"]) for ch in members) or 1
        for ch in members:
            out[ch["file"]] = round(minutes * int(ch["reading"]) / total)
    return out


def _sessions(text: str) -> list[list[int]]:
    """``"1-4, 5-8"`` -> ``[[1, 2, 3, 4], [5, 6, 7, 8]]``."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        out.append(list(range(int(first), int(last or first) + 1)))
    return out


class TeachingMaterials(SphinxDirective):
    """The instructor page's table: every core chapter's time, lecture minutes and materials.

    ``:sessions: 1-4, 5-8`` and ``:session-minutes: 50`` give the lecture plan: the chapters
    (by their place on the path) whose decks each session shows, and its length.
    """

    option_spec = {"sessions": str, "session-minutes": int}

    def run(self):
        from lme_path import hours, load_path

        self.env.note_dependency(str(load_path.__globals__["PATH_FILE"]))
        spec = load_path()
        lecture = lecture_minutes(spec["chapters"], _sessions(self.options.get("sessions", "")),
                                  self.options.get("session-minutes", 50))
        table = nodes.table(classes=["lme-teaching-table"])
        group = nodes.tgroup(cols=5)
        table += group
        for width in (28, 11, 13, 32, 16):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += self._row(["Chapter", "Core time", "Lecture", "For the lecture and the quiz", "For students"],
                          header=True)
        group += head
        body = nodes.tbody()
        for ch, docname in _core_chapters(self.env):
            link = nodes.paragraph()
            ref = nodes.reference("", "", internal=True, refuri=Path(docname).name + ".html")
            ref += nodes.Text(self.env.titles[docname].astext() if docname in self.env.titles else ch["file"])
            link += ref
            teaching = nodes.paragraph()
            for i, (text, href, _) in enumerate(m for m in _materials(self.env.app, docname)
                                                if not m[1].startswith("javascript:")):
                if i:
                    teaching += nodes.Text(" · ")
                teaching += nodes.reference("", text, refuri=href)
            student = nodes.paragraph()
            student += nodes.reference("", "student notebook", refuri=f"../_static/student/{ch['file']}.ipynb")
            if ch["file"] in lecture:
                slot = f"about {lecture[ch['file']]} min"
            else:
                slot = "the practical" if ch.get("exercises", 0) > ch["reading"] else "—"
            body += self._row([link, hours(ch["core_minutes"]), slot, teaching, student])
        group += body
        extras = nodes.paragraph(classes=["lme-teaching-extras"])
        extras += nodes.Text("Every chapter's quiz in one file: ")
        extras += nodes.reference("", "all.gift", refuri=f"../{lme_quiz.OUT_DIR}/all.gift")
        cheatsheet = lme_handouts.handout_href(self.env.app, "book/cheatsheet")
        if cheatsheet:
            extras += nodes.Text(" · the cheat sheet as a PDF: ")
            extras += nodes.reference("", "cheatsheet.pdf", refuri=cheatsheet)
        return [table, extras]

    @staticmethod
    def _row(cells, header=False) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph("", str(cell))
            row += entry
        return row


def setup(app):
    for extension in ("lme_slides", "lme_quiz", "lme_handouts"):
        app.setup_extension(extension)
    app.add_directive("teaching-materials", TeachingMaterials)
    app.add_js_file("lme-print.js", defer="defer")
    app.connect("doctree-read", _place_marker)
    app.connect("html-page-context", _links, priority=970)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
