"""The teaching extensions' parts that need no build: the quiz format, GIFT, links, page counts."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess

import pytest
from teaching import ROOT, lme_bundles, lme_handouts, lme_quiz, lme_slides, parse_gift


@pytest.mark.parametrize("module", [lme_quiz, lme_slides, lme_handouts, lme_bundles])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


GOOD_CHOICE = """questions:
  - id: q
    type: choice
    prompt: Which?
    options:
      - text: This
        correct: true
        why: Because.
      - text: That
        why: Because not.
"""


@pytest.mark.parametrize("text, message", [
    ("questions: []\n", "non-empty list"),
    ("quiz:\n  - id: q\n", "one key, 'questions'"),
    (GOOD_CHOICE.replace("        why: Because not.\n", ""), "has no 'why'"),
    (GOOD_CHOICE.replace("        correct: true\n", ""), "exactly one option must be correct"),
    (GOOD_CHOICE.replace("id: q", "id: Q 1"), "'id' must be"),
    (GOOD_CHOICE + GOOD_CHOICE.replace("questions:\n", ""), "the id is used twice"),
    (GOOD_CHOICE.replace("type: choice", "type: essay"), "'type' must be"),
    ("questions:\n  - id: n\n    type: numeric\n    prompt: How many?\n    answer: 0.17\n    tolerance: 0.01\n"
     "    why: Count.\n", "never a typed-in number"),
    ("questions:\n  - id: n\n    type: numeric\n    prompt: How many?\n    answer: {glue: x}\n    tolerance: -1\n"
     "    why: Count.\n", "positive number"),
    ("questions:\n  - id: n\n    type: numeric\n    prompt: How many?\n    answer: {glue: x}\n    tolerance: 1\n"
     "    why: Count.\n    hint: no\n", "unknown keys"),
])
def test_a_quiz_file_that_breaks_the_format_is_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "04_x.yml"
    path.write_text(text)
    with pytest.raises(lme_quiz.QuizError, match=message) as error:
        lme_quiz.load_quiz(path)
    assert str(path) in str(error.value)


def test_numeric_answers_come_from_the_glued_values(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("questions:\n  - id: n\n    type: numeric\n    prompt: ICC?\n    answer: {glue: rho}\n"
                    "    tolerance: 0.005\n    why: A share.\n")
    questions = lme_quiz.load_quiz(path)
    resolved = lme_quiz.resolve(questions, {"rho": {"data": {"text/plain": "0.1683409"}}}.__getitem__, "x")
    assert resolved[0]["value"] == pytest.approx(0.1683409)
    with pytest.raises(lme_quiz.QuizError, match="glues no value named 'rho'"):
        lme_quiz.resolve(questions, {}.__getitem__, "x")
    with pytest.raises(lme_quiz.QuizError, match="not a number"):
        lme_quiz.resolve(questions, {"rho": "'p < 0.001'"}.__getitem__, "x")
    # tolerance 0: a whole number, given exactly
    exact = [dict(questions[0], tolerance=0)]
    assert lme_quiz.resolve(exact, {"rho": "3"}.__getitem__, "x")[0]["value"] == 3
    with pytest.raises(lme_quiz.QuizError, match="whole-number answer"):
        lme_quiz.resolve(exact, {"rho": "0.17"}.__getitem__, "x")


def test_gift_export_survives_every_reserved_character():
    questions = [
        {"id": "c", "type": "choice", "prompt": "Is $\\tau_{00} = 0$ {really}: #1 ~ tilde?",
         "options": [{"text": "Yes = right", "correct": True, "why": "a: b {c} #d ~e \\f"},
                     {"text": "No", "why": "Because `x ~ y`."}]},
        {"id": "n", "type": "numeric", "prompt": "How much?", "value": 0.1683409, "tolerance": 0.005,
         "why": "$\\rho$ = 0.17."},
    ]
    read = parse_gift(lme_quiz.gift("04_x", "Chapter: four", questions))
    assert [q["name"] for q in read] == ["04_x: c", "04_x: n"]
    assert read[0]["text"] == "Is \\(\\tau_{00} = 0\\) {really}: #1 ~ tilde?"
    assert [o["correct"] for o in read[0]["options"]] == [True, False]
    assert read[0]["options"][0]["text"] == "Yes = right"
    assert read[0]["options"][0]["feedback"] == "a: b {c} #d ~e \\f"
    assert read[0]["options"][1]["feedback"] == "Because <code>x ~ y</code>."
    assert read[1]["answers"] == [{"value": 0.1683409, "tolerance": 0.005, "feedback": "Right. \\(\\rho\\) = 0.17."}]
    assert "0.17" not in read[1]["wrong"] and read[1]["general"].startswith("The answer: 0.17.")


def test_quiz_section_goes_before_the_exercises_unless_the_chapter_places_it():
    text = "# T\n\n## Section\n\nText.\n\n## Exercises\n\nDo.\n\n## Key takeaways\n"
    added = lme_quiz.add_quiz_section(text)
    assert added.index("## Check your understanding") < added.index("## Exercises")
    assert added.count("{quiz}") == 1
    assert lme_quiz.add_quiz_section(added) == added
    assert lme_quiz.add_quiz_section("# T\n\nText.\n").endswith("```{quiz}\n```\n\n")


def test_deck_links_point_back_to_the_chapter():
    html = '<a href="#x">a</a><a href="glossary.html#t">b</a><img src="../_images/p.png"><a href="https://e.org">c</a>'
    assert lme_slides.relink(html, "04_y.html") == (
        '<a href="../book/04_y.html#x">a</a><a href="../book/glossary.html#t">b</a>'
        '<img src="../_images/p.png"><a href="https://e.org">c</a>')


def test_handouts_are_skipped_with_a_reason_without_chromium(monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert "Chromium was not found" in lme_handouts.enabled()
    monkeypatch.setenv("LME_HANDOUTS", "0")
    assert lme_handouts.enabled() == "LME_HANDOUTS=0"


def test_student_r_script_of_the_practical_parses_and_holds_no_solution(tmp_path):
    solved = ROOT / "book" / "r" / "practical.R"
    student = lme_bundles.student_version(solved.read_text(encoding="utf-8"), lme_bundles.task_titles(solved))
    assert student is not None
    tasks = re.findall(r"^# ---- (task\d+) ----$", solved.read_text(encoding="utf-8"), re.M)
    assert len(tasks) >= 9 and re.findall(r"^# ---- (task\d+) ----$", student, re.M) == tasks
    assert all(f"# Your code for task {t[4:]}:" in student for t in tasks)
    assert re.search(r"^# Task 1: ", student, re.M), "the tasks are headed by their titles from the chapter"
    # no line of a task's code survives (the set-up's may: it runs as it is)
    setup, _, rest = solved.read_text(encoding="utf-8").partition("# ---- task1 ----")
    code = {line.strip() for line in rest.splitlines() if line.strip() and not line.lstrip().startswith("#")}
    code -= {line.strip() for line in setup.splitlines()} | {"}", ")", "{"}
    leaked = [line for line in student.splitlines() if line.strip() in code]
    assert not leaked, leaked
    if shutil.which("Rscript"):
        path = tmp_path / "practical_student.R"
        path.write_text(student, encoding="utf-8")
        done = subprocess.run(["Rscript", "--vanilla", "-e", f"invisible(parse(file = '{path}'))"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
