"""lme_helpers: linear mixed-effects models for teaching, checked against lme4.

The public API:

- :func:`fit` fits a model written in lme4's formula syntax and returns an
  :class:`LMEResult` (fixed effects, variance components, BLUPs, predictions).
- :func:`icc`, :func:`design_effect`, :func:`r2`, :func:`variance_partition`
  summarise variance.
- :func:`shrinkage` tabulates partial pooling per group.
- :func:`compare` compares nested models with likelihood-ratio tests.
- :func:`simulate` draws multilevel data from known parameters.
- :mod:`lme_helpers.data` loads the book's data sets; :mod:`lme_helpers.charts`
  draws the book's figures; :mod:`lme_helpers.rbridge` runs R's lme4.
"""

from . import data
from .comparison import boundary_p_value, compare
from .fitting import ConvergenceWarning, DataWarning, FitWarning, LMEResult, SingularFitWarning, fit
from .formula import parse_formula
from .shrinkage import shrinkage, shrinkage_factor
from .simulation import simulate, simulate_schools
from .variance import design_effect, icc, r2, variance_partition

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
    "simulate",
    "simulate_schools",
    "data",
]
