"""Small value tests of the statistics helpers, written to kill the mutants that the larger tests let
through (make mutate lists the survivors in bench/mutation-survivors.md)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import lme_helpers as lh
from lme_helpers import fitting
from lme_helpers.inference import format_p, percentile_interval
from lme_helpers.tables import _format_df, show
from lme_helpers.variance import variance_partition

# ----- boundary-corrected p-values and compare ------------------------------------------


@pytest.mark.parametrize("statistic", [0.0, 0.3, 2.71, 9.0])
@pytest.mark.parametrize("n_cov", [0, 1, 2])
def test_boundary_p_value_is_the_chi_square_mixture(statistic, n_cov):
    lower = stats.chi2.sf(statistic, n_cov) if n_cov else float(statistic == 0)
    expected = 0.5 * lower + 0.5 * stats.chi2.sf(statistic, n_cov + 1)
    assert lh.boundary_p_value(statistic, n_cov=n_cov) == pytest.approx(expected, rel=1e-12)


def test_boundary_p_value_of_a_negative_statistic_is_one():
    assert lh.boundary_p_value(-1e-9) == 1.0
    assert lh.boundary_p_value(-0.5, n_cov=1) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def sleep_models(sleep):
    return {
        "ols": smf.ols("Reaction ~ Days", sleep).fit(),
        "intercept": lh.fit("Reaction ~ Days + (1 | Subject)", sleep, reml=False),
        "slope": lh.fit("Reaction ~ Days + (Days | Subject)", sleep, reml=False),
        "intercept_reml": lh.fit("Reaction ~ Days + (1 | Subject)", sleep),
    }


def test_compare_against_ols_by_hand(sleep_models, sleep):
    ols, mixed = sleep_models["ols"], sleep_models["intercept"]
    table = lh.compare(mixed, ols, names=["mixed", "ols"])  # ordered by the number of parameters
    assert list(table.model) == ["ols", "mixed"] and list(table.npar) == [3, 4]
    n = len(sleep)
    assert table.loglik.iloc[0] == pytest.approx(ols.llf, rel=1e-12)
    assert table.AIC.iloc[0] == pytest.approx(-2 * ols.llf + 2 * 3, rel=1e-12)
    assert table.BIC.iloc[1] == pytest.approx(-2 * mixed.loglik + np.log(n) * 4, rel=1e-12)
    chisq = 2 * (mixed.loglik - ols.llf)
    assert table.chisq.iloc[1] == pytest.approx(chisq, rel=1e-10) and table.df.iloc[1] == 1
    assert table.p_value.iloc[1] == pytest.approx(stats.chi2.sf(chisq, 1), rel=1e-8)
    assert table.p_boundary.iloc[1] == pytest.approx(0.5 * stats.chi2.sf(chisq, 1), rel=1e-8)
    assert list(table.fit) == ["ML", "ML"] and table.attrs["note"] == ""
    # a REML fit against OLS is refitted by ML, and the note says why
    refitted = lh.compare(ols, sleep_models["intercept_reml"])
    assert refitted.loglik.iloc[1] == pytest.approx(mixed.loglik, rel=1e-9)
    assert "an OLS fit's log-likelihood is a maximum-likelihood one" in refitted.attrs["note"]


def test_compare_of_three_models_tests_each_against_the_one_before(sleep_models):
    ols, a, b = sleep_models["ols"], sleep_models["intercept"], sleep_models["slope"]
    table = lh.compare(b, ols, a)
    assert list(table.npar) == [3, 4, 6]
    assert table.chisq.iloc[2] == pytest.approx(2 * (b.loglik - a.loglik), rel=1e-10)
    assert table.df.iloc[2] == 2
    assert table.p_boundary.iloc[2] == pytest.approx(lh.boundary_p_value(table.chisq.iloc[2], n_cov=1), rel=1e-12)
    assert table.model.iloc[0] == "Reaction ~ Days"  # names default to the formulas


def test_compare_refit_ml_on_request(sleep_models):
    reml = sleep_models["intercept_reml"]
    same = lh.compare(reml, sleep_models["slope"].refit(reml=True), refit="ml")
    assert (same.fit == "ML").all() and "as requested" in same.attrs["note"]
    kept = lh.compare(reml, sleep_models["slope"].refit(reml=True))
    assert (kept.fit == "REML").all() and kept.loglik.iloc[0] == pytest.approx(reml.loglik, rel=1e-12)


def test_compare_rejects_bad_arguments(sleep_models):
    a, b = sleep_models["intercept"], sleep_models["slope"]
    with pytest.raises(ValueError, match="at least two models"):
        lh.compare(a)
    with pytest.raises(ValueError, match="`method` must be"):
        lh.compare(a, b, method="exact")
    with pytest.raises(ValueError, match="`refit` must be"):
        lh.compare(a, b, refit="yes")
    with pytest.raises(ValueError, match="one entry per model"):
        lh.compare(a, b, names=["one"])
    with pytest.raises(TypeError, match="compare\\(\\) takes LMEResult"):
        lh.compare(a, "b")


def test_bootstrap_lrt_counts_every_replicate(sleep_models):
    ols, mixed = sleep_models["ols"], sleep_models["intercept"]
    out = lh.bootstrap_lrt(ols, mixed, nsim=19, seed=4)
    again = lh.bootstrap_lrt(ols, mixed, nsim=19, seed=4)
    np.testing.assert_array_equal(out["replicates"], again["replicates"])
    assert out["statistic"] == pytest.approx(2 * (mixed.loglik - ols.llf), rel=1e-10)
    extreme = int(np.sum(out["replicates"] >= out["statistic"]))
    assert out["p_value"] == (1 + extreme) / 20 and (out["nsim"], out["seed"]) == (19, 4)
    assert (out["replicates"] >= 0).all() and (out["replicates"] == 0).any()  # the null: many on the boundary
    with pytest.raises(TypeError, match="larger model"):
        lh.bootstrap_lrt(mixed, ols, nsim=2)


def test_compare_bootstrap_column(sleep_models):
    ols, mixed = sleep_models["ols"], sleep_models["intercept"]
    table = lh.compare(ols, mixed, method="bootstrap", nsim=9, seed=2)
    assert table.p_bootstrap.iloc[1] == lh.bootstrap_lrt(ols, mixed, nsim=9, seed=2)["p_value"]
    assert np.isnan(table.p_bootstrap.iloc[0]) and table.attrs["nsim"] == 9 and table.attrs["seed"] == 2


# ----- tables -------------------------------------------------------------------------


def test_format_p_and_df():
    assert format_p(0.000999) == "< 0.001" and format_p(0.001) == "0.001" and format_p(0.04567) == "0.0457"
    assert format_p(None) == "" and format_p(float("inf")) == ""
    assert _format_df(17.0) == "17" and _format_df(5.33) == "5.3" and _format_df(float("inf")) == "∞"
    assert _format_df(None) == "" and _format_df(float("nan")) == ""


def test_show_formats_each_kind_of_column():
    table = pd.DataFrame({"estimate": [1.23456, -0.5], "df": [17.0, 5.33], "p_value": [3e-6, 0.0456],
                          "p_boundary": [np.nan, 0.2], "npar": [3, 4], "name": ["a", "b"]})
    shown = show(table, digits=2)
    assert shown.data is table
    text = repr(shown).splitlines()
    assert text[1].split() == ["0", "1.23", "17", "<", "0.001", "NaN", "3", "a"]
    assert text[2].split() == ["1", "-0.50", "5.3", "0.0456", "0.2", "4", "b"]
    html = shown.to_html()
    assert "< 0.001" in html or "&lt; 0.001" in html
    assert show(table.estimate).data.columns.tolist() == ["estimate"]
    assert 'id="T_lme' in html and html == show(table, digits=2).to_html()  # a stable id
    other = show(table.assign(estimate=[1.5, -0.5]), digits=2).to_html()
    ids = [re.search(r'id="(T_lme\w+)"', h).group(1) for h in (html, other)]
    assert ids[0] != ids[1]  # and another for another table (a page shows several)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", show(pd.DataFrame({"estimate": [1.5, np.nan]})).to_html())
    assert cells == ["1.500", ""]  # a missing value is a blank cell


# ----- formulas ------------------------------------------------------------------------


def test_random_term_names_and_counts():
    p = lh.parse_formula("y ~ x + (1 + x + z | g) + (1 | a:b) + (1 | c/d)")
    assert [t.group_name for t in p.random] == ["g", "a:b", "c", "d:c"]
    assert [t.n_effects for t in p.random] == [3, 1, 1, 1]
    assert p.random[0].slopes == ("x", "z") and p.random[0].correlated
    assert p.fixed_formula == "y ~ x" and p.original == "y ~ x + (1 + x + z | g) + (1 | a:b) + (1 | c/d)"
    assert [t.nested for t in p.random] == [False, False, True, True]


# ----- shrinkage -------------------------------------------------------------------------


def test_shrinkage_factor_checks_its_input_and_keeps_its_shape():
    assert lh.shrinkage_factor(0.0, 1.0, 5) == 0.0  # no between-group variance: complete pooling
    assert isinstance(lh.shrinkage_factor(1.0, 1.0, 1), float) and lh.shrinkage_factor(1.0, 1.0, 1) == 0.5
    out = lh.shrinkage_factor(1.0, 2.0, np.array([1, 2, 4]))
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    np.testing.assert_allclose(out, [1 / 3, 1 / 2, 2 / 3])
    for args in [(-0.1, 1.0, 5), (0.1, 0.0, 5), (0.1, -1.0, 5), (0.1, 1.0, 0), (0.1, 1.0, np.array([3, 0]))]:
        with pytest.raises(ValueError, match="Need tau2 >= 0"):
            lh.shrinkage_factor(*args)


def test_shrinkage_needs_a_single_random_intercept(exam):
    crossed = lh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", lh.data.load("penicillin"))
    with pytest.raises(ValueError, match="single random intercept"):
        lh.shrinkage(crossed)


def test_shrinkage_of_a_model_without_fixed_intercept(exam):
    m = lh.fit("normexam ~ 0 + standLRT + (1 | school)", exam)
    s = lh.shrinkage(m, group="school")
    assert (s.complete_pooling == 0.0).all()
    blups = m.blups().set_index("level").estimate
    np.testing.assert_allclose(s.set_index("level").partial_pooling, blups.reindex(s.level), rtol=1e-12)
    assert s.equals(lh.shrinkage(m))
    assert list(s.columns) == ["level", "n", "no_pooling", "complete_pooling", "partial_pooling", "shrinkage",
                               "pulled"]
    assert s.index.equals(pd.RangeIndex(len(s))) and s.n.is_monotonic_increasing
    with pytest.raises(ValueError, match="'School' is not the model's grouping factor, which is 'school'"):
        lh.shrinkage(m, group="School")


def test_show_writes_every_kind_of_df_column_as_degrees_of_freedom():
    for name in ("df", "num_df", "den_df", "npar", "DenDF", "NumDF"):
        text = str(show(pd.DataFrame({name: [12.3456, 3.0]})))
        assert "12.3" in text and "12.346" not in text and "3.000" not in text, name


def test_simulated_schools_keep_their_authorities_and_values_in_range():
    """Authorities of 3 to 97 schools (both bounds bind for some seeds), early-years places 40-95%."""
    from lme_helpers.simulation import simulate_schools

    smallest, largest = [], []
    for seed in range(30):
        data = simulate_schools(seed).data
        sizes = data.groupby("LANAME").size()
        smallest.append(sizes.min())
        largest.append(sizes.max())
        early = data.groupby("LANAME").LA_EARLY_YEARS.first()
        assert early.between(40, 95).all() and (data.PNUMEAL >= 0).all()
    assert min(smallest) == 3 and max(largest) == 97
    # seed 201 draws one authority's early-years figure below 40 (38.7): it is clipped to 40
    early = simulate_schools(201).data.groupby("LANAME").LA_EARLY_YEARS.first()
    assert early.min() == 40.0 and early.between(40, 95).all()


# ----- what fit tried, and its fallbacks ------------------------------------------------


def test_trace_records_the_fallback_only_when_the_first_answer_is_not_a_maximum(exam, sleep):
    """sleepstudy's first answer passes the optimality probe; the exam null model's (ML) stops
    0.25 log-likelihood units short, so Powell's method and a BFGS polish follow."""
    good = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    assert [t["method"] for t in good.trace] == ["default", "lme4 formulation: polish in θ"]
    assert good.trace[0]["checked"] is True
    short = lh.fit("normexam ~ 1 + (1 | school)", exam, reml=False)
    assert [t["method"] for t in short.trace] == ["default", "powell", "bfgs polish", "lme4 formulation: polish in θ"]
    assert short.trace[0]["llf"] < short.trace[1]["llf"] - 0.1
    assert short.trace[2]["checked"] is True


def test_nelder_mead_is_tried_when_the_other_optimisers_fail(exam, monkeypatch):
    import lme_helpers.fitting as fitting

    real = fitting._quiet_fit

    def failing(model, **kw):  # the default and Powell's method find no finite likelihood
        return None if kw.get("method") in (None, ["powell"]) else real(model, **kw)

    monkeypatch.setattr(fitting, "_quiet_fit", failing)
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    assert [t["method"] for t in m.trace][:3] == ["default", "powell", "nelder-mead"]
    assert m.converged
    monkeypatch.setattr(fitting, "_quiet_fit", lambda model, **kw: None)
    with pytest.raises(RuntimeError, match="No optimiser found a finite log-likelihood"):
        lh.fit("normexam ~ 1 + (1 | school)", exam)


def test_fixed_effects_level_must_be_a_proper_fraction(sleep):
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    for level in (0, 1, 1.5):
        with pytest.raises(ValueError, match="level"):
            m.fixed_effects(level=level)


def test_a_zero_sd_gives_no_correlation_and_no_warning():
    import warnings

    from conftest import ROOT

    d = pd.read_csv(ROOT / "tests" / "fixtures" / "zero_variance.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lh.FitWarning)
        m = lh.fit("y ~ x + (x | g)", d)
    m.theta = np.zeros_like(m.theta)  # both SDs exactly zero, as on the boundary
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vc = m.variance_components()
    assert np.isnan(vc.loc[vc.term2 == "x", "corr"]).all() and (vc.sd.iloc[:2] == 0).all()


# ----- bootstrap, profiles and progress ---------------------------------------------------


def test_bootstrap_takes_a_number_a_series_or_a_dict(sleep):
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    as_series = lh.bootstrap(m, lambda r: r.fe_params, nsim=3, seed=4)
    as_dict = lh.bootstrap(m, lambda r: {"slope": r.fe_params["Days"], "sigma": np.sqrt(r.sigma2)}, nsim=3, seed=4)
    assert list(as_series.columns) == ["Intercept", "Days"] and list(as_dict.columns) == ["slope", "sigma"]
    np.testing.assert_allclose(as_dict.slope, as_series.Days, rtol=1e-12)
    assert as_dict.attrs["observed"] == pytest.approx({"slope": m.fe_params["Days"], "sigma": np.sqrt(m.sigma2)})
    assert as_dict.attrs["seed"] == 4
    assert (as_dict.sigma > 0).all() and as_dict.slope.between(5, 16).all()


def test_bootstrap_intervals_repeat_with_the_same_seed(sleep):
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    a = m.confint("bootstrap", nsim=4, seed=7)
    b = m.confint("bootstrap", nsim=4, seed=7)
    c = m.confint("bootstrap", nsim=4, seed=8)
    assert a.equals(b) and not a.equals(c)
    assert a.attrs["seed"] == 7 and a.attrs["nsim"] == 4


def test_progress_is_one_line_that_ends_when_done(capsys):
    from lme_helpers.inference import _Progress

    bar = _Progress(3, "replicates", True)
    for done in (1, 2, 3):
        bar.update(done)
    err = capsys.readouterr().err
    assert re.fullmatch(r"\rreplicates: 1 of 3 \(\d+ s\)\rreplicates: 3 of 3 \(\d+ s\)\n", err), repr(err)

    class Handle:  # what IPython's display returns in a notebook
        shown: list = []

        def update(self, text):
            self.shown.append(text)

    bar = _Progress(3, "replicates", True)
    bar.handle = Handle()
    bar.update(3)
    assert re.fullmatch(r"replicates: 3 of 3 \(\d+ s\)", Handle.shown[-1])
    assert capsys.readouterr().err == ""


def test_bootstraps_say_what_they_are_counting(sleep, capsys):
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
    lh.bootstrap(m, lh.icc, nsim=2, seed=1, progress=True)
    assert re.search(r"\rbootstrap replicates: 2 of 2 \(\d+ s\)\n$", capsys.readouterr().err)
    ols = smf.ols("Reaction ~ Days", sleep).fit()
    lh.compare(ols, m, method="bootstrap", nsim=2, seed=1, progress=True)
    assert re.search(r"\rbootstrap likelihood-ratio test: 2 of 2 \(\d+ s\)\n$", capsys.readouterr().err)


def test_profile_curve_spans_the_interval_of_its_level(sleep):
    from lme_helpers.inference import profile_confint, profile_curve

    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    name = "sd((Intercept) | Subject)"
    curve = profile_curve(m, name, points=3, level=0.9)
    assert list(curve.columns) == ["value", "zeta"]
    z = stats.norm.ppf(0.95)
    assert curve.zeta.iloc[0] == pytest.approx(-z, abs=1e-3) and curve.zeta.iloc[-1] == pytest.approx(z, abs=1e-3)
    ci = profile_confint(m, level=0.9, parm=[name])
    assert ci.index.name == "parameter" and list(ci.columns) == ["estimate", "conf_low", "conf_high"]
    assert ci.loc[name, "conf_low"] == pytest.approx(curve.value.iloc[0], rel=1e-6)
    assert ci.loc[name, "conf_high"] == pytest.approx(curve.value.iloc[-1], rel=1e-6)
    assert curve.attrs["estimate"] == pytest.approx(ci.loc[name, "estimate"], rel=1e-12)


def test_sds_and_correlations_map_back_to_theta_only_when_valid(sleep):
    """(SDs, correlation, σ) → θ inverts θ → (SDs, correlation, σ); a correlation beyond ±1 has no θ."""
    from lme_helpers.inference import _sv_from_theta, _theta_from_sv

    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    sv = _sv_from_theta(m._engine, m.theta, np.sqrt(m.sigma2))
    back = _theta_from_sv(m._engine, sv)
    np.testing.assert_allclose(back, m.theta, rtol=1e-10)
    for bad in (1.5, -1.2):
        assert _theta_from_sv(m._engine, np.array([sv[0], bad, sv[2], sv[3]])) is None, bad


def test_a_correlation_does_not_depend_on_the_units(sleep):
    """Reaction in seconds rather than milliseconds: SDs below 1, the same correlation."""
    from lme_helpers.inference import parameter_table

    ms = parameter_table(lh.fit("Reaction ~ Days + (Days | Subject)", sleep))
    seconds = sleep.assign(Reaction=sleep.Reaction / 1000)
    s = parameter_table(lh.fit("Reaction ~ Days + (Days | Subject)", seconds))
    name = "cor((Intercept), Days | Subject)"
    assert s[name] == pytest.approx(ms[name], rel=1e-4) and abs(ms[name]) > 0.05
    assert s["sd(Days | Subject)"] == pytest.approx(ms["sd(Days | Subject)"] / 1000, rel=1e-4)


# ----- simulation and shrinkage tables -------------------------------------------------


def test_simulation_reports_the_truth_it_used():
    data, truth = lh.simulate(n_groups=4, group_size=3, intercept=2.5, tau1=0.3, sigma=0.0, seed=3)
    assert truth["intercept"] == 2.5 and truth["tau1_sq"] == pytest.approx(0.09)
    assert list(truth["u"].columns) == ["u0", "u1"] and list(truth["u"].index) == ["g1", "g2", "g3", "g4"]
    # with no residual noise, y is exactly the fixed part plus the reported group effects
    fixed = 2.5 + truth["slope"] * data.x + truth["group_slope"] * data.w
    u = truth["u"].loc[data.group]
    np.testing.assert_allclose(data.y, fixed + u.u0.to_numpy() + u.u1.to_numpy() * data.x, rtol=1e-12, atol=1e-12)
    assert lh.simulate(n_groups=4, group_size=3, n_clusters=2, seed=3).data.cluster.nunique() == 2
    for bad in (1, 5):
        with pytest.raises(ValueError, match="n_clusters"):
            lh.simulate(n_groups=4, group_size=3, n_clusters=bad)


def test_shrinkage_table_keeps_groups_of_equal_size_in_data_order(exam):
    s = lh.shrinkage(lh.fit("normexam ~ 1 + (1 | school)", exam))
    first_seen = {lv: i for i, lv in enumerate(pd.unique(exam.school.astype(str)))}
    keys = list(zip(s.n, s.level.map(first_seen)))
    assert keys == sorted(keys)


# ----- what the tables print ------------------------------------------------------------


def test_describe_names_each_columns_type():
    table = lh.data.describe(lh.data.load("sleepstudy"))
    assert table["type"].to_dict() == {"Reaction": "float64", "Days": "int64", "Subject": "category"}


def test_predict_keeps_the_rows_it_was_given(sleep):
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    rows = sleep.iloc[5:8]
    pred = m.predict(rows)
    assert list(pred.index) == [5, 6, 7] and pred.name == "Reaction"
    np.testing.assert_allclose(pred, m.predict(sleep).loc[5:7], rtol=1e-12)


def test_summary_headers_and_group_names_as_lme4_prints_them(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    lines = m.summary().splitlines()
    assert lines[2].startswith(f"REML criterion at convergence: {-2 * m.loglik:.1f}   ")
    header = lines[lines.index("Random effects:") + 1].split()
    assert header == ["Groups", "Name", "Variance", "Std.Dev.", "Corr"]
    first, second = lines[lines.index("Random effects:") + 2: lines.index("Random effects:") + 4]
    assert first.split()[:2] == ["Subject", "(Intercept)"] and second.split()[0] == "Days"  # the group once
    fixed = lines[lines.index("Fixed effects:") + 1].split()
    assert fixed == ["Estimate", "Std.", "Error", "df", "t", "value", "Pr(>|t|)"]


def test_anova_is_indexed_by_term(sleep):
    table = lh.fit("Reaction ~ Days + (Days | Subject)", sleep).anova()
    assert table.index.name == "term" and list(table.index) == ["Days"]


def test_icc_interval_level_must_be_a_proper_fraction(sleep):
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    for level in (0, 1, 1.5):
        with pytest.raises(ValueError, match="`ci` is a confidence level"):
            lh.icc(m, ci=level, nsim=2)


def test_progress_in_a_notebook_updates_one_display(monkeypatch):
    """In Jupyter (a ZMQInteractiveShell) the bar is one display that is updated, not printed lines."""
    import IPython
    import IPython.display

    from lme_helpers.inference import _Progress

    class ZMQInteractiveShell:
        pass

    shown = []

    class Handle:
        def update(self, text):
            shown.append(text)

    def display(text, display_id=False):
        shown.append(text)
        return Handle() if display_id else None

    monkeypatch.setattr(IPython, "get_ipython", lambda: ZMQInteractiveShell())
    monkeypatch.setattr(IPython.display, "display", display)
    bar = _Progress(2, "replicates", True)
    assert isinstance(bar.handle, Handle)
    bar.update(2)
    assert [re.sub(r"\(\d+ s\)", "(t)", s) for s in shown] == ["replicates: 0 of 2 (t)", "replicates: 2 of 2 (t)"]


def test_simulation_counts_default_to_the_documented_1000(sleep, monkeypatch):
    """Each bootstrap runs 1000 simulations unless told otherwise (the simulations themselves are
    replaced by a recorder here; the bootstrap's refits by their start)."""
    import inspect

    from lme_helpers import comparison, inference
    from lme_helpers.lmm import LmmEngine

    for func in (lh.compare, lh.bootstrap, lh.confint, lh.icc):
        assert inspect.signature(func).parameters["nsim"].default == 1000, func.__name__
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    small = lh.fit("Reaction ~ 1 + (1 | Subject)", sleep, reml=False)
    asked = []

    def fake_bootstrap(result, stat, nsim, seed=None, progress=None):
        asked.append(nsim)
        value = stat(result)  # nine copies of the statistic of the fit itself
        return pd.DataFrame([value] * 9) if isinstance(value, pd.Series) else pd.DataFrame({"value": [value] * 9})

    monkeypatch.setattr(inference, "bootstrap", fake_bootstrap)
    monkeypatch.setattr(comparison, "bootstrap_lrt", lambda *a, nsim, **k: asked.append(nsim) or {"p_value": 0.5})
    assert lh.icc(m, ci=0.95).attrs["nsim"] == 1000
    assert lh.compare(small, m.refit(reml=False), method="bootstrap").attrs["nsim"] == 1000
    assert lh.confint(m, method="bootstrap").shape == (4, 3)
    assert asked == [1000, 1000, 1000]
    monkeypatch.undo()
    monkeypatch.setattr(LmmEngine, "quick_optimize", lambda self, reml, start: np.asarray(start, dtype=float))
    assert len(lh.bootstrap(m, lambda r: r.sigma2, progress=False)) == 1000


def test_icc_interval_passes_its_options_to_the_bootstrap(sleep, capsys):
    """slopes, nsim, seed and progress reach the bootstrap: the replicates are those of a bootstrap
    of the same ICC with the same seed, and progress is shown when asked for."""
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    out = lh.icc(m, "zero", ci=0.9, nsim=12, seed=5, progress=True)
    assert capsys.readouterr().err + capsys.readouterr().out != ""
    boot = lh.bootstrap(m, lambda r: lh.icc(r, "zero"), nsim=12, seed=5, progress=False)
    np.testing.assert_array_equal(out.attrs["replicates"], boot["value"].to_numpy())
    assert lh.icc(m, "zero") != lh.icc(m)  # so the slopes option is seen
    assert capsys.readouterr().out == ""
    assert out.name == "ICC" and out.estimate == lh.icc(m, "zero")
    assert [out.conf_low, out.conf_high] == list(percentile_interval(boot["value"].to_numpy(), 0.9))
    assert {k: out.attrs[k] for k in ("level", "nsim", "seed", "method")} == {
        "level": 0.9, "nsim": 12, "seed": 5, "method": "parametric bootstrap, percentile"}


def test_icc_adds_an_averaged_slope_variance_to_the_other_factors(sleep):
    """With slopes averaged over the data, a random slope adds mean(x²) τ²₁ to the intercept
    variances of every factor, whichever order the terms come in."""
    data = sleep.assign(half=(sleep.Days // 5).astype(str))  # each subject's first and second five days
    m = lh.fit("Reaction ~ Days + (1 | Subject:half) + (Days || Subject)", data)
    assert m._engine.blocks[-1].terms == ("Days",)  # the slope's term comes last
    vc = m.variance_components().set_index(["group", "term"]).variance
    tau = (vc[("Subject:half", "(Intercept)")] + vc[("Subject", "(Intercept)")]
           + np.mean(data.Days.to_numpy(float) ** 2) * vc[("Subject", "Days")])
    assert lh.icc(m) == pytest.approx(tau / (tau + m.sigma2), rel=1e-12)


def test_variance_partition_leaves_out_slope_variances(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    vp = variance_partition(m)
    vc = m.variance_components()
    assert vp.level.tolist() == ["Subject", "Residual"]
    assert vp.variance.tolist() == [vc.variance[0], vc.variance.iloc[-1]]
    np.testing.assert_allclose(vp.share.sum(), 1.0)


def test_design_effect_is_rounded_to_ten_decimals():
    assert lh.design_effect(1 / 3, 2) == 1.3333333333
    assert lh.design_effect(0.1, 3) == 1.2  # 1 + 2 × 0.1 is 1.2000000000000002 in floating point


@pytest.mark.parametrize("before", ["np.log(Days + 1)", "I(Days * 1e3)"])  # a function call, a number like 1e3
def test_a_column_after_a_function_or_a_number_is_still_checked(sleep, before):
    with pytest.raises(ValueError, match="Column 'nosuch' \\(a fixed effect\\) is not in the data"):
        lh.fit(f"Reaction ~ {before} + nosuch + (1 | Subject)", sleep)


def test_one_missing_value_is_reported_with_its_column(sleep):
    data = sleep.copy()
    data.loc[3, "Reaction"] = np.nan
    data.loc[[7, 8], "Days"] = np.nan
    with pytest.warns(lh.DataWarning, match=r"Dropped 3 of 180 rows with missing values \(Reaction: 1, Days: 2\)"):
        m = lh.fit("Reaction ~ Days + (1 | Subject)", data)
    assert m.nobs == 177


def test_unsupported_correlated_terms_say_whether_crossed_or_nested(sleep):
    data = sleep.assign(rater=(sleep.Days % 3).astype(str), x=np.arange(len(sleep)) % 5)
    with pytest.raises(ValueError, match=r"'\(Days \| rater\)' .* which is crossed with another factor"):
        lh.fit("Reaction ~ Days + (1 | Subject) + (Days | rater)", data)
    with pytest.raises(ValueError, match=r"'\(x \| Subject:rater\)' .* which is nested in 'Subject'"):
        lh.fit("Reaction ~ Days + (Days | Subject) + (x | Subject:rater)", data)
    # the correlated term's factor is nested in another: statsmodels' groups must be the outer one
    data["cohort"] = data.Subject.astype(str).str[-1]
    with pytest.raises(ValueError, match=r"'\(Days \| Subject\)' .* which is nested in 'cohort'"):
        lh.fit("Reaction ~ Days + (Days | Subject) + (1 | cohort)", data)


def test_quick_refit_of_one_variance_is_precise(sleep):
    """The bootstrap's refit of a single-SD model (Brent's method) finds θ to 5e-7, not to SciPy's
    default tolerance of 1e-5."""
    m = lh.fit("Reaction ~ Days + (1 | Subject)", sleep)
    for start in (m.theta * 1.5, m.theta * 0.6):
        theta = m._engine.quick_optimize(True, start)
        np.testing.assert_allclose(theta, m.theta, rtol=5e-7)  # SciPy's default: 6.9e-7 from 1.5 θ


def test_a_factor_called_all_is_not_taken_for_the_whole_sample(sleep):
    """In a crossed design statsmodels' groups is one group holding every row (labelled "all"); a
    factor of the data with that name still gets a variance component per level in the start fit."""
    data = sleep.assign(rater=(sleep.Days % 3).astype(str))
    formulas = {}
    for name in ("rater", "all"):
        spec = fitting._prepare(lh.parse_formula(f"Reaction ~ Days + (1 | Subject) + (1 | {name})"),
                                data.rename(columns={"rater": name}))
        formulas[name] = [fitting._vc_formula(spec, part) for part in spec.vc]
    assert formulas["all"] == formulas["rater"]
    assert all(f.startswith("0 + C(") for f in formulas["all"])


def test_searches_leave_a_boundary_point_whose_column_has_the_wrong_sign(sleep):
    """At θ = (0, -0.25, 0) the intercept SD is zero and the covariance element has the wrong sign:
    no feasible small step helps (a positive intercept SD with that element gives a negative
    covariance), yet the same covariance matrix with the column's sign changed is on a downhill
    path to the optimum, 22.9 lower in deviance. Each search leaves the point, and the optimality
    check does not accept it."""
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    engine = m._engine
    trap = np.array([0.0, -0.25019352, 0.0])
    assert engine.deviance(trap, True) - engine.deviance(m.theta, True) > 20
    assert not engine.is_optimum(trap, True)
    assert engine.is_optimum(m.theta, True)
    for start in (trap, np.array([0.2, -0.3, 0.0])):
        np.testing.assert_allclose(engine.optimize(True, start), m.theta, rtol=1e-5)
        np.testing.assert_allclose(engine.quick_optimize(True, start), m.theta, rtol=2e-4)


def test_engine_alone_from_lme4_start_finds_the_optimum(sleep):
    """From lme4's start (identity factors: SDs 1, correlations 0), the lme4-formulation search
    finds the same θ as the fit, which also uses statsmodels' answer as a start."""
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    np.testing.assert_array_equal(m._engine.default_start(), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(m._engine.optimize(True), m.theta, rtol=1e-5)


@pytest.mark.parametrize(("random", "expected"), [
    # a second intercept on the outer factor is statsmodels' "1"; an intercept on a factor nested
    # in it is one variance component per level; a slope likewise ("0 + x" or per level)
    ("(0 + Days + x | Subject) + (1 | Subject)", ["1"]),
    ("(1 | Subject) + (1 | Subject:rater)", ["0 + C(__group1)"]),
    ("(Days || Subject)", ["0 + Days"]),
    ("(1 | Subject) + (0 + Days | Subject:rater)", ["0 + C(__group1):Days"]),
    ("(1 | Subject) + (0 + Days | rater)", ["0 + C(__group0)", "0 + C(__group1):Days"]),
])
def test_statsmodels_start_model_puts_each_variance_component_on_its_factor(sleep, random, expected):
    data = sleep.assign(rater=(sleep.Days % 3).astype(str), x=np.arange(len(sleep)) % 5)
    spec = fitting._prepare(lh.parse_formula(f"Reaction ~ Days + {random}"), data)
    assert [fitting._vc_formula(spec, part) for part in spec.vc] == expected
