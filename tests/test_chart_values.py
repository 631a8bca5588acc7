"""Charts plot the computed values: the data are read back from each chart's Vega-Lite specification
and compared with the table or model they were drawn from.

The book's data transformer rounds plotted numbers to four significant digits, so values are
compared with a relative tolerance of 1e-3 (and an absolute one of 1e-4 of the quantity's scale).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lme_helpers as lh
from lme_helpers import charts
from lme_helpers.variance import variance_partition

REL = 1e-3


def layers(chart) -> list[tuple[dict, pd.DataFrame]]:
    """(encoding, data) of each layer, the data as the page receives them."""
    spec = chart.to_dict()
    datasets = spec.get("datasets", {})

    def frame(ref: dict | None) -> pd.DataFrame:
        if ref is None:
            return pd.DataFrame()
        if "values" in ref:
            return pd.DataFrame(ref["values"])
        return pd.DataFrame(datasets[ref["name"]])

    top = spec.get("data")
    return [(layer.get("encoding", {}), frame(layer.get("data", top))) for layer in spec["layer"]]


def field(encoding: dict, channel: str) -> str:
    return encoding[channel]["field"]


def assert_plotted(values, expected, scale: float | None = None) -> None:
    values, expected = np.asarray(values, dtype=float), np.asarray(expected, dtype=float)
    scale = float(np.max(np.abs(expected))) if scale is None else scale
    np.testing.assert_allclose(values, expected, rtol=REL, atol=1e-4 * scale)


@pytest.fixture(scope="module")
def null(exam):
    return lh.fit("normexam ~ 1 + (1 | school)", exam)


@pytest.fixture(scope="module")
def slope(exam):
    return lh.fit("normexam ~ standLRT + (standLRT | school)", exam)


def test_shrinkage_plot_draws_raw_and_pooled_estimates(null):
    table = lh.shrinkage(null)
    (arrow_enc, arrows), (raw_enc, raw), (part_enc, partial), (pool_enc, _) = layers(
        charts.shrinkage_plot(table, label="school"))
    t = table.set_index("level")
    # the arrows run from the raw mean (no pooling) to the BLUP-based estimate, at each school's size
    a = arrows.set_index("level").loc[t.index]
    assert_plotted(a[field(arrow_enc, "x")], t.n)
    assert_plotted(a[field(arrow_enc, "y")], t.no_pooling)
    assert_plotted(a[field(arrow_enc, "y2")], t.partial_pooling)
    assert_plotted(raw.set_index("level").loc[t.index, field(raw_enc, "y")], t.no_pooling)
    assert_plotted(partial.set_index("level").loc[t.index, field(part_enc, "y")], t.partial_pooling)
    # and those are the group means and β̂₀ + û_j of the model
    means = null.y.groupby(null.group_column()).mean()
    assert_plotted(a.no_pooling, means.reindex(t.index))
    blups = null.blups().set_index("level").estimate.reindex(t.index)
    assert_plotted(a.partial_pooling, null.fe_params["Intercept"] + blups)
    # the dashed line: the mean of complete_pooling, i.e. β̂₀
    assert pool_enc["y"] == {"field": "complete_pooling", "aggregate": "mean", "type": "quantitative"}
    assert_plotted(arrows.complete_pooling.mean(), null.fe_params["Intercept"])


def test_caterpillar_draws_blups_with_their_intervals(null):
    (rule_enc, rules), (point_enc, points), (zero_enc, zero) = layers(charts.caterpillar(null, label="school"))
    b = null.blups().set_index("level")
    p = points.set_index("level").loc[b.index]
    r = rules.set_index("level").loc[b.index]
    z = stats.norm.ppf(0.975)
    scale = float(b.estimate.abs().max())
    assert_plotted(p[field(point_enc, "y")], b.estimate, scale)
    assert_plotted(r[field(rule_enc, "y")], b.estimate - z * b.std_error, scale)
    assert_plotted(r[field(rule_enc, "y2")], b.estimate + z * b.std_error, scale)
    # ranked from lowest to highest
    order = p.sort_values(field(point_enc, "x"))
    assert list(order.index) == list(b.estimate.sort_values(kind="stable").index)
    assert (order[field(point_enc, "x")].to_numpy() == np.arange(1, len(b) + 1)).all()
    low, high = b.estimate - z * b.std_error, b.estimate + z * b.std_error
    expected = np.where(low > 0, "above average", np.where(high < 0, "below average", "interval covers 0"))
    assert (p.differs.to_numpy() == expected).all()
    assert zero[field(zero_enc, "y")].tolist() == [0.0]
    narrower = layers(charts.caterpillar(null, label="school", level=0.5))[0][1].set_index("level").loc[b.index]
    z50 = stats.norm.ppf(0.75)
    assert_plotted(narrower.low, b.estimate - z50 * b.std_error, scale)
    assert_plotted(narrower.high, b.estimate + z50 * b.std_error, scale)


def test_varying_lines_end_at_each_groups_predictions(slope, exam):
    (line_enc, lines), (avg_enc, avg) = layers(charts.varying_lines(slope, "standLRT", label="school"))
    lo, hi = np.quantile(exam.standLRT, [0.02, 0.98])
    beta = slope.fe_params
    b = slope.blups().pivot(index="level", columns="term", values="estimate")
    x, y = field(line_enc, "x"), field(line_enc, "y")
    assert sorted(set(lines[x].round(3))) == sorted({round(lo, 3), round(hi, 3)})
    for level, rows in lines.groupby("level"):
        for xv, yv in zip(rows[x], rows[y]):
            expected = beta["Intercept"] + b.loc[level, "(Intercept)"] + (beta["standLRT"] + b.loc[level, "standLRT"]) * xv
            assert_plotted(yv, expected, scale=1.0)
    assert lines.level.nunique() == 65
    assert_plotted(avg[field(avg_enc, "y")], beta["Intercept"] + beta["standLRT"] * avg[field(avg_enc, "x")], 1.0)
    assert_plotted(avg[field(avg_enc, "x")], [lo, hi], 1.0)


def test_variance_partition_bar_draws_the_shares(null):
    vp = variance_partition(null)
    (bar_enc, bars), (text_enc, text) = layers(charts.variance_partition_bar(vp, labels={"school": "School"}))
    assert_plotted(bars[field(bar_enc, "x")], vp.share)
    assert_plotted(bars.variance, vp.variance)
    assert list(bars.level) == ["School", "Residual (within groups)"]
    share = null.variance_components().variance / null.variance_components().variance.sum()
    assert_plotted(bars.share, share)
    assert list(text[field(text_enc, "text")]) == [f"{100 * s:.1f}%" for s in vp.share]
    assert_plotted(text[field(text_enc, "x")], vp.share.cumsum() - vp.share / 2)


def test_group_densities_draw_normal_curves_with_the_given_variances():
    mean, tau2, sigma2 = 1.0, 0.3, 0.7
    (curve_enc, curves), (pop_enc, pop) = layers(charts.group_densities(mean, tau2, sigma2, label="school"))
    x = field(pop_enc, "x")
    grid, dens = pop[x].to_numpy(), pop[field(pop_enc, "y")].to_numpy()
    total_sd = np.sqrt(tau2 + sigma2)
    assert_plotted([grid.min(), grid.max()], [mean - 3.2 * total_sd, mean + 3.2 * total_sd], 1.0)
    assert_plotted(dens, stats.norm.pdf(grid, mean, total_sd))
    assert np.trapezoid(dens, grid) == pytest.approx(0.9986, abs=2e-3)  # ±3.2 SD of a normal
    offsets = stats.norm.ppf([0.1, 0.3, 0.5, 0.7, 0.9]) * np.sqrt(tau2)
    for k, (name, c) in enumerate(curves.groupby(field(curve_enc, "color"), sort=True)):
        assert name == f"school {k + 1}"
        peak = c.loc[c.density.idxmax()]
        assert peak.density == pytest.approx(1 / np.sqrt(2 * np.pi * sigma2), rel=2e-3)  # each group: sd σ
        assert abs(peak[x] - (mean + offsets[k])) <= np.diff(grid)[0]  # centred on its own effect
    chart = charts.group_densities(mean, tau2, sigma2, label="school")
    assert f"{tau2 / (tau2 + sigma2):.2f}" in charts.title_of(chart)


def test_residuals_vs_fitted_plots_the_models_values(slope):
    (pt_enc, pts), _ = layers(charts.residuals_vs_fitted(slope, max_points=500, seed=3))
    assert len(pts) == 500
    frame = pd.DataFrame({"fitted": slope.fitted().to_numpy(), "residual": slope.residuals().to_numpy()})
    shown = frame.sample(500, random_state=3)  # the chart's sample of the rows
    assert_plotted(pts[field(pt_enc, "x")], shown.fitted)
    assert_plotted(pts[field(pt_enc, "y")], shown.residual)
    # fitted value plus residual is the observed response
    np.testing.assert_allclose(pts.fitted + pts.residual, slope.y.to_numpy()[shown.index], atol=2e-3)


def test_rejection_rates_draw_the_table():
    table = pd.DataFrame({"method": ["OLS", "Clustered SE", "LME"], "rate": [0.31, 0.07, 0.052]})
    encoded = layers(charts.rejection_rates(table))
    bars = next(d for e, d in encoded if "method" in d)
    assert_plotted(bars.set_index("method").loc[table.method, "rate"], table.rate)
    nominal = encoded[-1][1]
    assert nominal[field(encoded[-1][0], "y")].tolist() == [0.05]
