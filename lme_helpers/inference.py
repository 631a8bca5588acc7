"""Inference for fitted models: Satterthwaite t- and F-tests, confidence intervals, the parametric bootstrap.

- :func:`satterthwaite_df` and :func:`contrast_test`: t-tests of fixed
  effects (or any linear combination of them) with Satterthwaite's degrees of
  freedom, computed as R's lmerTest computes them (Kuznetsova, Brockhoff and
  Christensen 2017): df = 2 (L C Lᵀ)² / (gᵀ A g), with C = Var(β̂) as a
  function of the covariance parameters (θ, σ), g its gradient and A the
  asymptotic covariance of (θ̂, σ̂) from the Hessian of the (REML) deviance.
- :func:`anova`: type III F-tests of each fixed-effect term, as lmerTest's
  ``anova``.
- :func:`confint`: likelihood-profile intervals (as lme4's
  ``confint(m, method = "profile")``), parametric bootstrap percentile
  intervals, and Wald intervals, for every parameter.
- :func:`bootstrap`: a seeded parametric bootstrap of any statistic of a fitted
  model.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

if TYPE_CHECKING:  # pragma: no cover
    from .fitting import LMEResult

__all__ = [
    "satterthwaite_df",
    "contrast_test",
    "anova",
    "confint",
    "profile_confint",
    "profile_curve",
    "bootstrap",
    "simulate_response",
    "parameter_table",
    "format_p",
]


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def format_p(p: float) -> str:
    """A p-value as a reader should see it: ``< 0.001`` when tiny, else three significant digits.

    Examples
    --------
    >>> format_p(3.26e-06), format_p(0.01321), format_p(0.5), format_p(float("nan"))
    ('< 0.001', '0.0132', '0.5', '')
    """
    if p is None or not np.isfinite(p):
        return ""
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3g}"


# --------------------------------------------------------------------------
# numerical derivatives (Richardson extrapolation, as R's numDeriv)
# --------------------------------------------------------------------------

_ZERO_TOL = math.sqrt(np.finfo(float).eps / 7e-7)


def _steps(x: np.ndarray, d: float = 0.1, eps: float = 1e-4) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(np.abs(x) < _ZERO_TOL, eps, d * np.abs(x))


def _richardson(values: list[np.ndarray]) -> np.ndarray:
    """Extrapolate estimates made with steps h, h/2, h/4, ... whose error is a series in h²."""
    table = [np.asarray(v, dtype=float) for v in values]
    for m in range(1, len(table)):
        factor = 4.0**m
        table = [(factor * table[k + 1] - table[k]) / (factor - 1) for k in range(len(table) - 1)]
    return table[0]


def jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, r: int = 4) -> np.ndarray:
    """Jacobian of a vector function by central differences with Richardson extrapolation.

    Examples
    --------
    >>> jacobian(lambda v: np.array([v[0] ** 2 * v[1]]), np.array([2.0, 3.0])).round(8).tolist()
    [[12.0, 4.0]]
    """
    x = np.asarray(x, dtype=float)
    h0 = _steps(x)
    cols = []
    for i in range(len(x)):
        ests = []
        for k in range(r):
            h = h0[i] / 2**k
            e = np.zeros_like(x)
            e[i] = h
            ests.append((np.asarray(f(x + e), dtype=float) - np.asarray(f(x - e), dtype=float)) / (2 * h))
        cols.append(_richardson(ests))
    return np.column_stack(cols)


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, r: int = 4) -> np.ndarray:
    """Hessian of a scalar function by central second differences with Richardson extrapolation.

    Examples
    --------
    >>> hessian(lambda v: v[0] ** 2 * v[1] + v[1] ** 3, np.array([1.0, 2.0])).round(6).tolist()
    [[4.0, 2.0], [2.0, 12.0]]
    """
    x = np.asarray(x, dtype=float)
    m = len(x)
    h0 = _steps(x)
    f0 = float(f(x))
    H = np.zeros((m, m))
    for i in range(m):
        for j in range(i, m):
            ests = []
            for k in range(r):
                hi, hj = h0[i] / 2**k, h0[j] / 2**k
                ei = np.zeros(m)
                ei[i] = hi
                if i == j:
                    ests.append((f(x + ei) - 2 * f0 + f(x - ei)) / hi**2)
                else:
                    ej = np.zeros(m)
                    ej[j] = hj
                    ests.append((f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * hi * hj))
            H[i, j] = H[j, i] = float(_richardson(ests))
    return H


# --------------------------------------------------------------------------
# Satterthwaite
# --------------------------------------------------------------------------


def _satterthwaite_parts(result: LMEResult) -> dict[str, Any]:
    """Var(β̂), its Jacobian in (θ, σ) and the asymptotic covariance A of (θ̂, σ̂); cached on the result."""
    cached = result.__dict__.get("_satterthwaite")
    if cached is not None:
        return cached
    from .fitting import _single_thread

    engine, reml = result._engine, result.reml
    varpar = np.append(result.theta, math.sqrt(result.sigma2))
    with _single_thread():
        H = hessian(lambda v: engine.deviance_varpar(v, reml), varpar)
        evals, evecs = np.linalg.eigh(H)
        pos = evals > 1e-8
        A = 2 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
        p = engine.p
        J = jacobian(lambda v: engine.vcov_beta(v, reml).ravel(), varpar)
    parts = {
        "C": engine.vcov_beta(varpar, reml),
        "jac": [J[:, i].reshape(p, p) for i in range(J.shape[1])],
        "A": A,
        "hessian_eigenvalues": evals,
    }
    result.__dict__["_satterthwaite"] = parts
    return parts


def contrast_test(result: LMEResult, L: np.ndarray | list[float]) -> dict[str, float]:
    """t-test of the linear combination L·β with Satterthwaite's degrees of freedom.

    Parameters
    ----------
    result : LMEResult
    L : array of length p
        Weights of the fixed effects, in the order of ``result.fe_params``.

    Returns
    -------
    dict
        ``estimate``, ``std_error``, ``df``, ``statistic``, ``p_value``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy"))
    >>> round(contrast_test(m, [0, 1])["df"], 2)
    17.0
    """
    parts = _satterthwaite_parts(result)
    L = np.asarray(L, dtype=float).ravel()
    if L.shape != (result._engine.p,):
        raise ValueError(f"L must have one weight per fixed effect ({result._engine.p}); got {L.shape[0]}.")
    var = float(L @ parts["C"] @ L)
    g = np.array([L @ Ji @ L for Ji in parts["jac"]])
    denom = float(g @ parts["A"] @ g)
    df = 2 * var**2 / denom if denom > 0 else np.inf
    est = float(L @ result._sol.beta)
    t = est / math.sqrt(var)
    return {"estimate": est, "std_error": math.sqrt(var), "df": df, "statistic": t,
            "p_value": float(2 * stats.t.sf(abs(t), df))}


def satterthwaite_df(result: LMEResult) -> pd.Series:
    """Satterthwaite's denominator degrees of freedom for each fixed effect, as lmerTest reports them.

    The degrees of freedom come from how precisely the variance components
    that a coefficient's standard error depends on are estimated: a
    coefficient of a predictor that varies within groups borrows from the
    many observations; an effect whose standard error rests on the
    between-group variance, such as a group-level predictor or the mean of
    a random slope, has roughly as many degrees of freedom as there are
    groups, fewer when the groups differ in size or information.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ standLRT + schavg + (1 | school)", data.load("exam"))
    >>> satterthwaite_df(m).round(1).to_dict()
    {'Intercept': 58.3, 'standLRT': 3989.9, 'schavg': 62.9}
    """
    p = result._engine.p
    return pd.Series([contrast_test(result, np.eye(p)[j])["df"] for j in range(p)],
                     index=result._engine.fe_names, name="df")


def _f_test(result: LMEResult, L: np.ndarray) -> dict[str, float]:
    """Multi-df F-test of L β = 0 with Satterthwaite's denominator df (lmerTest's ``contestMD``)."""
    parts = _satterthwaite_parts(result)
    L = np.atleast_2d(np.asarray(L, dtype=float))
    beta = result._sol.beta
    if L.shape[0] == 1:
        t = contrast_test(result, L[0])
        return {"num_df": 1, "den_df": t["df"], "F": t["statistic"] ** 2,
                "p_value": float(stats.f.sf(t["statistic"] ** 2, 1, t["df"]))}
    V = L @ parts["C"] @ L.T
    d, P = np.linalg.eigh(V)
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    tol = max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    q = int(np.sum(d > tol))
    PtL = (P.T @ L)[:q]
    if q == 1:
        t = contrast_test(result, PtL[0])
        return {"num_df": 1, "den_df": t["df"], "F": t["statistic"] ** 2,
                "p_value": float(stats.f.sf(t["statistic"] ** 2, 1, t["df"]))}
    t2 = (PtL @ beta) ** 2 / d[:q]
    F = float(np.sum(t2) / q)
    nu = []
    for m in range(q):
        g = np.array([PtL[m] @ Ji @ PtL[m] for Ji in parts["jac"]])
        nu.append(2 * d[m] ** 2 / float(g @ parts["A"] @ g))
    nu = np.array(nu)
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        den = float(np.mean(nu))
    elif np.any(nu <= 2):
        den = 2.0
    else:
        E = float(np.sum(nu / (nu - 2)))
        den = 2 * E / (E - q)
    return {"num_df": q, "den_df": den, "F": F, "p_value": float(stats.f.sf(F, q, den))}


# --------------------------------------------------------------------------
# type III contrasts (SAS's rule, as lmerTest builds them)
# --------------------------------------------------------------------------


def _design_info(result: LMEResult):
    data = result._model.data
    info = getattr(data, "model_spec", None) or getattr(data, "design_info", None)
    if info is None or not hasattr(info, "terms"):
        raise ValueError("The model's fixed-effects design has no term information; anova() needs a formula.")
    return info


def _term_variables(info, term) -> tuple[frozenset[str], frozenset[str]]:
    """The variables of a patsy term, and those of them that are numeric."""
    names, numeric = set(), set()
    for factor in term.factors:
        name = factor.name()
        names.add(name)
        if info.factor_infos[factor].type == "numerical":
            numeric.add(name)
    return frozenset(names), frozenset(numeric)


def _factor_columns(info, factor, frame: pd.DataFrame) -> np.ndarray:
    """A factor's columns in the over-parameterised design: all levels of a categorical, or its values."""
    fi = info.factor_infos[factor]
    value = factor.eval(fi.state, frame)
    if fi.type == "categorical":
        from patsy.categorical import categorical_to_int
        from patsy.missing import NAAction

        codes = categorical_to_int(value, fi.categories, NAAction(NA_types=[]), origin=factor)
        return np.eye(len(fi.categories))[codes]
    return np.asarray(value, dtype=float).reshape(len(frame), -1)


def _type3_contrasts(result: LMEResult) -> dict[str, np.ndarray]:
    """For each fixed-effect term, the rows of its type III hypothesis in terms of the coefficients."""
    info = _design_info(result)
    X = result._engine.X
    p = X.shape[1]
    terms = [t for t in info.terms if t.factors]  # skip the intercept
    terms = sorted(terms, key=lambda t: len(t.factors))  # R orders terms by their order (stable)
    has_intercept = any(not t.factors for t in info.terms)
    frame = result.data
    blocks, col_term = [], []
    if has_intercept:
        blocks.append(np.ones((len(frame), 1)))
        col_term.append(None)
    for t in terms:
        M = np.ones((len(frame), 1))
        for factor in t.factors:  # the first factor varies fastest, as in R's model.matrix
            F = _factor_columns(info, factor, frame)
            M = (F[:, None, :] * M[:, :, None]).reshape(len(frame), -1)
        blocks.append(M)
        col_term += [t.name()] * M.shape[1]
    rdX = np.hstack(blocks)
    col_term = np.array(col_term, dtype=object)
    # which columns of rdX are the model's coefficients
    is_coef, order = [], []
    for j in range(p):
        match = np.flatnonzero(np.all(np.isclose(rdX, X[:, [j]], rtol=0, atol=1e-12), axis=0))
        if len(match) == 0:
            raise ValueError(
                f"Type III tests need treatment contrasts for factors (R's default); the column "
                f"{result._engine.fe_names[j]!r} is coded otherwise."
            )
        is_coef.append(int(match[0]))
        order.append(j)
    is_coef = np.array(is_coef)
    xtx = rdX.T @ rdX
    g2 = np.zeros_like(xtx)
    g2[np.ix_(is_coef, is_coef)] = np.linalg.inv(xtx[np.ix_(is_coef, is_coef)])
    g2[np.abs(g2) < 1e-10] = 0
    Lgen = g2 @ xtx
    Lgen[np.abs(Lgen) < 1e-6] = 0
    variables = {t.name(): _term_variables(info, t) for t in terms}

    def relative(t1: str, t2: str) -> bool:
        v1, n1 = variables[t1]
        v2, n2 = variables[t2]
        return v1 <= v2 and n1 == n2

    out = {}
    for t in terms:
        name = t.name()
        L = Lgen.copy()
        term_cols = np.flatnonzero(col_term == name)
        related = [u.name() for u in terms if u.name() != name and relative(name, u.name())]
        contain = np.flatnonzero(np.isin(col_term, related))
        colnums = [c for c in range(L.shape[1]) if c not in set(term_cols) | set(contain)]
        for c in colnums:
            pivots = np.flatnonzero(np.abs(L[:, c]) > 1e-8)
            if len(pivots):
                first = pivots[0]
                L[first] = L[first] / L[first, c]
                for other in pivots[1:]:
                    L[other] = L[other] - L[other, c] * L[first]
                L[first] = 0
        L = L[np.abs(L).sum(axis=1) != 0]
        if L.shape[0] > 1:
            zero_rows = np.flatnonzero(np.abs(L[:, term_cols]).sum(axis=1) == 0)
            for zr in zero_rows:
                w = L[zr].copy()
                for i in range(L.shape[0]):
                    if i != zr and np.abs(L[i]).sum() != 0:
                        L[i] = L[i] - (w @ L[i]) / (w @ w) * w
                L[zr] = 0
            L[np.abs(L) < 1e-6] = 0
            L = L[np.abs(L).sum(axis=1) != 0]
        Lc = np.zeros((L.shape[0], p))
        Lc[:, order] = L[:, is_coef]
        out[name] = Lc
    return out


def anova(result: LMEResult) -> pd.DataFrame:
    """Type III F-tests of the fixed-effect terms with Satterthwaite's degrees of freedom.

    The same table as lmerTest's ``anova(m)``: for each term of the fixed
    part, the hypothesis that it has no effect (for a term inside an
    interaction, SAS's type III hypothesis, with factors in treatment
    coding), its F statistic, numerator and denominator degrees of freedom
    and p-value. A term with one column gives the square of its t-test.

    Returns
    -------
    DataFrame
        Indexed by term: ``sum_sq``, ``mean_sq``, ``num_df``, ``den_df``, ``F``, ``p_value``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ standLRT + schgend + (1 | school)", data.load("exam"))
    >>> anova(m)[["num_df", "den_df"]].round(1).values.tolist()
    [[2.0, 58.9], [1.0, 4051.3]]
    """
    rows = {}
    s2 = result.sigma2
    for name, L in _type3_contrasts(result).items():
        r = _f_test(result, L)
        rows[name] = {"sum_sq": r["F"] * s2 * r["num_df"], "mean_sq": r["F"] * s2, "num_df": r["num_df"],
                      "den_df": r["den_df"], "F": r["F"], "p_value": r["p_value"]}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "term"
    return out


# --------------------------------------------------------------------------
# parameters on the SD / correlation scale
# --------------------------------------------------------------------------


def _sv_from_theta(engine, theta: np.ndarray, sigma: float) -> np.ndarray:
    """(SDs and correlations of each block, in θ's order; then σ) from (θ, σ)."""
    out = []
    for b, T in zip(engine.blocks, engine.block_factors(theta)):
        S = sigma**2 * T @ T.T
        sd = np.sqrt(np.maximum(np.diag(S), 0))
        for i, j in zip(*b.tril()):
            if i == j:
                out.append(sd[i])
            else:
                out.append(S[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else 0.0)
    out.append(sigma)
    return np.array(out)


def _theta_from_sv(engine, sv: np.ndarray) -> np.ndarray | None:
    """θ (relative Cholesky factors) from SDs, correlations and σ (the last entry of ``sv``); None when σ ≤ 0
    or the correlations are not a valid correlation matrix."""
    sigma = sv[-1]
    if sigma <= 0:
        return None
    theta, pos = [], 0
    for b in engine.blocks:
        vals = sv[pos:pos + b.n_theta]
        pos += b.n_theta
        sd = np.zeros(b.k)
        R = np.eye(b.k)
        for (i, j), v in zip(zip(*b.tril()), vals):
            if i == j:
                sd[i] = v
            else:
                R[i, j] = R[j, i] = v
        S = R * np.outer(sd, sd) / sigma**2
        if b.k > 1:
            ev = np.linalg.eigvalsh(R)
            if ev[0] < -1e-10:
                return None
        from .lmm import safe_cholesky

        T = safe_cholesky(S)
        r, c = b.tril()
        theta.extend(T[r, c])
    return np.array(theta)


def parameter_names(result: LMEResult) -> list[str]:
    """Names of the covariance parameters on the SD / correlation scale, then ``sigma``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> parameter_names(fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy")))
    ['sd((Intercept) | Subject)', 'cor((Intercept), Days | Subject)', 'sd(Days | Subject)', 'sigma']
    """
    names = []
    for b in result._engine.blocks:
        names += b.parameter_names()
    return names + ["sigma"]


def parameter_table(result: LMEResult) -> pd.Series:
    """Every parameter on the scale intervals are reported on: SDs, correlations, σ, fixed effects.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> parameter_table(fit("normexam ~ 1 + (1 | school)", data.load("exam"))).round(3).to_dict()
    {'sd((Intercept) | school)': 0.414, 'sigma': 0.921, 'Intercept': -0.013}
    """
    sv = _sv_from_theta(result._engine, result.theta, math.sqrt(result.sigma2))
    return pd.concat([pd.Series(sv, index=parameter_names(result)), result.fe_params]).rename("estimate")


# --------------------------------------------------------------------------
# likelihood profiles
# --------------------------------------------------------------------------


def _ml_deviance_sv(engine, sv: np.ndarray) -> float:
    theta = _theta_from_sv(engine, sv)
    if theta is None:
        return np.inf
    try:
        return engine.deviance_varpar(np.append(theta, sv[-1]), reml=False)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return np.inf


def _minimize_nuisance(dev: Callable[[np.ndarray], float], starts: list[np.ndarray], bounds: list,
                       scale: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimise the deviance over the nuisance parameters: L-BFGS-B from each start, in units of
    each parameter's estimate (the SDs and σ can differ by orders of magnitude), then a
    Nelder-Mead polish when the starts disagree. Returns the best point and its deviance."""
    scaled_bounds = [(lo / sc if lo is not None else None, hi / sc if hi is not None else None)
                     for (lo, hi), sc in zip(bounds, scale)]

    def f(u):
        return dev(u * scale)

    found = []
    for start in starts:
        res = optimize.minimize(f, np.asarray(start, dtype=float) / scale, method="L-BFGS-B", bounds=scaled_bounds,
                                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
        found.append((float(res.fun), np.asarray(res.x, dtype=float)))
    found.sort(key=lambda item: item[0])
    best_f, best_u = found[0]
    if len(found) > 1 and abs(found[-1][0] - best_f) > 1e-5:
        res = optimize.minimize(f, best_u, method="Nelder-Mead", bounds=scaled_bounds,
                                options={"xatol": 1e-8, "fatol": 1e-9, "maxiter": 4000})
        if res.fun < best_f:
            best_f, best_u = float(res.fun), np.asarray(res.x, dtype=float)
    return best_u * scale, best_f


def _find_root(zeta: Callable[[float], float], est: float, target: float, step: float,
               bound: float | None) -> float:
    """The value where the signed root deviance ``zeta`` reaches ``target``, searching away from ``est``.

    Returns ``bound`` when zeta does not reach ``target`` before it (a limit of
    the parameter space, such as a standard deviation of zero).
    """
    direction = np.sign(target)
    a, za = est, 0.0
    x = est + direction * step
    for _ in range(60):
        if bound is not None and (x - bound) * direction >= 0:
            x = bound
        zx = zeta(x)
        if not np.isfinite(zx):
            x = a + (x - a) / 2
            if abs(x - a) < 1e-12 * max(1.0, abs(a)):
                return bound if bound is not None else np.nan
            continue
        if (zx - target) * direction >= 0:
            return optimize.brentq(lambda v: zeta(v) - target, a, x, xtol=1e-10 * max(1.0, abs(x)), rtol=1e-10)
        if bound is not None and x == bound:
            return bound
        # extrapolate linearly in zeta, at most doubling the step
        slope = (zx - za) / (x - a) if x != a else 0.0
        a, za = x, zx
        need = (target - zx) / slope if slope > 0 else 2 * (x - est)
        x = a + direction * min(max(abs(need) * 1.2, abs(step) * 0.5), 4 * abs(x - est) + abs(step))
    return np.nan


class _Profile:
    """The signed root deviance ζ of each parameter of an ML fit, as lme4's ``profile`` defines it."""

    def __init__(self, result: LMEResult):
        self.ml = ml = result.refit(reml=False, warn=False) if result.reml else result
        self.engine = ml._engine
        sigma = math.sqrt(ml.sigma2)
        self.sv_hat = _sv_from_theta(self.engine, ml.theta, sigma)
        self.names = parameter_names(ml)
        self.fixed = list(ml.fe_params.index)
        self.base = -2 * ml.loglik
        self.lower = np.array([0.0 if n.startswith("sd(") else -1.0 if n.startswith("cor(") else 1e-12
                               for n in self.names])
        self.upper = np.array([np.inf if not n.startswith("cor(") else 1.0 for n in self.names])
        self.se_fixed = np.sqrt(np.diag(ml.vcov().to_numpy()))
        self.scale = np.where(np.abs(self.sv_hat) > 1e-3, np.abs(self.sv_hat), 1.0)  # units of each estimate

    def check(self, wanted: list[str]) -> None:
        unknown = [w for w in wanted if w not in self.names and w not in self.fixed]
        if unknown:
            raise KeyError(f"Unknown parameter(s) {unknown}; the model has {self.names + self.fixed}.")

    def estimate(self, name: str) -> float:
        if name in self.names:
            return float(self.sv_hat[self.names.index(name)])
        return float(self.ml.fe_params[name])

    def bounds(self, name: str) -> tuple[float | None, float | None]:
        if name in self.fixed:
            return None, None
        i = self.names.index(name)
        return float(self.lower[i]), (float(self.upper[i]) if np.isfinite(self.upper[i]) else None)

    def step(self, name: str) -> float:
        if name in self.fixed:
            return float(self.se_fixed[self.fixed.index(name)])
        est = self.estimate(name)
        return 0.1 if name.startswith("cor(") else max(abs(est) * 0.2, 1e-3)

    def zeta(self, name: str) -> Callable[[float], float]:
        """ζ(value): the signed square root of the deviance increase, other parameters re-optimised."""
        engine, base = self.engine, self.base
        if name in self.names:
            i = self.names.index(name)
            n_sv = len(self.sv_hat)
            others = [k for k in range(n_sv) if k != i]
            bounds = [(self.lower[k], None if not np.isfinite(self.upper[k]) else self.upper[k]) for k in others]
            sv_hat, scale = self.sv_hat, self.scale
            state = {"start": sv_hat[others].copy()}

            def zeta(v: float) -> float:
                def dev(x):
                    sv = np.empty(n_sv)
                    sv[i] = v
                    sv[others] = x
                    return _ml_deviance_sv(engine, sv)

                if not others:
                    d = dev(np.zeros(0))
                else:
                    x, d = _minimize_nuisance(dev, [state["start"], sv_hat[others]], bounds, scale[others])
                    if np.isfinite(d):
                        state["start"] = x
                if not np.isfinite(d):
                    return np.nan
                return float(np.sign(v - sv_hat[i]) * math.sqrt(max(d - base, 0.0)))

            return zeta
        j = self.fixed.index(name)
        est = float(self.ml.fe_params.iloc[j])
        state = {"theta": self.ml.theta.copy()}

        def zeta_fe(b: float) -> float:
            sub = engine.without_fixed(j, b)
            theta = sub.quick_optimize(False, state["theta"])
            d = sub.deviance(theta, reml=False)
            if not np.isfinite(d):
                return np.nan
            state["theta"] = theta
            return float(np.sign(b - est) * math.sqrt(max(d - base, 0.0)))

        return zeta_fe

    def interval(self, name: str, z: float) -> tuple[float, float]:
        est, step = self.estimate(name), self.step(name)
        low_bound, high_bound = self.bounds(name)
        lo = _find_root(self.zeta(name), est, -z, step, low_bound)
        hi = _find_root(self.zeta(name), est, z, step, high_bound)
        return lo, hi


def _quiet():
    """One BLAS thread, and no warnings from infeasible probes (they give an infinite deviance)."""
    import contextlib

    from .fitting import _single_thread

    stack = contextlib.ExitStack()
    stack.enter_context(_single_thread())
    stack.enter_context(np.errstate(all="ignore"))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore", RuntimeWarning)
    return stack


def profile_confint(result: LMEResult, level: float = 0.95, parm: list[str] | None = None) -> pd.DataFrame:
    """Likelihood-profile confidence intervals, as lme4's ``confint(m, method = "profile")``.

    For each parameter, the interval holds the values at which the signed
    square root of the likelihood-ratio statistic, with every other
    parameter re-optimised, stays within the normal quantiles. As in lme4,
    the profile is of the maximum-likelihood deviance (a REML fit is refitted
    by ML first), covariance parameters are profiled on the SD and
    correlation scale, and a bound of the parameter space (an SD of zero, a
    correlation of ±1) is reported when the profile does not reach the
    quantile before it.

    Parameters
    ----------
    result : LMEResult
    level : float
        Confidence level.
    parm : list of str, optional
        Parameters to profile (names as :func:`parameter_table`); all by default.

    Returns
    -------
    DataFrame
        Indexed by parameter: ``estimate`` (the ML estimate), ``conf_low``, ``conf_high``.
    """
    prof = _Profile(result)
    wanted = prof.names + prof.fixed if parm is None else list(parm)
    prof.check(wanted)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = {}
    with _quiet():
        for w in wanted:
            rows[w] = (prof.estimate(w), *prof.interval(w, z))
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "conf_low", "conf_high"])
    out.index.name = "parameter"
    return out


def profile_curve(result: LMEResult, parameter: str, points: int = 25, level: float = 0.99) -> pd.DataFrame:
    """The likelihood profile of one parameter: ζ over a range of its values.

    ζ is the signed square root of the likelihood-ratio statistic for the
    value, with every other parameter re-optimised (of the ML fit, as lme4's
    ``profile``). Where ζ is a straight line, a Wald interval would be exact;
    where it bends, the likelihood is skewed and the profile interval is
    asymmetric. The range runs over the ``level`` profile interval.

    Parameters
    ----------
    result : LMEResult
    parameter : str
        A name from :func:`parameter_table`, e.g. ``"sd((Intercept) | school)"``.
    points : int
        Number of values.
    level : float
        Confidence level of the interval the values span.

    Returns
    -------
    DataFrame
        ``value`` and ``zeta``; ``attrs["estimate"]`` is the ML estimate.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("Reaction ~ Days + (1 | Subject)", data.load("sleepstudy"))
    >>> curve = profile_curve(m, "sd((Intercept) | Subject)", points=5)
    >>> bool(curve.zeta.is_monotonic_increasing)
    True
    """
    prof = _Profile(result)
    prof.check([parameter])
    z = stats.norm.ppf(0.5 + level / 2)
    with _quiet():
        lo, hi = prof.interval(parameter, z)
        zeta = prof.zeta(parameter)
        values = np.linspace(lo, hi, points)
        out = pd.DataFrame({"value": values, "zeta": [zeta(v) for v in values]})
    out.attrs["estimate"] = prof.estimate(parameter)
    out.attrs["parameter"] = parameter
    return out


# --------------------------------------------------------------------------
# parametric bootstrap
# --------------------------------------------------------------------------


class _Progress:
    """A one-line progress report in a notebook or terminal; silent while the book is built."""

    def __init__(self, total: int, label: str, enabled: bool | None):
        if enabled is None:
            enabled = os.environ.get("LME_BOOK_BUILD") != "1" and total >= 200
        self.total, self.label, self.enabled = total, label, enabled
        self.handle = None
        self.last = 0.0
        self.start = time.monotonic()
        if enabled:
            try:
                from IPython import get_ipython
                from IPython.display import display

                shell = get_ipython()
                if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
                    self.handle = display(self._text(0), display_id=True)
            except ImportError:  # pragma: no cover - IPython is a dependency of the book
                pass

    def _text(self, done: int) -> str:
        return f"{self.label}: {done} of {self.total} ({time.monotonic() - self.start:.0f} s)"

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.5:
            return
        self.last = now
        if self.handle is not None:
            self.handle.update(self._text(done))
        else:
            print("\r" + self._text(done), end="\n" if done == self.total else "", file=sys.stderr, flush=True)


def simulate_response(result: LMEResult, rng: np.random.Generator) -> np.ndarray:
    """One response vector drawn from the fitted model: new random effects and new residuals.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
    >>> simulate_response(m, np.random.default_rng(1)).shape
    (4059,)
    """
    engine, sol = result._engine, result._sol
    sigma = math.sqrt(result.sigma2)
    u = rng.standard_normal(engine.q)
    eps = rng.standard_normal(engine.n)
    return engine.X @ sol.beta + sigma * (engine.Z @ (sol.Lam @ u)) + sigma * eps


def bootstrap(result: LMEResult, stat: Callable[[LMEResult], Any], nsim: int = 1000, seed: int | None = None,
              *, progress: bool | None = None) -> pd.DataFrame:
    """Parametric bootstrap: simulate from the fitted model, refit, and apply ``stat`` to each refit.

    Each replicate draws new random effects and residuals from the fitted
    model (as lme4's ``bootMer`` with ``use.u = FALSE``), refits the same
    model (REML or ML, as fitted) in lme4's formulation, and evaluates
    ``stat`` on the refit, an :class:`~lme_helpers.fitting.LMEResult`
    without a statsmodels fit.

    Parameters
    ----------
    result : LMEResult
        The fitted model.
    stat : callable
        A function of a fitted model returning a number, or a dict / Series of numbers.
    nsim : int
        Number of replicates.
    seed : int, optional
        Seed of the random-number generator; the same seed gives the same replicates.
    progress : bool, optional
        Show progress (default: in notebooks and terminals for 200 or more
        replicates, never while the book is built).

    Returns
    -------
    DataFrame
        One row per replicate, one column per value of ``stat``;
        ``attrs["observed"]`` holds ``stat(result)``, ``attrs["seed"]`` the seed.

    Examples
    --------
    >>> from lme_helpers import fit, icc, data
    >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
    >>> boot = bootstrap(m, icc, nsim=20, seed=1)
    >>> boot.shape, bool(boot["value"].between(0.05, 0.35).all())
    ((20, 1), True)
    """
    from .fitting import _single_thread

    if nsim < 1:
        raise ValueError(f"nsim must be at least 1; got {nsim}.")
    rng = np.random.default_rng(seed)
    observed = _as_row(stat(result))
    rows = []
    bar = _Progress(nsim, "bootstrap replicates", progress)
    with _single_thread():
        for i in range(nsim):
            rep = result._replicate(simulate_response(result, rng))
            rows.append(_as_row(stat(rep)))
            bar.update(i + 1)
    out = pd.DataFrame(rows)
    out.attrs["observed"] = observed
    out.attrs["seed"] = seed
    return out


def _as_row(value: Any) -> dict[str, float]:
    if isinstance(value, pd.Series):
        return {str(k): float(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    return {"value": float(value)}


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval (R's ``quantile`` type 7, as ``boot.ci(type = "perc")`` approximates).

    Examples
    --------
    >>> [round(v, 6) for v in percentile_interval(np.arange(101.0), 0.9)]
    [5.0, 95.0]
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    a = (1 - level) / 2
    lo, hi = np.quantile(values, [a, 1 - a])
    return float(lo), float(hi)


# --------------------------------------------------------------------------
# confint
# --------------------------------------------------------------------------


def confint(result: LMEResult, method: str = "profile", level: float = 0.95, *, nsim: int = 1000,
            seed: int | None = None, parm: list[str] | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Confidence intervals for the SDs, correlations, σ and fixed effects of a fitted model.

    Parameters
    ----------
    result : LMEResult
    method : {"profile", "bootstrap", "wald"}
        - ``"profile"``: likelihood-profile intervals, as lme4's default
          ``confint``; see :func:`profile_confint`. Asymmetric where the
          likelihood is: an SD's interval stretches further up than down.
        - ``"bootstrap"``: percentile intervals from a seeded parametric
          bootstrap (as lme4's ``confint(m, method = "boot")``), using
          ``nsim`` replicates.
        - ``"wald"``: estimate ± z × standard error for the fixed effects, as
          lme4's ``method = "Wald"``; no Wald interval is given for the
          covariance parameters (NaN), whose sampling distributions are too
          skewed for it.
    level : float
        Confidence level.
    nsim, seed, progress
        For ``"bootstrap"``.
    parm : list of str, optional
        For ``"profile"``: which parameters to profile.

    Returns
    -------
    DataFrame
        One row per parameter (``sd(term | group)``, ``cor(term1, term2 | group)``,
        ``sigma``, then each fixed effect), with ``estimate``, ``conf_low``,
        ``conf_high``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
    >>> confint(m, "wald").loc["Intercept", ["conf_low", "conf_high"]].round(3).tolist()
    [-0.119, 0.093]
    """
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie between 0 and 1; got {level}.")
    if method == "profile":
        out = profile_confint(result, level=level, parm=parm)
    elif method == "bootstrap":
        est = parameter_table(result)
        boot = bootstrap(result, parameter_table, nsim=nsim, seed=seed, progress=progress)
        rows = {name: (est[name], *percentile_interval(boot[name].to_numpy(), level)) for name in est.index}
        out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "conf_low", "conf_high"])
        out.attrs["nsim"] = nsim
        out.attrs["seed"] = seed
    elif method == "wald":
        est = parameter_table(result)
        se = pd.Series(np.sqrt(np.diag(result.vcov().to_numpy())), index=result.fe_params.index)
        z = stats.norm.ppf(0.5 + level / 2)
        rows = {}
        for name, value in est.items():
            if name in se.index:
                rows[name] = (value, value - z * se[name], value + z * se[name])
            else:
                rows[name] = (value, np.nan, np.nan)
        out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "conf_low", "conf_high"])
    else:
        raise ValueError(f"`method` must be 'profile', 'bootstrap' or 'wald', not {method!r}.")
    out.index.name = "parameter"
    out.attrs["method"] = method
    out.attrs["level"] = level
    return out
