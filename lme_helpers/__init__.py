"""lme_helpers: linear mixed-effects models for teaching, checked against lme4.

The public API:

- :func:`fit` fits a model written in lme4's formula syntax and returns an
  :class:`LMEResult` (fixed effects, variance components, BLUPs, predictions).
- :func:`icc`, :func:`design_effect`, :func:`r2`, :func:`variance_partition`
  summarise variance.
- :func:`shrinkage` tabulates partial pooling per group.
- :func:`compare` compares nested models with likelihood-ratio tests (χ², boundary-corrected,
  or parametric bootstrap).
- :meth:`LMEResult.fixed_effects` gives t-tests with Satterthwaite's degrees of freedom;
  :func:`anova` type III F-tests; :func:`confint` profile, bootstrap and Wald intervals;
  :func:`bootstrap` a parametric bootstrap of any statistic.
- :func:`show` displays a results table with p-values that never read 0.000.
- :func:`simulate` draws multilevel data from known parameters.
- :mod:`lme_helpers.data` loads the book's data sets; :mod:`lme_helpers.charts`
  draws the book's figures; :mod:`lme_helpers.rbridge` runs R's lme4.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names are imported on first use (PEP 562), so that a tool needing one small part
# (the book's build asks the R bridge whether R is present) does not pay for importing
# statsmodels and SciPy. ``import lme_helpers as lh; lh.fit(...)`` works as usual.
_EXPORTS = {
    "fit": "fitting", "LMEResult": "fitting", "FitWarning": "messages",
    "SingularFitWarning": "messages", "ConvergenceWarning": "messages", "DataWarning": "messages",
    "parse_formula": "formula",
    "icc": "variance", "design_effect": "variance", "r2": "variance", "variance_partition": "variance",
    "shrinkage": "pooling", "shrinkage_factor": "pooling",
    "compare": "comparison", "boundary_p_value": "comparison", "bootstrap_lrt": "comparison",
    "anova": "inference", "confint": "inference", "bootstrap": "inference", "show": "tables",
    "simulate": "simulation", "simulate_schools": "simulation",
}
_SUBMODULES = {"data", "charts", "rbridge", "sidebyside", "book", "notebooks",
               "fitting", "formula", "variance", "pooling", "comparison", "simulation",
               "inference", "lmm", "tables", "messages"}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from . import data
    from .comparison import bootstrap_lrt, boundary_p_value, compare
    from .fitting import LMEResult, fit
    from .formula import parse_formula
    from .inference import anova, bootstrap, confint
    from .messages import ConvergenceWarning, DataWarning, FitWarning, SingularFitWarning
    from .pooling import shrinkage, shrinkage_factor
    from .simulation import simulate, simulate_schools
    from .tables import show
    from .variance import design_effect, icc, r2, variance_partition


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'lme_helpers' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)


__version__ = "0.1.0"

__all__ = [
    "fit",
    "LMEResult",
    "FitWarning",
    "SingularFitWarning",
    "ConvergenceWarning",
    "DataWarning",
    "parse_formula",
    "icc",
    "design_effect",
    "r2",
    "variance_partition",
    "shrinkage",
    "shrinkage_factor",
    "compare",
    "boundary_p_value",
    "bootstrap_lrt",
    "anova",
    "confint",
    "bootstrap",
    "show",
    "simulate",
    "simulate_schools",
    "data",
]
