"""Variance summaries of a fitted model: ICC, design effect, R², variance partition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fitting import LMEResult

__all__ = ["icc", "design_effect", "r2", "variance_partition"]


def _block_design(result: LMEResult, terms: tuple[str, ...]) -> np.ndarray:
    """Columns of the random-effects terms (1 for the intercept) for the rows of the fit; cached."""
    cache = result._spec.__dict__.setdefault("_block_designs", {})
    if terms not in cache:
        data = result.data
        cache[terms] = np.column_stack(
            [np.ones(len(data)) if t == "(Intercept)" else data[t].to_numpy(float) for t in terms])
    return cache[terms]


def _random_variance(result: LMEResult, slopes: str) -> float:
    """Variance of the random part: Σ τ²₀ at zero, or averaged over the data (Johnson 2014)."""
    if slopes not in ("average", "zero"):
        raise ValueError(f"`slopes` must be 'average' or 'zero', not {slopes!r}.")
    engine = result._engine
    total = 0.0
    for block, S in zip(engine.blocks, engine.covariances(result.theta, result.sigma2)):
        if slopes == "zero" or block.terms == ("(Intercept)",):
            total += sum(S[i, i] for i, t in enumerate(block.terms) if t == "(Intercept)")
        else:
            Z = _block_design(result, block.terms)
            total += float(np.mean(np.einsum("ij,jk,ik->i", Z, S, Z)))
    return total


def icc(result: LMEResult, slopes: str = "average", *, ci: float | None = None, nsim: int = 1000,
        seed: int | None = None, progress: bool | None = None) -> float | pd.Series:
    """The adjusted intraclass correlation, as R's ``performance::icc`` reports it.

    ρ = σ²_u / (σ²_u + σ²), where σ²_u is the variance of the random part and
    σ² the residual variance; fixed effects are left out (the "adjusted" ICC).
    In a random-intercept model σ²_u is the sum of the random-intercept
    variances τ²₀ of all grouping factors.

    In a random-slope model the variance between groups depends on the
    predictor x: it is τ²₀ + 2 τ₀₁ x + τ²₁ x². Two conventions exist:

    - ``slopes="average"`` (default, what ``performance`` 0.10 computes,
      following Johnson 2014): average that variance over the observed x.
    - ``slopes="zero"``: take it where the predictors are zero, i.e. use the
      intercept variances only; centring a predictor then changes the ICC.

    Both agree for random-intercept models. For an uncorrelated random slope,
    ``(x || g)``, ``performance`` 0.10 uses the variance at zero, so pass
    ``slopes="zero"`` to reproduce its value for such models.

    An interval for the ICC comes from a seeded parametric bootstrap
    (:func:`lme_helpers.inference.bootstrap`): simulate data from the fitted
    model, refit, recompute the ICC, and take percentiles. The ICC's sampling
    distribution is skewed and bounded by 0 and 1, so a symmetric Wald
    interval would mislead.

    Parameters
    ----------
    result : LMEResult
        A fitted model.
    slopes : {"average", "zero"}
        How random slopes enter, as above.
    ci : float, optional
        Confidence level of a bootstrap interval (e.g. 0.95). Without it,
        only the ICC is returned.
    nsim, seed, progress
        Number of bootstrap replicates, random seed, and whether to show progress.

    Returns
    -------
    float, or Series
        The ICC: a number between 0 and 1, the share of the (conditional)
        variance that lies between groups and the correlation of two
        observations from the same group. With ``ci``, a Series with
        ``estimate``, ``conf_low`` and ``conf_high`` (``attrs`` holds
        ``level``, ``nsim``, ``seed`` and the ``replicates``).

    Examples
    --------
    >>> from lme_helpers import fit, icc, data
    >>> null = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
    >>> round(icc(null), 3)
    0.168
    >>> interval = icc(null, ci=0.95, nsim=200, seed=1)
    >>> bool(interval.conf_low < interval.estimate < interval.conf_high)
    True
    """
    tau = _random_variance(result, slopes)
    value = float(tau / (tau + result.sigma2))
    if ci is None:
        return value
    from .inference import bootstrap, percentile_interval

    if not 0 < ci < 1:
        raise ValueError(f"`ci` is a confidence level between 0 and 1; got {ci}.")
    boot = bootstrap(result, lambda r: icc(r, slopes), nsim=nsim, seed=seed, progress=progress)
    low, high = percentile_interval(boot["value"].to_numpy(), ci)
    out = pd.Series({"estimate": value, "conf_low": low, "conf_high": high}, name="ICC")
    out.attrs.update({"level": ci, "nsim": nsim, "seed": seed, "method": "parametric bootstrap, percentile",
                      "replicates": boot["value"].to_numpy()})
    return out


def design_effect(icc: float, mean_cluster_size: float) -> float:
    """Kish's design effect for cluster samples, 1 + (m - 1) ρ.

    How many times larger the variance of a mean is under clustering than
    under simple random sampling of the same number of observations; the
    effective sample size is n divided by it.

    Parameters
    ----------
    icc : float
        Intraclass correlation ρ, in [0, 1].
    mean_cluster_size : float
        Average number of observations per group, m ≥ 1.

    Returns
    -------
    float
        The design effect, rounded to 10 decimals (so that 1 + 2 × 0.1 is 1.2,
        not 1.2000000000000002).

    Examples
    --------
    >>> design_effect(0.17, 62.4)
    11.438
    """
    if not 0 <= icc <= 1:
        raise ValueError(f"icc must lie in [0, 1]; got {icc}.")
    if mean_cluster_size < 1:
        raise ValueError(f"mean_cluster_size must be at least 1; got {mean_cluster_size}.")
    return float(round(1 + (mean_cluster_size - 1) * icc, 10))


def r2(result: LMEResult, slopes: str = "average") -> pd.Series:
    """Nakagawa and Schielzeth's marginal and conditional R², as ``performance::r2_nakagawa``.

    Marginal R² = σ²_f / (σ²_f + Σ τ²₀ + σ²): the share explained by the fixed
    effects. Conditional R² = (σ²_f + Σ τ²₀) / (σ²_f + Σ τ²₀ + σ²): the share
    explained by fixed and random effects together. σ²_f is the variance of the
    fitted fixed part Xβ̂; random slopes enter as in :func:`icc`.

    Returns
    -------
    Series
        ``marginal`` and ``conditional``.

    Examples
    --------
    >>> from lme_helpers import fit, r2, data
    >>> r2(fit("normexam ~ standLRT + (1 | school)", data.load("exam"))).round(3).to_dict()
    {'marginal': 0.322, 'conditional': 0.418}
    """
    fixed = result.model_matrix.to_numpy() @ result.fe_params.to_numpy()
    var_f = float(np.var(fixed, ddof=1))
    tau = _random_variance(result, slopes)
    total = var_f + tau + result.sigma2
    return pd.Series({"marginal": var_f / total, "conditional": (var_f + tau) / total})


def variance_partition(result: LMEResult) -> pd.DataFrame:
    """Variance components as shares of the total (intercept variances and residual).

    Returns
    -------
    DataFrame
        ``level`` (grouping factor or "Residual"), ``variance``, ``share``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> vp = variance_partition(fit("normexam ~ 1 + (1 | school)", data.load("exam")))
    >>> vp.share.round(2).tolist()
    [0.17, 0.83]
    """
    vc = result.variance_components()
    rows = vc[((vc.term == "(Intercept)") & (vc.term2 == "")) | (vc.group == "Residual")]
    out = pd.DataFrame({"level": rows.group.values, "variance": rows.variance.values})
    out["share"] = out.variance / out.variance.sum()
    return out
