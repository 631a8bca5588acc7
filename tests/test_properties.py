"""Property tests on simulated data (hypothesis chooses the designs)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lme_helpers as lh

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


def fit_design(d):
    data, truth = lh.simulate(n_groups=d["n_groups"], group_size=(d["low"], d["low"] + d["extra"]),
                              tau0=d["tau0"], sigma=d["sigma"], seed=d["seed"])
    return lh.fit("y ~ x + (1 | group)", data, warn=False), truth


@SETTINGS
@given(designs)
def test_icc_lies_in_unit_interval(d):
    m, _ = fit_design(d)
    assert 0.0 <= lh.icc(m) <= 1.0


@SETTINGS
@given(designs)
def test_shrinkage_factor_increases_with_group_size(d):
    m, _ = fit_design(d)
    s = lh.shrinkage(m).sort_values("n")
    assert (np.diff(s.shrinkage.to_numpy()) >= -1e-12).all()
    assert ((s.shrinkage >= 0) & (s.shrinkage <= 1)).all()


@SETTINGS
@given(designs)
def test_partial_pooling_lies_between_no_and_complete_pooling(d):
    m, _ = fit_design(d)
    s = lh.shrinkage(m)
    lo = np.minimum(s.no_pooling, s.complete_pooling) - 1e-9
    hi = np.maximum(s.no_pooling, s.complete_pooling) + 1e-9
    assert ((s.partial_pooling >= lo) & (s.partial_pooling <= hi)).all()


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 1000))
def test_estimates_recover_truth_at_large_sizes(seed):
    data, truth = lh.simulate(n_groups=150, group_size=30, intercept=1.0, slope=0.5, group_slope=0.3,
                              tau0=0.6, tau1=0.25, corr=0.3, sigma=1.0, seed=seed)
    m = lh.fit("y ~ x + w + (x | group)", data, warn=False)
    fe = m.fixed_effects()
    for term, value in [("Intercept", 1.0), ("x", 0.5), ("w", 0.3)]:
        assert abs(fe.loc[term, "estimate"] - value) < 4 * fe.loc[term, "std_error"], term
    vc = m.variance_components().set_index(["term", "term2"]).variance
    assert abs(vc[("(Intercept)", "")] - 0.36) < 0.15
    assert abs(vc[("x", "")] - 0.0625) < 0.04
    assert abs(m.sigma2 - 1.0) < 0.06


def test_simulation_is_reproducible_and_three_level():
    a, ta = lh.simulate(n_groups=12, group_size=(3, 9), n_clusters=4, tau_cluster=0.5, seed=9)
    b, _ = lh.simulate(n_groups=12, group_size=(3, 9), n_clusters=4, tau_cluster=0.5, seed=9)
    assert a.equals(b)
    assert a.cluster.nunique() == 4 and "tau_cluster_sq" in ta
    assert (a.groupby("group").cluster.nunique() == 1).all()
