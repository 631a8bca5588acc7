"""Inference against R: lmerTest's Satterthwaite t- and F-tests, lme4's profile intervals and isSingular.

The stored reference (tests/reference/inference_reference.json, written by
tests/r/inference_reference.R) is always checked; when R is present the script
is run live too and must agree with the stored file.
"""

from __future__ import annotations

import json
import re
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, require_r

import lme_helpers as lh
from lme_helpers import inference
from lme_helpers.lmm import LmmEngine
from lme_helpers.rbridge import lme4_term

REFERENCE = ROOT / "tests" / "reference" / "inference_reference.json"
TOL_DF = 1e-3  # relative, Satterthwaite df
TOL_P = 1e-3  # relative, or TOL_P_TINY absolute for tiny p-values
TOL_P_TINY = 1e-8
TOL_PROFILE = 5e-3  # relative to the bound (floored at 5% of the interval's width)


def _listify(value):
    return value if isinstance(value, list) else [value]


def load_reference(path=REFERENCE) -> dict:
    models = json.loads(path.read_text())["models"]
    for ref in models.values():
        for table in ("coef", "anova", "profile", "kenward_roger"):
            if table in ref:
                ref[table] = {k: _listify(v) for k, v in ref[table].items()}
        ref["theta"] = _listify(ref["theta"])
    return models


STORED = load_reference()


def _frame(name: str, datasets: dict) -> pd.DataFrame:
    if name in datasets:
        return datasets[name]
    if name == "penicillin_mix":  # as tests/r/inference_reference.R builds it
        frame = datasets["penicillin"].copy()
        mix = frame["sample"].map({"A": "a", "B": "a", "C": "k", "D": "d", "E": "b", "F": "c"})
        mix[(frame["sample"] == "A") & frame["plate"].isin(list("abcdefghijkl"))] = "w"
        frame["mix"] = mix
        return frame
    if name in ("rank_deficient", "zero_variance"):
        return pd.read_csv(ROOT / "tests" / "fixtures" / f"{name}.csv")
    if name == "ks4":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the 89 schools without Progress 8, reported by load
            frame = lh.data.load("england_ks4")
        frame = frame[frame.P8MEA.notna()].copy()
        frame["london"] = (frame.gor_name == "London").astype(float)
        frame["disadv"] = (frame.PTFSM6CLA1A - 25) / 10  # as in the practical
        return frame
    raise KeyError(name)


@pytest.fixture(scope="module")
def fits(datasets) -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lh.FitWarning)
        for key, spec in STORED.items():
            out[key] = lh.fit(spec["formula"], _frame(spec["data"], datasets), reml=spec["reml"])
    return out


def r_parameter_name(name: str) -> str:
    """lme_helpers' parameter names in lme4's ``oldNames = FALSE`` spelling."""
    m = re.match(r"sd\((.*) \| (.*)\)$", name)
    if m:
        return f"sd_{m.group(1)}|{m.group(2)}"
    m = re.match(r"cor\((.*), (.*) \| (.*)\)$", name)
    if m:
        return f"cor_{m.group(2)}.{m.group(1)}|{m.group(3)}"
    return lme4_term(name)


def p_close(py: float, r: float) -> bool:
    return abs(py - r) <= max(TOL_P * abs(r), TOL_P_TINY)


@pytest.mark.parametrize("key", sorted(STORED))
def test_t_tests_match_lmertest(fits, key):
    ref = STORED[key]["coef"]
    fe = fits[key].fixed_effects()
    fe.index = [lme4_term(t) for t in fe.index]
    assert sorted(fe.index) == sorted(ref["term"])
    for term, est, se, df, t, p in zip(ref["term"], ref["estimate"], ref["std_error"], ref["df"], ref["statistic"],
                                       ref["p_value"]):
        row = fe.loc[term]
        assert abs(row.estimate - est) <= 1e-4 * max(abs(est), se), (key, term, row.estimate, est)
        assert abs(row.std_error - se) <= 1e-3 * se, (key, term, row.std_error, se)
        assert abs(row.df - df) <= TOL_DF * df, (key, term, row.df, df)
        assert abs(row.statistic - t) <= 1e-3 * abs(t), (key, term, row.statistic, t)
        assert p_close(row.p_value, p), (key, term, row.p_value, p)
        # the interval is t-based on the same df
        from scipy import stats

        half = stats.t.ppf(0.975, df) * se
        assert row.conf_low == pytest.approx(est - half, rel=1e-3, abs=1e-3 * se)
        assert row.conf_high == pytest.approx(est + half, rel=1e-3, abs=1e-3 * se)


def test_contrast_test_of_one_coefficient_is_its_t_test(fits):
    """contrast_test(L) with L picking one coefficient gives lmerTest's row for it; a combination's
    standard error is sqrt(L V L') with V the covariance matrix checked against lme4 elsewhere."""
    m, ref = fits["sleep_slope"], STORED["sleep_slope"]["coef"]
    for j, (est, se, df, t, p) in enumerate(zip(ref["estimate"], ref["std_error"], ref["df"], ref["statistic"],
                                                ref["p_value"])):
        got = inference.contrast_test(m, np.eye(2)[j])
        assert sorted(got) == ["df", "estimate", "p_value", "statistic", "std_error"]
        assert got["std_error"] == pytest.approx(se, rel=1e-3) and got["df"] == pytest.approx(df, rel=TOL_DF)
        assert got["statistic"] == pytest.approx(t, rel=1e-3) and p_close(got["p_value"], p)
        assert got["estimate"] == pytest.approx(est, rel=1e-6)
    day10 = inference.contrast_test(m, [1, 10])  # the mean reaction time on day 10
    L = np.array([1.0, 10.0])
    assert day10["std_error"] == pytest.approx(np.sqrt(L @ m.vcov().to_numpy() @ L), rel=1e-9)
    assert day10["estimate"] == pytest.approx(L @ m.fe_params.to_numpy(), rel=1e-12)


@pytest.mark.parametrize("key", sorted(k for k in STORED if "anova" in STORED[k]))
def test_type3_f_tests_match_lmertest(fits, key):
    ref = STORED[key]["anova"]
    table = fits[key].anova()
    table.index = [lme4_term(t) for t in table.index]
    assert sorted(table.index) == sorted(ref["term"]), (key, list(table.index))
    for term, num, den, F, p in zip(ref["term"], ref["num_df"], ref["den_df"], ref["F"], ref["p_value"]):
        row = table.loc[term]
        assert row.num_df == num, (key, term)
        assert abs(row.den_df - den) <= TOL_DF * den, (key, term, row.den_df, den)
        assert abs(row.F - F) <= 1e-3 * F, (key, term, row.F, F)
        assert p_close(row.p_value, p), (key, term, row.p_value, p)


@pytest.mark.parametrize("key", sorted(k for k in STORED if "profile" in STORED[k]))
def test_profile_intervals_match_lme4(fits, key):
    ref = STORED[key]["profile"]
    ci = fits[key].confint("profile")
    ci.index = [r_parameter_name(n) for n in ci.index]
    assert sorted(ci.index) == sorted(ref["parameter"]), (key, list(ci.index))
    for name, lo, hi in zip(ref["parameter"], ref["conf_low"], ref["conf_high"]):
        floor = 0.05 * abs(hi - lo)
        for got, want in ((ci.loc[name, "conf_low"], lo), (ci.loc[name, "conf_high"], hi)):
            assert abs(got - want) <= TOL_PROFILE * max(abs(want), floor), (key, name, got, want)


@pytest.mark.parametrize("key", sorted(STORED))
def test_singular_and_theta_match_lme4(fits, key):
    ref = STORED[key]
    assert fits[key].singular == ref["singular"], key
    np.testing.assert_allclose(fits[key].theta, ref["theta"], rtol=2e-3, atol=2e-4, err_msg=key)


def test_rank_deficient_block_is_singular_with_ordinary_looking_parameters(fits):
    """A 3 × 3 covariance matrix of rank 2: no zero variance, no correlation of ±1, yet singular (as lme4 says)."""
    m = fits["rank_deficient"]
    vc = m.variance_components()
    blocks = vc[vc.group != "Residual"]
    assert (blocks.loc[blocks.term2 == "", "variance"] > 0.05).all()
    assert (blocks.loc[blocks.term2 != "", "corr"].abs() < 0.9).all()
    assert STORED["rank_deficient"]["singular"] and m.singular
    with pytest.warns(lh.SingularFitWarning, match="has rank 2"):
        lh.fit(m.formula, pd.read_csv(ROOT / "tests" / "fixtures" / "rank_deficient.csv"))


def test_zero_variance_is_singular_and_warns(fits):
    assert STORED["zero_variance"]["singular"] and fits["zero_variance"].singular
    with pytest.warns(lh.SingularFitWarning, match="variance of \\(Intercept\\) for 'g' is estimated as zero"):
        lh.fit("y ~ x + (1 | g)", pd.read_csv(ROOT / "tests" / "fixtures" / "zero_variance.csv"))


def test_nonsingular_fit_does_not_warn(sleep):
    with warnings.catch_warnings():
        warnings.simplefilter("error", lh.FitWarning)
        assert not lh.fit("Reaction ~ Days + (Days | Subject)", sleep).singular


def test_fit_warns_whenever_the_final_check_fails(exam, monkeypatch):
    """Every optimiser says it converged, but none moved: the final optimality check must still warn."""
    import lme_helpers.fitting as fitting

    def stop_early(model, reml, maxiter=200):
        res = model.fit(reml=reml, method=["bfgs"], maxiter=1)
        res.converged = True  # what statsmodels can report at a wrong optimum
        return res, [{"method": "default", "llf": res.llf, "converged": True, "checked": True}]

    monkeypatch.setattr(fitting, "_robust_fit", stop_early)
    monkeypatch.setattr(LmmEngine, "quick_optimize", lambda self, reml, start: np.asarray(start, dtype=float))
    monkeypatch.setattr(LmmEngine, "optimize", lambda self, reml, start=None, **kw: np.asarray(start, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own warnings after one iteration
        with pytest.warns(lh.ConvergenceWarning, match="not a maximum"):
            m = lh.fit("normexam ~ standLRT + (standLRT | school)", exam)
    assert not m.converged
    assert "optimality check failed" in m.summary()


def test_polish_reaches_lme4_where_statsmodels_stops_short():
    """statsmodels' answer for the rank-deficient model is 6e-4 log-likelihood units short; the polish fixes it."""
    data = pd.read_csv(ROOT / "tests" / "fixtures" / "rank_deficient.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lh.FitWarning)
        m = lh.fit("y ~ x1 + x2 + (x1 + x2 | g)", data)
    assert m.converged
    assert m.loglik == pytest.approx(STORED["rank_deficient"]["loglik"], abs=1e-6)


def test_summary_is_laid_out_as_lme4s(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    text = m.summary()
    vc = m.variance_components()
    corr = float(vc.loc[vc.term2 != "", "corr"].iloc[0])
    cov = float(vc.loc[vc.term2 != "", "variance"].iloc[0])
    random_part = text.split("Random effects:")[1].split("Fixed effects:")[0]
    assert "Corr" in random_part and f"{corr:.2f}" in random_part
    assert f"{cov:.4f}" not in random_part  # a covariance is never shown as a correlation
    days = next(line for line in random_part.splitlines() if line.split()[:1] == ["Days"])
    assert days.split()[1:3] == [f"{vc.variance.iloc[1]:.4f}", f"{vc.sd.iloc[1]:.4f}"]
    fixed_part = text.split("Fixed effects:")[1]
    assert "df" in fixed_part and "Pr(>|t|)" in fixed_part
    assert " 17.0 " in fixed_part and "< 0.001" in fixed_part
    assert "0.0 " not in fixed_part.split("Pr(>|t|)")[1]
    # the coefficient rows follow the header directly, as in lme4 (no blank line for an index name)
    header, first = fixed_part.strip("\n").splitlines()[:2]
    assert "Estimate" in header and first.split()[0] == "Intercept"


def test_summary_of_an_ml_fit_prints_the_deviance_and_the_residual_variance(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep, reml=False)
    text = m.summary()
    assert f"Deviance: {-2 * m.loglik:.1f}" in text and "REML criterion" not in text
    assert "maximum likelihood" in text.splitlines()[0]
    residual = next(line for line in text.splitlines() if line.split()[:1] == ["Residual"])
    assert residual.split()[1:3] == [f"{m.sigma2:.4f}", f"{np.sqrt(m.sigma2):.4f}"]
    reml = lh.fit("Reaction ~ Days + (Days | Subject)", sleep).summary()
    assert "REML criterion at convergence" in reml and "Deviance" not in reml


def test_summary_lists_observations_groups_and_t_values_as_lme4_does(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    text = m.summary()
    assert f"Number of obs: {len(sleep)}; groups: Subject, {sleep.Subject.nunique()}" in text.splitlines()
    fixed_part = text.split("Fixed effects:")[1]
    assert "t value" in fixed_part and f"{m.fixed_effects().loc['Days', 'statistic']:.3f}" in fixed_part


def test_predictions_are_named_after_the_response(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    assert m.predict().name == "Reaction" and m.predict(sleep, include_random=False).name == "Reaction"


def test_f_test_of_a_rank_one_contrast_matrix_is_the_t_test_squared(sleep):
    """Two rows that ask the same question (lmerTest reduces L to its rank first)."""
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    f, t = inference._f_test(m, [[0, 1], [0, 2]]), inference.contrast_test(m, [0, 1])
    assert f["num_df"] == 1 and f["den_df"] == pytest.approx(t["df"], rel=1e-9)
    assert f["F"] == pytest.approx(t["statistic"] ** 2, rel=1e-9) and f["p_value"] == pytest.approx(t["p_value"])


def test_full_search_reaches_the_optimum_from_the_start_it_is_given(sleep):
    """The search ``fit`` falls back on when the final check fails starts where it is told."""
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    engine, best = m._engine, m._engine.deviance(m.theta, True)
    for start in (m.theta * 1.5, m.theta * 0.5):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. SciPy's OptimizeWarning for an option it does not know
            theta = engine.optimize(reml=True, start=start)
        assert engine.deviance(theta, True) == pytest.approx(best, abs=1e-6)
        assert np.all(theta[engine.theta_lower == 0] >= 0)  # lme4's bounds: no negative diagonal
    # from lme4's default start (1 on the diagonal, 0 off it)
    assert engine.deviance(engine.optimize(reml=True), True) == pytest.approx(best, abs=1e-6)
    with pytest.raises((TypeError, ValueError)):
        engine.optimize(reml=True, start=["not", "numbers", "here"])


def test_satterthwaite_df_is_exact_in_a_balanced_one_way_design():
    """Balanced random intercepts: the intercept's t-test has exactly J - 1 df, and Satterthwaite gives it."""
    data, _ = lh.simulate(n_groups=12, group_size=6, tau0=0.8, sigma=1.0, seed=5)
    m = lh.fit("y ~ 1 + (1 | group)", data)
    assert inference.satterthwaite_df(m)["Intercept"] == pytest.approx(11, rel=1e-6)


def test_contrast_test_of_a_single_coefficient_equals_the_table(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    t = inference.contrast_test(m, [0, 1])
    row = m.fixed_effects().loc["Days"]
    assert t["df"] == pytest.approx(row.df) and t["p_value"] == pytest.approx(row.p_value)
    with pytest.raises(ValueError, match="one weight per fixed effect"):
        inference.contrast_test(m, [1, 0, 0])


def test_anova_needs_treatment_contrasts(exam):
    m = lh.fit("normexam ~ standLRT + C(schgend, Sum) + (1 | school)", exam)
    with pytest.raises(ValueError, match="treatment contrasts"):
        m.anova()


def test_format_p_never_prints_zero():
    assert inference.format_p(0.0) == "< 0.001"
    assert inference.format_p(1e-300) == "< 0.001"
    assert inference.format_p(0.04567) == "0.0457"
    assert inference.format_p(0.001) == "0.001"


# ----- the parametric bootstrap ---------------------------------------------------------


def test_bootstrap_is_reproducible_with_a_seed(exam):
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    a = lh.bootstrap(m, lh.icc, nsim=30, seed=7)
    b = lh.bootstrap(m, lh.icc, nsim=30, seed=7)
    c = lh.bootstrap(m, lh.icc, nsim=30, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.value, c.value)
    assert a.attrs["observed"] == {"value": pytest.approx(lh.icc(m))}


def test_bootstrap_replicates_recover_the_simulating_parameters():
    """Refits of data simulated from the fitted model scatter around its estimates (no bias in the machinery)."""
    data, _ = lh.simulate(n_groups=40, group_size=15, tau0=0.7, sigma=1.0, seed=2)
    m = lh.fit("y ~ x + (1 | group)", data)
    boot = lh.bootstrap(m, inference.parameter_table, nsim=300, seed=1)
    est = inference.parameter_table(m)
    for name in ("sigma", "x"):
        se = boot[name].std()
        assert abs(boot[name].mean() - est[name]) < 4 * se / np.sqrt(300) + 0.02 * abs(est[name]), name


def test_icc_interval(exam):
    m = lh.fit("normexam ~ 1 + (1 | school)", exam)
    interval = lh.icc(m, ci=0.9, nsim=100, seed=3)
    assert interval.conf_low < interval.estimate < interval.conf_high
    assert interval.attrs["nsim"] == 100 and interval.attrs["level"] == 0.9
    with pytest.raises(ValueError, match="confidence level"):
        lh.icc(m, ci=95)


def test_confint_methods_and_names(sleep):
    m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    names = ["sd((Intercept) | Subject)", "cor((Intercept), Days | Subject)", "sd(Days | Subject)", "sigma",
             "Intercept", "Days"]
    wald = m.confint("wald")
    assert list(wald.index) == names and list(wald.columns) == ["estimate", "conf_low", "conf_high"]
    assert wald.loc[names[:4], "conf_low"].isna().all()
    boot = m.confint("bootstrap", nsim=200, seed=1)
    assert list(boot.index) == names and list(boot.columns) == list(wald.columns)
    prof = m.confint("profile", parm=["sigma"])
    assert list(prof.index) == ["sigma"]
    # both agree with the profile interval to within the bootstrap's noise
    assert boot.loc["sigma", "conf_low"] == pytest.approx(prof.loc["sigma", "conf_low"], rel=0.05)
    with pytest.raises(ValueError, match="`method` must be"):
        m.confint("exact")
    with pytest.raises(KeyError, match="Unknown parameter"):
        m.confint("profile", parm=["tau"])


def test_bootstrap_lrt_rejects_a_real_variance_and_not_a_null_one(sleep):
    import statsmodels.formula.api as smf

    ols = smf.ols("Reaction ~ Days", sleep).fit()
    mixed = lh.fit("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
    assert lh.compare(ols, mixed, method="bootstrap", nsim=50, seed=1).p_bootstrap.iloc[1] == pytest.approx(1 / 51)
    null = pd.read_csv(ROOT / "tests" / "fixtures" / "zero_variance.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lh.SingularFitWarning)
        flat = lh.fit("y ~ x + (1 | g)", null, reml=False)
    table = lh.compare(smf.ols("y ~ x", null).fit(), flat, method="bootstrap", nsim=50, seed=1)
    assert table.p_bootstrap.iloc[1] == 1.0  # the statistic is zero: every simulated one is at least as large


# ----- the bootstrap against R's, within Monte Carlo error --------------------------------------

BOOT_REFERENCE = ROOT / "tests" / "reference" / "bootstrap_reference.json"
BOOT = json.loads(BOOT_REFERENCE.read_text())


def test_icc_bootstrap_interval_matches_bootmer(exam):
    """lme4's bootMer percentile interval for the ICC, and ours, differ only by Monte Carlo error."""
    from scipy import stats

    ref = BOOT["icc"]
    m = lh.fit(ref["formula"], exam)
    ours = lh.icc(m, ci=0.95, nsim=ref["nsim"], seed=1)
    assert ours.estimate == pytest.approx(ref["estimate"], rel=1e-5)
    # standard error of an estimated 2.5% quantile, for each of the two independent bootstraps
    se_quantile = ref["sd"] * np.sqrt(0.025 * 0.975 / ref["nsim"]) / stats.norm.pdf(stats.norm.ppf(0.025))
    tol = 4 * np.sqrt(2) * se_quantile
    assert abs(ours.conf_low - ref["conf_low"]) <= tol, (ours.conf_low, ref["conf_low"], tol)
    assert abs(ours.conf_high - ref["conf_high"]) <= tol, (ours.conf_high, ref["conf_high"], tol)


def test_bootstrap_lrt_matches_pbkrtest():
    """pbkrtest's reference distribution and ours agree within Monte Carlo error, in both of its summaries."""
    ref = BOOT["pbmodcomp"]
    data = pd.read_csv(ROOT / "tests" / "fixtures" / "weak_variance.csv")
    small = lh.fit(ref["small"], data, reml=False)
    large = lh.fit(ref["large"], data, reml=False)
    table = lh.compare(small, large, method="bootstrap", nsim=ref["nsim"], seed=1)
    row = table.iloc[1]
    assert row.chisq == pytest.approx(ref["statistic"], rel=1e-4)
    assert row.p_value == pytest.approx(ref["p_chisq"], rel=1e-4)

    def within_mc(ours, theirs, n):
        return abs(ours - theirs) <= 4 * np.sqrt(2 * theirs * (1 - theirs) / n)

    p = ref["p_value"]
    assert within_mc(row.p_bootstrap, p, ref["nsim"]), (row.p_bootstrap, p)
    # the share of refits that put the slope variance on the boundary
    sims = lh.bootstrap_lrt(small, large, nsim=ref["nsim"], seed=1)["replicates"]
    assert within_mc(float(np.mean(sims <= 1e-4)), ref["share_zero"], ref["nsim"])
    # PBmodcomp 0.5 counts only simulated statistics above zero (its numerical noise included),
    # which inflates its p-value when half the refits sit on the boundary
    assert ref["p_pbmodcomp"] > 1.5 * p


# ----- live R -------------------------------------------------------------------------------


def test_live_r_matches_stored_reference(tmp_path):
    require_r()
    out = tmp_path / "live.json"
    subprocess.run(["Rscript", "--vanilla", str(ROOT / "tests/r/inference_reference.R"), str(out)], cwd=ROOT,
                   check=True, capture_output=True, text=True, timeout=600)
    live = load_reference(out)
    assert set(live) == set(STORED)
    for key, ref in STORED.items():
        np.testing.assert_allclose(live[key]["coef"]["df"], ref["coef"]["df"], rtol=1e-6, err_msg=key)
        np.testing.assert_allclose(live[key]["coef"]["p_value"], ref["coef"]["p_value"], rtol=1e-6, atol=1e-12)
        if "profile" in ref:
            np.testing.assert_allclose(np.array(live[key]["profile"]["conf_low"], dtype=float),
                                       np.array(ref["profile"]["conf_low"], dtype=float), rtol=1e-5, err_msg=key)
        assert live[key]["singular"] == ref["singular"], key


def test_live_r_bootstrap_reference_is_reproduced(tmp_path):
    """The seeded R bootstrap gives the stored numbers again (so the stored reference is R's own output)."""
    require_r()
    out = tmp_path / "boot.json"
    subprocess.run(["Rscript", "--vanilla", str(ROOT / "tests/r/bootstrap_reference.R"), str(out)], cwd=ROOT,
                   check=True, capture_output=True, text=True, timeout=600)
    live = json.loads(out.read_text())
    for part in ("icc", "pbmodcomp"):
        for key, value in BOOT[part].items():
            if isinstance(value, float):
                assert live[part][key] == pytest.approx(value, rel=1e-9), (part, key)


def test_full_search_takes_over_when_the_polish_stops_short(sleep, monkeypatch):
    """If the quick polish in θ leaves a point that is not a maximum, fit's full search must reach
    lme4's optimum, and the trace must record the likelihood it reached."""
    import lme_helpers.fitting as fitting

    real = fitting._statsmodels_theta
    monkeypatch.setattr(fitting, "_statsmodels_theta", lambda *args: real(*args) * 1.3)  # a start 30% off
    monkeypatch.setattr(LmmEngine, "quick_optimize", lambda self, reml, start: np.asarray(start, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("error", lh.ConvergenceWarning)
        m = lh.fit("Reaction ~ Days + (Days | Subject)", sleep)
    assert m.trace[-1]["method"] == "lme4 formulation: full search" and m.trace[-1]["checked"]
    assert m.loglik == pytest.approx(STORED["sleep_slope"]["loglik"], abs=1e-6)
    assert m.trace[-1]["llf"] == pytest.approx(m.loglik, abs=1e-9)
