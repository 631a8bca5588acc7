"""The warnings lme_helpers gives, shown as plain sentences.

A notebook shows a Python warning with the file and line that raised it
(``/path/to/lme_helpers/fitting.py:123: UserWarning: ...``), which tells a
reader nothing and changes from machine to machine. lme_helpers' own warnings
print as ``DataWarning: Dropped 12 of 400 rows ...`` instead.
"""

from __future__ import annotations

import warnings

__all__ = ["FitWarning", "SingularFitWarning", "ConvergenceWarning", "DataWarning"]


class FitWarning(UserWarning):
    """Base class for the warnings lme_helpers gives about data and models."""


class SingularFitWarning(FitWarning):
    """A random-effects covariance matrix is estimated as rank deficient (lme4's ``isSingular``)."""


class ConvergenceWarning(FitWarning):
    """The optimisers did not agree on, or did not reach, a maximum."""


class DataWarning(FitWarning):
    """Rows were dropped or the data have a feature worth knowing about."""


_default_formatwarning = warnings.formatwarning


def _format_fit_warning(message, category, filename, lineno, line=None) -> str:
    """Show lme_helpers' warnings as plain sentences, without the (temporary) file and line.

    Examples
    --------
    >>> _format_fit_warning("Dropped 3 rows.", DataWarning, "/tmp/x.py", 1)
    'DataWarning: Dropped 3 rows.\\n'
    """
    if isinstance(category, type) and issubclass(category, FitWarning):
        return f"{category.__name__}: {message}\n"
    return _default_formatwarning(message, category, filename, lineno, line)


warnings.formatwarning = _format_fit_warning
