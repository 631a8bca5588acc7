"""Slides, concept-check quizzes, handouts, the cheat sheet and the instructor page of the built book.

These tests read _build/html (which `make test` builds first) and open it in headless
Chromium, served on loopback: no page may request anything from another host.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from site_server import CHROMIUM_ARGS, SITE, chromium_path, serve_site
from teaching import ROOT, core_chapters, lme_quiz, load_quiz, page_count, parse_gift, quiz_path

CORE = core_chapters()
MIN_SLIDES = 8
MIN_QUESTIONS = 5
DECK = SITE / "slides"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def built(rel: str) -> str:
    path = SITE / rel
    if not path.exists():
        pytest.fail(f"{rel} was not built: run 'make book' (make test does it first).")
    return path.read_text(encoding="utf-8")


def glue_values(chapter: str) -> dict:
    path = SITE.parent / "jupyter_execute" / "book" / f"{chapter}.glue.json"
    return json.loads(path.read_text()) if path.exists() else {}


# ---------------------------------------------------------------------------------------
# slides


@pytest.mark.parametrize("chapter", CORE)
def test_core_chapter_has_a_deck_of_at_least_eight_slides(chapter):
    deck = built(f"slides/{chapter}.html")
    slides = len(re.findall(r"<section data-lme-kind=\"(markdown|code|outline)\"", deck))
    assert slides >= MIN_SLIDES, (
        f"{chapter}: its deck has {slides} slide(s) from the chapter, at least {MIN_SLIDES} are needed. "
        f"Tag cells of book/{chapter}.md with 'slide' (see CONTRIBUTING.md, 'Slides').")


@pytest.mark.parametrize("chapter", CORE)
def test_core_chapter_links_to_its_slides(chapter):
    page = built(f"book/{chapter}.html")
    assert f'href="../slides/{chapter}.html"' in page, f"{chapter} does not link to its slides"
    assert "Teach this chapter:" in page and 'class="lme-print-button"' in page


def test_deck_shows_the_pages_numbers_and_speaker_notes():
    """A deck is made from the page: the same glued numbers, equations and charts, and the notes."""
    chapter = "04_null_model_icc"
    deck, page = built(f"slides/{chapter}.html"), built(f"book/{chapter}.html")
    numbers = re.findall(r'<span class="pasted-text">([^<]+)</span>', deck)
    assert numbers and all(f'<span class="pasted-text">{n}</span>' in page for n in numbers)
    assert 'id="equation-eq-icc"' in deck and "\\rho = \\frac{\\tau_{00}}{\\tau_{00} + \\sigma^2}" in deck
    assert deck.count('<figure class="lme-chart"') >= 3
    for spec in re.findall(r'<script type="application/json" class="lme-chart-spec">(.*?)</script>', deck):
        assert spec in page  # the very chart of the page
    assert deck.count('<aside class="notes">') >= 3
    assert "cdn." not in deck and not re.search(r'src="(https?:)?//', deck)


CONTENT_SLIDE = re.compile(r'<section data-lme-kind="(?:markdown|code|outline)"[^>]*>(.*?)</section>', re.S)


@pytest.mark.parametrize("chapter", CORE)
def test_every_content_slide_has_speaker_notes(chapter):
    """The instructor page promises notes on every slide: the chapter's own, or its prose."""
    slides = CONTENT_SLIDE.findall(built(f"slides/{chapter}.html"))
    assert slides
    for i, slide in enumerate(slides, start=1):
        notes = re.search(r'<aside class="notes">(.*?)</aside>', slide, re.S)
        text = re.sub(r"<[^>]+>", "", notes.group(1)).strip() if notes else ""
        assert text, f"{chapter}: slide {i} ({re.sub(r'<[^>]+>', '', slide)[:80]!r}) has no speaker notes"


@pytest.mark.parametrize("chapter", CORE)
def test_deck_ends_with_its_takeaways_once_and_shows_no_tab_set(chapter):
    deck = built(f"slides/{chapter}.html")
    titles = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<section[^>]*><h2>(.*?)</h2>", deck, re.S)]
    assert titles.count("Key takeaways") == 1, titles
    # a long list goes on two slides, the second right after the first
    more = [i for i, t in enumerate(titles) if t.startswith("Key takeaways") and t != "Key takeaways"]
    assert more in ([], [titles.index("Key takeaways") + 1]) and all(titles[i].endswith("(continued)") for i in more), titles
    assert "sd-tab-set" not in deck, f"{chapter}: a tab set on a slide (every tab should be a slide of its own)"


def test_going_further_slides_are_badged():
    from lme_path import load_path

    optional = sum(built(f"slides/{c}.html").count('data-lme-optional="yes"') for c in CORE)
    if any(ch.get("going_further") for ch in load_path()["chapters"]):
        assert optional > 0
    for chapter in CORE:
        deck = built(f"slides/{chapter}.html")
        for section in re.findall(r'<section data-lme-kind="[a-z]+"[^>]*data-lme-optional="yes"[^>]*>.*?</h2>', deck, re.S):
            assert 'class="lme-slide-optional"' in section


def test_practical_deck_has_a_slide_for_every_task():
    from lme_path import load_path

    entry = next(ch for ch in load_path()["chapters"] if ch["file"] == "09_practical")
    deck = built("slides/09_practical.html")
    for heading in entry["core"]:
        if heading.startswith("Task"):
            assert f"<h2>{heading}" in deck.replace("’", "'"), heading


@pytest.fixture(scope="module")
def browser():
    if not (SITE / "index.html").exists():
        pytest.fail("No built site in _build/html: run 'make book' (make test does it first).")
    from playwright.sync_api import sync_playwright

    with serve_site() as base, sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield base, b
        b.close()


def open_page(browser, rel, width=1280, height=720, media=None):
    base, b = browser
    context = b.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"failed request: {req.url} {req.failure}"))
    page.on("response", lambda resp: resp.status >= 400 and problems.append(f"HTTP {resp.status}: {resp.url}"))
    page.on("request", lambda req: not req.url.startswith((base, "data:", "blob:", "about:"))
            and problems.append(f"request to another host: {req.url}"))
    if media:
        page.emulate_media(media=media)
    page.goto(f"{base}/{rel}", wait_until="load")
    return context, page, problems


SLIDE_STATE = """() => [...document.querySelectorAll('.reveal .slides > section')].map(s => {
    const box = s.getBoundingClientRect();
    let bottom = box.top, right = box.left;
    s.querySelectorAll('*').forEach(e => { bottom = Math.max(bottom, e.getBoundingClientRect().bottom); });
    // what shows (the clipped text for screen readers is left out); a box that scrolls counts whole
    s.querySelectorAll('h2, p, li, table, pre, img, figure, .vega-embed > svg, mjx-container > svg, .lme-output, .highlight')
        .forEach(e => {
            const r = e.getBoundingClientRect();
            if (r.width > 1) right = Math.max(right, r.right + Math.max(0, e.scrollWidth - e.clientWidth) * Reveal.getScale());
        });
    return {height: (bottom - box.top) / Reveal.getScale(), width: (right - box.left) / Reveal.getScale(),
            fit: s.dataset.lmeFit || '', title: (s.querySelector('h2, h1') || {}).textContent || ''};
})"""


@pytest.mark.browser
@pytest.mark.parametrize("chapter", CORE)
def test_deck_opens_draws_and_steps_through_without_error(browser, chapter):
    built(f"slides/{chapter}.html")
    context, page, problems = open_page(browser, f"slides/{chapter}.html")
    page.wait_for_function("() => document.documentElement.dataset.lmeDeck === 'ready'", timeout=30_000)
    charts = page.evaluate("""() => [...document.querySelectorAll('figure.lme-chart')].map(f => ({
        drawn: f.dataset.drawn, marks: f.querySelectorAll('svg g.role-mark > *').length}))""")
    config = page.evaluate("() => Reveal.getConfig()")
    state = page.evaluate(SLIDE_STATE)
    total = page.evaluate("() => Reveal.getTotalSlides()")
    # through the whole deck with the keyboard, and back to the start
    for i in range(1, total):
        page.keyboard.press("ArrowRight" if i % 2 else "Space")
        assert page.evaluate("() => Reveal.getIndices().h") == i, f"{chapter}: the keyboard did not reach slide {i + 1}"
    assert page.evaluate("() => Reveal.isLastSlide()")
    page.keyboard.press("Home")
    assert page.evaluate("() => Reveal.getIndices().h") == 0
    page.wait_for_load_state("networkidle")
    context.close()
    assert not problems, problems
    for i, chart in enumerate(charts):
        assert chart["drawn"] == "yes" and chart["marks"] > 0, f"{chapter}: chart {i} of the deck was not drawn"
    assert (config["width"], config["height"]) == (1024, 576)
    for i, slide in enumerate(state):
        assert slide["height"] <= config["height"] + 2, f"{chapter}: slide {i + 1} runs off the bottom ({slide})"
        assert slide["width"] <= config["width"] + 2, f"{chapter}: slide {i + 1} is cut off at the right ({slide})"
        assert not slide["fit"] or float(slide["fit"]) >= 0.6, (
            f"{chapter}: slide {i + 1} had to be shrunk to {slide['fit']} to fit: too much on one slide")


@pytest.mark.browser
@pytest.mark.parametrize("chapter", CORE)
def test_deck_has_no_serious_accessibility_violations(browser, chapter):
    built(f"slides/{chapter}.html")
    context, page, problems = open_page(browser, f"slides/{chapter}.html")
    page.wait_for_function("() => document.documentElement.dataset.lmeDeck === 'ready'", timeout=30_000)
    found = []
    for index in {0, 1, page.evaluate("() => Reveal.getTotalSlides()") - 1}:
        page.evaluate(f"() => Reveal.slide({index})")
        found += axe(page)
    context.close()
    assert not problems, problems
    assert not found, found


def axe(page) -> list:
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations'], preload: false});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")


# ---------------------------------------------------------------------------------------
# quizzes


def quiz_files():
    return sorted((ROOT / "book" / "quizzes").glob("*.yml"))


@pytest.mark.parametrize("path", quiz_files(), ids=lambda p: p.stem)
def test_quiz_file_follows_the_format(path):
    questions = load_quiz(path)
    assert (ROOT / "book" / f"{path.stem}.md").exists(), f"{path.name} is named after no chapter"
    values = glue_values(path.stem)
    for q in questions:
        if q["type"] == "numeric":
            assert q["answer"]["glue"] in values, f"{path.name}, {q['id']}: the chapter glues no {q['answer']['glue']!r}"


@pytest.mark.parametrize("chapter", CORE)
def test_core_chapter_has_at_least_five_questions(chapter):
    path = quiz_path(ROOT, chapter)
    assert path.exists(), (f"{chapter} has no concept-check quiz: write book/quizzes/{chapter}.yml "
                           f"with at least {MIN_QUESTIONS} questions (CONTRIBUTING.md, 'Concept-check quizzes')")
    n = len(load_quiz(path))
    assert n >= MIN_QUESTIONS, f"{chapter}: {n} questions in book/quizzes/{chapter}.yml, at least {MIN_QUESTIONS} needed"


@pytest.mark.parametrize("path", quiz_files(), ids=lambda p: p.stem)
def test_gift_export_holds_every_question_with_the_chapters_numbers(path):
    questions = load_quiz(path)
    gift = parse_gift(built(f"_static/quizzes/{path.stem}.gift"))
    assert [g["name"] for g in gift] == [f"{path.stem}: {q['id']}" for q in questions]
    values = glue_values(path.stem)
    for q, g in zip(questions, gift):
        assert g["type"] == q["type"]
        if q["type"] == "choice":
            assert [o["correct"] for o in g["options"]] == [bool(o.get("correct")) for o in q["options"]]
            assert all(o["feedback"] for o in g["options"]), f"{g['name']}: an option without feedback"
        else:
            expected = lme_quiz.glue_number(values[q["answer"]["glue"]], q["answer"]["glue"], path.stem)
            (answer,) = g["answers"]
            assert math.isclose(answer["value"], expected, rel_tol=1e-8), (g["name"], answer, expected)
            assert answer["tolerance"] == q["tolerance"] and answer["feedback"] and g["wrong"]
            # a wrong try gets no answer; the worked answer is the general feedback
            shown = f"{expected:.{lme_quiz.decimals(q['tolerance'])}f}"
            assert shown not in g["wrong"] and shown in g["general"], g
    everything = parse_gift(built("_static/quizzes/all.gift"))
    numeric = {g["name"] for g in gift if g["type"] == "numeric"}
    assert {g["name"] for g in gift} - numeric <= {g["name"] for g in everything}


def test_all_gift_asks_each_question_once():
    everything = parse_gift(built("_static/quizzes/all.gift"))
    names = [g["name"] for g in everything]
    assert len(names) == len(set(names))
    answers = [g["answers"][0]["value"] for g in everything if g["type"] == "numeric"]
    repeated = [a for a in answers if a != round(a) and answers.count(a) > 1]
    assert not repeated, f"all.gift asks for the same value twice: {repeated}"


def test_correct_option_is_not_always_in_one_place():
    """The page shuffles each question's options (the same order in every build)."""
    positions = []
    for path in quiz_files():
        page = built(f"book/{path.stem}.html")
        for form in re.findall(r'<form class="lme-quiz-question lme-quiz-choice".*?</form>', page, re.S):
            flags = re.findall(r'class="lme-quiz-option" data-correct="(true|false)"', form)
            positions.append(flags.index("true"))
    assert len(positions) >= 10
    assert len(set(positions)) >= 3, f"the correct option is always at {set(positions)}"
    assert max(positions.count(k) for k in set(positions)) <= 0.6 * len(positions), positions


@pytest.mark.parametrize("path", quiz_files(), ids=lambda p: p.stem)
def test_chapter_page_shows_its_quiz(path):
    page = built(f"book/{path.stem}.html")
    assert 'id="check-your-understanding"' in page
    assert page.count('class="lme-quiz-question') == len(load_quiz(path))


@pytest.mark.browser
@pytest.mark.parametrize("path", quiz_files(), ids=lambda p: p.stem)
def test_quiz_works_with_the_keyboard_and_stays_accessible(browser, path):
    questions = load_quiz(path)
    values = glue_values(path.stem)
    context, page, problems = open_page(browser, f"book/{path.stem}.html", height=900)
    page.wait_for_load_state("networkidle")
    for q in questions:
        form = f"#quiz-{path.stem.replace('_', '-')}-{q['id']}"
        if q["type"] == "choice":
            wrong = next(k for k, o in enumerate(q["options"]) if not o.get("correct"))
            right = next(k for k, o in enumerate(q["options"]) if o.get("correct"))
            # the options are shown shuffled: their ids keep the order of the quiz file
            shown = page.locator(f"{form} input[type=radio]").evaluate_all("els => els.map(e => e.id)")
            page.focus(f"#{shown[0]}")
            page.keyboard.press("Space")
            for _ in range(shown.index(f"{form[1:]}-{wrong}")):
                page.keyboard.press("ArrowDown")
            _press_check(page, form)
            assert page.locator(f"{form} .lme-quiz-feedback").get_attribute("data-state") == "wrong"
            assert page.locator(f"{form}-{wrong} ~ .lme-quiz-why").is_visible()
            page.check(f"{form}-{right}")
            _press_check(page, form)
            assert page.locator(f"{form} .lme-quiz-feedback").get_attribute("data-state") == "right"
            assert page.locator(f"{form} .lme-quiz-why").evaluate_all("els => els.every(e => !e.hidden)")
        else:
            value = lme_quiz.glue_number(values[q["answer"]["glue"]], q["answer"]["glue"], path.stem)
            field = page.locator(f"{form} input.lme-quiz-input")
            field.fill(str(value + max(3 * q["tolerance"], 1)))
            field.press("Enter")
            assert page.locator(f"{form} .lme-quiz-feedback").get_attribute("data-state") == "wrong"
            field.fill(f"{value:.6f}")
            field.press("Enter")
            assert page.locator(f"{form} .lme-quiz-feedback").get_attribute("data-state") == "right"
            assert page.locator(f"{form} .lme-quiz-why").is_visible()
    found = axe(page)  # with every explanation shown
    context.close()
    assert not problems, problems
    assert not found, found


def _press_check(page, form: str) -> None:
    """Tab from the chosen option to the form's Check button and press Enter."""
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement === document.querySelector('{form} .lme-quiz-check')"):
            page.keyboard.press("Enter")
            return
    pytest.fail(f"{form}: the Check button cannot be reached with the Tab key")


# ---------------------------------------------------------------------------------------
# handouts and the cheat sheet


def handouts() -> dict:
    path = SITE.parent / ".lme_handouts.json"
    if not path.exists():
        pytest.fail("No handouts were printed: make book needs Chromium for them (set CHROMIUM=...).")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", CORE + ["cheatsheet"])
def test_handout_pdf_was_printed(name):
    pdf = SITE.parent / "handouts" / f"{name}.pdf"
    assert pdf.exists(), f"no handout for {name}"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and page_count(data) >= 1
    assert handouts()[f"book/{name}"]["pages"] == page_count(data)


def test_cheat_sheet_prints_on_one_a4_page():
    data = (SITE / "handouts" / "cheatsheet.pdf").read_bytes()  # published with the site
    assert data == (SITE.parent / "handouts" / "cheatsheet.pdf").read_bytes()
    assert page_count(data) == 1, f"the cheat sheet prints on {page_count(data)} pages"
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]\.\d+ 84[12]\.\d+\s*\]", data), "not A4"


PRINTED = """() => {
    const visible = e => { const s = getComputedStyle(e); return s.display !== 'none' && s.visibility !== 'hidden' && e.getClientRects().length > 0; };
    return {
        tabs: [...document.querySelectorAll('.sd-tab-set > .sd-tab-content')].map(visible),
        labels: [...document.querySelectorAll('.sd-tab-set > label')].map(visible),
        details: [...document.querySelectorAll('details')].map(d => d.open),
        solutions: [...document.querySelectorAll('.solution > .admonition-title ~ *')].map(visible),
        charts: [...document.querySelectorAll('figure.lme-chart')].map(f => f.dataset.drawn),
        nav: [...document.querySelectorAll('.bd-sidebar-primary, .bd-header')].map(visible),
    };
}"""


@pytest.mark.browser
@pytest.mark.parametrize("chapter", [c for c in CORE if (SITE / "book" / f"{c}.html").exists()])
def test_printing_shows_every_tab_solution_and_chart(browser, chapter):
    context, page, problems = open_page(browser, f"book/{chapter}.html", width=700, height=1000, media="print")
    page.wait_for_function("() => [...document.querySelectorAll('figure.lme-chart')].every(f => f.dataset.drawn)",
                           timeout=20_000)
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(300)
    state = page.evaluate(PRINTED)
    context.close()
    assert not problems, problems
    assert all(state["tabs"]) and all(state["labels"]), f"{chapter}: a tab is not printed"
    assert all(state["details"]), f"{chapter}: a folded box stays closed in print"
    assert all(state["solutions"]), f"{chapter}: a solution is not printed"
    assert all(d == "yes" for d in state["charts"])
    assert not any(state["nav"])


# ---------------------------------------------------------------------------------------
# the instructor page


def test_instructor_page_lists_every_core_chapters_materials():
    page = built("book/instructor.html")
    for chapter in CORE:
        assert f'href="../slides/{chapter}.html"' in page, chapter
        assert f'href="../_static/student/{chapter}.ipynb"' in page or not (SITE / "_static" / "student" / f"{chapter}.ipynb").exists()
    for chapter in [c for c in CORE if quiz_path(ROOT, c).exists()]:
        assert f'href="../_static/quizzes/{chapter}.gift"' in page, chapter
    assert 'href="../_static/quizzes/all.gift"' in page and 'href="../handouts/cheatsheet.pdf"' in page
    assert 'class="table lme-core-path' in page or "lme-core-path" in page  # the timings of the path
    assert "Rebuilding the book with your own data" in page
