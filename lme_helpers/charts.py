"""Altair charts for the book, with one colour-blind-safe theme and an offline renderer.

Every function returns an :class:`altair.Chart` (or a layered chart) with a
title, axis titles and a ``description`` (the chart's text alternative).
Charts take the width of their container, so they fit the 700 px text column
and a 390 px phone screen.

Call :func:`use_book_style` once per notebook: it enables the theme, a data
transformer that rounds numbers and refuses very large inline data sets,
and a renderer that emits a ``<figure>`` drawn by the book's own copy of
vega-embed (no request to any other host).
"""

from __future__ import annotations

import html
import json
import os
import textwrap
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from .fitting import LMEResult

__all__ = [
    "PALETTE",
    "use_book_style",
    "caterpillar",
    "shrinkage_plot",
    "varying_lines",
    "variance_partition_bar",
    "group_densities",
    "residuals_vs_fitted",
    "qq_plot",
    "strip_by_group",
    "rejection_rates",
    "scatter",
    "pooling_comparison",
    "shrinkage_explorer",
    "title_of",
    "mse_comparison",
    "bootstrap_distribution",
    "profile_plot",
    "within_between",
    "variance_shares",
    "reliability_curves",
    "rank_intervals",
    "vpc_curve",
]

# Okabe & Ito (2008) palette, distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MEAN_RED = "#B2182B"
"""The red of the group-mean ticks in strip plots."""
HEIGHT = 300
MAX_ROWS = 5000
SIGNIFICANT = 4


def _theme() -> dict:
    font = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
    return {
        "config": {
            "font": font,
            "view": {"stroke": None, "continuousHeight": HEIGHT},
            "range": {"category": PALETTE},
            "title": {"fontSize": 15, "anchor": "start", "subtitleFontSize": 12, "subtitleColor": "#444"},
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "gridColor": "#e6e6e6", "labelColor": "#222",
                     "titleColor": "#222"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "point": {"size": 36},
            "line": {"strokeWidth": 2},
        }
    }


def _round_values(data: pd.DataFrame) -> pd.DataFrame:
    out = data.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            vals = out[col].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = np.where(vals == 0, 0, np.floor(np.log10(np.abs(vals))))
            digits = np.clip(SIGNIFICANT - 1 - np.nan_to_num(mag), 0, 12).astype(int)
            out[col] = [round(v, d) if np.isfinite(v) else None for v, d in zip(vals, digits)]
        elif isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(str)
    return out


def _book_transformer(data, max_rows: int = MAX_ROWS):
    if isinstance(data, pd.DataFrame):
        if len(data) > max_rows:
            raise ValueError(
                f"A chart would inline {len(data)} rows (the limit is {max_rows}); aggregate or sample "
                "the data first so that the page stays light."
            )
        return alt.utils.data.to_values(_round_values(data))
    return data


def _render(spec: dict, **_: object) -> dict:
    description = spec.get("description") or _title_text(spec) or "Chart"
    payload = json.dumps(spec, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    figure = (
        f'<figure class="lme-chart" role="group" aria-label="{html.escape(description, quote=True)}">'
        '<div class="lme-chart-view"></div>'
        f'<script type="application/json" class="lme-chart-spec">{payload}</script>'
        f'<figcaption class="lme-chart-caption">{html.escape(description)}</figcaption>'
        "</figure>"
    )
    return {"text/html": figure, "application/vnd.vegalite.v6+json": spec}


def _title_text(spec: dict) -> str:
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        return " ".join(title)
    return str(title or "")


def title_of(chart) -> str:
    """A chart's title as one string (titles of several lines are joined).

    Examples
    --------
    >>> title_of(alt.Chart().mark_point().properties(title=alt.TitleParams(["Two", "lines"])))
    'Two lines'
    """
    return _title_text(chart.to_dict() if hasattr(chart, "to_dict") else chart)


def use_book_style(renderer: str | None = None) -> None:
    """Enable the book's theme and data transformer, and a renderer for where the code runs.

    Parameters
    ----------
    renderer : str, optional
        ``"lme_book"`` emits the book's ``<figure>`` markup, drawn by the
        website's own copy of vega-embed (used when the book is built, which
        sets ``LME_BOOK_BUILD=1``). Otherwise, in JupyterLab or Binder,
        Altair's own renderer is used. Pass a name to force one.

    Examples
    --------
    >>> use_book_style(renderer="lme_book")
    >>> alt.renderers.active
    'lme_book'
    """
    alt.theme.register("lme_book", enable=True)(_theme)
    alt.data_transformers.register("lme_book", _book_transformer)
    alt.data_transformers.enable("lme_book")
    alt.renderers.register("lme_book", _render)
    if renderer is None:
        renderer = "lme_book" if os.environ.get("LME_BOOK_BUILD") else "default"
    alt.renderers.enable(renderer)


TITLE_CHARS = 34  # longer titles wrap, so that they fit a 390 px phone screen
SUBTITLE_CHARS = 46


def _lines(text: str, width: int) -> str | list[str]:
    lines = textwrap.wrap(text, width)
    return lines[0] if len(lines) == 1 else lines


def plural(word: str) -> str:
    """The plural of a label in the book's charts: "school" → "schools", "authority" → "authorities".

    >>> plural("authority"), plural("school"), plural("Authority"), plural("day")
    ('authorities', 'schools', 'Authorities', 'days')
    """
    if word.endswith("y") and len(word) > 1 and word[-2].lower() not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def _finish(chart, title: str, description: str, subtitle: str | None = None, height: int = HEIGHT):
    if subtitle:
        t = alt.TitleParams(_lines(title, TITLE_CHARS), subtitle=_lines(subtitle, SUBTITLE_CHARS))
    else:
        t = alt.TitleParams(_lines(title, TITLE_CHARS))
    return chart.properties(title=t, description=description, width="container", height=height)


def _log_ticks(low: float, high: float) -> list[float]:
    """Tick values 1, 3, 10, 30, ... within [low, high]: labels that never collide, even at 390 px."""
    ticks = [m * 10.0**e for e in range(-1, 7) for m in (1, 3)]
    return [t for t in ticks if low <= t <= high]


# --------------------------------------------------------------------------
# model charts
# --------------------------------------------------------------------------


def caterpillar(
    result: LMEResult,
    group: str | None = None,
    term: str = "(Intercept)",
    level: float = 0.95,
    label: str = "group",
    comparison: bool = False,
    extremes: int | None = None,
) -> alt.LayerChart:
    """Caterpillar plot: each group's predicted random effect with its interval, in rank order.

    The intervals are û ± z · SE, where SE is the conditional standard
    deviation of the effect given the data (lme4's ``condVar``): it treats
    the estimated fixed effects and variance parameters as if they were
    known, so the intervals leave out the uncertainty in those estimates.

    Parameters
    ----------
    result : LMEResult
        A fitted model.
    group : str, optional
        Grouping factor (default: the model's first).
    term : str
        Which random effect, e.g. ``"(Intercept)"`` or a slope's name.
    level : float
        Coverage of the intervals (from the conditional standard errors).
    label : str
        What a group is called in the tooltip and axis titles, e.g. "school".
    comparison : bool
        Draw Goldstein and Healy's (1995) intervals for comparing pairs of
        groups instead: z / √2 standard errors (±1.39 for the 5% level), so
        that two groups whose intervals do not overlap differ at about that
        level (for groups with similar standard errors).
    extremes : int, optional
        Draw only the lowest and highest ``extremes`` groups, one row each with
        its name, so that the groups at either end can be read off the chart.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
    >>> title_of(caterpillar(m, label="school"))
    'Predicted school effects with 95% intervals'
    >>> title_of(caterpillar(m, label="school", comparison=True))
    'School effects with intervals for comparing pairs'
    >>> title_of(caterpillar(m, label="school", extremes=5))
    'The 5 lowest and 5 highest school effects, with 95% intervals'
    """
    group = group or result.grouping[0]
    b = result.blups(group)
    b = b[b.term == term].copy()
    if b.empty:
        raise ValueError(f"No random effect {term!r} for {group!r}; terms are {sorted(result.blups(group).term.unique())}.")
    z = stats.norm.ppf(0.5 + level / 2)
    if comparison:
        z /= np.sqrt(2)
    b["low"] = b.estimate - z * b.std_error
    b["high"] = b.estimate + z * b.std_error
    b["rank"] = b.estimate.rank(method="first").astype(int)
    b["differs"] = np.where(b.low > 0, "above average", np.where(b.high < 0, "below average", "interval covers 0"))
    if extremes is not None:
        return _named_extremes(b, result, term, level, label, extremes)
    base = alt.Chart(b[["level", "estimate", "low", "high", "rank", "differs"]])
    x = alt.X("rank:Q", title=f"{plural(label.capitalize())}, ranked by predicted effect",
              axis=alt.Axis(labels=False, ticks=False), scale=alt.Scale(domain=[0, len(b) + 1], nice=False))
    if comparison:
        colour = alt.value(PALETTE[0])
    else:
        colour = alt.Color("differs:N", title=None, legend=alt.Legend(columns=1), scale=alt.Scale(
            domain=["below average", "interval covers 0", "above average"], range=[PALETTE[3], "#888888", PALETTE[0]]))
    tooltip = [alt.Tooltip("level:N", title=label), alt.Tooltip("estimate:Q", format=".3f"),
               alt.Tooltip("low:Q", format=".3f", title="lower"), alt.Tooltip("high:Q", format=".3f", title="upper")]
    term_label = "intercept" if term == "(Intercept)" else f"slope of {term}"
    rules = base.mark_rule(opacity=0.6).encode(x=x, y=alt.Y("low:Q", title=f"Predicted {label} effect ({term_label})"),
                                               y2="high:Q", color=colour)
    points = base.mark_point(filled=True).encode(x=x, y="estimate:Q", color=colour, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(strokeDash=[4, 4], color="#333").encode(y="y:Q")
    pct = round(level * 100)
    what = "from its conditional standard error (the fixed effects and variances are treated as known)"
    if comparison:
        return _finish(
            alt.layer(rules, points, zero),
            f"{label.capitalize()} effects with intervals for comparing pairs",
            f"Caterpillar plot of {len(b)} {label} random effects ({term}) from {result.formula}, sorted from lowest to "
            f"highest, each with an interval of ±{z:.2f} standard errors {what}: two {label}s whose intervals do "
            f"not overlap differ at about the {100 - pct}% level.",
            subtitle=f"±{z:.2f} SE: bars that do not overlap differ at about {100 - pct}%",
        )
    return _finish(
        alt.layer(rules, points, zero),
        f"Predicted {label} effects with {pct}% intervals",
        f"Caterpillar plot of {len(b)} {label} random effects ({term}) from {result.formula}, sorted from lowest to "
        f"highest, each with a {pct}% interval {what}; {int((b.differs != 'interval covers 0').sum())} intervals "
        "exclude zero.",
    )


def _named_extremes(b: pd.DataFrame, result: LMEResult, term: str, level: float, label: str,
                    k: int) -> alt.LayerChart:
    """The caterpillar plot's ``k`` lowest and highest groups, one named row each."""
    b = b.sort_values("estimate")
    shown = pd.concat([b.head(k), b.tail(k)]).drop_duplicates("level")
    shown = shown.assign(level=shown.level.astype(str))
    order = list(shown.level[::-1])
    y = alt.Y("level:N", sort=order, title=None, axis=alt.Axis(labelLimit=170))
    # no legend (it would be cut off on a phone): the subtitle names the colours
    colour = alt.Color("differs:N", legend=None,
                       scale=alt.Scale(domain=["below average", "interval covers 0", "above average"],
                                       range=[PALETTE[3], "#888888", PALETTE[0]]))
    term_label = "intercept" if term == "(Intercept)" else f"slope of {term}"
    base = alt.Chart(shown[["level", "estimate", "low", "high", "differs"]])
    # anchored at the right end of a narrow plot, the title runs left under the names instead of
    # past the chart's right edge (where a phone cuts it off)
    x = alt.X("low:Q", title=["Predicted effect", f"({term_label})"], axis=alt.Axis(titleAnchor="end", titleAlign="right"))
    tooltip = [alt.Tooltip("level:N", title=label), alt.Tooltip("estimate:Q", format=".3f"),
               alt.Tooltip("low:Q", format=".3f", title="lower"), alt.Tooltip("high:Q", format=".3f", title="upper")]
    rules = base.mark_rule(strokeWidth=2).encode(y=y, x=x, x2="high:Q", color=colour)
    points = base.mark_point(filled=True, size=50).encode(y=y, x="estimate:Q", color=colour, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color="#333").encode(x="x:Q")
    pct = round(level * 100)
    return _finish(
        alt.layer(rules, points, zero),
        f"The {k} lowest and {k} highest {label} effects, with {pct}% intervals",
        f"The {k} lowest and {k} highest of {len(b)} predicted {label} random effects ({term}) from "
        f"{result.formula}, one row each, named: "
        + "; ".join(f"{r.level} {r.estimate:.2f}" for r in shown.itertuples()) + ".",
        height=24 * len(shown),
    ).properties(title=alt.TitleParams(_lines(f"The {k} lowest and {k} highest {label} effects, with {pct}% intervals",
                                              TITLE_CHARS),
                                       subtitle=["Blue: above average", "Orange: below average",
                                                 "Grey: the interval covers 0"]))


def shrinkage_plot(table: pd.DataFrame, label: str = "group", y_title: str = "Group estimate") -> alt.LayerChart:
    """Arrows from each group's raw estimate to its partially pooled estimate, by group size.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`lme_helpers.shrinkage`.
    label : str
        What a group is called, e.g. "school".
    y_title : str
        Title of the vertical axis.

    Examples
    --------
    >>> from lme_helpers import fit, shrinkage, data
    >>> s = shrinkage(fit("normexam ~ 1 + (1 | school)", data.load("exam")))
    >>> title_of(shrinkage_plot(s, label="school"))
    'Small schools are pulled furthest towards the overall mean'
    """
    need = ["level", "n", "no_pooling", "partial_pooling", "complete_pooling", "shrinkage"]  # a list: stable order
    if not set(need) <= set(table.columns):
        raise ValueError(f"shrinkage_plot() needs the columns {need} (from lme_helpers.shrinkage()).")
    t = table[need].copy()
    x = alt.X("n:Q", title=f"{label.capitalize()} size (observations, log scale)", scale=alt.Scale(type="log", nice=False),
              axis=alt.Axis(values=_log_ticks(t.n.min(), t.n.max()), format="d"))
    tooltip = [alt.Tooltip("level:N", title=label), alt.Tooltip("n:Q", title="size"),
               alt.Tooltip("no_pooling:Q", format=".3f", title="raw estimate"),
               alt.Tooltip("partial_pooling:Q", format=".3f", title="partial pooling"),
               alt.Tooltip("shrinkage:Q", format=".2f", title="λ (weight on own data)")]
    base = alt.Chart(t)
    arrows = base.mark_rule(color=PALETTE[5], strokeWidth=1.5).encode(x=x, y=alt.Y("no_pooling:Q", title=y_title), y2="partial_pooling:Q")
    raw = base.mark_point(shape="circle", filled=False, color=PALETTE[1], size=40).encode(
        x=x, y="no_pooling:Q", tooltip=tooltip)
    partial = base.mark_point(shape="triangle", filled=True, color=PALETTE[0], size=40).encode(
        x=x, y="partial_pooling:Q", tooltip=tooltip)
    pooled = base.mark_rule(strokeDash=[5, 4], color="#333").encode(y="mean(complete_pooling):Q")
    return _finish(
        alt.layer(arrows, raw, partial, pooled),
        f"Small {plural(label)} are pulled furthest towards the overall mean",
        f"Shrinkage plot for {len(t)} {plural(label)}: for each, a line joins its raw estimate (open circle) to its partially "
        f"pooled estimate (filled triangle), plotted against {label} size; the dashed line is the overall estimate. "
        "Lines are longest for the smallest groups.",
        subtitle="Open circle: raw estimate · Triangle: partial pooling · Dashed: overall",
    )


def varying_lines(
    result: LMEResult,
    x: str,
    group: str | None = None,
    label: str = "group",
    n_lines: int | None = None,
    seed: int = 0,
) -> alt.LayerChart:
    """One predicted line per group under random intercepts (and slopes), with the average line.

    Only the two end points of each line are sent to the page.

    Parameters
    ----------
    result : LMEResult
        A model with ``x`` as a fixed effect and a random intercept (and
        possibly a random slope on ``x``) for ``group``; other fixed effects
        are held at zero.
    x : str
        The predictor on the horizontal axis.
    group : str, optional
        Grouping factor (default: the model's first).
    label : str
        What a group is called.
    n_lines : int, optional
        Draw a random subset of this many groups.
    seed : int
        Seed for that subset.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ standLRT + (standLRT | school)", data.load("exam"))
    >>> len(varying_lines(m, "standLRT", label="school").to_dict()["layer"])
    2
    """
    group = group or result.grouping[0]
    beta = result.fe_params
    if x not in beta.index:
        raise ValueError(f"{x!r} is not a fixed effect of {result.formula!r}; fixed effects are {list(beta.index)}.")
    xs = result.data[x]
    lo, hi = float(np.nanquantile(xs, 0.02)), float(np.nanquantile(xs, 0.98))
    b = result.blups(group).pivot(index="level", columns="term", values="estimate")
    u0 = b.get("(Intercept)", pd.Series(0.0, index=b.index))
    u1 = b.get(x, pd.Series(0.0, index=b.index))
    levels = b.index.to_numpy()
    if n_lines is not None and n_lines < len(levels):
        levels = np.random.default_rng(seed).choice(levels, n_lines, replace=False)
    rows = []
    b0, b1 = float(beta.get("Intercept", 0.0)), float(beta[x])
    for lev in levels:
        for xv in (lo, hi):
            rows.append((str(lev), xv, b0 + u0[lev] + (b1 + u1[lev]) * xv))
    lines = pd.DataFrame(rows, columns=["level", x, "predicted"])
    avg = pd.DataFrame({x: [lo, hi], "predicted": [b0 + b1 * lo, b0 + b1 * hi]})
    group_lines = alt.Chart(lines).mark_line(opacity=0.45, strokeWidth=1.2, color=PALETTE[5]).encode(
        x=alt.X(f"{x}:Q", title=x), y=alt.Y("predicted:Q", title=f"Predicted {result.response}", scale=alt.Scale(zero=False)),
        detail="level:N", tooltip=[alt.Tooltip("level:N", title=label)])
    mean_line = alt.Chart(avg).mark_line(color=PALETTE[3], strokeWidth=3).encode(x=f"{x}:Q", y="predicted:Q")
    kind = "slopes and intercepts" if x in b.columns else "intercepts"
    return _finish(
        alt.layer(group_lines, mean_line),
        f"Each {label} has its own line",
        f"Predicted {result.response} against {x} for {len(levels)} {plural(label)} (thin lines), which differ in their "
        f"{kind}, and the average line (thick) from {result.formula}.",
    )


def variance_partition_bar(table: pd.DataFrame, title: str = "Where the variance lies",
                           labels: dict[str, str] | None = None) -> alt.LayerChart:
    """A single stacked bar of variance shares (from :func:`lme_helpers.variance.variance_partition`).

    ``labels`` renames levels for the legend, e.g. ``{"LANAME": "Local authority"}``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> from lme_helpers.variance import variance_partition
    >>> vp = variance_partition(fit("normexam ~ 1 + (1 | school)", data.load("exam")))
    >>> title_of(variance_partition_bar(vp))
    'Where the variance lies'
    """
    t = table.copy()
    t["label"] = (t.share * 100).round(1).astype(str) + "%"
    t["order"] = np.arange(len(t))
    t["level"] = t.level.replace({"Residual": "Residual (within groups)", **(labels or {})})
    domain = list(t.level)
    base = alt.Chart(t).encode(
        x=alt.X("share:Q", stack="zero", title="Share of total variance", axis=alt.Axis(format="%")),
        order="order:Q",
    )
    bars = base.mark_bar(height=46).encode(
        color=alt.Color("level:N", title=None, scale=alt.Scale(domain=domain, range=PALETTE[: len(domain)])),
        tooltip=[alt.Tooltip("level:N", title="level"), alt.Tooltip("variance:Q", format=".4f"),
                 alt.Tooltip("share:Q", format=".1%")],
    )
    t["mid"] = t.share.cumsum() - t.share / 2
    text = alt.Chart(t).mark_text(color="white", fontWeight="bold").encode(
        x="mid:Q", text="label:N").transform_filter("datum.share > 0.06")
    desc = "; ".join(f"{r.level}: {r.share:.1%}" for r in t.itertuples())
    return _finish(alt.layer(bars, text), title, f"Stacked bar of variance shares. {desc}.", height=90)


def group_densities(
    mean: float, tau2: float, sigma2: float, offsets: Sequence[float] | None = None, label: str = "group",
    response: str = "y", title: str | None = None, height: int = HEIGHT,
) -> alt.LayerChart:
    """Normal curves of a few groups against the whole population: the ICC as overlap.

    Each group's outcomes are drawn as N(mean + u_j, σ²); the population as
    N(mean, τ² + σ²). When τ² is small relative to σ² the group curves
    overlap almost entirely (low ICC).

    Parameters
    ----------
    mean, tau2, sigma2 : float
        Overall mean, between-group and within-group variance.
    offsets : sequence of float, optional
        Group effects u_j to draw (default: the 10th, 30th, 50th, 70th, 90th
        percentiles of N(0, τ²)).
    title : str, optional
        The chart's title (by default it states the ICC).
    height : int
        Height in pixels.

    Examples
    --------
    >>> chart = group_densities(0.0, 0.17, 0.85, label="school")
    >>> title_of(chart).startswith("Schools overlap")
    True
    """
    if offsets is None:
        offsets = stats.norm.ppf([0.1, 0.3, 0.5, 0.7, 0.9]) * np.sqrt(tau2)
    total_sd = np.sqrt(tau2 + sigma2)
    grid = np.linspace(mean - 3.2 * total_sd, mean + 3.2 * total_sd, 121)
    rows = []
    for k, u in enumerate(offsets):
        dens = stats.norm.pdf(grid, mean + u, np.sqrt(sigma2))
        rows += [(f"{label} {k + 1}", float(g), float(d)) for g, d in zip(grid, dens)]
    curves = pd.DataFrame(rows, columns=["curve", response, "density"])
    pop = pd.DataFrame({response: grid, "density": stats.norm.pdf(grid, mean, total_sd)})
    icc = tau2 / (tau2 + sigma2)
    lines = alt.Chart(curves).mark_line(strokeWidth=1.6).encode(
        x=alt.X(f"{response}:Q", title=response), y=alt.Y("density:Q", title="Density"),
        color=alt.Color("curve:N", title=None, legend=None, scale=alt.Scale(range=PALETTE[:5])),
        tooltip=[alt.Tooltip("curve:N", title=label)])
    total = alt.Chart(pop).mark_line(color="#000", strokeDash=[6, 4], strokeWidth=2).encode(x=f"{response}:Q", y="density:Q")
    return _finish(
        alt.layer(lines, total),
        title or f"{plural(label.capitalize())} overlap heavily when the ICC is {icc:.2f}",
        f"Five coloured normal curves show the spread of {response} within five {plural(label)} whose effects span the "
        f"middle 80% of {plural(label)}; the dashed black curve is the whole population. The ICC is {icc:.2f}.",
        subtitle="Coloured: within single groups · Dashed: everyone",
        height=height,
    )


def residuals_vs_fitted(result: LMEResult, max_points: int = 1500, seed: int = 0) -> alt.LayerChart:
    """Level-1 residuals against conditional fitted values, with a zero line.

    Large data sets are represented by a random sample of ``max_points`` rows,
    which keeps the page light and shows the same pattern.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("Reaction ~ Days + (Days | Subject)", data.load("sleepstudy"))
    >>> title_of(residuals_vs_fitted(m))
    'Residuals against fitted values'
    """
    frame = pd.DataFrame({"fitted": result.fitted().to_numpy(), "residual": result.residuals().to_numpy(),
                          "group": result.group_column().astype(str).to_numpy()})
    n_all = len(frame)
    if n_all > max_points:
        frame = frame.sample(max_points, random_state=seed)
    shown = f"a random sample of {len(frame)} of the {n_all}" if len(frame) < n_all else f"all {n_all}"
    pts = alt.Chart(frame).mark_circle(size=14, opacity=0.45, color=PALETTE[0]).encode(
        x=alt.X("fitted:Q", title="Fitted value (fixed + random part)"), y=alt.Y("residual:Q", title="Level-1 residual"),
        tooltip=[alt.Tooltip("group:N", title=result.grouping[0]), alt.Tooltip("residual:Q", format=".3f")])
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#333", strokeDash=[4, 4]).encode(y="y:Q")
    return _finish(alt.layer(pts, zero), "Residuals against fitted values",
                   f"Scatter plot of {shown} level-1 residuals against fitted values from {result.formula}; "
                   "a healthy model shows an even band around zero.")


def qq_plot(values: Sequence[float], title: str, what: str = "residuals") -> alt.LayerChart:
    """Normal quantile–quantile plot of standardised values with the identity line.

    Examples
    --------
    >>> title_of(qq_plot([0.1, -0.3, 0.2, 1.5], "Level-1 residuals"))
    'Level-1 residuals'
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 3:
        raise ValueError("qq_plot() needs at least three finite values.")
    z = (np.sort(v) - v.mean()) / v.std(ddof=1)
    if len(z) > 800:  # keep the page light: evenly spaced order statistics
        idx = np.unique(np.linspace(0, len(z) - 1, 800).round().astype(int))
    else:
        idx = np.arange(len(z))
    theo = stats.norm.ppf((np.arange(1, len(v) + 1) - 0.5) / len(v))
    frame = pd.DataFrame({"theoretical": theo[idx], "observed": z[idx]})
    lim = float(np.ceil(max(abs(frame.min().min()), abs(frame.max().max()))))
    line = alt.Chart(pd.DataFrame({"a": [-lim, lim]})).mark_line(color="#333", strokeDash=[4, 4]).encode(x="a:Q", y="a:Q")
    pts = alt.Chart(frame).mark_circle(size=18, color=PALETTE[0]).encode(
        x=alt.X("theoretical:Q", title="Normal quantile"), y=alt.Y("observed:Q", title=f"Standardised {what}"))
    return _finish(alt.layer(line, pts), title,
                   f"Normal quantile-quantile plot of {len(v)} standardised {what}; points close to the dashed "
                   "diagonal mean the values look normally distributed.", height=280)


# --------------------------------------------------------------------------
# data charts
# --------------------------------------------------------------------------


def strip_by_group(data: pd.DataFrame, y: str, group: str, n_groups: int = 12, label: str | None = None,
                   seed: int = 1, y_title: str | None = None, title: str | None = None) -> alt.LayerChart:
    """Observations of a few groups as jittered strips, with each group's mean.

    Shows clustering: observations in the same group sit around a shared mean. Groups
    with short labels (school numbers) stand side by side; groups with names (local
    authorities) are drawn as rows, one name per row, so that no label overprints another
    at any width.

    Parameters
    ----------
    data : DataFrame
    y : str
        The variable to show.
    group : str
        The grouping column; ``n_groups`` of its levels are drawn at random (``seed``).
    label : str, optional
        What a group is called ("school", "authority").
    y_title : str, optional
        Axis title of the variable (default: its column name).
    title : str, optional
        The chart's title (default: one that says observations cluster by group).

    Examples
    --------
    >>> from lme_helpers import data
    >>> title_of(strip_by_group(data.load("exam"), "normexam", "school", label="school"))
    'Pupils in the same school resemble each other'
    """
    label = label or group
    frame = data[[y, group]].dropna()
    levels = frame[group].astype(str).unique()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(levels, size=min(n_groups, len(levels)), replace=False)
    sub = frame[frame[group].astype(str).isin(chosen)].copy()
    sub[group] = sub[group].astype(str)
    means = sub.groupby(group)[y].mean()
    order = list(means.sort_values().index)
    sub["jitter"] = rng.uniform(-0.3, 0.3, len(sub))
    rows = max(len(str(v)) for v in chosen) > 4  # names: one row each
    value = alt.Y(f"{y}:Q", title=y_title or y) if not rows else alt.X(f"{y}:Q", title=y_title or y)
    group_title = f"{label.capitalize()} (ordered by mean)"
    if rows:  # the names say what the rows are; the subtitle says how they are ordered
        pos = alt.Y(f"{group}:N", sort=order[::-1], title=None, axis=alt.Axis(labelLimit=170))
        offset = {"yOffset": "jitter:Q"}
    else:
        pos = alt.X(f"{group}:N", sort=order, title=group_title, axis=alt.Axis(labelAngle=0))
        offset = {"xOffset": "jitter:Q"}
    key = "y" if rows else "x"
    other = "x" if rows else "y"
    pts = alt.Chart(sub).mark_circle(size=16, opacity=0.45, color=PALETTE[0]).encode(
        **{key: pos, other: value}, **offset,
        tooltip=[alt.Tooltip(f"{group}:N", title=label), f"{y}:Q"])
    m = pd.DataFrame({group: means.index, "mean": means.values})
    mean_value = alt.X("mean:Q") if rows else alt.Y("mean:Q")
    # a clear red (the captions say "red ticks"), distinct from the blue dots for colour-blind readers too
    mean_marks = alt.Chart(m).mark_tick(color=MEAN_RED, thickness=3, size=18 if rows else 26).encode(
        **{key: pos, other: mean_value},
        tooltip=[alt.Tooltip(f"{group}:N", title=label), alt.Tooltip("mean:Q", format=".3f")])
    title = title or (f"Pupils in the same {label} resemble each other" if label == "school"
                      else f"Observations cluster by {label}")
    return _finish(
        alt.layer(pts, mean_marks),
        title,
        f"Strip plot of {y} for {len(chosen)} randomly chosen {plural(label)}, ordered by their mean (red ticks); "
        "each dot is one observation.",
        subtitle=(f"Dots: observations · Red ticks: {label} means, {plural(label)} ordered by mean" if rows
                  else "Dots: observations · Red ticks: group means"),
        height=max(HEIGHT, 26 * len(chosen)) if rows else HEIGHT,
    )


def rejection_rates(table: pd.DataFrame, nominal: float = 0.05) -> alt.LayerChart:
    """Bar chart of how often each method rejects a true null hypothesis, against the nominal rate.

    Parameters
    ----------
    table : DataFrame
        Columns ``method`` and ``rate`` (and optionally ``low``/``high`` for an interval).

    Examples
    --------
    >>> t = pd.DataFrame({"method": ["OLS", "LME"], "rate": [0.4, 0.05]})
    >>> title_of(rejection_rates(t))
    'How often a true null hypothesis is rejected'
    """
    t = table.copy()
    bars = alt.Chart(t).mark_bar(size=48).encode(
        x=alt.X("method:N", title=None, sort=list(t.method), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("rate:Q", title="Share of simulations with p < 0.05", axis=alt.Axis(format="%")),
        color=alt.Color("method:N", legend=None, scale=alt.Scale(domain=list(t.method),
                                                                 range=[PALETTE[3], PALETTE[0], PALETTE[2]][: len(t)])),
        tooltip=["method:N", alt.Tooltip("rate:Q", format=".1%")])
    layers = [bars]
    if {"low", "high"} <= set(t.columns):
        layers.append(alt.Chart(t).mark_rule(color="#222", strokeWidth=1.5).encode(
            x=alt.X("method:N", sort=list(t.method)), y="low:Q", y2="high:Q"))
    layers.append(alt.Chart(pd.DataFrame({"y": [nominal]})).mark_rule(strokeDash=[5, 4], color="#222", strokeWidth=1.5).encode(y="y:Q"))
    desc = ", ".join(f"{r.method}: {r.rate:.1%}" for r in t.itertuples())
    return _finish(alt.layer(*layers), "How often a true null hypothesis is rejected",
                   f"Bar chart of false-rejection rates at the 5% level: {desc}. The dashed line marks the nominal 5%.",
                   subtitle=f"Dashed line: the nominal {nominal:.0%}")


def scatter(data: pd.DataFrame, x: str, y: str, *, color: str | None = None, tooltip: Sequence[str] = (),
            title: str = "", description: str = "", line: bool = False, x_title: str | None = None,
            y_title: str | None = None, x_log: bool = False, max_points: int = 2000, seed: int = 0) -> alt.LayerChart:
    """A scatter plot with optional colour, tooltips and least-squares line.

    More than ``max_points`` rows are represented by a random sample (the
    line is fitted to the sample too), which keeps the page light.

    Examples
    --------
    >>> from lme_helpers import data
    >>> c = scatter(data.load("sleepstudy"), "Days", "Reaction", title="Reaction", description="d")
    >>> c.to_dict()["description"]
    'd'
    """
    cols = list(dict.fromkeys([x, y] + ([color] if color else []) + list(tooltip)))
    frame = data[cols].dropna()
    n_all = len(frame)
    if n_all > max_points:
        frame = frame.sample(max_points, random_state=seed)
    enc = {
        "x": alt.X(f"{x}:Q", title=x_title or x, scale=alt.Scale(type="log") if x_log else alt.Undefined),
        "y": alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(zero=False)),
        "tooltip": [alt.Tooltip(c) for c in cols],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    pts = alt.Chart(frame).mark_circle(size=20, opacity=0.55, color=PALETTE[0]).encode(**enc)
    layers = [pts]
    if line:
        layers.append(pts.transform_regression(x, y).mark_line(color=PALETTE[3], strokeWidth=2.5).encode(
            color=alt.value(PALETTE[3]), tooltip=alt.value(None)))
    return _finish(alt.layer(*layers), title or f"{y} against {x}",
                   description or f"Scatter plot of {y} against {x} for "
                   + (f"a random sample of {len(frame)} of {n_all} observations." if len(frame) < n_all
                      else f"{n_all} observations."))


def pooling_comparison(table: pd.DataFrame, label: str = "group", n_groups: int = 16, seed: int = 2,
                       y_title: str = "Estimated mean") -> alt.LayerChart:
    """Complete, no and partial pooling side by side for a sample of groups, ordered by size.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`lme_helpers.shrinkage`.
    label : str
        What a group is called.
    n_groups : int
        How many groups to show (spread over the range of sizes).

    Examples
    --------
    >>> from lme_helpers import fit, shrinkage, data
    >>> s = shrinkage(fit("normexam ~ 1 + (1 | school)", data.load("exam")))
    >>> title_of(pooling_comparison(s, label="school"))
    "Three ways to estimate each school's mean"
    """
    t = table.sort_values("n").reset_index(drop=True)
    if len(t) > n_groups:
        idx = np.unique(np.linspace(0, len(t) - 1, n_groups).round().astype(int))
        t = t.iloc[idx]
    t = t.assign(name=[f"{lv} (n={n})" for lv, n in zip(t.level, t.n)])
    long = t.melt(id_vars=["name", "n"], value_vars=["no_pooling", "partial_pooling", "complete_pooling"],
                  var_name="method", value_name="estimate")
    names = {"no_pooling": "No pooling (own mean)", "partial_pooling": "Partial pooling (mixed model)",
             "complete_pooling": "Complete pooling (one mean)"}
    long["method"] = long.method.map(names)
    order = list(t.name)
    y = alt.Y("name:N", sort=order, title=f"{label.capitalize()} (size in brackets), smallest at the top")
    colour = alt.Color("method:N", title=None, legend=alt.Legend(columns=1, labelLimit=400),
                       scale=alt.Scale(domain=list(names.values()), range=[PALETTE[1], PALETTE[0], "#555555"]))
    shape = alt.Shape("method:N", title=None, scale=alt.Scale(domain=list(names.values()),
                                                              range=["circle", "triangle", "square"]))
    base = alt.Chart(long)
    rule = alt.Chart(t).mark_rule(color="#bbb").encode(y=y, x="no_pooling:Q", x2="partial_pooling:Q")
    pts = base.mark_point(filled=True, size=60, opacity=0.9).encode(
        y=y, x=alt.X("estimate:Q", title=y_title), color=colour, shape=shape,
        tooltip=[alt.Tooltip("name:N", title=label), "method:N", alt.Tooltip("estimate:Q", format=".3f")])
    return _finish(
        alt.layer(rule, pts),
        f"Three ways to estimate each {label}'s mean",
        f"Dot plot for {len(t)} {plural(label)} ordered by size: each has its own mean (no pooling, circle), the "
        "mixed-model estimate (partial pooling, triangle) and the single overall estimate (complete pooling, "
        "square). The triangles sit between the other two, closest to the overall estimate for small groups.",
        height=max(260, 22 * len(t)),
    )


def shrinkage_explorer(n_groups: int = 16, seed: int = 4, grand_mean: float = 0.0) -> alt.LayerChart:
    """Interactive shrinkage: groups of different sizes, with sliders for sizes and variances.

    Group j has size n_j = max(1, round(n · r^q_j)), where n is the typical
    group size, r the ratio of the largest group to the smallest (both set by
    sliders) and the q_j are spaced evenly from −½ to ½. Its raw mean is
    grand_mean + z_j · sqrt(τ₀₀ + σ²/n_j) (the spread of group means that the
    sliders imply, for a fixed normal score z_j that has nothing to do with
    the group's size; the vertical axis is fixed at ±2 so that changes in
    spread stay visible), and its partially pooled estimate is
    grand_mean + λ_j (raw − grand_mean) with λ_j = τ₀₀ / (τ₀₀ + σ²/n_j).
    The chart plots both against group size, so that within one data set the
    small groups are seen to be pulled furthest. Everything is computed in
    the browser (Vega expressions), so it works on a static page.

    Examples
    --------
    >>> spec = shrinkage_explorer().to_dict()
    >>> sorted(p["name"] for p in spec["params"])
    ['n', 'sigma2', 'spread', 'tau2']
    """
    rng = np.random.default_rng(seed)
    # evenly spaced normal scores in a random order: typical raw means, unrelated to group size
    z = rng.permutation(stats.norm.ppf((np.arange(n_groups) + 0.5) / n_groups))
    frame = pd.DataFrame({"group": [f"group {i + 1}" for i in range(n_groups)],
                          "q": np.linspace(-0.5, 0.5, n_groups), "z": z})
    n = alt.param(name="n", value=10, bind=alt.binding_range(min=2, max=50, step=1, name="Typical size n "))
    spread = alt.param(name="spread", value=20, bind=alt.binding_range(min=1, max=25, step=1,
                                                                       name="Largest ÷ smallest "))
    tau2 = alt.param(name="tau2", value=0.2, bind=alt.binding_range(min=0.0, max=0.5, step=0.01,
                                                                    name="Between, τ₀₀ "))
    sigma2 = alt.param(name="sigma2", value=1.0, bind=alt.binding_range(min=0.1, max=2.0, step=0.05,
                                                                        name="Within, σ² "))
    base = alt.Chart(frame).transform_calculate(
        size="max(1, round(n * pow(spread, datum.q)))",
    ).transform_calculate(
        lam="tau2 / (tau2 + sigma2 / datum.size)",
        raw=f"{grand_mean} + datum.z * sqrt(tau2 + sigma2 / datum.size)",
    ).transform_calculate(
        partial=f"{grand_mean} + datum.lam * (datum.raw - {grand_mean})",
    )
    x = alt.X("size:Q", title="Group size n (log scale)", scale=alt.Scale(type="log", domain=[1, 300], nice=False),
              axis=alt.Axis(values=_log_ticks(1, 300), format="d"))
    y = alt.Y("raw:Q", title="Group estimate", scale=alt.Scale(domain=[-2, 2], clamp=True))
    tooltip = ["group:N", alt.Tooltip("size:Q", title="n"), alt.Tooltip("raw:Q", format=".3f", title="raw mean"),
               alt.Tooltip("partial:Q", format=".3f", title="partial pooling"),
               alt.Tooltip("lam:Q", format=".2f", title="λ")]
    arrows = base.mark_rule(color=PALETTE[5], strokeWidth=2).encode(x=x, y=y, y2="partial:Q")
    raw = base.mark_point(shape="circle", filled=False, color=PALETTE[1], size=60, strokeWidth=2).encode(
        x=x, y=y, tooltip=tooltip)
    partial = base.mark_point(shape="triangle", filled=True, color=PALETTE[0], size=60).encode(
        x=x, y="partial:Q", tooltip=tooltip)
    centre = alt.Chart(pd.DataFrame({"y": [grand_mean]})).mark_rule(strokeDash=[5, 4], color="#333").encode(y="y:Q")
    lam_text = base.transform_aggregate(lo="min(lam)", hi="max(lam)").transform_calculate(
        label="'λ from ' + format(datum.lo, '.2f') + ' (smallest) to ' + format(datum.hi, '.2f')"
    ).mark_text(align="left", fontSize=13, fontWeight="bold").encode(text="label:N", x=alt.value(6), y=alt.value(10))
    chart = alt.layer(arrows, raw, partial, centre, lam_text).add_params(n, spread, tau2, sigma2)
    return _finish(
        chart,
        "Shrinkage explorer",
        f"Interactive chart of {n_groups} groups of different sizes: for each, a line joins its raw mean (open "
        "circle) to its partially pooled estimate (triangle), plotted against group size; the dashed line is the "
        "overall mean. Sliders set the typical group size, how much the sizes differ, the between-group variance "
        "and the within-group variance. Within one data set the smallest groups are pulled furthest; all lines "
        "shorten (less shrinkage) when groups are larger, the between-group variance is larger or the "
        "within-group variance is smaller.",
        subtitle="Circle: raw mean · Triangle: partial pooling",
        height=340,
    )


def mse_comparison(table: pd.DataFrame) -> alt.LayerChart:
    """Bars of mean squared error by estimator (columns ``estimator`` and ``mse``).

    With a column ``groups`` (which groups the error is averaged over, e.g.
    "all groups" and "small groups"), the bars are grouped by it.

    Examples
    --------
    >>> t = pd.DataFrame({"estimator": ["raw means", "partial pooling"], "mse": [0.1, 0.05]})
    >>> title_of(mse_comparison(t))
    'Error against the known truth'
    """
    estimators = list(dict.fromkeys(table.estimator))
    colour = alt.Color("estimator:N", sort=estimators, scale=alt.Scale(
        domain=estimators, range=[PALETTE[1], PALETTE[0], "#777777"][: len(estimators)]))
    y = alt.Y("mse:Q", title="Mean squared error of group effects")
    tooltip = ["estimator:N", alt.Tooltip("mse:Q", format=".4f")]
    if "groups" in table.columns:
        order = list(dict.fromkeys(table.groups))
        bars = alt.Chart(table).mark_bar().encode(
            x=alt.X("groups:N", title=None, sort=order, axis=alt.Axis(labelAngle=0, labelLimit=180)),
            xOffset=alt.XOffset("estimator:N", sort=estimators), y=y,
            color=colour.title(None), tooltip=["groups:N"] + tooltip)
        desc = "; ".join(f"{g}: " + ", ".join(f"{r.estimator} {r.mse:.4f}" for r in table[table.groups == g].itertuples())
                         for g in order)
    else:
        bars = alt.Chart(table).mark_bar(size=48).encode(
            x=alt.X("estimator:N", title=None, sort=estimators, axis=alt.Axis(labelAngle=0)), y=y,
            color=colour.legend(None), tooltip=tooltip)
        desc = ", ".join(f"{r.estimator}: {r.mse:.4f}" for r in table.itertuples())
    return _finish(alt.layer(bars), "Error against the known truth",
                   f"Bar chart of the mean squared error of each estimator of the true group effects: {desc}.")


def reliability_curves(rho: float, sizes: Sequence[float], label: str = "group",
                       others: Sequence[float] = (0.05, 0.4)) -> alt.LayerChart:
    """λ = nρ / (1 + (n − 1)ρ) against group size n for the fitted ICC and two others, with the groups marked.

    Parameters
    ----------
    rho : float
        The (conditional) intraclass correlation of the fitted model.
    sizes : sequence of int
        The groups' sizes; each group is drawn as a point on the curve of ``rho``.
    label : str
        What a group is called.
    others : sequence of float
        Other ICCs to draw for comparison.

    Examples
    --------
    >>> title_of(reliability_curves(0.17, [2, 10, 60], label="school"))
    "A school mean's reliability grows with its size"
    """
    sizes = np.asarray(sizes, dtype=float)
    top = float(max(100.0, 10 ** np.ceil(np.log10(sizes.max()))))
    grid = np.unique(np.round(np.geomspace(1, top, 60), 3))
    values = sorted({float(rho), *map(float, others)})
    names = {v: f"ρ = {v:.2f}" + (" (this model)" if v == float(rho) else "") for v in values}
    curves = pd.DataFrame([(names[v], n, n * v / (1 + (n - 1) * v)) for v in values for n in grid],
                          columns=["icc", "n", "lam"])
    pts = pd.DataFrame({"n": sizes, "lam": sizes * rho / (1 + (sizes - 1) * rho)})
    x = alt.X("n:Q", title=f"{label.capitalize()} size n (log scale)", scale=alt.Scale(type="log", domain=[1, top], nice=False),
              axis=alt.Axis(values=_log_ticks(1, top), format="d"))
    y = alt.Y("lam:Q", title="Reliability λ (weight on own mean)", scale=alt.Scale(domain=[0, 1]))
    order = [names[v] for v in values]
    lines = alt.Chart(curves).mark_line().encode(
        x=x, y=y, color=alt.Color("icc:N", title=None, sort=order, legend=alt.Legend(columns=1),
                                  scale=alt.Scale(domain=order, range=[PALETTE[5], PALETTE[3], PALETTE[2]][: len(order)])),
        strokeDash=alt.StrokeDash("icc:N", sort=order, legend=None),
        tooltip=["icc:N", alt.Tooltip("n:Q", format=".0f"), alt.Tooltip("lam:Q", format=".2f", title="λ")])
    dots = alt.Chart(pts).mark_circle(size=40, color=PALETTE[0], opacity=0.7).encode(
        x=x, y=y, tooltip=[alt.Tooltip("n:Q", title="size"), alt.Tooltip("lam:Q", format=".2f", title="λ")])
    return _finish(
        alt.layer(lines, dots),
        f"A {label} mean's reliability grows with its size",
        f"Curves of the reliability λ = nρ/(1 + (n − 1)ρ) against {label} size n (log scale) for ICCs of "
        + ", ".join(f"{v:.2f}" for v in values)
        + f"; the {len(sizes)} {label}s of the data are dots on the curve of this model's ICC ({rho:.2f}).",
        subtitle=f"Dots: the {len(sizes)} {label}s of the data",
    )


def rank_intervals(table: pd.DataFrame, label: str = "group", level: float = 0.95) -> alt.LayerChart:
    """Each group's rank with an interval, ordered by rank: how uncertain a league table is.

    Parameters
    ----------
    table : DataFrame
        Columns ``level``, ``rank`` (the rank of the point estimate, 1 = lowest),
        ``low`` and ``high`` (the interval of the rank).
    label : str
        What a group is called.
    level : float
        Coverage of the intervals, for the titles.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["a", "b", "c"], "rank": [1, 2, 3], "low": [1, 1, 2], "high": [2, 3, 3]})
    >>> title_of(rank_intervals(t, label="school"))
    "How certain is each school's rank?"
    """
    t = table[["level", "rank", "low", "high"]].copy()
    k = len(t)
    x = alt.X("rank:Q", title=f"{label.capitalize()}s, ordered by estimated rank", axis=alt.Axis(labels=False, ticks=False),
              scale=alt.Scale(domain=[0, k + 1], nice=False))
    y = alt.Y("low:Q", title=f"Rank (1 = lowest of {k})", scale=alt.Scale(domain=[1, k], nice=False))
    tooltip = [alt.Tooltip("level:N", title=label), alt.Tooltip("rank:Q", title="estimated rank"),
               alt.Tooltip("low:Q", title="lower"), alt.Tooltip("high:Q", title="upper")]
    rules = alt.Chart(t).mark_rule(color=PALETTE[5], strokeWidth=2).encode(x=x, y=y, y2="high:Q")
    points = alt.Chart(t).mark_point(filled=True, color=PALETTE[0]).encode(x=x, y="rank:Q", tooltip=tooltip)
    pct = round(level * 100)
    width = (t.high - t.low).median()
    return _finish(
        alt.layer(rules, points),
        f"How certain is each {label}'s rank?",
        f"Each of {k} {label}s, ordered by the rank of its predicted effect, with a {pct}% interval for its rank "
        f"from draws of the effects; the median interval spans {width:.0f} places.",
        subtitle=f"Dot: estimated rank · Bar: {pct}% interval of the rank",
    )


def vpc_curve(result: LMEResult, x: str, group: str | None = None, label: str = "group") -> alt.LayerChart:
    """The share of variance between groups at each value of ``x``, under a random slope on ``x``.

    VPC(x) = (τ₀₀ + 2τ₀₁x + τ₁₁x²) / (τ₀₀ + 2τ₀₁x + τ₁₁x² + σ²) (Goldstein, Browne
    and Rasbash 2002), drawn over the middle 98% of the observed ``x``.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ standLRT + (standLRT | school)", data.load("exam"))
    >>> title_of(vpc_curve(m, "standLRT", label="school"))
    'The share of variance between schools depends on standLRT'
    """
    group = group or result.grouping[0]
    vc = result.variance_components()
    vc = vc[vc.group == group]
    var = {(r.term, r.term2): r.variance for r in vc.itertuples()}
    if (x, "") not in var or ("(Intercept)", "") not in var:
        raise ValueError(f"vpc_curve() needs a random intercept and a random slope on {x!r} for {group!r}.")
    t00, t11 = var[("(Intercept)", "")], var[(x, "")]
    t01 = var.get(("(Intercept)", x), 0.0)
    xs = result.data[x].to_numpy(float)
    lo, hi = np.nanquantile(xs, [0.01, 0.99])
    grid = np.linspace(lo, hi, 81)
    between = t00 + 2 * t01 * grid + t11 * grid**2
    frame = pd.DataFrame({x: grid, "between": between, "vpc": between / (between + result.sigma2)})
    quart = np.nanquantile(xs, [0.1, 0.25, 0.5, 0.75, 0.9])
    qb = t00 + 2 * t01 * quart + t11 * quart**2
    marks = pd.DataFrame({x: quart, "vpc": qb / (qb + result.sigma2),
                          "where": ["10th percentile", "lower quartile", "median", "upper quartile", "90th percentile"]})
    whole = list(range(int(np.ceil(lo)), int(np.floor(hi)) + 1))
    xe = alt.X(f"{x}:Q", title=x, scale=alt.Scale(domain=[float(lo), float(hi)], nice=False),
               axis=alt.Axis(values=whole) if len(whole) >= 3 else alt.Axis(tickCount=4))
    top = float(np.ceil(frame.vpc.max() * 20) / 20)
    ye = alt.Y("vpc:Q", title=f"Share of variance between {label}s", axis=alt.Axis(format="%"),
               scale=alt.Scale(domain=[0, top]))
    line = alt.Chart(frame).mark_line(color=PALETTE[0], strokeWidth=2.5).encode(
        x=xe, y=ye, tooltip=[alt.Tooltip(f"{x}:Q", format=".2f"), alt.Tooltip("vpc:Q", format=".1%", title="VPC")])
    dots = alt.Chart(marks).mark_point(filled=True, color=PALETTE[3], size=50).encode(
        x=xe, y="vpc:Q", tooltip=["where:N", alt.Tooltip(f"{x}:Q", format=".2f"), alt.Tooltip("vpc:Q", format=".1%")])
    return _finish(
        alt.layer(line, dots),
        f"The share of variance between {label}s depends on {x}",
        f"Line of the variance partition coefficient (τ₀₀ + 2τ₀₁x + τ₁₁x²)/(τ₀₀ + 2τ₀₁x + τ₁₁x² + σ²) against {x} "
        f"from {result.formula}, over the middle 98% of the data; it runs from {frame.vpc.min():.1%} to "
        f"{frame.vpc.max():.1%}. Dots mark the 10th, 25th, 50th, 75th and 90th percentiles of {x}.",
        subtitle=f"Dots: 10th, 25th, 50th, 75th, 90th percentiles of {x}",
    )


def bootstrap_distribution(values: Sequence[float], estimate: float, interval: tuple[float, float],
                           what: str = "ICC", bins: int = 40) -> alt.LayerChart:
    """Histogram of bootstrap replicates with the estimate and the percentile interval marked.

    Parameters
    ----------
    values : sequence of float
        The statistic in each bootstrap replicate.
    estimate : float
        The statistic in the data.
    interval : (low, high)
        The percentile interval.
    what : str
        Name of the statistic, for titles.
    bins : int
        Number of histogram bins.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> chart = bootstrap_distribution(rng.gamma(9, 0.02, 500), 0.18, (0.09, 0.3))
    >>> "(0.090 to 0.300)" in chart.to_dict()["description"]
    True
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(values, bins=bins)
    hist = pd.DataFrame({"from": edges[:-1], "to": edges[1:], "replicates": counts})
    marks = pd.DataFrame({"value": [interval[0], estimate, interval[1]],
                          "label": ["lower limit", "estimate", "upper limit"]})
    bars = alt.Chart(hist).mark_rect(color=PALETTE[5], opacity=0.8).encode(
        x=alt.X("from:Q", title=what, scale=alt.Scale(zero=False)), x2="to:Q",
        y=alt.Y("replicates:Q", title="Bootstrap replicates"),
        tooltip=[alt.Tooltip("from:Q", format=".3f"), alt.Tooltip("to:Q", format=".3f"), "replicates:Q"])
    rules = alt.Chart(marks).mark_rule(strokeWidth=2).encode(
        x="value:Q",
        color=alt.Color("label:N", title=None, sort=["lower limit", "estimate", "upper limit"],
                        scale=alt.Scale(range=[PALETTE[3], PALETTE[7], PALETTE[3]])),
        strokeDash=alt.StrokeDash("label:N", legend=None, sort=["lower limit", "estimate", "upper limit"],
                                  scale=alt.Scale(range=[[4, 3], [1, 0], [4, 3]])),
        tooltip=["label:N", alt.Tooltip("value:Q", format=".3f")])
    skew = (interval[1] - estimate) / max(estimate - interval[0], 1e-12)
    return _finish(
        alt.layer(bars, rules),
        f"{len(values)} bootstrap replicates of the {what}",
        f"Histogram of the {what} in {len(values)} data sets simulated from the fitted model and refitted. "
        f"The estimate ({estimate:.3f}) and the 95% percentile interval ({interval[0]:.3f} to {interval[1]:.3f}) "
        f"are marked; the interval reaches {skew:.1f} times as far above the estimate as below it.",
    )


def profile_plot(curve: pd.DataFrame, interval: tuple[float, float], what: str | None = None,
                 level: float = 0.95) -> alt.LayerChart:
    """A likelihood profile: ζ against the parameter, with the straight line a Wald interval assumes.

    Parameters
    ----------
    curve : DataFrame
        From :func:`lme_helpers.inference.profile_curve` (``value``, ``zeta``;
        ``attrs["estimate"]``).
    interval : (low, high)
        The profile interval, marked where ζ crosses the normal quantiles.
    what : str, optional
        Axis title for the parameter (default: its name).
    level : float
        The interval's confidence level.

    Examples
    --------
    >>> curve = pd.DataFrame({"value": [0.2, 0.3, 0.4, 0.5], "zeta": [-2.5, -0.8, 0.6, 1.8]})
    >>> curve.attrs["estimate"] = 0.35
    >>> "profile" in title_of(profile_plot(curve, (0.24, 0.52), "SD"))
    True
    """
    estimate = float(curve.attrs.get("estimate", np.nan))
    what = what or curve.attrs.get("parameter", "parameter")
    z = stats.norm.ppf(0.5 + level / 2)
    # the Wald line: ζ linear in the parameter, with the curvature at the estimate
    inner = curve[(curve.zeta.abs() < 0.8) & np.isfinite(curve.zeta)]
    slope = float(np.polyfit(inner.value, inner.zeta, 1)[0]) if len(inner) >= 2 else np.nan
    ends = pd.DataFrame({"value": [curve.value.min(), curve.value.max()]})
    ends["zeta"] = slope * (ends.value - estimate)
    base = alt.Chart(curve).mark_line(color=PALETTE[0], strokeWidth=2.5).encode(
        x=alt.X("value:Q", title=what, scale=alt.Scale(zero=False)),
        y=alt.Y("zeta:Q", title="ζ (signed root of the deviance change)"),
        tooltip=[alt.Tooltip("value:Q", format=".4f"), alt.Tooltip("zeta:Q", format=".2f")])
    wald = alt.Chart(ends).mark_line(color="#666", strokeDash=[5, 4]).encode(x="value:Q", y="zeta:Q")
    cuts = pd.DataFrame({"zeta": [-z, z]})
    hlines = alt.Chart(cuts).mark_rule(color=PALETTE[3], strokeDash=[2, 3]).encode(y="zeta:Q")
    marks = pd.DataFrame({"value": list(interval), "zeta": [-z, z], "label": ["lower limit", "upper limit"]})
    points = alt.Chart(marks).mark_point(filled=True, size=70, color=PALETTE[3]).encode(
        x="value:Q", y="zeta:Q", tooltip=["label:N", alt.Tooltip("value:Q", format=".4f")])
    return _finish(
        alt.layer(wald, hlines, base, points),
        f"The likelihood profile of {what}",
        f"ζ, the signed square root of the likelihood-ratio statistic, against {what} (solid line), with the "
        f"straight line a symmetric Wald interval assumes (dashed). The {level:.0%} profile interval runs from "
        f"{interval[0]:.3f} to {interval[1]:.3f}, where ζ crosses ±{z:.2f}; the estimate is {estimate:.3f}.",
        subtitle="Solid: profile · Dashed: what a symmetric interval assumes",
    )


def within_between(data: pd.DataFrame, x: str, y: str, group: str, within_slope: float,
                   between: tuple[float, float], label: str = "group",
                   half_width: float | None = None) -> alt.LayerChart:
    """Group means with the between-group line, and the within-group slope drawn through each mean.

    The picture behind the within–between (Mundlak) model: each group's mean
    of ``y`` against its mean of ``x`` (points), the line through those means
    (the between-group slope, thick), and a short line through every mean with
    the slope found *within* groups. When the two slopes differ, the
    difference is the contextual effect.

    Parameters
    ----------
    data : DataFrame
        One row per observation.
    x, y, group : str
        Predictor, outcome and grouping column.
    within_slope : float
        The within-group slope (e.g. the fixed-effects or group-mean-centred estimate).
    between : (intercept, slope)
        The line through the group means, e.g. from the within–between model.
    label : str
        What a group is called.
    half_width : float, optional
        How far each short line reaches either side of its group's mean of
        ``x`` (default: a tenth of the range of the group means, so that the
        lines show a slope without hiding the means).

    Examples
    --------
    >>> from lme_helpers import data
    >>> chart = within_between(data.load("exam"), "standLRT", "normexam", "school", 0.56, (0.0, 0.92),
    ...                        label="school")
    >>> title_of(chart)
    'Slopes within and between schools'
    """
    frame = data[[x, y, group]].dropna()
    grouped = frame.groupby(group, observed=True)
    means = grouped[[x, y]].mean()
    lo, hi = float(means[x].min()), float(means[x].max())
    half = float(half_width) if half_width is not None else 0.1 * (hi - lo)
    segments = pd.DataFrame({
        "level": [str(g) for g in means.index for _ in (0, 1)],
        x: np.ravel(np.column_stack([means[x] - half, means[x] + half])),
        y: np.ravel(np.column_stack([means[y] - within_slope * half, means[y] + within_slope * half])),
    })
    points = pd.DataFrame({"level": [str(g) for g in means.index], x: means[x].to_numpy(), y: means[y].to_numpy(),
                           "n": grouped.size().to_numpy()})
    b0, b1 = (float(v) for v in between)
    line = pd.DataFrame({x: [lo - half, hi + half], y: [b0 + b1 * (lo - half), b0 + b1 * (hi + half)]})
    x_enc = alt.X(f"{x}:Q", title=f"{x} (group means: points)")
    y_enc = alt.Y(f"{y}:Q", title=y, scale=alt.Scale(zero=False))
    within = alt.Chart(segments).mark_line(color=PALETTE[5], strokeWidth=1.4, opacity=0.8).encode(
        x=x_enc, y=y_enc, detail="level:N", tooltip=[alt.Tooltip("level:N", title=label)])
    dots = alt.Chart(points).mark_circle(color=PALETTE[0], size=30, opacity=0.9).encode(
        x=x_enc, y=y_enc, tooltip=[alt.Tooltip("level:N", title=label), alt.Tooltip("n:Q", title="size"),
                                   alt.Tooltip(f"{x}:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".3f")])
    between_line = alt.Chart(line).mark_line(color=PALETTE[3], strokeWidth=3).encode(x=x_enc, y=y_enc)
    return _finish(
        alt.layer(within, between_line, dots),
        f"Slopes within and between {label}s",
        f"Scatter plot of the mean {y} against the mean {x} of {len(points)} {label}s. The thick line through the "
        f"{label} means has the between-{label} slope {b1:.3f}; the short line through each mean has the "
        f"within-{label} slope {within_slope:.3f}.",
        subtitle=f"Short lines: slope within each {label} · Thick line: slope between {label} means",
    )


def variance_shares(tables: dict[str, pd.DataFrame], title: str = "Where the variance lies",
                    labels: dict[str, str] | None = None, order: Sequence[str] | None = None) -> alt.LayerChart:
    """Stacked bars of variance shares, one bar per model, to compare where the variance lies.

    With the levels ordered from the top level down, the cumulative shares are
    the intraclass correlations of a multilevel model: in a three-level model
    the top segment alone is the correlation of two units that share only the
    top level, the first two together that of two units sharing both.

    Parameters
    ----------
    tables : dict of str to DataFrame
        One table from :func:`lme_helpers.variance.variance_partition` per bar,
        keyed by the bar's name (e.g. the outcome).
    title : str
        The chart's title.
    labels : dict, optional
        Display names of the levels, e.g. ``{"gor_name": "Region"}``.
    order : sequence of str, optional
        The levels from left to right (default: the order of the first table).
        Shares above 15% are printed on their segment.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> from lme_helpers.variance import variance_partition
    >>> vp = variance_partition(fit("normexam ~ 1 + (1 | school)", data.load("exam")))
    >>> chart = variance_shares({"normexam": vp}, labels={"school": "School", "Residual": "Pupil"})
    >>> title_of(chart), chart.to_dict()["layer"][0]["encoding"]["color"]["scale"]["domain"]
    ('Where the variance lies', ['School', 'Pupil'])
    """
    labels = labels or {}
    first = next(iter(tables.values()))
    order = list(order) if order is not None else list(first.level)
    rows = []
    for name, table in tables.items():
        t = table.set_index("level")
        missing = set(order) ^ set(t.index)
        if missing:
            raise ValueError(f"The levels of {name!r} ({sorted(t.index)}) are not those of `order` ({order}).")
        start = 0.0
        for k, level in enumerate(order):
            share = float(t.loc[level, "share"])
            rows.append({"model": name, "level": labels.get(level, level), "order": k, "share": share,
                         "variance": float(t.loc[level, "variance"]), "start": start, "end": start + share,
                         "mid": start + share / 2, "label": f"{share:.1%}"})
            start += share
    frame = pd.DataFrame(rows)
    domain = [labels.get(level, level) for level in order]
    y = alt.Y("model:N", title=None, sort=list(tables), axis=alt.Axis(labelLimit=140))
    bars = alt.Chart(frame).mark_bar(height=38).encode(
        x=alt.X("start:Q", title="Cumulative share of variance",
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1]), scale=alt.Scale(domain=[0, 1])),
        x2="end:Q", y=y,
        color=alt.Color("level:N", title=None, scale=alt.Scale(domain=domain, range=PALETTE[: len(domain)]),
                        legend=alt.Legend(columns=1, labelLimit=300)),
        tooltip=[alt.Tooltip("model:N", title="model"), alt.Tooltip("level:N", title="level"),
                 alt.Tooltip("variance:Q", format=".4g"), alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("end:Q", format=".1%", title="cumulative share")])
    text = alt.Chart(frame).mark_text(color="white", fontWeight="bold").encode(
        x="mid:Q", y=y, text="label:N").transform_filter("datum.share > 0.15")
    desc = " ".join(
        f"{name}: " + "; ".join(f"{r.level} {r.share:.1%}" for r in frame[frame.model == name].itertuples()) + "."
        for name in tables)
    return _finish(alt.layer(bars, text), title, f"Stacked bars of variance shares by level. {desc}",
                   height=60 * len(tables) + 20)
