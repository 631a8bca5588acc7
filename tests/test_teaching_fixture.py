"""The teaching materials made from a one-chapter fixture book (tests/fixtures/teaching_book).

The fixture chapter holds one of each thing a deck, a quiz and a handout must carry: a
Markdown slide with an equation and speaker notes, a slide with its own heading and a glued
number, a chart and a table tagged for slides, text that stays on the page, tabs, a folded
parity box, an exercise with a solution, and a quiz file (its section is added to the page).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from teaching import ROOT, page_count, parse_gift

pytestmark = pytest.mark.slow

FIXTURE = ROOT / "tests" / "fixtures" / "teaching_book"
JB = Path(sys.executable).parent / "jupyter-book"


def build(out: Path, **env) -> str:
    proc = subprocess.run([str(JB), "build", str(FIXTURE), "--path-output", str(out), "--warningiserror", "--nitpick",
                           "--keep-going"], env={**os.environ, "LME_BOOK_BUILD": "1", **env},
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not (ROOT / "book" / "_static" / "vendor" / "reveal" / "reveal.js").exists():
        pytest.fail("book/_static/vendor is missing: run 'make book' first.")
    out = tmp_path_factory.mktemp("teaching")
    output = build(out)
    return out / "_build" / "html", output


def slides(deck: str) -> list[dict]:
    found = []
    for m in re.finditer(r'<section data-lme-kind="(\w+)" data-lme-slide="\d+" data-lme-source="([^"]*)">(.*?)</section>',
                         deck, re.S):
        kind, source, body = m.groups()
        title = re.search(r"<h2>(.*?)</h2>", body)
        notes = re.search(r'<aside class="notes">(.*?)</aside>', body, re.S)
        found.append({"kind": kind, "source": source, "title": title.group(1) if title else "",
                      "body": body, "notes": notes.group(1) if notes else ""})
    return found


def test_deck_follows_the_chapters_tags_in_order(site):
    html, _ = site
    deck = (html / "slides" / "04_null_model_icc.html").read_text()
    found = slides(deck)
    assert [(s["kind"], s["title"]) for s in found] == [
        ("markdown", "Fitting the null model"),       # titled by the heading above it
        ("markdown", "The ICC in one line"),          # titled by its own heading
        ("code", "Partitioning the variance"),        # a chart
        ("code", "Partitioning the variance"),        # a table
    ]
    first, second, chart, table = found
    assert "(1)" in first["body"] and "\\gamma_{00}" in first["body"]
    assert "speaker note" in first["notes"]  # the chapter's notes cell
    assert "The ICC is" not in second["notes"]  # notes never repeat what the slide shows
    for s in found:  # untagged text stays off the slides (the prose may make speaker notes)
        assert "Text between the slides" not in s["body"].split('<aside class="notes">')[0]
    rho = json.loads((html.parent / "jupyter_execute" / "book" / "04_null_model_icc.glue.json").read_text())["rho"]
    assert f"{float(rho['data']['text/plain']):.3f}" in second["body"]
    assert 'href="../book/04_null_model_icc.html#equation-eq-fixture-null"' in second["body"]
    assert '<figure class="lme-chart"' in chart["body"] and "cell_input" not in chart["body"]
    assert "<table" in table["body"]
    assert first["source"] == "../book/04_null_model_icc.html#fitting-the-null-model"
    assert 'src="../_static/vendor/reveal/reveal.js"' in deck


def test_page_gets_its_quiz_and_teaching_links(site):
    html, _ = site
    page = (html / "book" / "04_null_model_icc.html").read_text()
    quiz = page.index('id="check-your-understanding"')
    assert quiz < page.index('id="exercises"')
    assert page.count('class="lme-quiz-question') == 2
    assert 'href="../slides/04_null_model_icc.html"' in page and 'class="lme-print-button"' in page
    assert 'href="../_static/quizzes/04_null_model_icc.gift"' in page
    assert "lme-cell-start" not in page  # the marks around tagged cells stay out of the page
    gift = parse_gift((html / "_static" / "quizzes" / "04_null_model_icc.gift").read_text())
    assert [q["type"] for q in gift] == ["choice", "numeric"]
    assert gift[1]["answers"][0]["feedback"].endswith("{tau: #1}.")  # GIFT's reserved characters survive
    assert "\\(\\tau_{00}" in gift[0]["options"][0]["text"]


def test_handout_is_printed_once_and_again_when_the_page_changes(site, tmp_path):
    html, output = site
    assert "lme_handouts: printing 1 handout" in output
    pdf = html.parent / "handouts" / "04_null_model_icc.pdf"
    manifest = json.loads((html.parent / ".lme_handouts.json").read_text())
    assert manifest["book/04_null_model_icc"]["pages"] == page_count(pdf.read_bytes()) >= 2
    # nothing changed: nothing printed
    assert "lme_handouts: printing" not in build(html.parents[1])


def test_book_builds_without_chromium_and_says_so(tmp_path):
    output = build(tmp_path, CHROMIUM="/nonexistent/chromium")
    html = tmp_path / "_build" / "html"
    assert "no handouts (PDF) this time: Chromium was not found" in output
    assert not (html.parent / "handouts").exists()
    assert (html / "slides" / "04_null_model_icc.html").exists()
