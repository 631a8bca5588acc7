"""lme_helpers against lme4: every estimate the helpers report, within the stated tolerances.

The stored reference (tests/reference/lme4_reference.json) is always checked.
When R is present the reference script is also run live, and the live output
must match both the stored file and lme_helpers.
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
TOL_REL = 1e-4  # fixed effects, variance components
TOL_ABS_SMALL = 1e-3  # for values near zero
TOL_LOGLIK = 1e-6  # relative; see loglik test
TOL_SE = 1e-3
TOL_SUMMARY = 1e-4  # ICC and R², absolute
TOL_BLUP = 1e-4


def close(py: float, r: float, rel: float, small: float = TOL_ABS_SMALL) -> bool:
    if abs(r) < 1e-2:
        return abs(py - r) <= small
    return abs(py - r) <= rel * abs(r)


def load_reference(path: Path = REFERENCE) -> dict:
    models = json.loads(path.read_text())["models"]
    for ref in models.values():  # jsonlite writes length-one vectors as scalars
        for table in ("fixef", "varcorr", "ranef"):
            ref[table] = {k: v if isinstance(v, list) else [v] for k, v in ref[table].items()}
    return models


STORED = load_reference()


@pytest.fixture(scope="module")
def fits(datasets) -> dict[str, lh.LMEResult]:
    out = {}
    for key, spec in STORED.items():
        out[key] = lh.fit(spec["formula"], datasets[spec["data"]], reml=spec["reml"], warn=False)
    return out


def _vc_key(group: str, var1: str, var2: str) -> tuple[str, str, str]:
    return (re.sub(r"\.\d+$", "", group), var1 or "", var2 or "")


def variance_table(result: lh.LMEResult) -> dict:
    vc = result.variance_components()
    return {(r.group, r.term, r.term2): r.variance for r in vc.itertuples()}


def r_variance_table(ref: dict) -> dict:
    vc = ref["varcorr"]
    return {_vc_key(g, a, b): v for g, a, b, v in zip(vc["group"], vc["var1"], vc["var2"], vc["vcov"])}


@pytest.mark.parametrize("key", sorted(STORED))
def test_fixed_effects_match_lme4(fits, key):
    ref = STORED[key]
    fe = fits[key].fixed_effects()
    fe.index = [lme4_term(t) for t in fe.index]
    assert sorted(fe.index) == sorted(ref["fixef"]["term"])
    for term, est, se in zip(ref["fixef"]["term"], ref["fixef"]["estimate"], ref["fixef"]["std_error"]):
        assert close(fe.loc[term, "estimate"], est, TOL_REL), (key, term, fe.loc[term, "estimate"], est)
        assert abs(fe.loc[term, "std_error"] - se) <= TOL_SE * se, (key, term, fe.loc[term, "std_error"], se)


@pytest.mark.parametrize("key", sorted(STORED))
def test_variance_components_match_lme4(fits, key):
    py = variance_table(fits[key])
    r = r_variance_table(STORED[key])
    assert set(py) == set(r), (key, sorted(py), sorted(r))
    for k, v in r.items():
        assert close(py[k], v, TOL_REL), (key, k, py[k], v)


@pytest.mark.parametrize("key", sorted(STORED))
def test_loglik_matches_lme4(fits, key):
    ref = STORED[key]["loglik"]
    # 1e-6 relative: the log-likelihood is flat at the optimum, so this also
    # catches a wrong optimum (the ML null model of the Exam data is 0.25 off).
    assert abs(fits[key].loglik - ref) <= TOL_LOGLIK * abs(ref), (key, fits[key].loglik, ref)


@pytest.mark.parametrize("key", sorted(STORED))
def test_blups_match_lme4(fits, key):
    ref = STORED[key]["ranef"]
    r = pd.DataFrame(ref)
    py = fits[key].blups().set_index(["group", "term", "level"])
    assert len(py) == len(r), key
    for row in r.itertuples():
        got = py.loc[(row.group, row.term, row.level)]
        assert abs(got.estimate - row.estimate) <= max(TOL_BLUP, TOL_BLUP * abs(row.estimate)), (key, row)
        assert abs(got.std_error - row.std_error) <= max(TOL_BLUP, TOL_SE * row.std_error), (key, row)


@pytest.mark.parametrize("key", sorted(STORED))
def test_icc_and_r2_match_performance(fits, key):
    ref = STORED[key]
    # performance 0.10.2 averages random-slope variance over the data (Johnson 2014) for a
    # correlated slope, but for an uncorrelated one, (x || g), it uses the variance at x = 0.
    slopes = "zero" if "uncorrelated" in key else "average"
    icc = lh.icc(fits[key], slopes=slopes)
    assert abs(icc - ref["icc"]) <= TOL_SUMMARY, (key, icc, ref["icc"])
    r2 = lh.r2(fits[key], slopes=slopes)
    assert abs(r2["marginal"] - ref["r2_marginal"]) <= TOL_SUMMARY
    assert abs(r2["conditional"] - ref["r2_conditional"]) <= TOL_SUMMARY


def test_singular_flag_matches_lme4(fits):
    for key, ref in STORED.items():
        assert fits[key].singular == ref["singular"], key


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


def test_live_lme4_matches_stored_reference(tmp_path):
    require_r()
    out = tmp_path / "live.json"
    subprocess.run(["Rscript", "--vanilla", str(ROOT / "tests/r/lme4_reference.R"), str(out)], cwd=ROOT, check=True,
                   capture_output=True, text=True, timeout=300)
    live = load_reference(out)
    assert set(live) == set(STORED)
    for key, ref in STORED.items():
        assert abs(live[key]["loglik"] - ref["loglik"]) <= 1e-8 * abs(ref["loglik"]), key
        np.testing.assert_allclose(live[key]["fixef"]["estimate"], ref["fixef"]["estimate"], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(live[key]["varcorr"]["vcov"], ref["varcorr"]["vcov"], rtol=1e-6, atol=1e-10)


def test_r_status_reports_versions():
    status = r_status()
    if status.available:
        assert "lme4" in status.versions
    else:
        assert status.reason
