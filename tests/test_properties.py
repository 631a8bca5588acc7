"""Property tests: statements a wrong formula breaks, on designs hypothesis chooses.

Each property is checked against something computed independently of the function under
test: the shrinkage factor against its closed form and against the BLUPs of the engine, the
ICC against the correlation of simulated pairs, the design effect against the variance of a
mean of equicorrelated observations, the balanced REML fit against the ANOVA estimators.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lme_helpers as lh
from lme_helpers.inference import simulate_response

designs = st.fixed_dictionaries(
    {
        "n_groups": st.integers(6, 25),
        "low": st.integers(2, 6),
        "extra": st.integers(0, 25),
        "tau0": st.floats(0.0, 1.5),
        "sigma": st.floats(0.3, 2.0),
        "seed": st.integers(0, 10_000),
    }
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fit_design(d, formula: str = "y ~ x + (1 | group)"):
    data, truth = lh.simulate(n_groups=d["n_groups"], group_size=(d["low"], d["low"] + d["extra"]),
                              tau0=d["tau0"], sigma=d["sigma"], seed=d["seed"])
    return lh.fit(formula, data, warn=False), truth


def intercept_variance(m) -> float:
    vc = m.variance_components()
    return float(vc.loc[(vc.group == "group") & (vc.term == "(Intercept)"), "variance"].iloc[0])


@SETTINGS
@given(designs)
def test_icc_is_the_correlation_of_two_observations_in_a_group(d):
    """ρ is the correlation of two observations of the same group under the fitted model."""
    m, _ = fit_design(d)
    rng = np.random.default_rng(d["seed"])
    mean = m.model_matrix.to_numpy() @ m.fe_params.to_numpy()
    labels = m.group_column().reset_index(drop=True)
    first = labels.drop_duplicates(keep="first").index.to_numpy()
    second = labels[~labels.index.isin(first)].drop_duplicates(keep="first").index.to_numpy()
    assert len(first) == len(second) == d["n_groups"]
    sims = np.stack([simulate_response(m, rng) - mean for _ in range(2000)])
    a, b = sims[:, first].ravel(), sims[:, second].ravel()
    r = float(a @ b / np.sqrt((a @ a) * (b @ b)))
    rho = lh.icc(m)
    assert rho == pytest.approx(intercept_variance(m) / (intercept_variance(m) + m.sigma2), rel=1e-12, abs=1e-15)
    assert abs(r - rho) < 4.5 * (1 - rho**2) / np.sqrt(a.size) + 1e-9, (r, rho)


@SETTINGS
@given(designs)
def test_shrinkage_factor_is_the_closed_form_and_gives_the_blups(d):
    """λ_j = τ² / (τ² + σ²/n_j) from the fitted variances, and the BLUP is λ_j times the group's mean residual."""
    m, _ = fit_design(d)
    s = lh.shrinkage(m).set_index("level")
    tau2, sigma2 = intercept_variance(m), m.sigma2
    counts = m.group_column().value_counts()
    assert (s.n == counts.reindex(s.index)).all()
    np.testing.assert_allclose(s.shrinkage, tau2 / (tau2 + sigma2 / s.n), rtol=1e-12, atol=1e-15)
    # the raw estimate: the intercept plus the mean residual from the fixed part, by hand
    resid = m.y.to_numpy() - m.model_matrix.to_numpy() @ m.fe_params.to_numpy()
    mean_resid = (pd_series(resid, m.group_column().to_numpy())).reindex(s.index)
    intercept = m.fe_params["Intercept"]
    np.testing.assert_allclose(s.no_pooling, intercept + mean_resid, rtol=1e-10, atol=1e-12)
    assert (s.complete_pooling == intercept).all()
    # the engine's BLUPs (computed without λ) are λ_j times the raw deviation
    blups = m.blups("group").set_index("level").estimate.reindex(s.index)
    np.testing.assert_allclose(blups, s.shrinkage * mean_resid, rtol=1e-6, atol=1e-9 * np.sqrt(sigma2))
    np.testing.assert_allclose(s.partial_pooling, intercept + blups, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.pulled, s.no_pooling - s.partial_pooling, rtol=1e-12, atol=1e-12)
    assert s.n.is_monotonic_increasing  # sorted by group size


def pd_series(values, labels):
    import pandas as pd

    return pd.Series(values).groupby(labels).mean()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(3, 20), st.integers(2, 15), st.floats(0.0, 1.0), st.integers(0, 10_000))
def test_balanced_null_model_is_the_anova_estimator(k, n, tau, seed):
    """Balanced one-way design, REML: τ̂ = (MSB − MSW)/n and σ̂² = MSW when positive, so λ = 1 − 1/F."""
    data, _ = lh.simulate(n_groups=k, group_size=n, slope=0.0, tau0=tau, sigma=1.0, seed=seed)
    m = lh.fit("y ~ 1 + (1 | group)", data, warn=False)
    y = data.y.to_numpy().reshape(k, n)  # simulate() writes the groups one after another
    msb = n * np.sum((y.mean(axis=1) - y.mean()) ** 2) / (k - 1)
    msw = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2) / (k * (n - 1))
    F = msb / msw
    lam = lh.shrinkage(m).shrinkage.to_numpy()
    if F > 1.001:
        assert intercept_variance(m) == pytest.approx((msb - msw) / n, rel=1e-5)
        assert m.sigma2 == pytest.approx(msw, rel=1e-5)
        np.testing.assert_allclose(lam, 1 - 1 / F, rtol=1e-4)
    elif F < 0.999:
        assert intercept_variance(m) < 1e-8 * msw and lam.max() < 1e-6
        assert m.sigma2 == pytest.approx(np.var(y, ddof=1), rel=1e-5)  # all variance is residual


@pytest.mark.parametrize("m", [1, 2, 5, 12, 30])
@pytest.mark.parametrize("rho", [0.0, 0.05, 0.17, 0.5, 1.0])
def test_design_effect_is_the_variance_ratio_of_a_cluster_mean(m, rho):
    """Var(ȳ) of 4 clusters of m equicorrelated observations over Var(ȳ) of 4m independent ones."""
    from scipy.linalg import block_diag

    total = 4 * m
    cov = block_diag(*[(1 - rho) * np.eye(m) + rho * np.ones((m, m))] * 4)
    var_clustered = np.ones(total) @ cov @ np.ones(total) / total**2
    var_srs = 1 / total
    assert lh.design_effect(rho, m) == pytest.approx(var_clustered / var_srs, rel=1e-9)


def test_design_effect_rejects_impossible_input():
    for rho in (-0.01, 1.01):
        with pytest.raises(ValueError, match="icc must lie in"):
            lh.design_effect(rho, 10)
    with pytest.raises(ValueError, match="mean_cluster_size must be at least 1"):
        lh.design_effect(0.1, 0.5)
    assert lh.design_effect(1.0, 1) == 1.0 and lh.design_effect(0.0, 1.0) == 1.0


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 1000))
def test_estimates_recover_truth_at_large_sizes(seed):
    data, truth = lh.simulate(n_groups=150, group_size=30, intercept=1.0, slope=0.5, group_slope=0.3,
                              tau0=0.6, tau1=0.25, corr=0.3, sigma=1.0, seed=seed)
    m = lh.fit("y ~ x + w + (x | group)", data, warn=False)
    fe = m.fixed_effects()
    for term, value in [("Intercept", 1.0), ("x", 0.5), ("w", 0.3)]:
        assert abs(fe.loc[term, "estimate"] - value) < 4 * fe.loc[term, "std_error"], term
    vc = m.variance_components().set_index(["term", "term2"])
    # about four large-sample standard errors each: the variances' SEs are roughly
    # sqrt(2 / (J - 1)) (tau + sigma2 / m) for the groups and sqrt(2 / (n - 2J)) sigma2 for the residual
    j, n = 150, 150 * 30
    assert abs(vc.variance[("(Intercept)", "")] - 0.36) < 4 * np.sqrt(2 / (j - 1)) * (0.36 + 1 / 30)
    assert abs(vc.variance[("x", "")] - 0.0625) < 4 * np.sqrt(2 / (j - 1)) * (0.0625 + 1 / 30)
    assert abs(vc["corr"][("(Intercept)", "x")] - 0.3) < 0.45
    assert abs(m.sigma2 - 1.0) < 4 * np.sqrt(2 / (n - 2 * j))


def test_simulation_is_reproducible_and_three_level():
    a, ta = lh.simulate(n_groups=12, group_size=(3, 9), n_clusters=4, tau_cluster=0.5, seed=9)
    b, _ = lh.simulate(n_groups=12, group_size=(3, 9), n_clusters=4, tau_cluster=0.5, seed=9)
    c, _ = lh.simulate(n_groups=12, group_size=(3, 9), n_clusters=4, tau_cluster=0.5, seed=10)
    assert a.equals(b) and not a.y.equals(c.y)
    assert a.cluster.nunique() == 4 and ta["tau_cluster_sq"] == 0.25
    assert (a.groupby("group").cluster.nunique() == 1).all()
    assert ta["icc"] == pytest.approx((0.25 + 0.25) / (0.25 + 0.25 + 1.0))
    # clusters take the groups in turn: g01 → c01, g02 → c02, ..., g05 → c01
    first = a.groupby("group").cluster.first()
    assert first["g01"] == first["g05"] == "c01" and first["g02"] == "c02"
    # the cluster effects are in the data: group means shift by v of their cluster
    d, _ = lh.simulate(n_groups=12, group_size=(3, 9), n_clusters=4, tau_cluster=0.0, seed=9)
    shift = (a.y - d.y).groupby(a.cluster).agg(["min", "max"])
    np.testing.assert_allclose(shift["min"], ta["v"], rtol=1e-12)
    np.testing.assert_allclose(shift["max"], ta["v"], rtol=1e-12)
