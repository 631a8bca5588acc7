"""Tables a reader can read: rounded numbers, and p-values that never print as 0.000."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .inference import format_p

__all__ = ["show", "Table", "P_COLUMNS"]

P_COLUMNS = re.compile(r"^(p|p_value|p_boundary|p_bootstrap|p_naive|Pr\(.*\)|P>\|[zt]\|)$")
"""Column names that hold p-values."""


def _format_df(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if np.isinf(value):
        return "∞"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class Table:
    """A formatted table: HTML in a notebook, aligned text elsewhere; ``.data`` is the table itself."""

    def __init__(self, data: pd.DataFrame, formats: dict):
        self.data = data
        self._formats = formats

    def _styler(self):
        import hashlib

        # a stable id, so that the same table gives the same HTML in every build
        uid = hashlib.sha256(self.data.to_csv().encode()).hexdigest()[:8]
        return self.data.style.format(self._formats).set_uuid(f"lme{uid}")

    def _repr_html_(self) -> str:
        return self._styler().to_html()

    def __repr__(self) -> str:
        return self.data.to_string(formatters=self._formats)

    def to_html(self) -> str:
        """The table as HTML."""
        return self._repr_html_()


def show(table: pd.DataFrame | pd.Series, digits: int = 3) -> Table:
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
    Table
        Displays as a table in a notebook and as aligned text when printed;
        ``.data`` is the unchanged table.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> fe = fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy")).fixed_effects()
    >>> shown = show(fe)
    >>> "< 0.001" in shown.to_html() and "0.000" not in shown.to_html()
    True
    >>> print(show(fe[["estimate", "df", "p_value"]]))
              estimate   df p_value
    term                           
    Intercept  251.405 17.0 < 0.001
    Days        10.467 17.0 < 0.001
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
    return Table(frame, formats)
