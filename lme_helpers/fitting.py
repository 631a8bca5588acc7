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

__all__ = ["fit", "LMEResult", "FitWarning", "SingularFitWarning", "ConvergenceWarning"]

_FUNCTIONS = {
    "np", "numpy", "log", "log10", "log2", "exp", "sqrt", "abs", "C", "I", "Q",
    "center", "scale", "standardize", "Treatment", "Sum", "Diff", "Poly", "poly",
    "bs", "cr", "cc", "te",
}
_SINGULAR_TOL = 1e-8  # variance / sigma^2, i.e. lme4's theta < 1e-4


class FitWarning(UserWarning):
    """Base class for the warnings :func:`fit` gives about a model."""


class SingularFitWarning(FitWarning):
    """A variance is estimated as (nearly) zero or a correlation as (nearly) ±1."""


class ConvergenceWarning(FitWarning):
    """The optimisers did not agree on, or did not reach, a maximum."""


class DataWarning(FitWarning):
    """Rows were dropped or the data have a feature worth knowing about."""


_default_formatwarning = warnings.formatwarning


def _format_fit_warning(message, category, filename, lineno, line=None) -> str:
    """Show lme_helpers' warnings as plain sentences, without the (temporary) file and line."""
    if isinstance(category, type) and issubclass(category, FitWarning):
        return f"{category.__name__}: {message}\n"
    return _default_formatwarning(message, category, filename, lineno, line)


warnings.formatwarning = _format_fit_warning


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
    if part.covariate is None:
        if part.term.group_name == spec.outer_name:
            return "1"
        return f"0 + C({col})"
    if part.term.group_name == spec.outer_name:
        return f"0 + {part.covariate}"
    return f"0 + C({col}):{part.covariate}"


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
# result
# --------------------------------------------------------------------------


class LMEResult:
    """A fitted linear mixed-effects model with tidy, lme4-comparable output.

    Create it with :func:`fit`; the statsmodels result stays available as
    :attr:`statsmodels`.

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
    statsmodels : MixedLMResults
        The underlying statsmodels result.
    """

    def __init__(self, spec: _Spec, model: sm.MixedLM, result: Any, reml: bool, trace: list[dict], data: pd.DataFrame):
        self._spec = spec
        self._model = model
        self.statsmodels = result
        self.reml = bool(reml)
        self.formula = spec.parsed.original
        self.trace = trace
        self._input_data = data
        self.loglik = float(result.llf)
        self.nobs = int(model.nobs)
        self.n_dropped = spec.n_dropped
        self.ngroups = {
            name: int(spec.data[col].nunique()) for name, col in spec.group_columns.items()
        }
        self.converged = bool(result.converged)

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
        """Parameters counted as lme4 counts them: fixed effects, variance parameters, residual."""
        k_re = len(self._spec.re_terms)
        return len(self._model.exog_names) + k_re * (k_re + 1) // 2 + len(self._spec.vc) + 1

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
        return float(self.statsmodels.scale)

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
    @cached_property
    def _G_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        res = self.statsmodels
        cov_re = np.asarray(res.cov_re, dtype=float) if len(self._spec.re_terms) else np.zeros((0, 0))
        vcomp = np.asarray(res.vcomp, dtype=float) if self._spec.vc else np.zeros(0)
        return cov_re, vcomp

    def _vc_index(self) -> list[int]:
        """Map our vc parts to statsmodels' (sorted) vc order."""
        names = list(self._model.exog_vc.names) if self._spec.vc else []
        return [names.index(p.key) for p in self._spec.vc]

    def variance_components(self) -> pd.DataFrame:
        """One row per variance or covariance parameter, plus the residual.

        Returns
        -------
        DataFrame
            Columns ``group``, ``term``, ``term2`` (empty unless the row is a
            covariance), ``variance`` (the variance, or the covariance),
            ``sd`` (standard deviation; NaN for covariances) and ``corr``
            (correlation for covariance rows). Same layout as lme4's
            ``as.data.frame(VarCorr(m))``.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
        >>> m.variance_components()[["group", "variance"]].round(3).values.tolist()
        [['school', 0.172], ['Residual', 0.848]]
        """
        cov_re, vcomp = self._G_blocks
        rows = []
        terms = self._spec.re_terms
        for i, t in enumerate(terms):
            v = cov_re[i, i]
            rows.append((self._spec.outer_name, t, "", v, np.sqrt(max(v, 0.0)), np.nan))
        for i in range(len(terms)):
            for j in range(i + 1, len(terms)):
                c = cov_re[i, j]
                denom = np.sqrt(max(cov_re[i, i], 0) * max(cov_re[j, j], 0))
                rows.append((self._spec.outer_name, terms[i], terms[j], c, np.nan, c / denom if denom > 0 else np.nan))
        for part, k in zip(self._spec.vc, self._vc_index()):
            v = float(vcomp[k])
            term = part.covariate or "(Intercept)"
            rows.append((part.term.group_name, term, "", v, np.sqrt(max(v, 0.0)), np.nan))
        s2 = self.sigma2
        rows.append(("Residual", "", "", s2, np.sqrt(s2), np.nan))
        return pd.DataFrame(rows, columns=["group", "term", "term2", "variance", "sd", "corr"])

    @property
    def singular(self) -> bool:
        """True when a variance is (nearly) zero or a correlation (nearly) ±1."""
        vc = self.variance_components()
        var = vc[vc.term2 == ""]
        if (var.variance <= _SINGULAR_TOL * self.sigma2).any():
            return True
        corr = vc.loc[vc.term2 != "", "corr"].abs()
        return bool((corr > 1 - 1e-4).any())

    # ----- per-group algebra ---------------------------------------------
    def _group_designs(self, j: int) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str, str]]]:
        """Z_j, G_j and labels (group name, level, term) of the random effects of group j."""
        model = self._model
        cov_re, vcomp = self._G_blocks
        label = model.group_labels[j]
        Zs = []
        labels: list[tuple[str, str, str]] = []
        if len(self._spec.re_terms):
            Zs.append(model.exog_re_li[j])
            labels += [(self._spec.outer_name, str(label), t) for t in self._spec.re_terms]
        blocks = [cov_re] if len(self._spec.re_terms) else []
        for part, k in zip(self._spec.vc, self._vc_index()):
            mat = model.exog_vc.mats[k][j]
            names = model.exog_vc.colnames[k][j]
            if mat.shape[1] == 0:
                continue
            Zs.append(mat)
            blocks.append(np.eye(mat.shape[1]) * vcomp[k])
            term = part.covariate or "(Intercept)"
            for n in names:
                if part.term.group_name == self._spec.outer_name:
                    level = str(label)
                else:
                    m = re.search(r"\[(.*)\]", n)
                    level = m.group(1) if m else n
                    if level.startswith("T."):
                        level = level[2:]
                labels.append((part.term.group_name, level, term))
        n_j = model.exog_li[j].shape[0]
        Z = np.hstack(Zs) if Zs else np.zeros((n_j, 0))
        q = Z.shape[1]
        G = np.zeros((q, q))
        pos = 0
        for b in blocks:
            s = b.shape[0]
            G[pos : pos + s, pos : pos + s] = b
            pos += s
        return Z, G, labels

    @cached_property
    def _algebra(self) -> dict[str, Any]:
        model = self._model
        beta = np.asarray(self.statsmodels.fe_params, dtype=float)
        s2 = self.sigma2
        p = len(beta)
        XtVX = np.zeros((p, p))
        blups = []
        for j in range(len(model.group_labels)):
            X = model.exog_li[j]
            y = model.endog_li[j]
            Z, G, labels = self._group_designs(j)
            V = Z @ G @ Z.T + s2 * np.eye(len(y))
            Vinv_X = np.linalg.solve(V, X)
            XtVX += X.T @ Vinv_X
            r = y - X @ beta
            Vinv_r = np.linalg.solve(V, r)
            GZt = G @ Z.T
            b = GZt @ Vinv_r
            cond = G - GZt @ np.linalg.solve(V, GZt.T)
            for (gname, level, term), est, var in zip(labels, b, np.diag(cond)):
                blups.append((gname, level, term, est, np.sqrt(max(var, 0.0))))
        cov_beta = np.linalg.inv(XtVX)
        blup_df = pd.DataFrame(blups, columns=["group", "level", "term", "estimate", "std_error"])
        return {"cov_beta": cov_beta, "blups": blup_df}

    # ----- tables ----------------------------------------------------------
    def between_within_df(self) -> pd.Series:
        """Denominator degrees of freedom by the "between-within" rule.

        A term whose column is constant within the groups of a grouping factor
        with J levels is a group-level (between) term and gets J minus the
        number of such terms at that level (the intercept counts at the
        outermost level); any other term gets N − J_inner − (number of
        observation-level terms). In balanced two-level designs this equals
        the Satterthwaite degrees of freedom that lmerTest reports.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("normexam ~ standLRT + schavg + (1 | school)", data.load("exam"))
        >>> m.between_within_df().to_dict()
        {'Intercept': 63, 'standLRT': 3993, 'schavg': 63}
        """
        X = pd.DataFrame(np.asarray(self._model.exog, dtype=float), columns=list(self._model.exog_names))
        groupings = sorted(
            ((name, self._spec.data[col].to_numpy()) for name, col in self._spec.group_columns.items()),
            key=lambda g: -len(pd.unique(g[1])),
        )
        n_levels = {name: len(pd.unique(labels)) for name, labels in groupings}
        level_of: dict[str, str | None] = {}
        for term in X.columns:
            level_of[term] = None
            if term == "Intercept":
                level_of[term] = groupings[-1][0]
                continue
            for name, labels in groupings:  # innermost first
                if (X[term].groupby(labels).nunique() <= 1).all():
                    level_of[term] = name
                    break
        counts = pd.Series([v for v in level_of.values()], dtype=object).value_counts(dropna=False)
        n_obs_terms = sum(1 for v in level_of.values() if v is None)
        inner = groupings[0][0]
        out = {}
        for term, lev in level_of.items():
            if lev is None:
                out[term] = self.nobs - n_levels[inner] - n_obs_terms
            else:
                out[term] = n_levels[lev] - int(counts[lev])
        return pd.Series(out, name="df").astype(int)

    def fixed_effects(self, se: str = "lme4", level: float = 0.95, df: str | None = None) -> pd.DataFrame:
        """Fixed-effect estimates with standard errors, Wald tests and intervals.

        Parameters
        ----------
        se : {"lme4", "hessian"}
            ``"lme4"`` (default) gives lme4's standard errors, the square roots
            of the diagonal of σ²(X'V⁻¹X)⁻¹ at the estimated variance
            components. ``"hessian"`` gives statsmodels' standard errors from the
            inverse of the full observed information matrix, which also
            reflects uncertainty in the variance components; the two can
            differ by a few per cent.
        level : float
            Confidence level of the Wald interval.
        df : {None, "between-within"}
            ``None`` (default) compares the statistic with the standard normal
            distribution (a z test, as statsmodels does). ``"between-within"``
            uses t distributions with the degrees of freedom of
            :meth:`between_within_df`, which is more accurate with few groups
            (adds a ``df`` column).

        Returns
        -------
        DataFrame
            Indexed by term, with ``estimate``, ``std_error``, ``statistic``
            (estimate / std_error), ``p_value`` (two-sided), ``conf_low`` and
            ``conf_high``.

        Examples
        --------
        >>> from lme_helpers import fit, data
        >>> m = fit("normexam ~ standLRT + (1 | school)", data.load("exam"))
        >>> m.fixed_effects().loc["standLRT", "estimate"].round(3)
        np.float64(0.563)
        """
        beta = self.statsmodels.fe_params
        if se == "lme4":
            ses = np.sqrt(np.diag(self._algebra["cov_beta"]))
        elif se == "hessian":
            ses = np.asarray(self.statsmodels.bse_fe, dtype=float)
        else:
            raise ValueError(f"`se` must be 'lme4' or 'hessian', not {se!r}.")
        z = beta.values / ses
        if df is None:
            crit = stats.norm.ppf(0.5 + level / 2)
            p = 2 * stats.norm.sf(np.abs(z))
        elif df == "between-within":
            dfs = self.between_within_df().to_numpy()
            crit = stats.t.ppf(0.5 + level / 2, dfs)
            p = 2 * stats.t.sf(np.abs(z), dfs)
        else:
            raise ValueError(f"`df` must be None or 'between-within', not {df!r}.")
        out = pd.DataFrame(
            {
                "estimate": beta.values,
                "std_error": ses,
                "statistic": z,
                "p_value": p,
                "conf_low": beta.values - crit * ses,
                "conf_high": beta.values + crit * ses,
            },
            index=pd.Index(list(beta.index), name="term"),
        )
        if df is not None:
            out.insert(3, "df", dfs)
        return out

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed effects in lme4's convention, σ²(X'V⁻¹X)⁻¹."""
        names = list(self.statsmodels.fe_params.index)
        return pd.DataFrame(self._algebra["cov_beta"], index=names, columns=names)

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
        out = self._algebra["blups"]
        if group is not None:
            if group not in self.grouping:
                raise KeyError(f"{group!r} is not a grouping factor of this model; it has {self.grouping}.")
            out = out[out.group == group]
        return out.reset_index(drop=True)

    def _fixed_exog(self, data: pd.DataFrame) -> pd.DataFrame:
        from patsy import build_design_matrices

        model_data = self.statsmodels.model.data
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
            data = self._spec.data
        X = self._fixed_exog(data)
        pred = X.values @ self.statsmodels.fe_params.values
        pred = pd.Series(pred, index=data.index, name=self.response)
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
        return self.predict(self._spec.data, include_random=True)

    def residuals(self) -> pd.Series:
        """Level-1 (conditional) residuals: observed minus conditional fitted values."""
        y = self._spec.data.eval(self.response) if self.response not in self._spec.data else self._spec.data[self.response]
        return (y - self.fitted()).rename("residual")

    def refit(self, reml: bool) -> LMEResult:
        """Fit the same model again with REML (``True``) or ML (``False``)."""
        if reml == self.reml:
            return self
        return fit(self.formula, self._input_data, reml=reml)

    # ----- printing -------------------------------------------------------------
    def summary(self, digits: int = 4) -> str:
        """A readable text summary: model, fit statistics, variance components, fixed effects."""
        lines = [
            f"Linear mixed model fitted by {'REML' if self.reml else 'maximum likelihood'}",
            f"Formula: {self.formula}",
            f"Observations: {self.nobs}"
            + (f" ({self.n_dropped} rows with missing values removed)" if self.n_dropped else "")
            + "; groups: "
            + ", ".join(f"{k} {v}" for k, v in self.ngroups.items()),
            f"{'REML log-likelihood' if self.reml else 'Log-likelihood'}: {self.loglik:.{digits}f}   "
            f"AIC: {self.aic:.{digits - 2}f}   BIC: {self.bic:.{digits - 2}f}",
            "",
            "Random effects:",
        ]
        vc = self.variance_components()
        tbl = vc.copy()
        tbl["term"] = np.where(tbl.term2 != "", "corr(" + tbl.term + ", " + tbl.term2 + ")", tbl.term)
        tbl = tbl.drop(columns="term2")
        lines.append(tbl.to_string(index=False, float_format=lambda v: f"{v:.{digits}f}", na_rep=""))
        lines += ["", "Fixed effects (standard errors as in lme4):"]
        fe = self.fixed_effects()
        lines.append(fe.to_string(float_format=lambda v: f"{v:.{digits}f}"))
        if self.singular:
            lines += ["", "Note: singular fit (a variance is zero or a correlation is ±1)."]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LMEResult {self.formula!r} ({'REML' if self.reml else 'ML'}), logLik {self.loglik:.3f}>"

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


def fit(formula: str, data: pd.DataFrame, *, reml: bool = True, maxiter: int = 200, warn: bool = True) -> LMEResult:
    """Fit a linear mixed-effects model written in lme4's formula syntax.

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
        Iteration limit for each optimiser.
    warn : bool
        Emit :class:`SingularFitWarning` and :class:`ConvergenceWarning`.

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
    model = _build_model(spec)
    best, trace = _robust_fit(model, reml=reml, maxiter=maxiter)
    result = LMEResult(spec, model, best, reml, trace, data)
    if warn:
        finite = [t for t in trace if np.isfinite(t["llf"])]
        if not any(t["converged"] for t in finite) and not trace[-1].get("checked"):
            warnings.warn(
                "The model did not converge: no optimiser reported reaching a maximum of the "
                "likelihood. Consider rescaling predictors or simplifying the random effects.",
                ConvergenceWarning,
                stacklevel=2,
            )
        if result.singular:
            vc = result.variance_components()
            zero = vc[(vc.term2 == "") & (vc.variance <= _SINGULAR_TOL * result.sigma2)]
            parts = [f"the variance of {r.term} for {r.group!r} is estimated as zero" for r in zero.itertuples()]
            corr = vc[(vc.term2 != "") & (vc["corr"].abs() > 1 - 1e-4)]
            parts += [f"the correlation of {r.term} and {r.term2} for {r.group!r} is ±1" for r in corr.itertuples()]
            warnings.warn(
                "Singular fit: " + "; ".join(parts) + ". The data do not support this random-effects "
                "structure; consider removing that term.",
                SingularFitWarning,
                stacklevel=2,
            )
    return result
