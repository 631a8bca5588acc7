"""Checks for the practical on England's 2022/23 school data.

Each check takes the reader's own answer as its argument (``check_icc_p8(my_icc)``). It
computes the right answer from the data itself, and the answers that the common mistakes
give (the wrong grouping column, an ML fit where REML was asked for, rows that should have
been dropped, a naive test where the boundary-corrected one was asked for ...). A right
answer passes with a line that says what was checked, never the number; an answer that a
known mistake gives fails with that mistake named; anything else fails with hints. Failing
checks raise ``AssertionError``, so that running a notebook from top to bottom stops there.

Pass answers as computed, or rounded as the page prints them (three decimals): the tolerance is
never less than half a unit in the third decimal, and never so wide that it reaches the answer
of a known mistake, which can lie close to the right one.

The answers are computed from the data by :func:`reference_answers` and kept in
:data:`ANSWERS`, so that a check costs nothing; the tests recompute them.
"""

from __future__ import annotations

import functools
import math
import textwrap
import warnings

import numpy as np
import pandas as pd

__all__ = [
    "check_counts", "check_ols_slope", "check_icc_p8", "check_icc_att8", "check_icc_ofsted",
    "check_disadvantage", "check_slope_test", "check_region_variance", "check_most_pulled",
    "check_academy", "reference_answers", "verdict", "ANSWERS",
]

ANSWERS: dict = {
    "n_all": 3056,
    "n_schools": 2967,
    "n_authorities": 151,
    "n_regions": 9,
    "ols_slope": -0.1550816222905713,
    "ols_slope_raw": -0.015508162229057135,
    "ols_slope_att8": -3.8367868950679087,
    "icc_p8": 0.1782508786040795,
    "icc_p8_ml": 0.1768491034628283,
    "icc_p8_region": 0.08345828637495432,
    "icc_att8": 0.12200681176828149,
    "icc_att8_all": 0.12209164624992248,
    "icc_att8_ml": 0.12089677313315653,
    "icc_att8_region": 0.04747071454195471,
    "icc_ofsted": 0.6456719307098839,
    "icc_ofsted_ml": 0.5925063759353094,
    "disadv": -0.21991471970557155,
    "disadv_raw": -0.021991472294984212,
    "p_slope": 3.1993793524119404e-24,
    "p_slope_naive": 5.944331410692693e-24,
    "p_slope_ml": 4.3216823004317936e-24,
    "tau_region": 0.028219769379977624,
    "tau_region_no_slope": 0.030251366933299655,
    "tau_region_ml": 0.025021156858675758,
    "most_pulled": "Kensington and Chelsea",
    "most_extreme": "Hackney",
    "academy": [-0.004370729399439091, -0.04330729667199841, 0.03456583787312023],
    "academy_no_slope": -0.006839099260848552,
    "academy_raw": 0.02745128874238887,
}
"""The right answers and the answers of the common mistakes, as :func:`reference_answers` computes them."""

REL_TOL = 0.005
"""Largest accepted relative difference from the right answer, unless a mistake lies closer."""

DECIMALS = 3
"""The decimals the page prints: an answer rounded to them is accepted (an absolute floor of half
a unit in the last decimal), unless a known mistake lies so close that the floor would reach it."""


# --------------------------------------------------------------------------
# the data and the reference models
# --------------------------------------------------------------------------


@functools.cache
def _data(drop_missing: tuple[str, ...] = ("P8MEA",)) -> pd.DataFrame:
    from . import data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = data.load("england_ks4", drop_missing=drop_missing)
    frame["disadv"] = (frame.PTFSM6CLA1A - 25) / 10
    return frame


@functools.cache
def _fit(formula: str, reml: bool = True, drop_missing: tuple[str, ...] = ("P8MEA",)):
    from .fitting import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, _data(drop_missing), reml=reml, warn=False)


def _icc(formula: str, reml: bool = True, drop_missing: tuple[str, ...] = ("P8MEA",)) -> float:
    from .variance import icc

    return icc(_fit(formula, reml, drop_missing))


@functools.cache
def _ols_slope(formula: str, term: str) -> float:
    import statsmodels.formula.api as smf

    return float(smf.ols(formula, data=_data()).fit().params[term])


# --------------------------------------------------------------------------
# the verdict
# --------------------------------------------------------------------------


def _number(value, what: str) -> float:
    if isinstance(value, pd.Series) and len(value) == 1:
        value = value.iloc[0]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"✗ {what} should be a number; got {type(value).__name__}.") from None
    if not math.isfinite(number):
        raise AssertionError(f"✗ {what} should be a finite number; got {number}.")
    return number


def _say(text: str) -> None:
    """Print a verdict in lines that fit a notebook's output area."""
    print(textwrap.fill(text, width=72, subsequent_indent="  "))


def verdict(value: float, right: float, mistakes: dict[str, float], *, what: str, passed: str,
            hint: str, log: bool = False, decimals: int | None = DECIMALS) -> None:
    """Compare ``value`` with the ``right`` answer and with the answers ``mistakes`` give.

    Parameters
    ----------
    value, right : float
        The reader's answer and the right one.
    mistakes : dict
        The answer each common mistake gives, keyed by a description of the mistake
        ("you grouped by region, not by local authority").
    what : str
        What the answer is, for the messages ("The ICC of Progress 8").
    passed : str
        What a right answer means, printed after the tick (no number in it).
    hint : str
        What to check when the answer matches neither the right answer nor a known mistake.
    log : bool
        Compare on the log scale (for p-values; no absolute floor then).
    decimals : int or None
        The answer rounded to this many decimals is accepted: the tolerance is at least half a
        unit in that decimal. ``None``: no floor.

    The tolerance is the larger of :data:`REL_TOL` of the right answer and half a unit in the
    last printed decimal, but never more than 40% of the distance to the nearest mistake.

    Examples
    --------
    >>> verdict(0.178, 0.17825, {"an ML fit": 0.17685}, what="The ICC", passed="REML, as asked.", hint="-")
    ✓ Right: REML, as asked.
    >>> verdict(0.1768, 0.17825, {"you fitted by ML": 0.17685}, what="The ICC", passed="", hint="-")
    Traceback (most recent call last):
    ...
    AssertionError: ✗ The ICC is not right: it is what you get when you fitted by ML.
    >>> verdict(-0.004, -0.00437, {"you dropped the slope": -0.00684}, what="The gap", passed="rounded.", hint="-")
    ✓ Right: rounded.
    """
    def scale(x: float) -> float:
        return math.log10(max(abs(x), 1e-300)) if log else x

    v, r = scale(value), scale(right)
    distances = {name: abs(scale(m) - r) for name, m in mistakes.items() if abs(scale(m) - r) > 0}
    tol = REL_TOL * abs(r) if r != 0 else REL_TOL
    if decimals is not None and not log:
        tol = max(tol, 0.5 * 10.0 ** -decimals * (1 + 1e-9))
    if distances:
        tol = min(tol, 0.4 * min(distances.values()))
    if abs(v - r) <= tol:
        _say(f"✓ Right: {passed}")
        return
    for name, m in mistakes.items():
        if name in distances and abs(v - scale(m)) <= 0.4 * distances[name]:
            raise AssertionError(f"✗ {what} is not right: it is what you get when {name}.")
    raise AssertionError(f"✗ {what} is not what the data give. {hint}")


# --------------------------------------------------------------------------
# the checks, task by task
# --------------------------------------------------------------------------


def reference_answers() -> dict:
    """Compute every right answer, and the answers the common mistakes give, from the data.

    The checks use :data:`ANSWERS`, these values as computed when the module was written
    (computing them takes half a minute); the tests recompute them and compare.
    """
    import statsmodels.formula.api as smf

    from .comparison import compare
    from .pooling import shrinkage
    from .variance import icc

    def ols(formula: str, term: str) -> float:
        return float(smf.ols(formula, data=_data()).fit().params[term])

    def region(m) -> float:
        vc = m.variance_components()
        return float(vc[(vc.group == "gor_name") & (vc.term2 == "")].variance.iloc[0])

    full = _data(())
    d = _data()
    out: dict = {"n_all": len(full), "n_schools": len(d), "n_authorities": d.LANAME.nunique(),
                 "n_regions": d.gor_name.nunique()}
    out["ols_slope"] = ols("P8MEA ~ disadv", "disadv")
    out["ols_slope_raw"] = ols("P8MEA ~ PTFSM6CLA1A", "PTFSM6CLA1A")
    out["ols_slope_att8"] = ols("ATT8SCR ~ disadv", "disadv")
    out["icc_p8"] = icc(_fit("P8MEA ~ 1 + (1 | LANAME)"))
    out["icc_p8_ml"] = icc(_fit("P8MEA ~ 1 + (1 | LANAME)", reml=False))
    out["icc_p8_region"] = icc(_fit("P8MEA ~ 1 + (1 | gor_name)"))
    out["icc_att8"] = icc(_fit("ATT8SCR ~ 1 + (1 | LANAME)"))
    out["icc_att8_all"] = icc(_fit("ATT8SCR ~ 1 + (1 | LANAME)", drop_missing=("ATT8SCR",)))
    out["icc_att8_ml"] = icc(_fit("ATT8SCR ~ 1 + (1 | LANAME)", reml=False))
    out["icc_att8_region"] = icc(_fit("ATT8SCR ~ 1 + (1 | gor_name)"))
    out["icc_ofsted"] = icc(_fit("P8MEA ~ 1 + (1 | OFSTEDRATING)"))
    out["icc_ofsted_ml"] = icc(_fit("P8MEA ~ 1 + (1 | OFSTEDRATING)", reml=False))
    out["disadv"] = float(_fit("P8MEA ~ disadv + (1 | LANAME)").fe_params["disadv"])
    out["disadv_raw"] = float(_fit("P8MEA ~ PTFSM6CLA1A + (1 | LANAME)").fe_params["PTFSM6CLA1A"])
    small, large = _fit("P8MEA ~ disadv + (1 | LANAME)"), _fit("P8MEA ~ disadv + (disadv | LANAME)")
    table, ml = compare(small, large), compare(small, large, refit="ml")
    out["p_slope"] = float(table.p_boundary.iloc[1])
    out["p_slope_naive"] = float(table.p_value.iloc[1])
    out["p_slope_ml"] = float(ml.p_boundary.iloc[1])
    out["tau_region"] = region(_fit("P8MEA ~ disadv + (1 | gor_name) + (disadv || LANAME)"))
    out["tau_region_no_slope"] = region(_fit("P8MEA ~ disadv + (1 | gor_name/LANAME)"))
    out["tau_region_ml"] = region(_fit("P8MEA ~ disadv + (1 | gor_name) + (disadv || LANAME)", reml=False))
    pulled = shrinkage(_fit("P8MEA ~ disadv + (1 | LANAME)"))
    out["most_pulled"] = str(pulled.loc[pulled.pulled.abs().idxmax(), "level"])
    out["most_extreme"] = str(pulled.loc[(pulled.no_pooling - pulled.complete_pooling).abs().idxmax(), "level"])
    term = "MINORGROUP[T.Maintained school]"
    right = _fit("P8MEA ~ disadv + MINORGROUP + (disadv | LANAME)").fixed_effects().loc[term]
    out["academy"] = [float(right.estimate), float(right.conf_low), float(right.conf_high)]
    out["academy_no_slope"] = float(_fit("P8MEA ~ disadv + MINORGROUP + (1 | LANAME)").fe_params[term])
    raw = d.groupby("MINORGROUP", observed=True).P8MEA.mean()
    out["academy_raw"] = float(raw["Maintained school"] - raw["Academy"])
    return {k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in out.items()}


def check_counts(n_schools: int, n_authorities: int, n_regions: int) -> None:
    """Task 1: the numbers of schools (with Progress 8), local authorities and regions."""
    a = ANSWERS
    n_schools = int(_number(n_schools, "The number of schools"))
    if n_schools == a["n_all"]:
        raise AssertionError("✗ That counts every school in the file; the practical uses the schools with a "
                             "Progress 8 score (what lh.data.load gives).")
    if n_schools != a["n_schools"]:
        raise AssertionError("✗ The number of schools is not right: count the rows of the data as loaded.")
    if int(_number(n_authorities, "The number of authorities")) != a["n_authorities"]:
        raise AssertionError("✗ The number of local authorities is not right: count the distinct values of LANAME.")
    if int(_number(n_regions, "The number of regions")) != a["n_regions"]:
        raise AssertionError("✗ The number of regions is not right: count the distinct values of gor_name.")
    _say("✓ Right: schools, authorities and regions as loaded.")


def check_ols_slope(slope: float) -> None:
    """Task 2: the OLS slope of Progress 8 on ``disadv`` (per 10 percentage points of disadvantaged pupils)."""
    a = ANSWERS
    verdict(
        _number(slope, "The OLS slope"), a["ols_slope"],
        {"you used PTFSM6CLA1A itself (per percentage point) instead of disadv (per 10 points)": a["ols_slope_raw"],
         "you modelled Attainment 8 instead of Progress 8": a["ols_slope_att8"]},
        what="The OLS slope", passed="the OLS slope of Progress 8 per 10 points of disadvantage.",
        hint="Check the formula: P8MEA ~ disadv, by OLS.")


def check_icc_p8(icc: float) -> None:
    """Task 3: the ICC of Progress 8 for local authorities (REML null model)."""
    a = ANSWERS
    verdict(
        _number(icc, "The ICC"), a["icc_p8"],
        {"you fitted by maximum likelihood (ML) instead of REML": a["icc_p8_ml"],
         "you grouped by region (gor_name) instead of local authority (LANAME)": a["icc_p8_region"],
         "you used Attainment 8 instead of Progress 8": a["icc_att8"]},
        what="The ICC of Progress 8", passed="the REML estimate of the share of the variance of Progress 8 "
        "that lies between local authorities.",
        hint="Fit P8MEA ~ 1 + (1 | LANAME) by REML (lh.fit's default) and take lh.icc of it.")


def check_icc_att8(icc: float) -> None:
    """Task 3: the ICC of Attainment 8 for local authorities, on the same schools as Progress 8."""
    a = ANSWERS
    verdict(
        _number(icc, "The ICC"), a["icc_att8"],
        {"you kept the schools without a Progress 8 score (the two ICCs are then not on the same schools)":
            a["icc_att8_all"],
         "you fitted by maximum likelihood (ML) instead of REML": a["icc_att8_ml"],
         "you grouped by region (gor_name) instead of local authority (LANAME)": a["icc_att8_region"],
         "you used Progress 8 instead of Attainment 8": a["icc_p8"]},
        what="The ICC of Attainment 8", passed="the REML estimate for Attainment 8, on the same schools as "
        "Progress 8.",
        hint="Fit ATT8SCR ~ 1 + (1 | LANAME) by REML to the schools as loaded and take lh.icc of it.")


def check_icc_ofsted(icc: float) -> None:
    """Task 4: the ICC of Progress 8 with the Ofsted rating as the grouping factor."""
    a = ANSWERS
    verdict(
        _number(icc, "The ICC"), a["icc_ofsted"],
        {"you fitted by maximum likelihood (ML) instead of REML: with five groups, ML's variance "
         "between groups is much smaller": a["icc_ofsted_ml"],
         "you grouped by local authority, not by Ofsted rating": a["icc_p8"]},
        what="The ICC for Ofsted ratings", passed="the REML estimate with the rating as the grouping factor "
        "(the schools without a rating left out).",
        hint="Fit P8MEA ~ 1 + (1 | OFSTEDRATING) by REML and take lh.icc of it.")


def check_disadvantage(slope: float) -> None:
    """Task 5: the fixed slope of ``disadv`` in the random-intercept model."""
    a = ANSWERS
    verdict(
        _number(slope, "The slope"), a["disadv"],
        {"you took the OLS slope of task 2, which ignores the authorities": a["ols_slope"],
         "you used PTFSM6CLA1A itself (per percentage point) instead of disadv (per 10 points)": a["disadv_raw"]},
        what="The slope of disadvantage", passed="the slope within the mixed model, per 10 points of disadvantage.",
        hint="Fit P8MEA ~ disadv + (1 | LANAME) and read the estimate of disadv from fixed_effects().")


def check_slope_test(p_value: float) -> None:
    """Task 6: the boundary-corrected p-value of the random slope (REML fits, same fixed effects)."""
    a = ANSWERS
    verdict(
        _number(p_value, "The p-value"), a["p_slope"],
        {"you took the naive chi-squared p-value; the variance is tested on the edge of its range, so use "
         "the boundary-corrected one (p_boundary)": a["p_slope_naive"],
         "you refitted the models by ML; with the same fixed effects the REML fits can be compared as they are":
            a["p_slope_ml"]},
        what="The p-value of the random slope", passed="the boundary-corrected test of the random slope.",
        hint="Compare P8MEA ~ disadv + (1 | LANAME) with P8MEA ~ disadv + (disadv | LANAME) using lh.compare "
             "and take p_boundary.", log=True)


def check_region_variance(variance: float) -> None:
    """Task 7: the variance between regions, in the model that keeps the random slope of task 6."""
    a = ANSWERS
    verdict(
        _number(variance, "The variance"), a["tau_region"],
        {"you dropped the random slope of disadvantage that task 6 showed is needed": a["tau_region_no_slope"],
         "you gave the standard deviation, not the variance": math.sqrt(a["tau_region"]),
         "you fitted by maximum likelihood (ML) instead of REML": a["tau_region_ml"]},
        what="The variance between regions", passed="the region variance, with the authorities' random slope kept.",
        hint="Fit P8MEA ~ disadv + (1 | gor_name) + (disadv || LANAME) and read the gor_name variance from "
             "variance_components().")


def check_most_pulled(name: str) -> None:
    """Task 8: the authority whose estimate is pulled furthest towards the average (random-intercept model)."""
    a = ANSWERS
    given = str(name).strip()
    if given == a["most_pulled"]:
        _say("✓ Right: the authority whose estimate moves furthest; compare its number of schools with the others'.")
        return
    if given == a["most_extreme"]:
        raise AssertionError("✗ That is the authority with the most extreme raw estimate. How far an estimate is "
                             "pulled depends on how extreme it is and on how few schools the authority has.")
    if given not in set(_data().LANAME.astype(str)):
        raise AssertionError(f"✗ {given!r} is not a local authority in the data (check the spelling against LANAME).")
    raise AssertionError("✗ Not the one pulled furthest: sort lh.shrinkage's table by the size of `pulled`.")


def check_academy(estimate: float, conf_low: float, conf_high: float) -> None:
    """Task 9: the difference maintained school minus academy, with its 95% interval (Satterthwaite)."""
    a = ANSWERS
    right, low_right, high_right = a["academy"]
    verdict(
        _number(estimate, "The estimate"), right,
        {"you dropped the random slope of disadvantage that task 6 showed is needed": a["academy_no_slope"],
         "you compared the raw means, without adjusting for disadvantage or authority": a["academy_raw"],
         "you took academy minus maintained; the task asks for maintained minus academy": -right},
        what="The difference", passed="the adjusted difference, maintained school minus academy.",
        hint="Fit P8MEA ~ disadv + MINORGROUP + (disadv | LANAME) and read its fixed_effects().")
    width = high_right - low_right
    low, high = _number(conf_low, "The lower limit"), _number(conf_high, "The upper limit")
    if abs(low - low_right) > 0.01 * width or abs(high - high_right) > 0.01 * width:
        raise AssertionError("✗ The estimate is right but the interval is not: take conf_low and conf_high from "
                             "fixed_effects() (t with Satterthwaite's degrees of freedom), for 95%.")
    _say("✓ Right: and the interval is the 95% Satterthwaite interval.")
