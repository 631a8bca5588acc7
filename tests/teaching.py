"""Shared by the tests of the teaching materials: the core chapters, a GIFT reader, page counts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import lme_bundles  # noqa: E402, F401 (re-exported for the tests)
import lme_handouts  # noqa: E402
import lme_path  # noqa: E402
import lme_quiz  # noqa: E402
import lme_slides  # noqa: E402, F401 (re-exported for the tests)


def core_chapters(path_file: Path = lme_path.PATH_FILE) -> list[str]:
    """The chapters of the one-week path (``book/path.yml``), by file name."""
    return [ch["file"] for ch in lme_path.load_path(path_file)["chapters"]]


ESCAPES = {"\\:": "\x01", "\\#": "\x02", "\\=": "\x03", "\\{": "\x04", "\\}": "\x05", "\\~": "\x06", "\\n": "\n"}
BACK = {"\x01": ":", "\x02": "#", "\x03": "=", "\x04": "{", "\x05": "}", "\x06": "~"}


def _unescape(text: str) -> str:
    for placeholder, char in BACK.items():
        text = text.replace(placeholder, char)
    return text.replace("\x00", "\\").strip()


def parse_gift(text: str) -> list[dict]:
    """Read a GIFT file the way Moodle's importer does (question/format/gift/format.php):
    escaped characters first, then name, text and the answer block of each question.

    >>> parse_gift("::q1::[html]Two \\\\{x\\\\}?{\\n=yes#right\\n~no#wrong\\n}\\n\\n::q2::How many?{#\\n=2.5:0.1#ok\\n~#no\\n####2.5\\n}")[1]
    {'name': 'q2', 'text': 'How many?', 'general': '2.5', 'type': 'numeric', 'answers': [{'value': 2.5, 'tolerance': 0.1, 'feedback': 'ok'}], 'wrong': 'no'}
    """
    questions = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in block.splitlines() if not line.strip().startswith("//")]
        body = "\n".join(lines).strip()
        if not body or body.startswith("$CATEGORY:"):
            continue
        body = body.replace("\\\\", "\x00")
        for escaped, placeholder in ESCAPES.items():
            body = body.replace(escaped, placeholder)
        assert body.startswith("::"), f"a question without a name: {body[:80]!r}"
        name, rest = body[2:].split("::", 1)
        start, end = rest.index("{"), rest.index("}")
        question_text = re.sub(r"^\[html\]", "", rest[:start].strip())
        answer, _, general = rest[start + 1:end].partition("####")
        answer = answer.strip()
        q = {"name": _unescape(name), "text": _unescape(question_text), "general": _unescape(general)}
        if answer.startswith("#"):
            right, _, wrong = answer[1:].partition("~")
            q["type"] = "numeric"
            q["answers"] = []
            for part in filter(None, (p.strip() for p in right.split("="))):
                value, _, feedback = part.partition("#")
                number, _, tolerance = value.partition(":")
                q["answers"].append({"value": float(number), "tolerance": float(tolerance or 0),
                                     "feedback": _unescape(feedback)})
            q["wrong"] = _unescape(wrong.partition("#")[2])
        else:
            q["type"] = "choice"
            q["options"] = []
            for part in filter(None, (p.strip() for p in answer.replace("=", "~=").split("~"))):
                text_, _, feedback = part.partition("#")
                q["options"].append({"correct": text_.startswith("="), "text": _unescape(text_.lstrip("=")),
                                     "feedback": _unescape(feedback)})
        questions.append(q)
    return questions


page_count = lme_handouts.page_count
load_quiz = lme_quiz.load_quiz
quiz_path = lme_quiz.quiz_path
