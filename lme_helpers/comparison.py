"""Likelihood-ratio tests and information criteria for nested models."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .fitting import LMEResult

__all__ = ["compare", "boundary_p_value", "bootstrap_lrt"]


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


def _ols_loglik(X: np.ndarray, y: np.ndarray) -> float:
    """Maximised (ML) log-likelihood of a linear regression."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    rss = float(np.sum((y - X @ beta) ** 2))
    n = len(y)
    return -0.5 * n * (np.log(2 * np.pi * rss / n) + 1)


def _simulate_from(model, rng: np.random.Generator) -> np.ndarray:
    from .inference import simulate_response

    if isinstance(model, LMEResult):
        return simulate_response(model, rng)
    X = np.asarray(model.model.exog, dtype=float)
    return X @ np.asarray(model.params, dtype=float) + np.sqrt(float(model.scale)) * rng.standard_normal(len(X))


def _refit_loglik(model, y: np.ndarray) -> float:
    if isinstance(model, LMEResult):
        return model._replicate(y).loglik
    return _ols_loglik(np.asarray(model.model.exog, dtype=float), y)


def bootstrap_lrt(small, large, nsim: int = 1000, seed: int | None = None,
                  progress: bool | None = None) -> dict[str, float]:
    """Parametric bootstrap likelihood-ratio test of a smaller model against a larger one.

    Simulates ``nsim`` data sets from the fitted smaller model, refits both
    models to each and compares the observed likelihood-ratio statistic with
    the simulated ones: p = (1 + #{LR* ≥ LR}) / (1 + nsim). Unlike the χ²
    tests it needs no argument about boundaries or degrees of freedom, which
    makes it the safer test of variance components with few groups.

    Every simulated statistic counts, including the many that are exactly
    zero because the refitted variance lands on the boundary. (pbkrtest's
    ``PBmodcomp`` 0.5 keeps only the simulated statistics above zero, which
    makes its p-value larger whenever the null variance is on the boundary.)

    Parameters
    ----------
    small, large : LMEResult or statsmodels OLS results
        The nested models, fitted to the same rows, with comparable
        likelihoods (both ML, or both REML with the same fixed effects).
    nsim : int
        Number of simulated data sets.
    seed : int, optional
        Random seed; the same seed gives the same p-value.

    Returns
    -------
    dict
        ``statistic`` (observed LR), ``p_value``, ``nsim``, ``seed`` and the
        simulated statistics (``replicates``).

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> from lme_helpers import fit, data
    >>> sleep = data.load("sleepstudy")
    >>> ols = smf.ols("Reaction ~ Days", sleep).fit()
    >>> mixed = fit("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
    >>> bootstrap_lrt(ols, mixed, nsim=50, seed=1)["p_value"]
    0.0196078431372549
    """
    from .fitting import _single_thread
    from .inference import _Progress

    for m in (small, large):
        if not isinstance(m, LMEResult) and not _is_ols(m):
            raise TypeError(f"bootstrap_lrt() takes LMEResult or statsmodels OLS results, not {type(m).__name__}.")
    if not isinstance(large, LMEResult):
        raise TypeError("The larger model of a bootstrap likelihood-ratio test must be a mixed model (LMEResult).")
    ll_small = small.loglik if isinstance(small, LMEResult) else float(small.llf)
    observed = max(2 * (large.loglik - ll_small), 0.0)
    rng = np.random.default_rng(seed)
    bar = _Progress(nsim, "bootstrap likelihood-ratio test", progress)
    stats_sim = np.empty(nsim)
    with _single_thread():
        for i in range(nsim):
            y = _simulate_from(small, rng)
            stats_sim[i] = max(2 * (_refit_loglik(large, y) - _refit_loglik(small, y)), 0.0)
            bar.update(i + 1)
    # a simulated statistic equal to the observed one (up to rounding) counts as at least as extreme
    extreme = int(np.sum(stats_sim >= observed - 1e-8 * max(1.0, observed)))
    return {"statistic": observed, "p_value": (1 + extreme) / (1 + nsim), "nsim": nsim, "seed": seed,
            "replicates": stats_sim}


def compare(*models, names: list[str] | None = None, refit: str = "auto", method: str = "chisq",
            nsim: int = 1000, seed: int | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Compare nested models: log-likelihood, AIC, BIC and likelihood-ratio tests.

    Models are ordered by their number of parameters and each is tested
    against the one before it.

    - When the models differ in their fixed effects, or one of them is an OLS
      fit (whose log-likelihood is a maximum-likelihood one), REML
      likelihoods are not comparable, so REML fits are refitted by maximum
      likelihood first; the table's ``attrs["note"]`` says so and why.
    - When a model adds exactly one variance (with any covariances that come
      with it) and the fixed effects are the same, ``p_boundary`` gives the
      boundary-corrected p-value from a 50:50 χ² mixture; the naive
      ``p_value`` is conservative (too large) in that case.
    - With ``method="bootstrap"``, ``p_bootstrap`` gives a parametric
      bootstrap p-value for each test (:func:`bootstrap_lrt`).

    Parameters
    ----------
    *models : LMEResult or statsmodels OLS results
        Two or more models fitted to the same rows.
    names : list of str, optional
        Labels for the models (default: their formulas).
    refit : {"auto", "ml", "none"}
        ``"auto"`` refits REML models with ML only when needed; ``"ml"``
        always does (as lme4's ``anova``); ``"none"`` never does.
    method : {"chisq", "bootstrap"}
        Add parametric bootstrap p-values (``"bootstrap"``) to the χ² ones.
    nsim, seed, progress
        For ``method="bootstrap"``: simulated data sets, random seed, progress display.

    Returns
    -------
    DataFrame
        ``model``, ``npar``, ``loglik``, ``AIC``, ``BIC``, ``chisq``, ``df``,
        ``p_value``, ``p_boundary``, (``p_bootstrap``,) and ``fit`` (REML or ML).

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> from lme_helpers import fit, compare, data
    >>> exam = data.load("exam")
    >>> table = compare(smf.ols("normexam ~ 1", exam).fit(), fit("normexam ~ 1 + (1 | school)", exam))
    >>> table.p_boundary.iloc[1] < 1e-10
    np.True_
    >>> table.attrs["note"]
    "REML fits were refitted by maximum likelihood, because an OLS fit's log-likelihood is a maximum-likelihood one."
    """
    if len(models) < 2:
        raise ValueError("compare() needs at least two models.")
    if method not in ("chisq", "bootstrap"):
        raise ValueError(f"`method` must be 'chisq' or 'bootstrap', not {method!r}.")
    names = list(names) if names is not None else [
        m.formula if isinstance(m, LMEResult) else getattr(getattr(m, "model", None), "formula", repr(m))
        for m in models
    ]
    if len(names) != len(models):
        raise ValueError("`names` must have one entry per model.")
    infos = [_info(m, n) for m, n in zip(models, names)]
    if len({i["nobs"] for i in infos}) > 1:
        raise ValueError(
            "The models were fitted to different numbers of rows "
            f"({', '.join(str(i['nobs']) for i in infos)}); likelihoods are only comparable on the same data."
        )
    has_ols = any(_is_ols(m) for m in models)
    fixed_differ = len({frozenset(i["fixed"]) for i in infos}) > 1
    if refit not in ("auto", "ml", "none"):
        raise ValueError(f"`refit` must be 'auto', 'ml' or 'none', not {refit!r}.")
    note = ""
    models = list(models)
    any_reml = any(isinstance(m, LMEResult) and m.reml for m in models)
    if any_reml and (refit == "ml" or (refit == "auto" and (fixed_differ or has_ols))):
        models = [m.refit(reml=False) if isinstance(m, LMEResult) else m for m in models]
        infos = [_info(m, n) for m, n in zip(models, names)]
        if fixed_differ:
            why = "because the models differ in their fixed effects"
        elif has_ols:
            why = "because an OLS fit's log-likelihood is a maximum-likelihood one"
        else:
            why = "as requested (refit='ml', as lme4's anova does)"
        note = f"REML fits were refitted by maximum likelihood, {why}."
    elif (fixed_differ or has_ols) and any_reml:
        warnings.warn("Comparing REML likelihoods of models with different fixed effects is not valid.", stacklevel=2)
    order = sorted(range(len(infos)), key=lambda k: infos[k]["npar"])
    rows = []
    prev = None
    prev_model = None
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
        }
        if method == "bootstrap":
            row["p_bootstrap"] = np.nan
        row["fit"] = "REML" if i["reml"] else "ML"
        if prev is not None:
            chisq = max(2 * (i["loglik"] - prev["loglik"]), 0.0)
            df = i["npar"] - prev["npar"]
            row["chisq"], row["df"] = chisq, df
            row["p_value"] = stats.chi2.sf(chisq, df) if df > 0 else np.nan
            if set(i["fixed"]) == set(prev["fixed"]) and i["n_var"] - prev["n_var"] == 1 and df >= 1:
                row["p_boundary"] = boundary_p_value(chisq, n_cov=df - 1)
            if method == "bootstrap":
                row["p_bootstrap"] = bootstrap_lrt(prev_model, models[k], nsim=nsim, seed=seed,
                                                   progress=progress)["p_value"]
        rows.append(row)
        prev = i
        prev_model = models[k]
    out = pd.DataFrame(rows)
    out.attrs["note"] = note
    if method == "bootstrap":
        out.attrs.update({"nsim": nsim, "seed": seed})
    return out
