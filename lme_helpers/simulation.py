"""Draw multilevel data from known parameters, so that estimates can be checked against the truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Simulation", "simulate", "simulate_schools", "SCHOOLS_TRUTH"]


@dataclass
class Simulation:
    """Simulated data and the parameters that generated them.

    Unpacks as ``data, truth = simulate(...)``.
    """

    data: pd.DataFrame
    truth: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.data, self.truth))


def _sizes(rng: np.random.Generator, n_groups: int, group_size) -> np.ndarray:
    if isinstance(group_size, (int, np.integer)):
        if group_size < 1:
            raise ValueError(f"group_size must be at least 1; got {group_size}.")
        return np.full(n_groups, int(group_size))
    if isinstance(group_size, tuple) and len(group_size) == 2:
        lo, hi = group_size
        if not 1 <= lo <= hi:
            raise ValueError(f"group_size range must satisfy 1 <= low <= high; got {group_size}.")
        return rng.integers(lo, hi + 1, size=n_groups)
    sizes = np.asarray(group_size, dtype=int)
    if sizes.shape != (n_groups,) or (sizes < 1).any():
        raise ValueError("group_size must be an int, a (low, high) tuple, or one positive size per group.")
    return sizes


def simulate(
    n_groups: int = 50,
    group_size: int | tuple[int, int] | Sequence[int] = 20,
    *,
    intercept: float = 0.0,
    slope: float = 0.5,
    group_slope: float = 0.0,
    tau0: float = 0.5,
    tau1: float = 0.0,
    corr: float = 0.0,
    sigma: float = 1.0,
    n_clusters: int | None = None,
    tau_cluster: float = 0.0,
    seed: int | None = None,
) -> Simulation:
    """Simulate two- or three-level data with random intercepts and slopes.

    The model is

    .. math::

        y_{ij} = \\gamma_{00} + \\gamma_{10} x_{ij} + \\gamma_{01} w_j
                 + u_{0j} + u_{1j} x_{ij} + v_k + \\varepsilon_{ij},

    with x ~ N(0, 1) for each observation, w ~ N(0, 1) for each group,
    (u₀, u₁) bivariate normal with standard deviations ``tau0``, ``tau1`` and
    correlation ``corr``, v ~ N(0, ``tau_cluster``²) for each cluster (the
    third level, when ``n_clusters`` is given) and ε ~ N(0, ``sigma``²).

    Parameters
    ----------
    n_groups : int
        Number of level-2 groups.
    group_size : int, (low, high) or sequence
        Observations per group: fixed, uniform between low and high, or given.
    intercept, slope, group_slope : float
        γ₀₀, γ₁₀ (effect of the level-1 predictor ``x``) and γ₀₁ (effect of the
        level-2 predictor ``w``).
    tau0, tau1, corr, sigma : float
        Standard deviations of the random intercept and slope, their
        correlation, and the residual standard deviation.
    n_clusters : int, optional
        Number of level-3 clusters; groups are spread evenly over them.
    tau_cluster : float
        Standard deviation of the cluster effect.
    seed : int, optional
        Seed for NumPy's random generator; the same seed gives the same data.

    Returns
    -------
    Simulation
        ``data`` with columns ``y``, ``x``, ``w``, ``group`` (and ``cluster``)
        and ``truth``, a dict of the parameters with variances added.

    Examples
    --------
    >>> data, truth = simulate(n_groups=3, group_size=2, seed=1)
    >>> data.shape, truth["tau0_sq"]
    ((6, 4), 0.25)
    """
    if n_groups < 2:
        raise ValueError(f"n_groups must be at least 2; got {n_groups}.")
    if min(tau0, tau1, sigma, tau_cluster) < 0:
        raise ValueError("Standard deviations must not be negative.")
    if not -1 <= corr <= 1:
        raise ValueError(f"corr must lie in [-1, 1]; got {corr}.")
    rng = np.random.default_rng(seed)
    sizes = _sizes(rng, n_groups, group_size)
    z = rng.standard_normal((n_groups, 2))
    u = np.column_stack([tau0 * z[:, 0], tau1 * (corr * z[:, 0] + np.sqrt(1 - corr**2) * z[:, 1])])
    w = rng.standard_normal(n_groups)
    group = np.repeat(np.arange(n_groups), sizes)
    n = int(sizes.sum())
    x = rng.standard_normal(n)
    eps = rng.normal(0.0, sigma, n)
    y = intercept + slope * x + group_slope * w[group] + u[group, 0] + u[group, 1] * x + eps
    width = len(str(n_groups))
    frame = pd.DataFrame({"y": y, "x": x, "w": w[group], "group": [f"g{g + 1:0{width}d}" for g in group]})
    truth = {
        "intercept": intercept,
        "slope": slope,
        "group_slope": group_slope,
        "tau0": tau0,
        "tau1": tau1,
        "corr": corr,
        "sigma": sigma,
        "tau0_sq": tau0**2,
        "tau1_sq": tau1**2,
        "sigma_sq": sigma**2,
        "u": pd.DataFrame(u, columns=["u0", "u1"], index=[f"g{g + 1:0{width}d}" for g in range(n_groups)]),
    }
    if n_clusters is not None:
        if not 2 <= n_clusters <= n_groups:
            raise ValueError(f"n_clusters must be between 2 and n_groups; got {n_clusters}.")
        cluster_of_group = np.arange(n_groups) % n_clusters
        v = rng.normal(0.0, tau_cluster, n_clusters)
        frame["y"] += v[cluster_of_group[group]]
        frame["cluster"] = [f"c{c + 1:02d}" for c in cluster_of_group[group]]
        truth.update({"tau_cluster": tau_cluster, "tau_cluster_sq": tau_cluster**2, "v": v})
    truth["icc"] = (tau0**2 + tau_cluster**2) / (tau0**2 + tau_cluster**2 + sigma**2)
    return Simulation(frame, truth)


# --------------------------------------------------------------------------
# synthetic England schools
# --------------------------------------------------------------------------

REGIONS = {
    "North East": 12,
    "North West": 24,
    "Yorkshire and the Humber": 15,
    "East Midlands": 10,
    "West Midlands": 14,
    "East of England": 11,
    "London": 32,
    "South East": 19,
    "South West": 14,
}

SCHOOLS_TRUTH: dict[str, float] = {
    # log(ATT8SCR) = b0 + b_fsm log(PTFSM6CLA1A) + b_abs log(PERCTOT)
    #                + policies + region + LA (+ LA slope on log FSM) + school
    "b_log_fsm": -0.155,
    "b_log_abs": -0.338,
    "b_tutoring": 0.0030,  # per funded tutoring hour per disadvantaged pupil
    "b_officers": 0.0,  # per attendance officer per 10,000 pupils: no effect
    "b_early_years": 0.0015,  # per percentage point of 2-year-olds in funded early education
    "var_region": 0.0006,
    "var_la": 0.0020,
    "var_la_slope": 0.0009,  # variance of the LA slope on log(PTFSM6CLA1A), centred at its mean
    "var_school": 0.0080,
    "mean_log_att8": 3.835,
}
"""True parameters of :func:`simulate_schools` (log scale of ATT8SCR)."""


def simulate_schools(seed: int = 20230901) -> Simulation:
    """Simulate England-like secondary schools nested in local authorities and regions.

    The data have the shape and column names of the DfE's 2022/23 key stage
    4 school performance tables (about 3,050 schools, 151 local authorities,
    9 regions) and marginal distributions close to the published ones, but
    every value is simulated: no row describes a real school or authority.
    Three local-authority "policy" variables with known effects are added
    for the practical: ``LA_TUTORING`` (true effect +0.0030 on log Attainment 8
    per hour), ``LA_OFFICERS`` (no effect) and ``LA_EARLY_YEARS`` (+0.0015 per
    percentage point). The policies are more common in disadvantaged
    authorities, as real policies often are.

    Parameters
    ----------
    seed : int
        Seed of the random generator.

    Returns
    -------
    Simulation
        One row per school; ``truth`` holds :data:`SCHOOLS_TRUTH` plus the
        drawn region and authority effects.

    Examples
    --------
    >>> sim = simulate_schools(seed=1)
    >>> sim.data["LANAME"].nunique(), sim.data["gor_name"].nunique()
    (151, 9)
    """
    t = SCHOOLS_TRUTH
    rng = np.random.default_rng(seed)
    la_rows = []
    code = 300
    for region, n_la in REGIONS.items():
        for k in range(n_la):
            code += 1
            la_rows.append({"gor_name": region, "LEA": str(code), "LANAME": f"{region} Authority {k + 1:02d}"})
    las = pd.DataFrame(la_rows)
    n_la = len(las)
    # schools per authority: skewed, between 3 and 97, median about 15
    sizes = np.clip(np.round(np.exp(rng.normal(np.log(14.5), 0.62, n_la))), 3, 97).astype(int)
    region_shift_fsm = {"London": 3.0, "North East": 3.0, "North West": 2.0, "West Midlands": 2.0,
                        "Yorkshire and the Humber": 1.0, "East Midlands": -0.5, "East of England": -3.0,
                        "South East": -3.5, "South West": -3.0}
    region_eal = {"London": 3.4, "West Midlands": 2.5, "North West": 2.1, "Yorkshire and the Humber": 2.1,
                  "East Midlands": 2.0, "East of England": 2.0, "South East": 1.9, "North East": 1.3,
                  "South West": 1.2}
    las["la_fsm"] = 26.0 + las.gor_name.map(region_shift_fsm) + rng.normal(0, 3.5, n_la)
    las["la_abs"] = rng.normal(0, 0.8, n_la)
    z_fsm = (las.la_fsm - las.la_fsm.mean()) / las.la_fsm.std()
    las["LA_TUTORING"] = np.clip(12 + 3.0 * z_fsm + rng.normal(0, 4.0, n_la), 0, 30).round(1)
    las["LA_OFFICERS"] = np.clip(3 + 0.6 * las.la_abs + 0.4 * z_fsm + rng.normal(0, 0.9, n_la), 0.2, 10).round(2)
    las["LA_EARLY_YEARS"] = np.clip(70 + 2.0 * z_fsm + rng.normal(0, 7.5, n_la), 40, 95).round(1)
    region_effect = pd.Series(rng.normal(0, np.sqrt(t["var_region"]), len(REGIONS)), index=list(REGIONS))
    las["u_la"] = rng.normal(0, np.sqrt(t["var_la"]), n_la)
    las["u_la_slope"] = rng.normal(0, np.sqrt(t["var_la_slope"]), n_la)
    las["v_region"] = las.gor_name.map(region_effect)

    school = las.loc[np.repeat(las.index, sizes)].reset_index(drop=True)
    n = len(school)
    shape = (school.la_fsm / 12.5) ** 2  # gamma with the authority's mean and sd 12.5
    fsm = np.clip(rng.gamma(shape, school.la_fsm / shape), 1.0, 93.0)
    absence = np.clip(9.2 + 0.09 * (fsm - 26.0) + school.la_abs + rng.normal(0, 2.1, n), 3.1, 32.6)
    eal = np.clip(np.exp(rng.normal(school.gor_name.map(region_eal) + 0.012 * (fsm - 26), 0.9, n)), 0, 92.7)
    log_fsm = np.log(fsm)
    log_fsm_c = log_fsm - np.log(24.0)
    log_abs_c = np.log(absence) - np.log(9.0)
    policy = (
        t["b_tutoring"] * (school.LA_TUTORING - 12)
        + t["b_officers"] * (school.LA_OFFICERS - 3)
        + t["b_early_years"] * (school.LA_EARLY_YEARS - 70)
    )
    eps = rng.normal(0, np.sqrt(t["var_school"]), n)
    log_att8 = (
        t["mean_log_att8"]
        + (t["b_log_fsm"] + school.u_la_slope) * log_fsm_c
        + t["b_log_abs"] * log_abs_c
        + policy
        + school.v_region
        + school.u_la
        + eps
    )
    att8 = np.clip(np.exp(log_att8), 10.0, 90.0)
    # Progress 8 adjusts for prior attainment: here a noisy rescaling of the school's attainment
    p8 = 0.048 * (att8 - 47.2) + 0.007 * (eal - 17.6) + rng.normal(0, 0.2, n)
    rating_score = p8 + rng.normal(0, 0.35, n)
    cuts = np.quantile(rating_score, [0.0125, 0.0197, 0.137, 0.851])
    rating = np.select(
        [rating_score < cuts[0], rating_score < cuts[1], rating_score < cuts[2], rating_score < cuts[3]],
        ["Special Measures", "Serious Weaknesses", "Requires improvement", "Good"],
        default="Outstanding",
    )
    rating = np.where(rng.random(n) < 0.033, "", rating)
    pupils = np.clip(np.round(np.exp(rng.normal(np.log(1000), 0.38, n))), 43, 2990).astype(int)
    frame = pd.DataFrame(
        {
            "URN": [str(900001 + i) for i in range(n)],
            "SCHNAME": [f"Synthetic School {i + 1:04d}" for i in range(n)],
            "LEA": school.LEA,
            "LANAME": school.LANAME,
            "gor_name": school.gor_name,
            "MINORGROUP": np.where(rng.random(n) < 0.823, "Academy", "Maintained school"),
            "OFSTEDRATING": rating,
            "TOTPUPS": pupils,
            "ATT8SCR": np.round(att8, 1),
            "P8MEA": np.round(p8, 2),
            "PTFSM6CLA1A": np.round(fsm, 1),
            "PERCTOT": np.round(absence, 1),
            "PNUMEAL": np.round(eal, 1),
            "LA_TUTORING": school.LA_TUTORING,
            "LA_OFFICERS": school.LA_OFFICERS,
            "LA_EARLY_YEARS": school.LA_EARLY_YEARS,
        }
    )
    # results suppressed for about 3% of schools, as in the published tables
    hidden = rng.random(n) < 0.03
    frame.loc[hidden, ["ATT8SCR", "P8MEA"]] = np.nan
    frame["OFSTEDRATING"] = frame["OFSTEDRATING"].replace("", np.nan)
    truth = dict(t)
    truth["region_effects"] = region_effect.round(6).to_dict()
    truth["la_effects"] = dict(zip(las.LANAME, las.u_la.round(6)))
    truth["n_schools"] = n
    truth["n_la"] = n_la
    return Simulation(frame, truth)
