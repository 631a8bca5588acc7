"""Fit linear mixed-effects models with lme4 syntax on top of statsmodels.

The main entry point is :func:`fit`. It accepts an lme4-style formula,
translates it to statsmodels' :class:`~statsmodels.regression.mixed_linear_model.MixedLM`
(``groups``, ``re_formula``, ``vc_formula``), fits it robustly and returns an
:class:`LMEResult` with tidy tables.

Why "robustly"? statsmodels' default optimiser can stop at a point that is
not the maximum of the likelihood while still reporting ``converged=True``,
and its L-BFGS option can run to a zero variance with an infinite
log-likelihood. :func:`fit` therefore runs more than one optimiser, keeps the
largest finite log-likelihood, polishes it, and warns in plain language about
boundary (singular) fits and genuine non-convergence.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from .formula import ParsedFormula, RandomTerm, parse_formula
from .lmm import SINGULAR_TOL, LmmEngine, design_from_frame
from .messages import ConvergenceWarning, DataWarning, FitWarning, SingularFitWarning  # noqa: F401

__all__ = ["fit", "LMEResult", "FitWarning", "SingularFitWarning", "ConvergenceWarning"]

_FUNCTIONS = {
    "np", "numpy", "log", "log10", "log2", "exp", "sqrt", "abs", "C", "I", "Q",
    "center", "scale", "standardize", "Treatment", "Sum", "Diff", "Poly", "poly",
    "bs", "cr", "cc", "te",
}




# --------------------------------------------------------------------------
# model specification
# --------------------------------------------------------------------------


@dataclass
class _VCPart:
    key: str
    term: RandomTerm
    covariate: str | None  # None for an intercept


@dataclass
class _Spec:
    parsed: ParsedFormula
    data: pd.DataFrame
    outer: RandomTerm | None  # the term whose factor is statsmodels' `groups`
    outer_column: str
    outer_name: str
    re_terms: list[str]  # names of the effects in re_formula, lme4 style
    re_formula: str
    vc: list[_VCPart]
    n_dropped: int
    dropped_by_column: dict[str, int]
    group_columns: dict[str, str] = field(default_factory=dict)  # group name -> column


def _identifiers(text: str) -> list[str]:
    """Names in a formula that are not followed by '(' (i.e. not functions)."""
    names = []
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_.]*", text):
        end = m.end()
        rest = text[end:].lstrip()
        if rest.startswith("("):
            continue
        start = m.start()
        # skip attribute access such as np.log (handled above) and numbers like 1e3
        if start > 0 and (text[start - 1].isdigit() or text[start - 1] == "."):
            continue
        names.append(m.group())
    return names


def _check_columns(parsed: ParsedFormula, data: pd.DataFrame) -> list[str]:
    """Columns the formula uses, in order; error naming any that is missing."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, not {type(data).__name__}.")
    used: list[str] = []

    def need(name: str, where: str) -> None:
        if name in data.columns:
            if name not in used:
                used.append(name)
        elif name not in _FUNCTIONS:
            close = [c for c in data.columns if str(c).lower() == name.lower()]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Column {name!r} ({where}) is not in the data.{hint}")

    for name in _identifiers(parsed.response):
        need(name, "the response")
    for name in _identifiers(parsed.fixed):
        need(name, "a fixed effect")
    for term in parsed.random:
        for s in term.slopes:
            need(s, f"a random slope in '({term.source})'")
        for g in term.group:
            need(g, f"the grouping factor in '({term.source})'")
    return used


def _level_labels(frame: pd.DataFrame, cols: tuple[str, ...], nested: bool) -> pd.Series:
    """String labels of a (possibly interacted) grouping factor, lme4 style."""
    order = list(reversed(cols)) if nested else list(cols)
    labels = frame[order[0]].astype(str)
    for c in order[1:]:
        labels = labels + ":" + frame[c].astype(str)
    return labels


def _nested_in(inner: pd.Series, outer: pd.Series) -> bool:
    """True when each level of ``inner`` occurs within one level of ``outer``."""
    return bool((pd.DataFrame({"i": inner, "o": outer}).groupby("i", observed=True)["o"].nunique() <= 1).all())


def _prepare(parsed: ParsedFormula, data: pd.DataFrame) -> _Spec:
    if not parsed.random:
        raise ValueError(
            f"Formula {parsed.original!r} has no random-effects term such as '(1 | group)'. "
            "For ordinary regression use statsmodels.formula.api.ols."
        )
    used = _check_columns(parsed, data)
    frame = data[used].copy()
    missing = frame.isna()
    n_dropped = int(missing.any(axis=1).sum())
    dropped_by_column = {c: int(n) for c, n in missing.sum().items() if n > 0}
    if n_dropped:
        detail = ", ".join(f"{c}: {n}" for c, n in dropped_by_column.items())
        warnings.warn(
            f"Dropped {n_dropped} of {len(frame)} rows with missing values ({detail}).",
            DataWarning,
            stacklevel=3,
        )
        frame = frame.loc[~missing.any(axis=1)]
    if len(frame) == 0:
        raise ValueError("No rows are left after removing rows with missing values.")

    if parsed.response in frame.columns and not pd.api.types.is_numeric_dtype(frame[parsed.response]):
        raise ValueError(
            f"The response {parsed.response!r} must be numeric; it has type {frame[parsed.response].dtype}."
        )

    # slopes must be numeric columns
    for term in parsed.random:
        for s in term.slopes:
            if not pd.api.types.is_numeric_dtype(frame[s]):
                raise ValueError(
                    f"Random slope {s!r} in '({term.source})' must be a numeric column; "
                    f"it has type {frame[s].dtype}."
                )

    # grouping factors
    group_cols: dict[tuple[str, ...], str] = {}
    names: dict[tuple[str, ...], str] = {}
    for i, term in enumerate(parsed.random):
        if term.group in group_cols:
            continue
        col = f"__group{i}"
        frame[col] = _level_labels(frame, term.group, term.nested).values
        group_cols[term.group] = col
        names[term.group] = term.group_name
        n_levels = frame[col].nunique()
        if n_levels < 2:
            raise ValueError(
                f"Grouping factor {term.group_name!r} has only {n_levels} level; a random effect "
                "needs at least two groups (and in practice five or more)."
            )
        if n_levels >= len(frame):
            raise ValueError(
                f"Grouping factor {term.group_name!r} has {n_levels} levels for {len(frame)} "
                "observations: every group has a single observation, so its variance cannot be "
                "told apart from the residual variance."
            )
        sizes = frame[col].value_counts()
        n_single = int((sizes == 1).sum())
        if n_single:
            warnings.warn(
                f"{n_single} of {n_levels} groups of {term.group_name!r} have a single "
                "observation; they inform the variance components only weakly.",
                DataWarning,
                stacklevel=3,
            )

    # choose the outer grouping factor: one in which all others are nested
    distinct = list(group_cols)
    outer_group = None
    for g in sorted(distinct, key=lambda g: -sum(t.n_effects for t in parsed.random if t.group == g)):
        if all(_nested_in(frame[group_cols[h]], frame[group_cols[g]]) for h in distinct if h != g):
            outer_group = g
            break
    if outer_group is not None and any(
        t.group != outer_group and t.correlated and t.n_effects > 1 for t in parsed.random
    ):
        # a correlated multi-effect term must sit on the outer factor
        multi = [t for t in parsed.random if t.correlated and t.n_effects > 1]
        if len({t.group for t in multi}) == 1:
            cand = multi[0].group
            if all(_nested_in(frame[group_cols[h]], frame[group_cols[cand]]) for h in distinct if h != cand):
                outer_group = cand

    re_terms: list[str] = []
    re_formula = "0"
    outer_term: RandomTerm | None = None
    vc: list[_VCPart] = []
    if outer_group is None:
        outer_column = "__all"
        frame[outer_column] = "all"
        outer_name = "all"
    else:
        outer_column = group_cols[outer_group]
        outer_name = names[outer_group]
        on_outer = [t for t in parsed.random if t.group == outer_group]
        multi = [t for t in on_outer if t.n_effects > 1]
        if len(multi) > 1:
            raise ValueError(
                f"Random-effects terms {', '.join(repr('(' + t.source + ')') for t in multi)} "
                f"give two correlated blocks for {outer_name!r}; this structure is not supported."
            )
        chosen = multi[0] if multi else next((t for t in on_outer if t.intercept), on_outer[0])
        outer_term = chosen
        re_terms = (["(Intercept)"] if chosen.intercept else []) + list(chosen.slopes)
        re_formula = " + ".join((["1"] if chosen.intercept else ["0"]) + list(chosen.slopes))
    for t in parsed.random:
        if t is outer_term:
            continue
        if t.n_effects > 1:
            where = "is crossed with another factor" if outer_group is None else f"is nested in {outer_name!r}"
            raise ValueError(
                f"Random-effects term '({t.source})' has correlated effects on {t.group_name!r}, "
                f"which {where}; statsmodels cannot fit that. Use '||' for uncorrelated effects "
                "or drop one of them."
            )
        covariate = t.slopes[0] if t.slopes else None
        vc.append(_VCPart(key=f"vc{len(vc):02d}", term=t, covariate=covariate))

    # constant or non-numeric problems in the fixed design are checked after building it
    group_columns = {names[g]: c for g, c in group_cols.items()}
    return _Spec(
        parsed=parsed,
        data=frame,
        outer=outer_term,
        outer_column=outer_column,
        outer_name=outer_name,
        re_terms=re_terms,
        re_formula=re_formula,
        vc=vc,
        n_dropped=n_dropped,
        dropped_by_column=dropped_by_column,
        group_columns=group_columns,
    )


def _vc_formula(spec: _Spec, part: _VCPart) -> str:
    col = spec.group_columns[part.term.group_name]
    # on statsmodels' groups factor itself (compared by factor, not by name: a crossed design's
    # groups is one group of every row, and a factor of the data may be called "all")
    on_outer = spec.outer is not None and part.term.group == spec.outer.group
    if part.covariate is None:
        return "1" if on_outer else f"0 + C({col})"
    return f"0 + {part.covariate}" if on_outer else f"0 + C({col}):{part.covariate}"


def _build_model(spec: _Spec) -> sm.MixedLM:
    vc_formula = {p.key: _vc_formula(spec, p) for p in spec.vc} or None
    kwargs: dict[str, Any] = {"groups": spec.outer_column}
    if spec.re_formula != "0" or vc_formula is None:
        kwargs["re_formula"] = spec.re_formula
    else:
        kwargs["re_formula"] = "0"
    if vc_formula:
        kwargs["vc_formula"] = vc_formula
    try:
        model = sm.MixedLM.from_formula(spec.parsed.fixed_formula, data=spec.data, **kwargs)
    except Exception as exc:  # patsy/formulaic errors name the term
        raise ValueError(f"Could not build the fixed part {spec.parsed.fixed_formula!r}: {exc}") from exc
    _check_design(model, spec)
    return model


def _check_design(model: sm.MixedLM, spec: _Spec) -> None:
    X = np.asarray(model.exog, dtype=float)
    names = list(model.exog_names)
    for j, name in enumerate(names):
        if name == "Intercept":
            continue
        col = X[:, j]
        if np.ptp(col) == 0:
            raise ValueError(
                f"Fixed-effect term {name!r} is constant in the data used for the fit, so its "
                "effect cannot be estimated (remove it, or check the data)."
            )
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ValueError(
            f"The fixed-effect terms {names} are linearly dependent (rank {rank} of {X.shape[1]}); "
            "remove a redundant term."
        )


# --------------------------------------------------------------------------
# robust optimisation
# --------------------------------------------------------------------------


def _quiet_fit(model: sm.MixedLM, **kwargs: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return model.fit(**kwargs)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError):
                return None


def _finite(res) -> bool:
    return res is not None and np.isfinite(res.llf) and np.all(np.isfinite(res.fe_params))


def _profile_loglike(model: sm.MixedLM, packed: np.ndarray) -> float:
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    params = MixedLMParams.from_packed(packed, model.k_fe, model.k_re, use_sqrt=True, has_fe=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return float(model.loglike(params, profile_fe=True))
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError):
            return -np.inf


def _looks_optimal(model: sm.MixedLM, res, step: float = 1e-3, tol: float = 1e-5) -> bool:
    """True when no small step in any variance parameter raises the log-likelihood.

    statsmodels can report convergence at a point that is not a maximum; a
    cheap finite-difference probe of the profiled log-likelihood catches that.
    """
    packed = res.params_object.get_packed(use_sqrt=True, has_fe=False)
    f0 = _profile_loglike(model, packed)
    if not np.isfinite(f0):
        return False
    for i in range(len(packed)):
        for sign in (1.0, -1.0):
            probe = packed.copy()
            probe[i] += sign * step * max(1.0, abs(probe[i]))
            if _profile_loglike(model, probe) > f0 + tol:
                return False
    return True


def _robust_fit(model: sm.MixedLM, reml: bool, maxiter: int = 200) -> tuple[Any, list[dict]]:
    """Fit, check that the answer is a maximum, and try other optimisers if it is not.

    Returns the fit with the largest finite log-likelihood and a trace of what was tried.
    """
    trace: list[dict] = []

    def record(name: str, res) -> None:
        trace.append({"method": name, "llf": getattr(res, "llf", np.nan), "converged": bool(getattr(res, "converged", False))})

    first = _quiet_fit(model, reml=reml, gtol=1e-8)
    record("default", first)
    if _finite(first) and first.converged and _looks_optimal(model, first):
        trace[-1]["checked"] = True
        return first, trace
    start = first.params_object if _finite(first) else None
    kw = {"start_params": start} if start is not None else {}
    second = _quiet_fit(model, reml=reml, method=["powell"], maxiter=maxiter * 20, **kw)
    record("powell", second)
    cands = [r for r in (first, second) if _finite(r)]
    if not cands:
        third = _quiet_fit(model, reml=reml, method=["nm"], maxiter=maxiter * 50)
        record("nelder-mead", third)
        cands = [r for r in (third,) if _finite(r)]
    if not cands:
        raise RuntimeError(
            "No optimiser found a finite log-likelihood for this model. Check the data "
            "(e.g. groups with one observation, extreme scales) or simplify the random effects."
        )
    best = max(cands, key=lambda r: r.llf)
    polished = _quiet_fit(model, reml=reml, method=["bfgs"], start_params=best.params_object, gtol=1e-9, maxiter=maxiter)
    record("bfgs polish", polished)
    if _finite(polished) and polished.llf >= best.llf - 1e-9:
        best = polished
    trace[-1]["checked"] = _looks_optimal(model, best)
    return best, trace


# --------------------------------------------------------------------------
# the lme4 formulation of the fitted model
# --------------------------------------------------------------------------


def _engine_terms(spec: _Spec) -> list[tuple[str, tuple[str, ...], pd.Series]]:
    """(group name, effects, level labels) for each random-effects term, as lme4 splits them."""
    out = []
    for t in spec.parsed.random:
        effects = (["(Intercept)"] if t.intercept else []) + list(t.slopes)
        labels = spec.data[spec.group_columns[t.group_name]].reset_index(drop=True)
        if t.correlated or len(effects) == 1:
            out.append((t.group_name, tuple(effects), labels))
        else:  # (x || g): one term per effect
            out.extend((t.group_name, (e,), labels) for e in effects)
    return out


def _build_engine(spec: _Spec, model: sm.MixedLM) -> LmmEngine:
    Z, blocks = design_from_frame(spec.data.reset_index(drop=True), _engine_terms(spec))
    return LmmEngine(np.asarray(model.exog, dtype=float), np.asarray(model.endog, dtype=float), Z, blocks,
                     list(model.exog_names))


def _statsmodels_theta(spec: _Spec, model: sm.MixedLM, result: Any, engine: LmmEngine) -> np.ndarray:
    """θ (lme4's relative Cholesky factors) of a statsmodels fit."""
    covs: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
    if spec.re_terms:
        covs[(spec.outer_name, tuple(spec.re_terms))] = np.asarray(result.cov_re, dtype=float)
    if spec.vc:
        names = list(model.exog_vc.names)
        vcomp = np.asarray(result.vcomp, dtype=float)
        for part in spec.vc:
            covs[(part.term.group_name, (part.covariate or "(Intercept)",))] = np.array([[vcomp[names.index(part.key)]]])
    return engine.theta_from_covariances([covs[(b.group, b.terms)] for b in engine.blocks], float(result.scale))


# --------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------


class LMEResult:
    """A fitted linear mixed-effects model with tidy, lme4-comparable output.

    Create it with :func:`fit`. The estimates are those of lme4's formulation
    of the model (see :mod:`lme_helpers.lmm`) at the optimum that :func:`fit`
    found and checked; statsmodels' own fit of the same model stays available
    as :attr:`statsmodels`.

    Attributes
    ----------
    formula : str
        The lme4-style formula the model was fitted with.
    reml : bool
        True for restricted maximum likelihood (REML), False for maximum likelihood (ML).
    loglik : float
        The maximised log-likelihood (the REML criterion divided by -2 for REML fits).
    nobs : int
        Number of observations used (after removing rows with missing values).
    n_dropped : int
        Number of rows removed because a used column was missing.
    ngroups : dict
        Number of levels of each grouping factor.
    converged : bool
        Whether the final optimality check passed: no small change of the
        covariance parameters increases the likelihood.
    theta : ndarray
        lme4's covariance parameters θ (the relative Cholesky factors), in lme4's order.
    statsmodels : MixedLMResults or None
        statsmodels' fit of the same model (None for a model refitted in a bootstrap).
    """

    def __init__(self, spec: _Spec, model: sm.MixedLM, result: Any, reml: bool, trace: list[dict],
                 data: pd.DataFrame, engine: LmmEngine, theta: np.ndarray, converged: bool,
                 ngroups: dict[str, int] | None = None):
        self._spec = spec
        self._model = model
        self.statsmodels = result
        self.reml = bool(reml)
        self.formula = spec.parsed.original
        self.trace = trace
        self._input_data = data
        self._engine = engine
        self.theta = np.asarray(theta, dtype=float)
        self._sol = engine.solve(self.theta, self.reml)
        self.loglik = -0.5 * self._sol.deviance
        self.nobs = int(engine.n)
        self.n_dropped = spec.n_dropped
        self.ngroups = ngroups if ngroups is not None else {
            name: int(spec.data[col].nunique()) for name, col in spec.group_columns.items()
        }
        self.converged = bool(converged)

    def _replicate(self, y: np.ndarray, theta: np.ndarray | None = None) -> LMEResult:
        """The same model refitted to another response (a bootstrap or simulation replicate)."""
        engine = self._engine.with_response(y)
        theta = engine.quick_optimize(self.reml, self.theta if theta is None else theta)
        return LMEResult(self._spec, self._model, None, self.reml, [], self._input_data, engine, theta,
                         converged=True, ngroups=self.ngroups)

    # ----- basic quantities --------------------------------------------
    @property
    def data(self) -> pd.DataFrame:
        """The rows used for the fit (after removing missing values)."""
        return self._spec.data

    @property
    def response(self) -> str:
        """The name of the response variable."""
        return self._spec.parsed.response

    @property
    def n_params(self) -> int:
        """Parameters counted as lme4 counts them: fixed effects, covariance parameters θ, residual."""
        return self._engine.p + self._engine.n_theta + 1

    @property
    def aic(self) -> float:
        """Akaike information criterion, -2 logLik + 2 df (df as lme4 counts it)."""
        return -2 * self.loglik + 2 * self.n_params

    @property
    def bic(self) -> float:
        """Bayesian information criterion, -2 logLik + log(n) df."""
        return -2 * self.loglik + np.log(self.nobs) * self.n_params

    @property
    def sigma2(self) -> float:
        """The residual (level-1) variance, σ²."""
        return float(self._sol.sigma2)

    @property
    def fe_params(self) -> pd.Series:
        """The fixed-effect estimates β̂, named as in the design matrix."""
        return pd.Series(self._sol.beta, index=self._engine.fe_names, name="estimate")

    @property
    def model_matrix(self) -> pd.DataFrame:
        """The fixed-effects design matrix X of the rows used in the fit."""
        return pd.DataFrame(self._engine.X, columns=self._engine.fe_names, index=self._spec.data.index)

    @property
    def y(self) -> pd.Series:
        """The response values of the rows used in the fit."""
        return pd.Series(self._engine.y, index=self._spec.data.index, name=self.response)

    @property
    def fixed_formula(self) -> str:
        """The fixed part of the formula."""
        return self._spec.parsed.fixed_formula

    @property
    def grouping(self) -> list[str]:
        """Names of the grouping factors, outer factor first."""
        return list(self._spec.group_columns)

    def group_column(self, name: str | None = None) -> pd.Series:
        """Level labels of a grouping factor for each row used in the fit."""
        name = name or self.grouping[0]
        if name not in self._spec.group_columns:
            raise KeyError(f"{name!r} is not a grouping factor of this model; it has {self.grouping}.")
        return self._spec.data[self._spec.group_columns[name]]

    # ----- random-effects covariance -------------------------------------
    def variance_components(self) -> pd.DataFrame:
        """One row per variance or covariance parameter, plus the residual.

        Returns
        -------
        DataFrame
            Columns ``group``, ``term``, ``term2`` (empty unless the row is a
            covariance), ``variance`` (the variance, or the covariance),
            ``sd`` (standard deviation; NaN for covariances) and ``corr``
            (the correlation, for covariance rows). The layout of lme4's
            ``as.data.frame(VarCorr(m))``: each term's variances, then its
            covariances, terms in lme4's order, the residual last.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
        >>> m.variance_components()[["group", "variance"]].round(3).values.tolist()
        [['school', 0.172], ['Residual', 0.848]]
        """
        rows = []
        s2 = self.sigma2
        for block, S in zip(self._engine.blocks, self._engine.covariances(self.theta, s2)):
            for i, t in enumerate(block.terms):
                rows.append((block.group, t, "", S[i, i], np.sqrt(max(S[i, i], 0.0)), np.nan))
            for i in range(block.k):
                for j in range(i + 1, block.k):
                    denom = np.sqrt(max(S[i, i], 0.0) * max(S[j, j], 0.0))
                    corr = S[i, j] / denom if denom > 0 else np.nan
                    rows.append((block.group, block.terms[i], block.terms[j], S[i, j], np.nan, corr))
        rows.append(("Residual", "", "", s2, np.sqrt(s2), np.nan))
        return pd.DataFrame(rows, columns=["group", "term", "term2", "variance", "sd", "corr"])

    @property
    def singular(self) -> bool:
        """True when the fit is singular as lme4's ``isSingular`` defines it.

        A random-effects covariance matrix is then rank deficient: a diagonal
        element of its relative Cholesky factor θ is below 10⁻⁴. That covers a
        variance estimated as zero and a correlation of ±1, but also a 3 × 3 or
        larger covariance matrix whose variances and correlations all look
        ordinary while one combination of the effects has no variance.
        """
        return self._engine.singular(self.theta)

    def _singular_parts(self) -> list[str]:
        """Plain-language description of each rank-deficient block."""
        parts = []
        for block, T in zip(self._engine.blocks, self._engine.block_factors(self.theta)):
            diag = np.diag(T)
            if np.any(diag < SINGULAR_TOL):
                S = T @ T.T
                if block.k == 1:
                    parts.append(f"the variance of {block.terms[0]} for {block.group!r} is estimated as zero")
                else:
                    zero = [block.terms[i] for i in range(block.k) if S[i, i] < SINGULAR_TOL**2]
                    if zero:
                        parts.append(f"the variance of {', '.join(zero)} for {block.group!r} is estimated as zero")
                    else:
                        rank = int(np.sum(diag >= SINGULAR_TOL))
                        parts.append(
                            f"the {block.k} x {block.k} covariance matrix of ({', '.join(block.terms)}) for "
                            f"{block.group!r} has rank {rank}: a combination of these effects does not vary between "
                            "groups (a correlation of ±1 when there are two)"
                        )
        return parts

    # ----- per-group algebra ---------------------------------------------
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed effects in lme4's convention, σ²(X'V⁻¹X)⁻¹.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy"))
        >>> round(float(m.vcov().loc["Days", "Days"]), 3)
        2.389
        """
        varpar = np.append(self.theta, np.sqrt(self.sigma2))
        names = self._engine.fe_names
        return pd.DataFrame(self._engine.vcov_beta(varpar, self.reml), index=names, columns=names)

    def blups(self, group: str | None = None) -> pd.DataFrame:
        """Conditional modes (BLUPs) of the random effects with conditional standard errors.

        The standard errors are the square roots of the conditional variances
        Var(b | y) at the estimated parameters, as lme4's
        ``ranef(m, condVar = TRUE)`` reports them.

        Parameters
        ----------
        group : str, optional
            Keep only this grouping factor.

        Returns
        -------
        DataFrame
            Columns ``group``, ``level``, ``term``, ``estimate``, ``std_error``.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
        >>> m.blups().shape
        (65, 5)
        """
        out = self._blup_table
        if group is not None:
            if group not in self.grouping:
                raise KeyError(f"{group!r} is not a grouping factor of this model; it has {self.grouping}.")
            out = out[out.group == group]
        return out.reset_index(drop=True)

    @cached_property
    def _blup_table(self) -> pd.DataFrame:
        sol = self._sol
        b = sol.Lam @ sol.u
        se = np.sqrt(np.maximum(self._engine.conditional_variances(sol), 0.0))
        rows, pos = [], 0
        for block in self._engine.blocks:
            for level in block.levels:
                for term in block.terms:
                    rows.append((block.group, level, term, b[pos], se[pos]))
                    pos += 1
        return pd.DataFrame(rows, columns=["group", "level", "term", "estimate", "std_error"])

    # ----- tables ----------------------------------------------------------
    def fixed_effects(self, method: str = "satterthwaite", level: float = 0.95, se: str = "lme4") -> pd.DataFrame:
        """Fixed-effect estimates with standard errors, t-tests and confidence intervals.

        Parameters
        ----------
        method : {"satterthwaite", "z"}
            ``"satterthwaite"`` (default) compares each t statistic with a t
            distribution whose degrees of freedom come from Satterthwaite's
            approximation, computed as R's lmerTest computes them
            (Kuznetsova, Brockhoff and Christensen 2017); the intervals use the
            same t distribution. ``"z"`` compares the statistic with the
            standard normal distribution (the Wald z-test statsmodels prints),
            which is too liberal when there are few groups.
        level : float
            Confidence level of the intervals.
        se : {"lme4", "hessian"}
            ``"lme4"`` (default): the square roots of the diagonal of
            σ²(X'V⁻¹X)⁻¹, as lme4 and lmerTest report them. ``"hessian"``:
            statsmodels' standard errors, from the inverse of the observed
            information matrix of all parameters (only with ``method="z"``). At
            a proper optimum the two agree closely (the information linking
            fixed effects and variances is zero in expectation); a large gap
            is a sign of a poor optimum, not a small-sample correction.

        Returns
        -------
        DataFrame
            Indexed by term, with ``estimate``, ``std_error``, ``df``,
            ``statistic`` (estimate / std_error), ``p_value`` (two-sided),
            ``conf_low`` and ``conf_high``. For ``method="z"`` the ``df``
            column is infinite.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy"))
        >>> m.fixed_effects().loc["Days", ["estimate", "df", "statistic"]].round(2).tolist()
        [10.47, 17.0, 6.77]
        """
        from .inference import satterthwaite_df

        if not 0 < level < 1:
            raise ValueError(f"`level` must lie between 0 and 1; got {level}.")
        beta = self.fe_params
        if se == "lme4":
            ses = np.sqrt(np.diag(self.vcov().to_numpy()))
        elif se == "hessian":
            if method != "z":
                raise ValueError("se='hessian' goes with method='z'; Satterthwaite's df use lme4's standard errors.")
            if self.statsmodels is None:
                raise ValueError("This model has no statsmodels fit (it was refitted in a bootstrap).")
            ses = np.asarray(self.statsmodels.bse_fe, dtype=float)
        else:
            raise ValueError(f"`se` must be 'lme4' or 'hessian', not {se!r}.")
        stat = beta.to_numpy() / ses
        if method == "satterthwaite":
            dfs = satterthwaite_df(self).to_numpy()
            crit = stats.t.ppf(0.5 + level / 2, dfs)
            p = 2 * stats.t.sf(np.abs(stat), dfs)
        elif method == "z":
            dfs = np.full(len(beta), np.inf)
            crit = stats.norm.ppf(0.5 + level / 2)
            p = 2 * stats.norm.sf(np.abs(stat))
        else:
            raise ValueError(f"`method` must be 'satterthwaite' or 'z', not {method!r}.")
        return pd.DataFrame(
            {
                "estimate": beta.to_numpy(),
                "std_error": ses,
                "df": dfs,
                "statistic": stat,
                "p_value": p,
                "conf_low": beta.to_numpy() - crit * ses,
                "conf_high": beta.to_numpy() + crit * ses,
            },
            index=pd.Index(list(beta.index), name="term"),
        )

    def anova(self) -> pd.DataFrame:
        """Type III F-tests of the fixed-effect terms with Satterthwaite's df, as lmerTest's ``anova``.

        See :func:`lme_helpers.inference.anova`.
        """
        from .inference import anova

        return anova(self)

    def confint(self, method: str = "profile", level: float = 0.95, **kwargs) -> pd.DataFrame:
        """Confidence intervals for every parameter: SDs, correlations, σ and fixed effects.

        See :func:`lme_helpers.inference.confint` for the methods
        (``"profile"``, ``"bootstrap"``, ``"wald"``) and their options.
        """
        from .inference import confint

        return confint(self, method=method, level=level, **kwargs)

    def _fixed_exog(self, data: pd.DataFrame) -> pd.DataFrame:
        from patsy import build_design_matrices

        model_data = self._model.data
        info = getattr(model_data, "model_spec", None) or getattr(model_data, "design_info", None)
        try:
            (X,) = build_design_matrices([info], data, return_type="dataframe")
        except Exception as exc:  # patsy names the missing variable or unseen level
            raise ValueError(f"Cannot build the fixed-effects design for the new data: {exc}") from exc
        return X

    def predict(self, data: pd.DataFrame | None = None, include_random: bool = True) -> pd.Series:
        """Predicted values of the response.

        Parameters
        ----------
        data : DataFrame, optional
            Rows to predict for; the fitted data when omitted.
        include_random : bool
            Add the predicted random effects of each row's groups (the
            conditional prediction). Levels not seen in the fit get zero, the
            population-average prediction.

        Returns
        -------
        Series
            Predictions, aligned with the rows of ``data``.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> exam = data.load("exam")
        >>> m = fit("normexam ~ standLRT + (1 | school)", exam)
        >>> m.predict(exam.head(2), include_random=False).round(3).tolist()
        [0.351, 0.118]
        """
        if data is None:
            X = self.model_matrix
            data = self._spec.data
        else:
            X = self._fixed_exog(data)
        pred = pd.Series(X.to_numpy() @ self._sol.beta, index=data.index, name=self.response)
        if not include_random:
            return pred
        blups = self.blups()
        for gname, sub in blups.groupby("group", sort=False):
            term_cols = self._group_term_columns(gname)
            labels = _level_labels(data, term_cols[0], term_cols[1]).values
            for term, tsub in sub.groupby("term", sort=False):
                effect = pd.Series(tsub.estimate.values, index=tsub.level.values)
                value = pd.Series(labels).map(effect).fillna(0.0).values
                if term != "(Intercept)":
                    value = value * data[term].values
                pred = pred + value
        return pred

    def _group_term_columns(self, gname: str) -> tuple[tuple[str, ...], bool]:
        for t in self._spec.parsed.random:
            if t.group_name == gname:
                return t.group, t.nested
        raise KeyError(gname)

    def fitted(self) -> pd.Series:
        """Conditional fitted values (fixed part plus predicted random effects)."""
        return self.predict(None, include_random=True)

    def residuals(self) -> pd.Series:
        """Level-1 (conditional) residuals: observed minus conditional fitted values."""
        return (self.y - self.fitted()).rename("residual")

    def refit(self, reml: bool, warn: bool = True) -> LMEResult:
        """Fit the same model again with REML (``True``) or ML (``False``).

        Rows dropped for missing values were reported by the first fit and are
        not reported again; ``warn=False`` also silences warnings about the new fit.
        """
        if reml == self.reml:
            return self
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # already reported for the first fit
            return fit(self.formula, self._input_data, reml=reml, warn=warn)

    # ----- printing -------------------------------------------------------------
    def summary(self, digits: int = 4) -> str:
        """A text summary laid out as lme4's ``summary`` with lmerTest's t-tests.

        Random effects with variances, standard deviations and correlations;
        fixed effects with estimates, standard errors, Satterthwaite degrees of
        freedom, t statistics and p-values.
        """
        from .inference import format_p

        crit = "REML criterion at convergence" if self.reml else "Deviance"
        lines = [
            f"Linear mixed model fit by {'REML' if self.reml else 'maximum likelihood'}; "
            "t-tests use Satterthwaite's method",
            f"Formula: {self.formula}",
            f"{crit}: {-2 * self.loglik:.{max(digits - 3, 1)}f}   "
            f"log-likelihood: {self.loglik:.{max(digits - 3, 1)}f}   "
            f"AIC: {self.aic:.{max(digits - 3, 1)}f}   BIC: {self.bic:.{max(digits - 3, 1)}f}",
            "",
            "Random effects:",
        ]
        vc = self.variance_components()
        rows = []
        for block in self._engine.blocks:
            sub = vc[(vc.group == block.group) & vc.term.isin(block.terms)]
            var = sub[sub.term2 == ""]
            cov = sub[sub.term2 != ""]
            for i, r in enumerate(var.itertuples()):
                corr = []
                for j in range(i):
                    c = cov[(cov.term == block.terms[j]) & (cov.term2 == r.term)]
                    corr.append(f"{c['corr'].iloc[0]:.2f}" if len(c) and np.isfinite(c["corr"].iloc[0]) else "")
                rows.append((block.group if i == 0 else "", r.term, r.variance, r.sd, " ".join(corr)))
        rows.append(("Residual", "", self.sigma2, np.sqrt(self.sigma2), ""))
        lines += _random_effects_lines(rows, digits)
        lines.append(
            f"Number of obs: {self.nobs}"
            + (f" ({self.n_dropped} rows with missing values removed)" if self.n_dropped else "")
            + "; groups: "
            + ", ".join(f"{k}, {v}" for k, v in self.ngroups.items())
        )
        lines += ["", "Fixed effects:"]
        fe = self.fixed_effects()
        shown = pd.DataFrame({
            "Estimate": fe.estimate.map(lambda v: f"{v:.{digits}f}"),
            "Std. Error": fe.std_error.map(lambda v: f"{v:.{digits}f}"),
            "df": fe.df.map(lambda v: f"{v:.1f}"),
            "t value": fe.statistic.map(lambda v: f"{v:.3f}"),
            "Pr(>|t|)": fe.p_value.map(format_p),
        }, index=fe.index)
        shown.index.name = None
        lines.append(shown.to_string())
        if self.singular:
            lines += ["", "Note: singular fit (" + "; ".join(self._singular_parts()) + ")."]
        if not self.converged:
            lines += ["", "Note: the optimality check failed; the estimates may not be a maximum."]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LMEResult {self.formula!r} ({'REML' if self.reml else 'ML'}), logLik {self.loglik:.3f}>"

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


def _random_effects_lines(rows: list[tuple], digits: int) -> list[str]:
    """lme4's layout of the random effects: names left-aligned, numbers right-aligned."""
    cells = [(g, n, f"{v:.{digits}f}", f"{sd:.{digits}f}", c) for g, n, v, sd, c in rows]
    header = ("Groups", "Name", "Variance", "Std.Dev.", "Corr")
    with_corr = any(c for *_, c in cells)
    width = [max(len(str(r[k])) for r in [header, *cells]) for k in range(5)]
    out = []
    for r in [header, *cells]:
        parts = [f"{r[0]:<{width[0]}}", f"{r[1]:<{width[1]}}", f"{r[2]:>{width[2]}}", f"{r[3]:>{width[3]}}"]
        if with_corr:
            parts.append(f"{r[4]:<{width[4]}}")
        out.append(" " + "  ".join(parts).rstrip())
    return out


def _single_thread():
    """Limit BLAS to one thread: the matrices here are small, and threads only add overhead."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(1)


def fit(formula: str, data: pd.DataFrame, *, reml: bool = True, maxiter: int = 200, warn: bool = True) -> LMEResult:
    """Fit a linear mixed-effects model written in lme4's formula syntax.

    statsmodels' ``MixedLM`` fits the model; its answer is checked, and
    polished where needed, in lme4's own formulation (the profiled deviance
    over the relative covariance factors θ, with the same bounds as lme4), so
    the estimates are lme4's. statsmodels' fit stays available as
    ``result.statsmodels``.

    Parameters
    ----------
    formula : str
        An lme4-style formula. Supported random-effects terms:
        ``(1 | g)`` random intercept; ``(x | g)`` or ``(1 + x | g)``
        correlated intercept and slope; ``(x || g)`` uncorrelated intercept
        and slope; ``(0 + x | g)`` slope without intercept; ``(1 | g1/g2)``
        nested (``g1`` and ``g1:g2``); ``(1 | g1) + (1 | g2)`` crossed.
        Anything else raises a ``ValueError`` naming the term.
    data : DataFrame
        The data. Rows with a missing value in a used column are removed, with
        a warning that says how many.
    reml : bool
        Restricted maximum likelihood (default, as lme4) or maximum likelihood.
    maxiter : int
        Iteration limit for each of statsmodels' optimisers.
    warn : bool
        Emit :class:`SingularFitWarning` (the fit is singular as lme4's
        ``isSingular`` defines it) and :class:`ConvergenceWarning` (the final
        check finds that the estimates are not a maximum).

    Returns
    -------
    LMEResult

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ standLRT + (standLRT | school)", data.load("exam"))
    >>> m.variance_components().round(3).variance.tolist()
    [0.092, 0.015, 0.018, 0.554]
    """
    parsed = parse_formula(formula)
    spec = _prepare(parsed, data)
    with _single_thread():
        model = _build_model(spec)
        best, trace = _robust_fit(model, reml=reml, maxiter=maxiter)
        engine = _build_engine(spec, model)
        theta_sm = _statsmodels_theta(spec, model, best, engine)
        dev_sm = engine.deviance(theta_sm, reml)
        theta = engine.quick_optimize(reml, theta_sm) if maxiter > 1 else theta_sm
        dev = engine.deviance(theta, reml)
        if not dev <= dev_sm:
            theta, dev = theta_sm, dev_sm
        trace.append({"method": "lme4 formulation: polish in θ", "llf": -0.5 * dev,
                      "converged": True, "improvement": 0.5 * (dev_sm - dev)})
        converged = engine.is_optimum(theta, reml)
        if not converged and maxiter > 1:
            alt = engine.optimize(reml, theta)
            if engine.deviance(alt, reml) < dev:
                theta, dev = alt, engine.deviance(alt, reml)
            trace.append({"method": "lme4 formulation: full search", "llf": -0.5 * dev, "converged": True})
            converged = engine.is_optimum(theta, reml)
        trace[-1]["checked"] = converged
        result = LMEResult(spec, model, best, reml, trace, data, engine, theta, converged)
    if warn:
        if not converged:
            warnings.warn(
                "The model did not converge: the final check found a small change of the covariance "
                "parameters that increases the likelihood, so the estimates are not a maximum. Consider "
                "rescaling predictors or simplifying the random effects.",
                ConvergenceWarning,
                stacklevel=2,
            )
        if result.singular:
            warnings.warn(
                "Singular fit: " + "; ".join(result._singular_parts()) + ". The data do not support this "
                "random-effects structure; consider simplifying it.",
                SingularFitWarning,
                stacklevel=2,
            )
    return result
