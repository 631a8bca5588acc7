"""lme_helpers.fit: translation, robustness, results and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import lme_helpers as lh


@pytest.fixture
def small():
    data, _ = lh.simulate(n_groups=20, group_size=10, slope=0.5, tau0=0.6, sigma=1.0, seed=3)
    return data


# ----- bad input ---------------------------------------------------------------


def test_missing_column_is_named(small):
    with pytest.raises(ValueError, match="Column 'z' \\(a fixed effect\\) is not in the data"):
        lh.fit("y ~ z + (1 | group)", small)


def test_missing_group_column_is_named(small):
    with pytest.raises(ValueError, match="Column 'school' \\(the grouping factor"):
        lh.fit("y ~ x + (1 | school)", small)


def test_case_hint_for_missing_column(small):
    with pytest.raises(ValueError, match="Did you mean 'x'"):
        lh.fit("y ~ X + (1 | group)", small)


def test_rows_with_missing_values_are_dropped_and_reported(small):
    data = small.copy()
    data.loc[[0, 5, 9], "x"] = np.nan
    data.loc[[9, 11], "y"] = np.nan
    with pytest.warns(lh.DataWarning, match=r"Dropped 4 of 200 rows with missing values \(y: 2, x: 3\)"):
        m = lh.fit("y ~ x + (1 | group)", data)
    assert m.nobs == 196 and m.n_dropped == 4
    assert "4 rows with missing values removed" in m.summary()


def test_unused_columns_with_missing_values_do_not_drop_rows(small):
    data = small.copy()
    data["unused"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", lh.DataWarning)
        assert lh.fit("y ~ x + (1 | group)", data).nobs == 200


def test_single_group_is_an_error(small):
    data = small.assign(one="a")
    with pytest.raises(ValueError, match="Grouping factor 'one' has only 1 level"):
        lh.fit("y ~ x + (1 | one)", data)


def test_all_groups_of_size_one_is_an_error(small):
    data = small.assign(row=np.arange(len(small)).astype(str))
    with pytest.raises(ValueError, match="every group has a single observation"):
        lh.fit("y ~ x + (1 | row)", data)


def test_some_groups_of_size_one_warn(small):
    data = small.copy()
    data.loc[0, "group"] = "lonely"
    with pytest.warns(lh.DataWarning, match="1 of 21 groups of 'group' have a single observation"):
        lh.fit("y ~ x + (1 | group)", data)


def test_non_numeric_response_is_an_error(small):
    data = small.assign(label=np.where(small.y > 0, "high", "low"))
    with pytest.raises(ValueError, match="The response 'label' must be numeric"):
        lh.fit("label ~ x + (1 | group)", data)


def test_constant_predictor_is_named(small):
    data = small.assign(k=2.0)
    with pytest.raises(ValueError, match="Fixed-effect term 'k' is constant"):
        lh.fit("y ~ x + k + (1 | group)", data)


def test_collinear_predictors_are_an_error(small):
    data = small.assign(x2=2 * small.x)
    with pytest.raises(ValueError, match="linearly dependent"):
        lh.fit("y ~ x + x2 + (1 | group)", data)


def test_non_numeric_slope_is_named(small):
    data = small.assign(f=np.where(small.x > 0, "a", "b"))
    with pytest.raises(ValueError, match="Random slope 'f'"):
        lh.fit("y ~ x + (f | group)", data)


def test_formula_without_random_effects_is_an_error(small):
    with pytest.raises(ValueError, match="has no random-effects term"):
        lh.fit("y ~ x", small)


def test_unsupported_structure_names_the_term(small):
    data = small.assign(h=np.where(np.arange(len(small)) % 2 == 0, "u", "v"))
    with pytest.raises(ValueError, match=r"'\(x \| h\)' has correlated effects on 'h'"):
        lh.fit("y ~ x + (1 | group) + (x | h)", data)


def test_data_must_be_a_dataframe():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        lh.fit("y ~ x + (1 | g)", {"y": [1, 2]})


# ----- warnings about the fit --------------------------------------------------------


def test_singular_fit_warns_in_plain_language():
    data, _ = lh.simulate(n_groups=15, group_size=8, tau0=0.0, sigma=1.0, seed=11)
    # remove all between-group differences: the variance estimate must be zero
    data["y"] = data.y - data.groupby("group").y.transform("mean") + data.y.mean()
    with pytest.warns(lh.SingularFitWarning, match="variance of \\(Intercept\\) for 'group' is estimated as zero"):
        m = lh.fit("y ~ x + (1 | group)", data)
    assert m.singular


def test_lbfgs_zero_variance_trap_is_avoided(exam):
    """statsmodels' lbfgs alone jumps to a zero variance with an infinite log-likelihood here."""
    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about the trap it falls into
        bad = smf.mixedlm("normexam ~ 1", exam, groups=exam["school"]).fit(method=["lbfgs"])
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    assert not np.isfinite(bad.llf) or bad.cov_re.iloc[0, 0] < 1e-6
    assert np.isfinite(m.loglik) and m.variance_components().variance.iloc[0] > 0.1


# ----- results ------------------------------------------------------------------------


def test_fixed_effects_columns_and_se_options(exam):
    m = lh.fit("normexam ~ standLRT + (1 | school)", exam)
    fe = m.fixed_effects()
    assert list(fe.columns) == ["estimate", "std_error", "df", "statistic", "p_value", "conf_low", "conf_high"]
    z = m.fixed_effects(method="z")
    assert np.isinf(z.df).all() and np.allclose(z.std_error, fe.std_error)
    # the t distribution has heavier tails than the normal: larger p-values, wider intervals
    assert (fe.p_value >= z.p_value).all()
    assert ((fe.conf_high - fe.conf_low) > (z.conf_high - z.conf_low)).all()
    hess = m.fixed_effects(method="z", se="hessian")
    assert np.allclose(hess.estimate, fe.estimate)
    # at a proper optimum the observed-information SEs agree with lme4's closely (ratios 1.000-1.003)
    ratio = hess.std_error / fe.std_error
    assert ((ratio > 0.999) & (ratio < 1.01)).all(), ratio
    assert not np.allclose(hess.std_error, fe.std_error, rtol=1e-9)
    with pytest.raises(ValueError, match="`se` must be"):
        m.fixed_effects(method="z", se="robust")
    with pytest.raises(ValueError, match="`method` must be"):
        m.fixed_effects(method="kenward-roger")
    with pytest.raises(ValueError, match="se='hessian' goes with method='z'"):
        m.fixed_effects(se="hessian")


def test_predict_with_and_without_random_effects(exam):
    m = lh.fit("normexam ~ standLRT + (standLRT | school)", exam)
    cond = m.predict(exam)
    marg = m.predict(exam, include_random=False)
    b = m.blups().pivot(index="level", columns="term", values="estimate")
    row = exam.iloc[10]
    expected = marg.iloc[10] + b.loc[str(row.school), "(Intercept)"] + b.loc[str(row.school), "standLRT"] * row.standLRT
    assert cond.iloc[10] == pytest.approx(expected)
    assert np.allclose(m.fitted().to_numpy(), np.asarray(m.statsmodels.fittedvalues), atol=1e-5)
    assert np.allclose(m.residuals() + m.fitted(), exam.normexam)


def test_predict_new_group_uses_population_average(exam):
    m = lh.fit("normexam ~ standLRT + (1 | school)", exam)
    new = pd.DataFrame({"standLRT": [0.0, 1.0], "school": ["new school", "1"]})
    pred = m.predict(new)
    beta = m.fixed_effects().estimate
    assert pred.iloc[0] == pytest.approx(beta["Intercept"])
    u1 = m.blups().set_index("level").loc["1", "estimate"]
    assert pred.iloc[1] == pytest.approx(beta["Intercept"] + beta["standLRT"] + u1)


def test_summary_and_repr(exam):
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    text = m.summary()
    assert "REML" in text and "school" in text and "Residual" in text
    assert "logLik" in repr(m)


def test_aic_bic_follow_lme4_parameter_count(exam):
    m = lh.fit("normexam ~ standLRT + (standLRT | school)", exam, reml=False)
    assert m.n_params == 6
    assert m.aic == pytest.approx(-2 * m.loglik + 12)
    assert m.bic == pytest.approx(-2 * m.loglik + np.log(4059) * 6)


def test_refit_switches_estimation_method(exam):
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    ml = m.refit(reml=False)
    assert ml.reml is False and m.refit(reml=True) is m
    assert ml.loglik > m.loglik


def test_shrinkage_table_identity(exam):
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    s = lh.shrinkage(m)
    lam = s.shrinkage
    assert np.allclose(s.partial_pooling, lam * s.no_pooling + (1 - lam) * s.complete_pooling, atol=1e-8)
    with pytest.raises(ValueError, match="single random intercept"):
        lh.shrinkage(lh.fit("normexam ~ standLRT + (standLRT | school)", exam))


def test_compare_refits_with_ml_when_fixed_effects_differ(exam):
    a = lh.fit("normexam ~ 1 + (1 | school)", exam)
    b = lh.fit("normexam ~ standLRT + (1 | school)", exam)
    table = lh.compare(a, b)
    assert (table.fit == "ML").all()
    assert "because the models differ in their fixed effects" in table.attrs["note"]
    assert np.isnan(table.p_boundary.iloc[1])


def test_compare_boundary_correction_for_random_slope(exam):
    a = lh.fit("normexam ~ standLRT + (1 | school)", exam)
    b = lh.fit("normexam ~ standLRT + (standLRT | school)", exam)
    table = lh.compare(a, b)
    assert (table.fit == "REML").all()
    row = table.iloc[1]
    assert row.df == 2
    from scipy import stats

    assert row.p_boundary == pytest.approx(0.5 * stats.chi2.sf(row.chisq, 1) + 0.5 * stats.chi2.sf(row.chisq, 2))


def test_compare_rejects_different_rows(exam):
    a = lh.fit("normexam ~ 1 + (1 | school)", exam)
    b = lh.fit("normexam ~ 1 + (1 | school)", exam.iloc[:2000])
    with pytest.raises(ValueError, match="different numbers of rows"):
        lh.compare(a, b)


def test_boundary_p_value_is_half_the_naive_one():
    from scipy import stats

    assert lh.boundary_p_value(3.0) == pytest.approx(0.5 * stats.chi2.sf(3.0, 1))
    assert lh.boundary_p_value(0.0) == pytest.approx(1.0)


def test_icc_adds_the_intercept_variances_of_every_level():
    """Nested and crossed models: ρ = Σ τ²₀ / (Σ τ²₀ + σ²), and variance_partition shares add up to it."""
    for name, formula in [("pastes", "strength ~ 1 + (1 | batch/cask)"),
                          ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)")]:
        m = lh.fit(formula, lh.data.load(name))
        vc = m.variance_components()
        tau = vc.loc[vc.group != "Residual", "variance"]
        assert len(tau) == 2 and (tau > 0).all()
        assert lh.icc(m) == pytest.approx(tau.sum() / (tau.sum() + m.sigma2), rel=1e-12)
        assert lh.icc(m, slopes="zero") == lh.icc(m)
        vp = lh.variance_partition(m)
        assert list(vp.level) == list(vc.group)
        np.testing.assert_allclose(vp.variance, vc.variance, rtol=1e-12)
        assert vp.share.sum() == pytest.approx(1.0)
        assert vp.share.iloc[:-1].sum() == pytest.approx(lh.icc(m), rel=1e-12)
    with pytest.raises(ValueError, match="`slopes` must be 'average' or 'zero'"):
        lh.icc(m, slopes="mean")


def test_icc_conventions_for_random_slopes(exam):
    m = lh.fit("normexam ~ standLRT + (standLRT | school)", exam)
    vc = m.variance_components().set_index(["term", "term2"]).variance
    at_zero = vc[("(Intercept)", "")] / (vc[("(Intercept)", "")] + m.sigma2)
    assert lh.icc(m, slopes="zero") == pytest.approx(at_zero)
    x = exam.standLRT
    avg = vc[("(Intercept)", "")] + 2 * vc[("(Intercept)", "standLRT")] * x.mean() + vc[("standLRT", "")] * (x**2).mean()
    assert lh.icc(m) == pytest.approx(avg / (avg + m.sigma2))


def test_badly_scaled_predictor_is_recovered(exam):
    """statsmodels' default fit stops 400 log-likelihood units short here and reports converged=True."""
    import statsmodels.api as sm

    big = exam.assign(lrt_big=exam.standLRT * 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own warnings on its way to the wrong answer
        plain = sm.MixedLM.from_formula("normexam ~ lrt_big", big, groups="school", re_formula="1 + lrt_big").fit()
    ours = lh.fit("normexam ~ lrt_big + (lrt_big | school)", big)
    assert plain.converged and plain.llf < ours.loglik - 100
    # the ML log-likelihood does not depend on the predictor's units (REML's shifts by log 1000)
    ours = ours.refit(reml=False)
    reference = lh.fit("normexam ~ standLRT + (standLRT | school)", exam, reml=False)
    assert ours.loglik == pytest.approx(reference.loglik, abs=1e-4)
    assert not ours.singular
    slope_var = ours.variance_components().set_index(["term", "term2"]).variance[("lrt_big", "")]
    ref_var = reference.variance_components().set_index(["term", "term2"]).variance[("standLRT", "")]
    assert slope_var * 1e6 == pytest.approx(ref_var, rel=1e-3)


def test_show_prints_the_table_and_never_an_address_or_zero_p(sleep):
    """A shown table's plain-text form (what a saved notebook keeps) is the formatted table."""
    shown = lh.show(lh.fit("Reaction ~ Days + (Days | Subject)", sleep).fixed_effects())
    text = repr(shown)
    assert " at 0x" not in text and "Days" in text and "< 0.001" in text and "0.000" not in text
    assert "< 0.001" in shown.to_html()
