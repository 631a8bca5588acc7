"""Small conveniences for the book's chapters."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["glue", "as_python", "check", "claim", "ClaimError", "p_text"]


def as_python(value):
    """Turn NumPy scalars into plain Python numbers (so they format as numbers in the text).

    Examples
    --------
    >>> as_python(np.float64(0.5)), as_python(np.int64(3))
    (0.5, 3)
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Number):
        return value
    return value


def glue(name: str, value) -> None:
    """Store a value for use in the chapter's text (``{glue:text}`name:.3f```), without displaying it.

    A thin wrapper around :func:`myst_nb.glue` that converts NumPy scalars first.

    Examples
    --------
    In a chapter: ``glue("icc", lh.icc(model))``, then ``{glue:text}`icc:.3f``` in the text.

    >>> as_python(np.float64(42.0))  # what glue stores instead of a NumPy scalar
    42.0
    """
    from myst_nb import glue as _glue

    _glue(name, as_python(value), display=False)


def check(value, *, between: tuple[float, float] | None = None, equals=None, because: str = "") -> None:
    """A check the reader can run on their own answer; raises AssertionError with a hint if it fails.

    Parameters
    ----------
    value : number
        The reader's result.
    between : (low, high), optional
        Inclusive bounds the result should lie in.
    equals : optional
        The exact value expected.
    because : str
        Why the bounds hold, printed with the verdict.

    Examples
    --------
    >>> check(0.12, between=(0.05, 0.25), because="authorities explain some of the variance")
    ✓ 0.12 lies between 0.05 and 0.25
      because authorities explain some of the variance
    """
    value = as_python(value)
    if between is not None:
        low, high = (as_python(b) for b in between)
        ok = low <= value <= high
        claim = f"{value:.4g} lies between {low:.4g} and {high:.4g}"
    elif equals is not None:
        ok = value == as_python(equals)
        claim = f"{value} equals {as_python(equals)}"
    else:
        raise ValueError("Give `between` or `equals`.")
    reason = f"\n  because {because}" if because else ""
    if not ok:
        claim = claim.replace("lies between", "should lie between").replace(" equals ", " should equal ")
        raise AssertionError(f"✗ {claim}{reason}")
    print(f"✓ {claim}{reason}")


class ClaimError(AssertionError):
    """A sentence of the book's text is no longer true for the numbers the build computed."""


def claim(condition: bool, statement: str) -> None:
    """Check a statement the text makes about computed numbers; fail the build, naming it, if it is false.

    Chapters call it in removed cells, next to the sentence it backs, so that a
    change in data or helpers that makes the sentence false stops the build.

    Parameters
    ----------
    condition : bool
        Whether the statement holds for this build's numbers.
    statement : str
        The statement, in the words of the text.

    Examples
    --------
    >>> claim(2 + 2 == 4, "two and two make four")
    >>> claim(0.3 > 0.5, "the ICC is above one half")
    Traceback (most recent call last):
    ...
    lme_helpers.book.ClaimError: The text says "the ICC is above one half", which is no longer true for these numbers.
    """
    if not bool(condition):
        raise ClaimError(f'The text says "{statement}", which is no longer true for these numbers.')


def p_text(p: float) -> str:
    """A p-value for a sentence: ``"p < 0.001"`` or ``"p = 0.0132"`` (never ``p = 0.000``).

    Examples
    --------
    >>> p_text(3e-6), p_text(0.01321)
    ('p < 0.001', 'p = 0.0132')
    """
    from .inference import format_p

    text = format_p(float(p))
    return f"p {text}" if text.startswith("<") else f"p = {text}"
