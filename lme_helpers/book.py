"""Small conveniences for the book's chapters."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["glue", "as_python"]


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
    >>> glue("answer", np.float64(42.0))  # doctest: +SKIP
    """
    from myst_nb import glue as _glue

    _glue(name, as_python(value), display=False)
