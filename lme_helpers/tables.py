"""Tables a reader can read: rounded numbers, and p-values that never print as 0.000."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from .inference import format_p

__all__ = ["show", "P_COLUMNS", "ShownTable"]


class ShownTable(Styler):
    """The table :func:`show` returns: HTML in a notebook, and the same formatted numbers as plain text.

    A plain Styler's text form is ``<Styler at 0x...>``, an address that says nothing and
    differs between runs; this one prints the table.
    """

    _plain: str = ""

    def __repr__(self) -> str:
        return self._plain

P_COLUMNS = re.compile(r"^(p|p_value|p_boundary|p_bootstrap|p_naive|Pr\(.*\)|P>\|[zt]\|)$")
"""Column names that hold p-values."""


def _format_df(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if np.isinf(value):
        return "∞"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def show(table: pd.DataFrame | pd.Series, digits: int = 3):
    """Display a table of results with ``digits`` decimals and p-values as ``< 0.001`` or three significant digits.

    Rounding a table with ``.round(3)`` turns a p-value of 3e-6 into 0.000, which
    reads as "impossible"; ``show`` keeps it honest. Degrees of freedom get one
    decimal (none when whole), and infinite ones (a z-test) print as ∞.

    Parameters
    ----------
    table : DataFrame or Series
        For example ``model.fixed_effects()``, ``lh.compare(...)`` or ``model.anova()``.
    digits : int
        Decimals for the other numbers.

    Returns
    -------
    pandas Styler
        Displays as a table in a notebook; ``.data`` is the unchanged table.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> fe = fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy")).fixed_effects()
    >>> styled = show(fe)
    >>> "< 0.001" in styled.to_html() and "0.000" not in styled.to_html()
    True
    >>> print(repr(styled).splitlines()[3])
    Days        10.467     1.546  17.0     6.771  < 0.001    7.206    13.729
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    formats = {}
    for col in frame.columns:
        name = str(col)
        if P_COLUMNS.match(name):
            formats[col] = format_p
        elif name in ("df", "num_df", "den_df", "npar", "DenDF", "NumDF"):
            formats[col] = _format_df
        elif pd.api.types.is_float_dtype(frame[col]):
            formats[col] = lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}f}"
    styled = ShownTable(frame).format(formats)
    plain = frame.copy()
    for col, fmt in formats.items():
        plain[col] = frame[col].map(fmt)
    styled._plain = plain.to_string()
    return styled
