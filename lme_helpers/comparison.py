"""Likelihood-ratio tests and information criteria for nested models."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .fitting import LMEResult

__all__ = ["compare", "boundary_p_value"]


def boundary_p_value(statistic: float, n_cov: int = 0) -> float:
    """p-value of a likelihood-ratio test for one added variance on the boundary.

    Under the null the variance is zero, on the edge of its parameter space,
    so the statistic follows a 50:50 mixture of χ² distributions with
    ``n_cov`` and ``n_cov + 1`` degrees of freedom (Self and Liang 1987;
    Stram and Lee 1994), where ``n_cov`` counts the covariances added with
    the variance (χ²₀ is a point mass at zero).

    Examples
    --------
    >>> round(float(boundary_p_value(2.71)), 3)
    0.05
    """
    statistic = max(float(statistic), 0.0)
    lower = stats.chi2.sf(statistic, n_cov) if n_cov > 0 else float(statistic <= 0)
    return float(0.5 * lower + 0.5 * stats.chi2.sf(statistic, n_cov + 1))


def _is_ols(model) -> bool:
    return hasattr(model, "model") and model.model.__class__.__name__ == "OLS"


def _info(model, name: str) -> dict:
    if isinstance(model, LMEResult):
        vc = model.variance_components()
        vc = vc[vc.group != "Residual"]
        return {
            "model": name,
            "npar": model.n_params,
            "loglik": model.loglik,
            "n_var": int((vc.term2 == "").sum()),
            "n_cov": int((vc.term2 != "").sum()),
            "fixed": tuple(model.fe_params.index),
            "nobs": model.nobs,
            "reml": model.reml,
        }
    if _is_ols(model):
        return {
            "model": name,
            "npar": int(len(model.params) + 1),
            "loglik": float(model.llf),
            "n_var": 0,
            "n_cov": 0,
            "fixed": tuple(model.params.index),
            "nobs": int(model.nobs),
            "reml": False,
        }
    raise TypeError(f"compare() takes LMEResult or statsmodels OLS results, not {type(model).__name__}.")


def compare(*models, names: list[str] | None = None, refit: str = "auto") -> pd.DataFrame:
    """Compare nested models: log-likelihood, AIC, BIC and likelihood-ratio tests.

    Models are ordered by their number of parameters and each is tested
    against the one before it.

    - When the models differ in their fixed effects (or one of them is an
      OLS fit), REML likelihoods are not comparable, so REML fits are refitted
      by maximum likelihood first; the table's ``attrs["note"]`` says so.
    - When a model adds exactly one variance (with any covariances that come
      with it) and the fixed effects are the same, ``p_boundary`` gives the
      boundary-corrected p-value from a 50:50 χ² mixture; the naive
      ``p_value`` is conservative (too large) in that case.

    Parameters
    ----------
    *models : LMEResult or statsmodels OLS results
        Two or more models fitted to the same rows.
    names : list of str, optional
        Labels for the models (default: their formulas).
    refit : {"auto", "ml", "none"}
        ``"auto"`` refits REML models with ML only when needed; ``"ml"``
        always does (as lme4's ``anova``); ``"none"`` never does.

    Returns
    -------
    DataFrame
        ``model``, ``npar``, ``loglik``, ``AIC``, ``BIC``, ``chisq``, ``df``,
        ``p_value``, ``p_boundary``, and ``fit`` (REML or ML).

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> from lme_helpers import fit, compare, data
    >>> exam = data.load("exam")
    >>> table = compare(smf.ols("normexam ~ 1", exam).fit(), fit("normexam ~ 1 + (1 | school)", exam))
    >>> table.p_boundary.iloc[1] < 1e-10
    np.True_
    """
    if len(models) < 2:
        raise ValueError("compare() needs at least two models.")
    names = list(names) if names is not None else [
        m.formula if isinstance(m, LMEResult) else m.model.formula for m in models
    ]
    if len(names) != len(models):
        raise ValueError("`names` must have one entry per model.")
    infos = [_info(m, n) for m, n in zip(models, names)]
    if len({i["nobs"] for i in infos}) > 1:
        raise ValueError(
            "The models were fitted to different numbers of rows "
            f"({', '.join(str(i['nobs']) for i in infos)}); likelihoods are only comparable on the same data."
        )
    fixed_differ = len({frozenset(i["fixed"]) for i in infos}) > 1 or any(_is_ols(m) for m in models)
    if refit not in ("auto", "ml", "none"):
        raise ValueError(f"`refit` must be 'auto', 'ml' or 'none', not {refit!r}.")
    note = ""
    models = list(models)
    if (refit == "ml" or (refit == "auto" and fixed_differ)) and any(
        isinstance(m, LMEResult) and m.reml for m in models
    ):
        models = [m.refit(reml=False) if isinstance(m, LMEResult) else m for m in models]
        infos = [_info(m, n) for m, n in zip(models, names)]
        note = "REML fits were refitted with maximum likelihood, because the models differ in their fixed effects."
    elif fixed_differ and any(i["reml"] for i in infos):
        warnings.warn("Comparing REML likelihoods of models with different fixed effects is not valid.", stacklevel=2)
    order = sorted(range(len(infos)), key=lambda k: infos[k]["npar"])
    rows = []
    prev = None
    for k in order:
        i = infos[k]
        n = i["nobs"]
        row = {
            "model": i["model"],
            "npar": i["npar"],
            "loglik": i["loglik"],
            "AIC": -2 * i["loglik"] + 2 * i["npar"],
            "BIC": -2 * i["loglik"] + np.log(n) * i["npar"],
            "chisq": np.nan,
            "df": np.nan,
            "p_value": np.nan,
            "p_boundary": np.nan,
            "fit": "REML" if i["reml"] else "ML",
        }
        if prev is not None:
            chisq = max(2 * (i["loglik"] - prev["loglik"]), 0.0)
            df = i["npar"] - prev["npar"]
            row["chisq"], row["df"] = chisq, df
            row["p_value"] = stats.chi2.sf(chisq, df) if df > 0 else np.nan
            if set(i["fixed"]) == set(prev["fixed"]) and i["n_var"] - prev["n_var"] == 1 and df >= 1:
                row["p_boundary"] = boundary_p_value(chisq, n_cov=df - 1)
        rows.append(row)
        prev = i
    out = pd.DataFrame(rows)
    out.attrs["note"] = note
    return out
