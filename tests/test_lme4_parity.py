"""lme_helpers against lme4, lmerTest and performance: every estimate and every inferential output, by value.

The stored reference (tests/reference/lme4_reference.json, written by tests/r/lme4_reference.R)
is always checked. When R is present the script is also run live: its output must match the
stored file, and lme_helpers must match the live output by the same checks.

Each tolerance is relative to the scale of its quantity, never a blanket absolute one: a fixed
effect relative to its standard error, a variance relative to the total variance, a covariance
relative to the product of the two standard deviations, p-values relative with a floor of 1e-8.
The agreement measured with lme4 1.1-31 and lmerTest 3.1 is 10 to 100 times tighter than these.
"""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, require_r

import lme_helpers as lh
from lme_helpers.rbridge import lme4_term, r_status

REFERENCE = ROOT / "tests" / "reference" / "lme4_reference.json"
TOL_FIXEF = 1e-4  # |Δ estimate| / its standard error
TOL_SE = 5e-4  # relative: standard errors, Satterthwaite df
TOL_DF = 1e-3  # relative
TOL_P = 1e-3  # relative, with an absolute floor of TOL_P_FLOOR
TOL_P_FLOOR = 1e-8
TOL_CI = 1e-3  # |Δ bound| / standard error
TOL_VCOV = 5e-4  # |Δ V_ij| / sqrt(V_ii V_jj)
TOL_VAR = 5e-5  # |Δ variance| / total variance (all variances and the residual)
TOL_COV = 1e-4  # |Δ covariance| / product of the SDs; also the correlation itself, absolutely
TOL_LOGLIK = 1e-9  # relative
TOL_IC = 1e-8  # AIC, BIC: relative (a wrong parameter count is off by 2 or more)
TOL_SUMMARY = 1e-4  # ICC and R²: relative (floor 1e-10 for a marginal R² of exactly zero)
TOL_BLUP = 1e-3  # |Δ BLUP| / SD of the random effect; conditional SDs relative
TOL_CHISQ = 1e-4  # relative, floor 1e-6


def listify(value):
    return value if isinstance(value, list) else [value]


def load_reference(path: Path = REFERENCE) -> dict:
    """The reference file, with jsonlite's length-one vectors turned back into lists."""
    ref = json.loads(path.read_text())
    for model in ref["models"].values():
        for table in ("fixef", "varcorr", "ranef", "ttest", "vcov"):
            model[table] = {k: listify(v) if k != "matrix" else v for k, v in model[table].items()}
        vc = model["vcov"]
        vc["matrix"] = np.atleast_2d(np.array(vc["matrix"], dtype=float))
    for cmp in ref["comparisons"].values():
        for mode in ("refit", "no_refit"):
            cmp[mode] = {k: [np.nan if x is None else x for x in listify(v)] for k, v in cmp[mode].items()}
    return ref


REF = load_reference()
STORED = REF["models"]


def within(py: float, r: float, tol: float, scale: float) -> bool:
    return bool(abs(py - r) <= tol * scale)


def p_close(py: float, r: float) -> bool:
    return bool(abs(py - r) <= max(TOL_P * abs(r), TOL_P_FLOOR))


def fit_spec(spec: dict, datasets: dict) -> lh.LMEResult:
    return lh.fit(spec["formula"], datasets[spec["data"]], reml=spec["reml"], warn=False)


@pytest.fixture(scope="module")
def fits(datasets) -> dict[str, lh.LMEResult]:
    out = {key: fit_spec(spec, datasets) for key, spec in STORED.items()}
    out.update({key: fit_spec(spec, datasets) for key, spec in REF["comparison_models"].items()})
    return out


def _r_vc_key(group: str, var1: str, var2: str) -> tuple[str, str, str]:
    return (re.sub(r"\.\d+$", "", group), var1 or "", var2 or "")


def r_varcorr(ref: dict) -> pd.DataFrame:
    vc = ref["varcorr"]
    rows = [(*_r_vc_key(g, a, b), v, s) for g, a, b, v, s in zip(vc["group"], vc["var1"], vc["var2"], vc["vcov"],
                                                                  vc["sdcor"])]
    return pd.DataFrame(rows, columns=["group", "term", "term2", "variance", "sdcor"]).set_index(
        ["group", "term", "term2"])


# ----- the checks, shared by the stored and the live reference ---------------------------------


def check_fixed_effects(model: lh.LMEResult, ref: dict, key: str) -> None:
    fe = model.fixed_effects()
    fe.index = [lme4_term(t) for t in fe.index]
    fx, tt = ref["fixef"], ref["ttest"]
    assert sorted(fe.index) == sorted(fx["term"]) == sorted(tt["term"]), key
    for i, term in enumerate(fx["term"]):
        row, se = fe.loc[term], fx["std_error"][i]
        assert within(row.estimate, fx["estimate"][i], TOL_FIXEF, se), (key, term, row.estimate, fx["estimate"][i])
        assert within(row.std_error, se, TOL_SE, se), (key, term, row.std_error, se)
    for i, term in enumerate(tt["term"]):
        row, se = fe.loc[term], fx["std_error"][fx["term"].index(term)]
        assert within(row.df, tt["df"][i], TOL_DF, tt["df"][i]), (key, term, row.df, tt["df"][i])
        assert within(row.statistic, tt["statistic"][i], TOL_SE, abs(tt["statistic"][i])), (key, term)
        assert p_close(row.p_value, tt["p_value"][i]), (key, term, row.p_value, tt["p_value"][i])
        assert within(row.conf_low, tt["conf_low"][i], TOL_CI, se), (key, term, row.conf_low, tt["conf_low"][i])
        assert within(row.conf_high, tt["conf_high"][i], TOL_CI, se), (key, term, row.conf_high, tt["conf_high"][i])


def check_wald(model: lh.LMEResult, ref: dict, key: str) -> None:
    z = model.fixed_effects(method="z")
    z.index = [lme4_term(t) for t in z.index]
    tt, fx = ref["ttest"], ref["fixef"]
    for i, term in enumerate(tt["term"]):
        row, se = z.loc[term], fx["std_error"][fx["term"].index(term)]
        assert np.isinf(row.df), (key, term)
        assert p_close(row.p_value, tt["p_z"][i]), (key, term, row.p_value, tt["p_z"][i])
        assert within(row.conf_low, tt["conf_low_z"][i], TOL_CI, se), (key, term, row.conf_low, tt["conf_low_z"][i])
        assert within(row.conf_high, tt["conf_high_z"][i], TOL_CI, se), (key, term)
    # lme_helpers' confint(method="wald"), as lme4's confint(method = "Wald"): fixed effects only
    wald = model.confint("wald")
    fixed = wald.loc[list(model.fe_params.index)]
    fixed.index = [lme4_term(t) for t in fixed.index]
    for i, term in enumerate(tt["term"]):
        se = fx["std_error"][fx["term"].index(term)]
        assert within(fixed.loc[term, "conf_low"], tt["conf_low_z"][i], TOL_CI, se), (key, term)
        assert within(fixed.loc[term, "conf_high"], tt["conf_high_z"][i], TOL_CI, se), (key, term)
    others = wald.drop(index=list(model.fe_params.index))
    assert len(others) == model._engine.n_theta + 1 and others[["conf_low", "conf_high"]].isna().all().all(), key


def check_vcov(model: lh.LMEResult, ref: dict, key: str) -> None:
    V = model.vcov()
    V.index = V.columns = [lme4_term(t) for t in V.index]
    terms = ref["vcov"]["term"]
    R = ref["vcov"]["matrix"]
    py = V.loc[terms, terms].to_numpy()
    sd = np.sqrt(np.diag(R))
    err = np.abs(py - R) / np.outer(sd, sd)
    assert err.max() <= TOL_VCOV, (key, err.max())
    assert np.allclose(py, py.T, rtol=0, atol=1e-15 * sd.max() ** 2), key


def check_variance_components(model: lh.LMEResult, ref: dict, key: str) -> None:
    py = model.variance_components().set_index(["group", "term", "term2"])
    r = r_varcorr(ref)
    assert sorted(py.index) == sorted(r.index), (key, sorted(py.index), sorted(r.index))
    total = r.variance[r.index.get_level_values("term2") == ""].sum()
    for idx, row in r.iterrows():
        got = py.loc[idx]
        group, term, term2 = idx
        if term2 == "":
            assert within(got.variance, row.variance, TOL_VAR, total), (key, idx, got.variance, row.variance)
            # lme4's sdcor is the standard deviation for a variance row
            assert within(got.sd, row.sdcor, TOL_VAR, np.sqrt(total)), (key, idx, got.sd, row.sdcor)
            assert np.isnan(got["corr"]), (key, idx)
        else:
            sds = np.sqrt(r.loc[(group, term, ""), "variance"] * r.loc[(group, term2, ""), "variance"])
            assert within(got.variance, row.variance, TOL_COV, sds), (key, idx, got.variance, row.variance)
            # and a correlation for a covariance row: the corr column against lme4's
            assert within(got["corr"], row.sdcor, TOL_COV, 1.0), (key, idx, got["corr"], row.sdcor)
            assert np.isnan(got.sd), (key, idx)
    assert within(model.sigma2, r.loc[("Residual", "", ""), "variance"], TOL_VAR, total), key


def check_likelihood(model: lh.LMEResult, ref: dict, key: str) -> None:
    assert model.nobs == ref["nobs"], key
    assert within(model.loglik, ref["loglik"], TOL_LOGLIK, abs(ref["loglik"])), (key, model.loglik, ref["loglik"])
    assert within(model.aic, ref["aic"], TOL_IC, abs(ref["aic"])), (key, model.aic, ref["aic"])
    assert within(model.bic, ref["bic"], TOL_IC, abs(ref["bic"])), (key, model.bic, ref["bic"])
    assert model.singular == ref["singular"], key


def check_blups(model: lh.LMEResult, ref: dict, key: str) -> None:
    r = pd.DataFrame(ref["ranef"])
    py = model.blups().set_index(["group", "term", "level"])
    assert len(py) == len(r), key
    variances = r_varcorr(ref).variance
    for row in r.itertuples():
        got = py.loc[(row.group, row.term, row.level)]
        sd = np.sqrt(variances[(row.group, row.term, "")])
        assert within(got.estimate, row.estimate, TOL_BLUP, sd), (key, row)
        assert within(got.std_error, row.std_error, TOL_BLUP, row.std_error), (key, row)


def check_icc_r2(model: lh.LMEResult, ref: dict, key: str) -> None:
    # performance 0.10.2 averages random-slope variance over the data (Johnson 2014) for a
    # correlated slope, but for an uncorrelated one, (x || g), it uses the variance at x = 0.
    slopes = "zero" if "uncorrelated" in key else "average"
    assert ref["icc"] is not None and ref["r2_marginal"] is not None, key  # performance gave a value
    icc = lh.icc(model, slopes=slopes)
    assert within(icc, ref["icc"], TOL_SUMMARY, ref["icc"]), (key, icc, ref["icc"])
    r2 = lh.r2(model, slopes=slopes)
    assert abs(r2["marginal"] - ref["r2_marginal"]) <= max(TOL_SUMMARY * ref["r2_marginal"], 1e-10), (key, r2)
    assert within(r2["conditional"], ref["r2_conditional"], TOL_SUMMARY, ref["r2_conditional"]), (key, r2)


CHECKS = [check_fixed_effects, check_wald, check_vcov, check_variance_components, check_likelihood, check_blups,
          check_icc_r2]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("key", sorted(STORED))
def test_matches_lme4(fits, key, check):
    check(fits[key], STORED[key], key)


def test_every_model_has_a_correlation_or_several_components():
    """The corr check is not vacuous: correlated slopes are among the models."""
    n_cov = sum(1 for ref in STORED.values() for v2 in ref["varcorr"]["var2"] if v2)
    assert n_cov >= 3


# ----- likelihood-ratio comparisons: lme4's anova(..., refit = TRUE / FALSE) -------------------


def check_comparison(table: pd.DataFrame, ref: dict, key: str) -> None:
    assert list(table.npar) == ref["npar"], (key, list(table.npar), ref["npar"])
    for col, rcol in (("loglik", "loglik"), ("AIC", "AIC"), ("BIC", "BIC")):
        for py, r in zip(table[col], ref[rcol]):
            assert within(py, r, TOL_IC, abs(r)), (key, col, py, r)
    assert np.isnan(table.chisq.iloc[0]) and np.isnan(table.p_value.iloc[0]), key
    for i in range(1, len(table)):
        row = table.iloc[i]
        assert row.df == ref["df"][i], (key, i)
        assert abs(row.chisq - ref["chisq"][i]) <= max(TOL_CHISQ * ref["chisq"][i], 1e-6), (key, row.chisq)
        assert p_close(row.p_value, ref["p_value"][i]), (key, row.p_value, ref["p_value"][i])


def _compare(fits: dict, key: str, refit: str) -> pd.DataFrame:
    models = [fits[m] for m in REF["comparisons"][key]["models"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # REML likelihoods with different fixed effects, asked for
        return lh.compare(*models, refit=refit)


@pytest.mark.parametrize("key", sorted(REF["comparisons"]))
def test_compare_with_ml_refit_matches_anova_refit_true(fits, key):
    table = _compare(fits, key, "ml")
    check_comparison(table, REF["comparisons"][key]["refit"], key)
    assert (table.fit == "ML").all()


@pytest.mark.parametrize("key", sorted(REF["comparisons"]))
def test_compare_without_refit_matches_anova_refit_false(fits, key):
    table = _compare(fits, key, "none")
    check_comparison(table, REF["comparisons"][key]["no_refit"], key)
    reml = [fits[m].reml for m in REF["comparisons"][key]["models"]]
    assert list(table.fit) == ["REML" if r else "ML" for r in reml]


def test_compare_auto_refits_only_when_fixed_effects_differ(fits):
    differ = _compare(fits, "exam_fixed", "auto")
    check_comparison(differ, REF["comparisons"]["exam_fixed"]["refit"], "exam_fixed")
    same = _compare(fits, "exam_random_slope", "auto")
    check_comparison(same, REF["comparisons"]["exam_random_slope"]["no_refit"], "exam_random_slope")
    assert (same.fit == "REML").all() and same.attrs["note"] == ""


def test_compare_warns_about_reml_likelihoods_with_different_fixed_effects(fits):
    with pytest.warns(UserWarning, match="different fixed effects is not valid"):
        lh.compare(fits["exam_null_reml"], fits["exam_slope"], refit="none")


def test_compare_boundary_p_value_for_the_added_slope(fits):
    """One variance with one covariance added: p is the 50:50 mixture of χ²₁ and χ²₂ of lme4's statistic."""
    from scipy import stats

    ref = REF["comparisons"]["exam_random_slope"]["no_refit"]
    table = _compare(fits, "exam_random_slope", "none")
    chisq = ref["chisq"][1]
    expected = 0.5 * stats.chi2.sf(chisq, 1) + 0.5 * stats.chi2.sf(chisq, 2)
    assert p_close(table.p_boundary.iloc[1], expected)
    assert table.p_boundary.iloc[1] < table.p_value.iloc[1]
    # the correlation is no variance: no boundary correction when only it is added
    corr = _compare(fits, "sleep_correlation", "none")
    assert np.isnan(corr.p_boundary.iloc[1])


# ----- other checks --------------------------------------------------------------------


def test_robust_fit_avoids_statsmodels_wrong_optimum(exam):
    """statsmodels' default optimiser stops 0.25 log-likelihood units short here, saying it converged."""
    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels retries with another optimiser, and says so
        plain = smf.mixedlm("normexam ~ 1", exam, groups=exam["school"]).fit(reml=False)
    ours = lh.fit("normexam ~ 1 + (1 | school)", exam, reml=False)
    ref = STORED["exam_null_ml"]["loglik"]
    assert plain.llf < ref - 0.1  # the statsmodels problem is real in this version
    assert abs(ours.loglik - ref) < 1e-6


def test_live_lme4_matches_stored_reference_and_lme_helpers(tmp_path, fits):
    """Run the R script now: R must reproduce the stored file, and lme_helpers must match R's live output."""
    require_r()
    out = tmp_path / "live.json"
    subprocess.run(["Rscript", "--vanilla", str(ROOT / "tests/r/lme4_reference.R"), str(out)], cwd=ROOT, check=True,
                   capture_output=True, text=True, timeout=600)
    live = load_reference(out)
    assert set(live["models"]) == set(STORED) and set(live["comparisons"]) == set(REF["comparisons"])
    for key, ref in STORED.items():
        now = live["models"][key]
        assert abs(now["loglik"] - ref["loglik"]) <= 1e-8 * abs(ref["loglik"]), key
        np.testing.assert_allclose(now["fixef"]["estimate"], ref["fixef"]["estimate"], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(now["varcorr"]["vcov"], ref["varcorr"]["vcov"], rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(now["ttest"]["p_value"], ref["ttest"]["p_value"], rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(now["vcov"]["matrix"], ref["vcov"]["matrix"], rtol=1e-6, atol=1e-12)
        for check in CHECKS:
            check(fits[key], now, key)
    for key, cmp in live["comparisons"].items():
        check_comparison(_compare(fits, key, "ml"), cmp["refit"], key)
        check_comparison(_compare(fits, key, "none"), cmp["no_refit"], key)


def test_r_status_reports_what_r_has():
    """r_status() agrees with R itself: the versions R reports, or the reason R cannot be used."""
    status = r_status()
    if not status.available:  # e.g. LME_HELPERS_NO_R=1 or no Rscript: then say why
        assert status.reason and status.versions == {}
        pytest.skip(f"R is not available: {status.reason}")
    code = "for (p in c('lme4', 'lmerTest', 'performance')) cat(p, as.character(packageVersion(p)), '\\n')"
    out = subprocess.run([status.rscript, "--vanilla", "-e", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    versions = dict(line.split() for line in out.strip().splitlines())
    for name, version in versions.items():
        assert status.versions[name] == version, (name, status.versions, versions)
    assert re.fullmatch(r"\d+\.\d+\.\d+", status.versions["R"])
    assert status.summary.startswith(f"R {status.versions['R']}; lme4 {versions['lme4']}")
