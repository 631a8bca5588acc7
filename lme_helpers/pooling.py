"""Partial pooling: how far each group's estimate is pulled towards the overall one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fitting import LMEResult

__all__ = ["shrinkage", "shrinkage_factor"]


def shrinkage_factor(tau2: float, sigma2: float, n: np.ndarray | float) -> np.ndarray | float:
    """λ = τ² / (τ² + σ²/n): the weight a group's own mean gets under partial pooling.

    Parameters
    ----------
    tau2 : float
        Between-group (random-intercept) variance τ².
    sigma2 : float
        Within-group (residual) variance σ².
    n : int or array
        Group size(s).

    Examples
    --------
    >>> round(shrinkage_factor(0.17, 0.85, 5), 3)
    0.5
    """
    n = np.asarray(n, dtype=float)
    if tau2 < 0 or sigma2 <= 0 or np.any(n <= 0):
        raise ValueError("Need tau2 >= 0, sigma2 > 0 and group sizes > 0.")
    out = tau2 / (tau2 + sigma2 / n)
    return float(out) if out.ndim == 0 else out


def shrinkage(result: LMEResult, group: str | None = None) -> pd.DataFrame:
    """One row per group: raw (no-pooling), pooled and partially pooled intercepts.

    For a random-intercept model y = Xβ + u_j + ε the group intercept is
    estimated three ways:

    - ``no_pooling``: the fixed intercept plus the group's mean residual from
      the fixed part, ȳ_j − x̄_jβ̂ + β̂₀ (in a null model, the group mean);
    - ``complete_pooling``: the fixed intercept β̂₀ alone, the same for every
      group (the value partial pooling shrinks towards);
    - ``partial_pooling``: β̂₀ + û_j, the model's estimate. It equals
      λ_j · no_pooling + (1 − λ_j) · complete_pooling with
      λ_j = τ² / (τ² + σ²/n_j).

    Parameters
    ----------
    result : LMEResult
        A model with a random intercept for ``group`` and no random slopes.
    group : str, optional
        The grouping factor; the model's first by default.

    Returns
    -------
    DataFrame
        ``level``, ``n``, ``no_pooling``, ``complete_pooling``,
        ``partial_pooling``, ``shrinkage`` (λ_j), ``pulled`` (how far the
        estimate moved towards the pooled value).

    Examples
    --------
    >>> from lme_helpers import fit, shrinkage, data
    >>> s = shrinkage(fit("normexam ~ 1 + (1 | school)", data.load("exam")))
    >>> s.iloc[[0, -1]][["level", "n", "shrinkage"]].round(3).values.tolist()  # the smallest and largest school
    [['48', 2, 0.288], ['14', 198, 0.976]]
    """
    group = group or result.grouping[0]
    vc = result.variance_components()
    if len(result.grouping) != 1 or (vc.term.isin(["", "(Intercept)"]) == False).any():  # noqa: E712
        raise ValueError(
            "shrinkage() needs a model with a single random intercept, such as "
            f"'y ~ x + (1 | g)'; got {result.formula!r}."
        )
    if group != result.grouping[0]:
        raise ValueError(f"{group!r} is not the model's grouping factor, which is {result.grouping[0]!r}.")
    tau2 = float(vc.loc[vc.group == group, "variance"].iloc[0])
    beta = result.fe_params
    intercept = float(beta.get("Intercept", 0.0))
    X = result.model_matrix.to_numpy()
    y = result.y.to_numpy()
    resid = y - X @ beta.to_numpy()
    labels = result.group_column(group).to_numpy()
    frame = pd.DataFrame({"level": labels, "r": resid})
    agg = frame.groupby("level", sort=False).r.agg(["size", "mean"])
    blups = result.blups(group).set_index("level").estimate
    out = pd.DataFrame(
        {
            "level": agg.index.astype(str),
            "n": agg["size"].to_numpy(),
            "no_pooling": intercept + agg["mean"].to_numpy(),
            "complete_pooling": intercept,
            "partial_pooling": intercept + blups.reindex(agg.index.astype(str)).to_numpy(),
        }
    )
    out["shrinkage"] = shrinkage_factor(tau2, result.sigma2, out.n.to_numpy())
    out["pulled"] = out.no_pooling - out.partial_pooling
    return out.sort_values("n", kind="stable").reset_index(drop=True)
