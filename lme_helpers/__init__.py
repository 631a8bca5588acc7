"""lme_helpers: linear mixed-effects models for teaching, checked against lme4.

The public API:

- :func:`fit` fits a model written in lme4's formula syntax and returns an
  :class:`LMEResult` (fixed effects, variance components, BLUPs, predictions).
- :func:`icc`, :func:`design_effect`, :func:`r2` summarise variance.
- :func:`shrinkage` tabulates partial pooling per group.
- :func:`compare` compares nested models with likelihood-ratio tests.
- :func:`simulate` draws multilevel data from known parameters.
- :mod:`lme_helpers.data` loads the book's data sets; :mod:`lme_helpers.charts`
  draws the book's figures; :mod:`lme_helpers.rbridge` runs R's lme4.
"""

from . import data
from .fitting import ConvergenceWarning, FitWarning, LMEResult, SingularFitWarning, fit
from .formula import parse_formula

__version__ = "0.1.0"

__all__ = [
    "fit",
    "LMEResult",
    "FitWarning",
    "SingularFitWarning",
    "ConvergenceWarning",
    "parse_formula",
    "data",
]
