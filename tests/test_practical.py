"""The practical's checks: right answers pass without the number being printed; the answers the
common mistakes give fail, and the message names the mistake."""

from __future__ import annotations

import math

import pytest

from lme_helpers import practical as P

A = P.ANSWERS


def passes(check, *answer, capsys):
    check(*answer)
    out = capsys.readouterr().out
    assert out.startswith("✓ Right")
    for value in answer:  # the verdict never prints the answer itself
        if isinstance(value, float):
            assert f"{value:.3f}" not in out and f"{value:.2f}" not in out


def fails(check, *answer, naming: str):
    with pytest.raises(AssertionError) as err:
        check(*answer)
    assert naming in str(err.value), str(err.value)
    return str(err.value)


def test_right_answers_pass_and_stay_quiet_about_them(capsys):
    passes(P.check_counts, A["n_schools"], A["n_authorities"], A["n_regions"], capsys=capsys)
    passes(P.check_ols_slope, A["ols_slope"], capsys=capsys)
    passes(P.check_icc_p8, A["icc_p8"], capsys=capsys)
    passes(P.check_icc_p8, round(A["icc_p8"], 3), capsys=capsys)  # rounded to three decimals
    passes(P.check_icc_att8, A["icc_att8"], capsys=capsys)
    passes(P.check_icc_ofsted, A["icc_ofsted"], capsys=capsys)
    passes(P.check_disadvantage, A["disadv"], capsys=capsys)
    passes(P.check_slope_test, A["p_slope"], capsys=capsys)
    passes(P.check_region_variance, A["tau_region"], capsys=capsys)
    passes(P.check_most_pulled, A["most_pulled"], capsys=capsys)
    P.check_academy(*A["academy"])
    assert capsys.readouterr().out.count("✓ Right") == 2


def test_answers_rounded_as_the_page_prints_them_pass(capsys):
    for check, key in [(P.check_ols_slope, "ols_slope"), (P.check_icc_p8, "icc_p8"),
                       (P.check_icc_att8, "icc_att8"), (P.check_icc_ofsted, "icc_ofsted"),
                       (P.check_disadvantage, "disadv"), (P.check_region_variance, "tau_region")]:
        passes(check, round(A[key], P.DECIMALS), capsys=capsys)
    P.check_academy(*(round(v, P.DECIMALS) for v in A["academy"]))  # -0.004, -0.043, 0.035 as printed
    assert capsys.readouterr().out.count("✓ Right") == 2
    fails(P.check_academy, round(A["academy_no_slope"], P.DECIMALS), *A["academy"][1:], naming="dropped the random slope")


def test_the_common_mistakes_are_caught_and_named():
    fails(P.check_counts, A["n_all"], A["n_authorities"], A["n_regions"], naming="every school in the file")
    fails(P.check_counts, A["n_schools"], A["n_regions"], A["n_regions"], naming="LANAME")
    fails(P.check_ols_slope, A["ols_slope_raw"], naming="per percentage point")
    fails(P.check_ols_slope, A["ols_slope_att8"], naming="Attainment 8")
    fails(P.check_icc_p8, A["icc_p8_ml"], naming="maximum likelihood")
    fails(P.check_icc_p8, A["icc_p8_region"], naming="grouped by region")
    fails(P.check_icc_p8, A["icc_att8"], naming="Attainment 8 instead")
    fails(P.check_icc_att8, A["icc_att8_all"], naming="without a Progress 8 score")
    fails(P.check_icc_att8, A["icc_att8_ml"], naming="maximum likelihood")
    fails(P.check_icc_att8, A["icc_att8_region"], naming="grouped by region")
    fails(P.check_icc_ofsted, A["icc_ofsted_ml"], naming="maximum likelihood")
    fails(P.check_icc_ofsted, A["icc_p8"], naming="local authority")
    fails(P.check_disadvantage, A["ols_slope"], naming="OLS slope")
    fails(P.check_disadvantage, A["disadv_raw"], naming="per percentage point")
    fails(P.check_slope_test, A["p_slope_naive"], naming="naive")
    fails(P.check_slope_test, A["p_slope_ml"], naming="refitted the models by ML")
    fails(P.check_region_variance, A["tau_region_no_slope"], naming="dropped the random slope")
    fails(P.check_region_variance, math.sqrt(A["tau_region"]), naming="standard deviation")
    fails(P.check_region_variance, A["tau_region_ml"], naming="maximum likelihood")
    fails(P.check_most_pulled, A["most_extreme"], naming="most extreme raw estimate")
    fails(P.check_most_pulled, "Atlantis", naming="not a local authority")
    estimate, low, high = A["academy"]
    fails(P.check_academy, A["academy_no_slope"], low, high, naming="dropped the random slope")
    fails(P.check_academy, A["academy_raw"], low, high, naming="raw means")
    fails(P.check_academy, -estimate, -high, -low, naming="academy minus maintained")
    fails(P.check_academy, estimate, estimate - 1.96 * (high - estimate), high * 1.1, naming="interval")


def test_other_wrong_answers_fail_with_a_hint_and_no_number():
    message = fails(P.check_icc_p8, 0.3, naming="not what the data give")
    assert f"{A['icc_p8']:.3f}" not in message
    fails(P.check_icc_p8, "0.18 or so", naming="should be a number")
    fails(P.check_slope_test, 0.04, naming="not what the data give")


@pytest.mark.slow
def test_the_stored_answers_are_what_the_data_give():
    fresh = P.reference_answers()
    assert fresh.keys() == A.keys()
    for key, value in A.items():
        if isinstance(value, str):
            assert fresh[key] == value, key
        else:
            assert fresh[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key


def test_the_practicals_charts_name_authorities_without_overprinting():
    import warnings

    import lme_helpers as lh
    from lme_helpers import charts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schools = lh.data.load("england_ks4")
    strip = charts.strip_by_group(schools, "P8MEA", "LANAME", n_groups=14, label="authority").to_dict()
    # names are rows (one per line, never side by side), and the plural is right
    assert strip["layer"][0]["encoding"]["y"]["field"] == "LANAME"
    assert "authorities" in strip["description"] and "authoritys" not in str(strip)
    assert strip["height"] >= 14 * 20
    model = lh.fit("P8MEA ~ 1 + (1 | LANAME)", schools)
    cat = charts.caterpillar(model, label="authority", extremes=5).to_dict()
    assert cat["layer"][1]["encoding"]["y"]["field"] == "level"
    assert len(cat["datasets"][next(iter(cat["datasets"]))]) == 10
    assert "authoritys" not in str(charts.caterpillar(model, label="authority").to_dict())
    assert charts.plural("authority") == "authorities"
