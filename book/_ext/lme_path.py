"""The one-week core path: one definition (book/path.yml), shown on the landing page and in each chapter.

Directives:

- ``{core-path}`` (landing page): a table of chapters with their core sections, the time
  they take and what a student can do afterwards, and the total.
- ``{chapter-path}`` (each chapter, under its prerequisites): which sections are on the
  one-week path, how long they take, and what is optional.
- ``{going-further}`` (first line of an optional section): a badge marking the section
  as "going further", not on the one-week path.

The times come from ``book/path.yml`` only, so the landing page, the chapters and the
total cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

PATH_FILE = Path(__file__).resolve().parents[1] / "path.yml"


def load_path(path: Path = PATH_FILE) -> dict:
    """The core-path definition, with each chapter's minutes added up."""
    spec = yaml.safe_load(path.read_text())
    for ch in spec["chapters"]:
        ch["core_minutes"] = int(ch["reading"]) + int(ch.get("exercises", 0))
    spec["total_core_minutes"] = sum(ch["core_minutes"] for ch in spec["chapters"])
    spec["total_going_further_minutes"] = sum(int(ch.get("going_further", 0)) for ch in spec["chapters"])
    return spec


def hours(minutes: int) -> str:
    """``95`` -> ``"1 h 35 min"``."""
    h, m = divmod(int(minutes), 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


class _MystDirective(SphinxDirective):
    def _parse(self, text: str) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(text.splitlines(), source=str(PATH_FILE)), self.content_offset, container)
        return container.children

    def _chapter(self) -> dict:
        spec = load_path()
        name = Path(self.env.docname).name
        for ch in spec["chapters"]:
            if ch["file"] == name:
                return ch
        raise self.error(f"{name} is not listed in book/path.yml; add it with its core sections and times.")


class CorePath(_MystDirective):
    """The landing page's table of the one-week path."""

    def run(self):
        self.env.note_dependency(str(PATH_FILE))
        spec = load_path()
        lines = ["| Chapter | On the core path | Time | Afterwards you can |", "|---|---|---|---|"]
        for ch in spec["chapters"]:
            sections = ch.get("topics") or "; ".join(ch["core"])
            time = hours(ch["core_minutes"])
            lines.append(f"| {{doc}}`{ch['file']}` | {sections} | {time} | {ch['can_do']} |")
        lines.append(f"| **Total** | | **{hours(spec['total_core_minutes'])}** | |")
        text = "\n".join(lines)
        text += (f"\n\nThe sections marked *going further* in each chapter add about "
                 f"{hours(spec['total_going_further_minutes'])} for those who want the depth.")
        out = self._parse(text)
        for node in out:
            if isinstance(node, nodes.table):
                node["classes"].append("lme-core-path")
        return out


class ChapterPath(_MystDirective):
    """A chapter's place on the one-week path."""

    def run(self):
        self.env.note_dependency(str(PATH_FILE))
        ch = self._chapter()
        core = ", ".join(f"*{s}*" for s in ch["core"])
        text = (f"**On the one-week path:** {core}: about {hours(ch['reading'])} of reading"
                + (f" and {hours(ch['exercises'])} of exercises" if ch.get("exercises") else "")
                + ".")
        if ch.get("going_further"):
            text += (f" The sections marked *going further* add about {hours(ch['going_further'])}; "
                     "skip them on a first reading.")
        admonition = nodes.admonition(classes=["lme-chapter-path"])
        admonition += nodes.title(text="Time")
        admonition.extend(self._parse(text))
        return [admonition]


class GoingFurther(SphinxDirective):
    """A badge at the start of an optional section."""

    optional_arguments = 1
    final_argument_whitespace = True

    def run(self):
        label = "Going further: optional, not on the one-week path"
        if self.arguments:
            label += f" ({self.arguments[0]})"
        para = nodes.paragraph(classes=["lme-going-further"])
        para += nodes.Text(label)
        return [para]


def setup(app):
    app.add_directive("core-path", CorePath)
    app.add_directive("chapter-path", ChapterPath)
    app.add_directive("going-further", GoingFurther)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
