"""The chapters' sources follow the book's conventions (CONTRIBUTING.md).

- A visible cell holds only what a student would type: no glue, claims, section markers or
  book machinery.
- Every glued number a sentence uses is glued in a removed cell, and each chapter backs its
  comparisons with claims (the test counts them).
- The one-week path (book/path.yml) names sections that exist, every other content section
  carries the going-further badge, and the landing page shows the totals.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from lme_path import hours, load_path  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("0*.md"))
MACHINERY = re.compile(r"\bglue\(|\bclaim\(|lme_helpers\.book|lme_helpers\.sidebyside|cat\(\"-{3,}|print\(\"-{3,}")
BOILERPLATE = {"Overview", "Imports", "Exercises", "Key takeaways", "Further reading", "What's next", "Set-up",
               "In Python and R"}
MIN_CLAIMS = 3


def cells(path: Path) -> list[dict]:
    return jupytext.read(path)["cells"]


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def hidden_source(cell) -> bool:
    return bool(tags(cell) & {"remove-cell", "remove-input"})


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_visible_cells_hold_only_what_a_student_would_type(chapter):
    for cell in cells(chapter):
        if cell["cell_type"] != "code" or hidden_source(cell):
            continue
        found = MACHINERY.search(cell["source"])
        assert not found, f"{chapter.name}: a visible cell uses the book's machinery ({found.group(0)!r}):\n{cell['source']}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_glued_numbers_come_from_removed_cells(chapter):
    nb = cells(chapter)
    glued = {m.group(1) for c in nb if c["cell_type"] == "code" for m in re.finditer(r"glue\(\s*[\"'](\w+)[\"']", c["source"])}
    used = {m.group(1) for c in nb if c["cell_type"] == "markdown"
            for m in re.finditer(r"\{glue:(?:text|md)?\}`(\w+)", c["source"])}
    missing = used - glued
    assert not missing, f"{chapter.name} uses glued values that no cell glues: {sorted(missing)}"


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c.stem != "09_practical"], ids=lambda p: p.stem)
def test_comparisons_are_backed_by_claims(chapter):
    """Each lecture chapter asserts the comparisons its text makes; the count is reported on failure."""
    count = sum(len(re.findall(r"\bclaim\(", c["source"])) for c in cells(chapter)
                if c["cell_type"] == "code" and hidden_source(c))
    assert count >= MIN_CLAIMS, f"{chapter.name} backs only {count} statements with claim(...)"


def test_claims_per_chapter_are_counted():
    counts = {c.stem: sum(len(re.findall(r"\bclaim\(", cell["source"])) for cell in cells(c) if cell["cell_type"] == "code")
              for c in CHAPTERS}
    assert sum(counts.values()) >= MIN_CLAIMS * (len(CHAPTERS) - 1), counts


# ----- the one-week path ----------------------------------------------------------------------


def h2_sections(chapter: Path) -> list[tuple[str, str]]:
    """(heading, text up to the next h2) of each level-2 section."""
    text = chapter.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


PATH = load_path()


@pytest.mark.parametrize("entry", PATH["chapters"], ids=lambda e: e["file"])
def test_core_sections_exist_and_the_rest_are_marked_going_further(entry):
    chapter = ROOT / "book" / f"{entry['file']}.md"
    sections = h2_sections(chapter)
    headings = [h for h, _ in sections]
    for core in entry["core"]:
        assert core in headings, f"{chapter.name}: core section {core!r} not found; its sections are {headings}"
    for heading, body in sections:
        badge = "{going-further}" in body.split("\n## ")[0][:400]
        if heading in entry["core"]:
            assert not badge, f"{chapter.name}: {heading!r} is on the core path but marked going further"
        elif heading not in BOILERPLATE:
            assert badge, f"{chapter.name}: {heading!r} is neither on the core path nor marked going further"
    assert ("going_further" in entry and entry["going_further"] > 0) == any(
        "{going-further}" in body for _, body in sections), f"{chapter.name}: going-further minutes and badges disagree"


def test_every_chapter_has_its_time_box_and_is_on_the_path():
    listed = {e["file"] for e in PATH["chapters"]}
    for chapter in CHAPTERS:
        assert chapter.stem in listed, f"{chapter.name} is not in book/path.yml"
        assert "```{chapter-path}" in chapter.read_text(encoding="utf-8"), f"{chapter.name} has no time box"
        assert not re.search(r"^\*\*Time( to read)?:\*\*", chapter.read_text(encoding="utf-8"), re.M), \
            f"{chapter.name} states its time in the text instead of book/path.yml"


def test_landing_page_shows_the_path_and_its_total():
    from site_server import SITE

    html = (SITE / "book" / "index.html").read_text(encoding="utf-8")
    assert "lme-core-path" in html
    assert hours(PATH["total_core_minutes"]) in html
    # about six hours, practical included, as the landing page says
    assert 5 * 60 <= PATH["total_core_minutes"] <= 7 * 60, PATH["total_core_minutes"]
