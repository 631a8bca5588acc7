"""Charts: each has a title and a description, stays light, and renders to the book's figure markup."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

import lme_helpers as lh
from lme_helpers import charts
from lme_helpers.variance import variance_partition


@pytest.fixture(scope="module")
def models(exam):
    charts.use_book_style(renderer="lme_book")
    return {
        "null": lh.fit("normexam ~ 1 + (1 | school)", exam),
        "slope": lh.fit("normexam ~ standLRT + (standLRT | school)", exam),
    }


def all_charts(models, exam):
    null, slope = models["null"], models["slope"]
    return {
        "caterpillar": charts.caterpillar(null, label="school"),
        "shrinkage": charts.shrinkage_plot(lh.shrinkage(null), label="school"),
        "lines": charts.varying_lines(slope, "standLRT", label="school"),
        "partition": charts.variance_partition_bar(variance_partition(null)),
        "densities": charts.group_densities(0.0, 0.17, 0.85, label="school"),
        "residuals": charts.residuals_vs_fitted(slope),
        "qq": charts.qq_plot(slope.residuals(), "Level-1 residuals"),
        "strip": charts.strip_by_group(exam, "normexam", "school", label="school"),
        "rates": charts.rejection_rates(pd.DataFrame({"method": ["OLS", "LME"], "rate": [0.3, 0.05]})),
        "scatter": charts.scatter(exam, "standLRT", "normexam", line=True),
        "within_between": charts.within_between(exam, "standLRT", "normexam", "school", 0.56, (0.0, 0.92),
                                                label="school"),
        "shares": charts.variance_shares({"null": variance_partition(null), "slope": variance_partition(slope)},
                                         order=["school", "Residual"]),
        "comparison": charts.caterpillar(null, label="school", comparison=True),
        "explorer": charts.shrinkage_explorer(),
        "mse": charts.mse_comparison(pd.DataFrame({"groups": ["all", "all", "small", "small"],
                                                   "estimator": ["raw means", "partial pooling"] * 2,
                                                   "mse": [0.07, 0.04, 0.25, 0.09]})),
        "reliability": charts.reliability_curves(lh.icc(null), lh.shrinkage(null).n, label="school"),
        "ranks": charts.rank_intervals(pd.DataFrame({"level": list("abc"), "rank": [1, 2, 3],
                                                     "low": [1, 1, 2], "high": [2, 3, 3]}), label="school"),
        "vpc": charts.vpc_curve(slope, "standLRT", label="school"),
    }


def test_every_chart_has_title_description_and_fits_container(models, exam):
    for name, chart in all_charts(models, exam).items():
        spec = chart.to_dict()
        title = spec["title"]["text"] if isinstance(spec["title"], dict) else spec["title"]
        assert title, name
        assert len(spec["description"]) > 30, name
        assert spec["width"] == "container", name


def test_rendered_figure_is_offline_and_light(models, exam):
    for name, chart in all_charts(models, exam).items():
        bundle = charts._render(chart.to_dict())
        html = bundle["text/html"]
        assert html.startswith('<figure class="lme-chart"'), name
        assert "cdn" not in html.lower() and "https://" not in html.replace("https://vega.github.io/schema", ""), name
        assert len(html) < 150_000, (name, len(html))


def test_palette_is_okabe_ito():
    assert charts.PALETTE[:3] == ["#0072B2", "#E69F00", "#009E73"]


def test_transformer_rounds_and_limits_rows():
    frame = pd.DataFrame({"a": [1.23456789, 0.000123456, 12345.678], "b": ["x", "y", "z"]})
    values = charts._book_transformer(frame)["values"]
    assert values[0]["a"] == 1.235 and values[1]["a"] == 0.0001235 and values[2]["a"] == 12346.0
    with pytest.raises(ValueError, match="would inline 6000 rows"):
        charts._book_transformer(pd.DataFrame({"a": np.arange(6000.0)}))


def test_renderer_escapes_script_end(models):
    spec = alt.Chart(pd.DataFrame({"a": ["</script>"]})).mark_point().encode(x="a:N").properties(
        description="d", title="t").to_dict()
    html = charts._render(spec)["text/html"]
    assert html.count("</script>") == 1
    payload = html.split('class="lme-chart-spec">', 1)[1].rsplit("</script>", 1)[0]
    (values,) = json.loads(payload)["datasets"].values()
    assert values[0]["a"] == "</script>"


def test_caterpillar_unknown_term(models):
    with pytest.raises(ValueError, match="No random effect 'standLRT'"):
        charts.caterpillar(models["null"], term="standLRT")


def test_within_between_draws_the_within_slope_through_each_group_mean(exam):
    chart = charts.within_between(exam, "standLRT", "normexam", "school", 0.56, (0.01, 0.92), label="school")
    spec = chart.to_dict()
    within, between, dots = (spec["datasets"][layer["data"]["name"]] for layer in spec["layer"])
    means = exam.groupby("school", observed=True)[["standLRT", "normexam"]].mean()
    assert len(dots) == len(means) == 65 and len(within) == 2 * len(means)
    for a, b in zip(within[::2], within[1::2]):
        assert a["level"] == b["level"]
        mid_x, mid_y = (a["standLRT"] + b["standLRT"]) / 2, (a["normexam"] + b["normexam"]) / 2
        assert mid_x == pytest.approx(means.loc[a["level"], "standLRT"], abs=2e-3)
        assert mid_y == pytest.approx(means.loc[a["level"], "normexam"], abs=2e-3)
        # slopes are exact up to the rounding of the inlined values
        assert (b["normexam"] - a["normexam"]) / (b["standLRT"] - a["standLRT"]) == pytest.approx(0.56, rel=0.02)
    half = 0.1 * (means.standLRT.max() - means.standLRT.min())
    assert within[1]["standLRT"] - within[0]["standLRT"] == pytest.approx(2 * half, abs=2e-3)
    ends = sorted(between, key=lambda r: r["standLRT"])
    assert ends[0]["standLRT"] == pytest.approx(means.standLRT.min() - half, abs=1e-3)
    assert ends[1]["normexam"] == pytest.approx(0.01 + 0.92 * ends[1]["standLRT"], abs=2e-3)


def test_variance_shares_stacks_cumulative_shares_in_the_given_order():
    tables = {
        "A": pd.DataFrame({"level": ["la", "region", "Residual"], "variance": [2.0, 1.0, 7.0],
                           "share": [0.2, 0.1, 0.7]}),
        "B": pd.DataFrame({"level": ["la", "region", "Residual"], "variance": [1.0, 3.0, 6.0],
                           "share": [0.1, 0.3, 0.6]}),
    }
    chart = charts.variance_shares(tables, labels={"region": "Region", "la": "Authority"},
                                   order=["region", "la", "Residual"])
    spec = chart.to_dict()
    rows = spec["datasets"][(spec["layer"][0].get("data") or spec["data"])["name"]]
    ends = {(r["model"], r["level"]): r["end"] for r in rows}
    assert ends[("A", "Region")] == pytest.approx(0.1) and ends[("A", "Authority")] == pytest.approx(0.3)
    assert ends[("B", "Region")] == pytest.approx(0.3) and ends[("B", "Residual")] == pytest.approx(1.0)
    assert "A: Region 10.0%; Authority 20.0%; Residual 70.0%." in spec["description"]
    with pytest.raises(ValueError, match="are not those of `order`"):
        charts.variance_shares(tables, order=["region", "Residual"])
EXPLORER_DATA = """async ([spec, signals]) => {
    const vgSpec = vegaLite.compile(spec).spec;
    const view = new vega.View(vega.parse(vgSpec), {renderer: "none"});
    for (const [name, value] of Object.entries(signals)) view.signal(name, value);
    await view.runAsync();
    for (const d of vgSpec.data) {
        const rows = view.data(d.name);
        if (rows.length && "lam" in rows[0] && "partial" in rows[0]) {
            return rows.map(r => ({size: r.size, lam: r.lam, raw: r.raw, partial: r.partial}));
        }
    }
    return null;
}"""


@pytest.mark.browser
def test_shrinkage_explorer_pulls_small_groups_most():
    """Computed by Vega itself, as in the reader's browser: the groups differ in size, the smallest
    are pulled furthest, and with equal sizes every group gets the same λ."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright
    from site_server import CHROMIUM_ARGS, chromium_path

    vendor = Path(__file__).resolve().parents[1] / "book" / "_static" / "vendor"
    spec = charts.shrinkage_explorer().to_dict()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        for lib in ("vega.min.js", "vega-lite.min.js"):
            page.add_script_tag(path=str(vendor / lib))
        default = pd.DataFrame(page.evaluate(EXPLORER_DATA, [spec, {}]))
        equal = pd.DataFrame(page.evaluate(EXPLORER_DATA, [spec, {"spread": 1, "n": 20}]))
        browser.close()
    assert default["size"].nunique() >= 8 and default["size"].max() / default["size"].min() > 10
    by_size = default.sort_values("size")
    assert by_size.lam.is_monotonic_increasing and by_size.lam.iloc[0] < by_size.lam.iloc[-1]
    # the partially pooled estimate keeps the share λ of each raw deviation from the overall mean (0)
    np.testing.assert_allclose(default.partial, default.lam * default.raw)
    assert (equal["size"] == 20).all() and np.ptp(equal.lam) == 0


def test_comparison_intervals_are_goldstein_healy(models):
    """±1.96/√2 ≈ 1.39 standard errors: two such intervals fail to overlap when a 5% test of the difference rejects."""
    spec = charts.caterpillar(models["null"], label="school", comparison=True).to_dict()
    (values,) = [v for v in spec["datasets"].values() if v and "low" in v[0]]
    b = models["null"].blups().set_index("level")
    row = values[0]
    half = (row["high"] - row["low"]) / 2
    assert half == pytest.approx(1.959964 / np.sqrt(2) * b.loc[row["level"], "std_error"], rel=1e-3)
    assert "±1.39" in spec["description"]


def test_vpc_curve_follows_the_variance_components(models):
    model = models["slope"]
    spec = charts.vpc_curve(model, "standLRT", label="school").to_dict()
    (values,) = [v for v in spec["datasets"].values() if v and "between" in v[0]]
    t00, t11, t01, s2 = model.variance_components().variance
    for row in values[::20]:
        x = row["standLRT"]
        between = t00 + 2 * t01 * x + t11 * x**2
        assert row["vpc"] == pytest.approx(between / (between + s2), rel=1e-3)
    with pytest.raises(ValueError, match="random slope"):
        charts.vpc_curve(models["null"], "standLRT")


def test_log_axes_have_ticks_that_do_not_collide(models):
    """Log-scale axes label 1, 3, 10, 30, ... only: at 390 px the default ticks (20, 30, 40, ...) overprint."""
    assert charts._log_ticks(2, 198) == [3, 10, 30, 100]
    spec = charts.shrinkage_plot(lh.shrinkage(models["null"]), label="school").to_dict()
    axes = [layer["encoding"]["x"].get("axis", {}) for layer in spec["layer"] if "x" in layer.get("encoding", {})]
    assert any(a.get("values") == [3, 10, 30, 100] for a in axes)
