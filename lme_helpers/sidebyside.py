"""One model, two languages: run Python and R code and show them in synchronised tabs.

:class:`SideBySide` executes two pieces of Python (native statsmodels and
``lme_helpers``) in the notebook's namespace and an R script with ``Rscript``,
and displays the code that ran with its output in three tabs that stay in
sync across the page (choosing "R (lme4)" in one tab set switches them all).
:meth:`SideBySide.parity` compares the estimates of the two languages and
raises when they differ by more than the book's tolerances, so a build with
R fails on a disagreement.
"""

from __future__ import annotations

import contextlib
import html
import io
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, SLexer

from .fitting import LMEResult
from .rbridge import RNotAvailable, lme4_term, r_status, run_r

__all__ = ["SideBySide", "ParityError", "ParityReport", "parity_table", "statsmodels_components", "components_table",
           "TOLERANCES"]

TOLERANCES = {
    "fixed effect": 1e-4,
    "standard error": 1e-3,
    "df": 1e-3,
    "p-value": 1e-3,
    "variance": 1e-4,
    "covariance": 1e-4,
    "log-likelihood": 1e-6,
}
"""Largest accepted relative difference between lme_helpers and lme4, by kind of quantity.

Each difference is relative to the R value, or, where that value is near zero, to
a scale of the quantity's own kind (see :func:`parity_table`), never to a blanket
absolute number.
"""

P_FLOOR = 1e-8
"""p-values below this are compared absolutely (their relative error is numerical noise)."""

SYNC_GROUP = "lme-language"
_COUNTER = itertools.count()


class ParityError(AssertionError):
    """Python and R estimates differ by more than :data:`TOLERANCES`."""


def _code_html(code: str, lexer) -> str:
    body = highlight(code.strip("\n"), lexer, HtmlFormatter(nowrap=True))
    return f'<div class="highlight"><pre>{body}</pre></div>'


def _output_html(text: str) -> str:
    if not text.strip():
        return ""
    return f'<div class="lme-output"><pre>{html.escape(text.rstrip())}</pre></div>'


@dataclass
class _Tab:
    key: str
    title: str
    body: str


def _tab_set(tabs: list[_Tab]) -> str:
    set_id = next(_COUNTER)
    parts = ['<div class="sd-tab-set docutils lme-side-by-side">']
    for i, tab in enumerate(tabs):
        item = f"lme-tab-{set_id}-{i}"
        checked = ' checked="checked"' if i == 0 else ""
        parts.append(f'<input{checked} id="{item}" name="lme-tab-set-{set_id}" type="radio">')
        parts.append(
            f'<label class="sd-tab-label" data-sync-group="{SYNC_GROUP}" data-sync-id="{tab.key}" '
            f'for="{item}">{html.escape(tab.title)}</label>'
        )
        parts.append(f'<div class="sd-tab-content docutils">{tab.body}</div>')
    parts.append("</div>")
    return "".join(parts)


def _section(text: str, name: str, marker: str) -> str:
    """The lines of ``text`` after the line ``marker.format(name)`` up to the next marker line."""
    start = marker.format(name)
    head = marker.split("{}")[0]
    lines = text.splitlines()
    try:
        i = next(k for k, line in enumerate(lines) if line.strip() == start)
    except StopIteration:
        raise KeyError(f"Section {name!r} not found (expected a line {start!r}).") from None
    out = []
    for line in lines[i + 1:]:
        if line.strip().startswith(head.strip()) and line.strip().endswith(marker.split("{}")[1].strip()):
            break
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


@dataclass
class SideBySide:
    """Run one model in statsmodels, lme_helpers and lme4, and show them in synchronised tabs.

    Parameters
    ----------
    statsmodels : str or None
        Python code using statsmodels directly (``None`` leaves out that tab).
    helpers : str
        Python code using ``lme_helpers``.
    r_script : str or Path
        An ``.R`` file, relative to the notebook's folder. It is run as
        ``Rscript r_script DATA RESULTS.json`` and should write its estimates
        with ``export_results()`` (see ``book/r/export_results.R``).
    namespace : dict
        Where the Python code runs (pass ``globals()``), so that the objects it
        creates are available to later cells.
    data : str or Path, optional
        Data file passed to the R script.
    r_result : RResult, optional
        Output of an earlier :func:`~lme_helpers.rbridge.run_r` of the same
        script, so that a script with several sections runs once per page.
    r_section : str, optional
        Show only one section of the script and its output: the code between the
        comment line ``# ---- name ----`` and the next such line (the marker lines
        themselves are not shown), and the output that section printed when the
        script ran section by section (``run_r(..., sections=True)``).

    Examples
    --------
    >>> from pathlib import Path
    >>> namespace = {}
    >>> script = Path(__file__).parents[1] / "book" / "r" / "exam_null.R"
    >>> data_file = Path(__file__).parents[1] / "data" / "exam.csv"
    >>> sbs = SideBySide("a = 1", "b = a + 1", script, namespace=namespace, data=data_file)
    >>> namespace["b"], 'data-sync-id="r"' in sbs._repr_html_()
    (2, True)
    >>> repr(sbs).startswith("<SideBySide statsmodels | lme_helpers | lme4 for exam_null.R;")
    True
    """

    statsmodels: str | None
    helpers: str
    r_script: str | Path
    namespace: dict = field(repr=False)
    data: str | Path | None = None
    r_result: object | None = field(default=None, repr=False)
    r_section: str | None = None
    outputs: dict = field(default_factory=dict, repr=False)
    r_results: dict | None = field(default=None, repr=False)
    r_reason: str = ""
    rich: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for key, code in (("statsmodels", self.statsmodels), ("helpers", self.helpers)):
            if code is not None:
                self.outputs[key] = self._run_python(code)
        self.r_code = Path(self.r_script).read_text()
        if self.r_section:
            self.r_code = _section(self.r_code, self.r_section, "# ---- {} ----")
        status = r_status()
        if not status.available:
            self.r_reason = status.reason
            self.outputs["r"] = ""
            return
        try:
            result = self.r_result or run_r(self.r_script, self.data, sections=bool(self.r_section))
        except RNotAvailable as exc:  # pragma: no cover - status said it was available
            self.r_reason = str(exc)
            self.outputs["r"] = ""
            return
        out = result.stdout
        if self.r_section:
            out = _section(out, self.r_section, "---- {} ----")
        self.outputs["r"] = out
        self.r_results = result.results

    def __repr__(self) -> str:
        # The plain-text form (what a notebook saves next to the HTML tabs): short, and free of
        # the namespace, whose repr would hold every object of the session.
        tabs = ["statsmodels"] * (self.statsmodels is not None) + ["lme_helpers", "lme4"]
        r = "R ran" if self.r_ran else f"R not run: {self.r_reason}"
        section = f" [{self.r_section}]" if self.r_section else ""
        return f"<SideBySide {' | '.join(tabs)} for {Path(self.r_script).name}{section}; {r}>"

    def _run_python(self, code: str) -> str:
        """Run ``code``; return what it printed. Objects it passes to ``display()`` (a table from
        ``lh.show``, say) are kept in order with the printed text and shown as HTML in the tab."""
        buffer = io.StringIO()
        chunks: list[tuple[str, str]] = []

        def display(*objects, **_):
            if buffer.getvalue():
                chunks.append(("text", buffer.getvalue()))
                buffer.seek(0)
                buffer.truncate()
            for obj in objects:
                if hasattr(obj, "to_html") and hasattr(obj, "set_table_attributes"):  # a pandas Styler
                    chunks.append(("html", obj.set_table_attributes('class="dataframe"').to_html()))
                elif hasattr(obj, "_repr_html_") and obj._repr_html_() is not None:
                    chunks.append(("html", obj._repr_html_()))
                else:
                    chunks.append(("text", repr(obj) + "\n"))

        previous = self.namespace.get("display", None)
        self.namespace["display"] = display
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(code, "<side-by-side>", "exec"), self.namespace)
        finally:
            if previous is None:
                self.namespace.pop("display", None)
            else:
                self.namespace["display"] = previous
        if buffer.getvalue():
            chunks.append(("text", buffer.getvalue()))
        self.rich.append(chunks)
        return "".join(c for kind, c in chunks if kind == "text")

    def _python_output_html(self, index: int) -> str:
        parts = []
        for kind, content in self.rich[index]:
            parts.append(_output_html(content) if kind == "text" else f'<div class="lme-output lme-table" style="overflow-x: auto">{content}</div>')
        return "".join(parts)

    @property
    def r_ran(self) -> bool:
        """True when the R script was executed in this build."""
        return self.r_results is not None

    def _repr_html_(self) -> str:
        if self.r_ran:
            r_out = _output_html(self.outputs["r"])
        else:
            r_out = (
                '<div class="admonition note lme-r-missing"><p class="admonition-title">R output not shown</p>'
                f"<p>This copy of the book was built without R ({html.escape(self.r_reason)}). With R and the "
                "lme4 package installed, rebuilding the book runs this script and shows its output here.</p></div>"
            )
        tabs = []
        if self.statsmodels is not None:
            tabs.append(_Tab("statsmodels", "Python (statsmodels)",
                             _code_html(self.statsmodels, PythonLexer()) + self._python_output_html(0)))
        tabs.append(_Tab("lme_helpers", "Python (lme_helpers)",
                         _code_html(self.helpers, PythonLexer()) + self._python_output_html(len(self.rich) - 1)))
        tabs.append(_Tab("r", "R (lme4)", _code_html(self.r_code, SLexer()) + r_out))
        return _tab_set(tabs)

    def parity(self, result: LMEResult, model: str | None = None) -> ParityReport:
        """Compare ``result`` with the R script's estimates; raise :class:`ParityError` beyond tolerance.

        Parameters
        ----------
        result : LMEResult
            The lme_helpers fit of the same model.
        model : str, optional
            Key of the model in the R results, when the script exports several.

        Returns
        -------
        ParityReport
            Its ``table`` has one row per quantity: ``quantity``, ``kind``,
            ``python``, ``r``, ``rel_diff``; without R it is empty and the
            report says why.
        """
        if not self.r_ran:
            out = pd.DataFrame(columns=["quantity", "kind", "python", "r", "rel_diff"])
            out.attrs["note"] = f"Not computed: R was not available when this page was built ({self.r_reason})."
            return ParityReport(out)
        r = self.r_results
        if model is not None:
            r = r[model]
        elif "fixef" not in r:
            if len(r) != 1:
                raise ValueError(f"The R script exported several models ({', '.join(r)}); name one with `model=`.")
            r = next(iter(r.values()))
        return ParityReport(parity_table(result, r))


@dataclass
class ParityReport:
    """A parity table with its verdict, displayed as a collapsed "Checked against lme4" box."""

    table: pd.DataFrame

    @property
    def max_rel_diff(self) -> float:
        """Largest scaled difference in the table (NaN when it is empty)."""
        return float(self.table.rel_diff.max()) if len(self.table) else float("nan")

    def __repr__(self) -> str:
        if not len(self.table):
            return f"<ParityReport: {self.table.attrs.get('note', '')}>"
        return f"<ParityReport: {len(self.table)} quantities, largest relative difference {self.max_rel_diff:.1e}>"

    def _repr_html_(self) -> str:
        note = html.escape(self.table.attrs.get("note", ""))
        if not len(self.table):
            return (f'<details class="lme-parity-report"><summary>Checked against lme4: not in this copy'
                    f"</summary><p>{note}</p></details>")
        shown = self.table.rename(columns={"python": "Python (lme_helpers)", "r": "R (lme4, lmerTest)",
                                           "rel_diff": "relative difference", "tolerance": "tolerance"})
        shown = shown.drop(columns=["scale"], errors="ignore")
        table = shown.to_html(index=False, float_format=lambda v: f"{v:.6g}", classes="dataframe lme-parity",
                              border=0)
        return (f'<details class="lme-parity-report"><summary>Checked against lme4: {len(self.table)} '
                f"quantities agree; largest relative difference {self.max_rel_diff:.1e}</summary>"
                f"<p>{note} Each difference is relative to R's value, or, for a value near zero, to a scale "
                "of its kind: a fixed effect's standard error, the total variance, the two standard "
                "deviations behind a covariance.</p>"
                f"{table}</details>")


def _nice(term: str) -> str:
    return "intercept" if term == "(Intercept)" else term


def _listify(x):
    return x if isinstance(x, list) else [x]


def parity_table(result: LMEResult, r: dict, raise_on_failure: bool = True) -> pd.DataFrame:
    """Quantity-by-quantity comparison of an lme_helpers fit with lme4 (and lmerTest) results.

    ``r`` holds R output as written by ``book/r/export_results.R``: ``fixef``
    (term, estimate, std_error, and lmerTest's df and p_value), ``varcorr``
    (group, var1, var2, vcov) and ``loglik``.

    Every quantity must agree within :data:`TOLERANCES` relative to a scale of
    its own kind: R's value, floored by the coefficient's standard error
    (fixed effects), 10⁻⁶ × the total variance (variances), the geometric mean
    of the two variances (covariances, so a covariance is checked as a
    correlation would be). A p-value is compared relative to p × max(1, t²),
    floored at 10⁻⁸: its relative sensitivity to the t statistic grows with
    t², so this asks of p the precision asked of t.

    Examples
    --------
    >>> from lme_helpers import fit, data
    >>> m = fit("normexam ~ 1 + (1 | school)", data.load("exam"))
    >>> vc = m.variance_components()
    >>> r = {"fixef": {"term": ["(Intercept)"], "estimate": [-0.0132521], "std_error": [0.0540547]},
    ...      "varcorr": {"group": list(vc.group), "var1": list(vc.term), "var2": list(vc.term2),
    ...                  "vcov": [0.1715996, 0.8477577]}, "loglik": -5507.3272704}
    >>> parity_table(m, r).attrs["note"]
    'All quantities agree within the tolerances.'
    """
    rows = []
    fe = result.fixed_effects()
    fe.index = [lme4_term(t) for t in fe.index]
    rf = {k: _listify(v) for k, v in r["fixef"].items()}
    for k, term in enumerate(rf["term"]):
        if term not in fe.index:
            raise ParityError(f"lme4 has the fixed effect {term!r}, lme_helpers has {list(fe.index)}.")
        se = rf["std_error"][k]
        rows.append((term, "fixed effect", fe.loc[term, "estimate"], rf["estimate"][k], max(abs(rf["estimate"][k]), se)))
        rows.append((f"SE of {term}", "standard error", fe.loc[term, "std_error"], se, se))
        if "df" in rf:
            rows.append((f"df of {term}", "df", fe.loc[term, "df"], rf["df"][k], rf["df"][k]))
            p = rf["p_value"][k]
            # p's relative sensitivity to the t statistic grows with t² (d log p / dt ≈ -t), so a
            # p-value is compared relative to p × max(1, t²): the precision the statistic itself has.
            t2 = (rf["estimate"][k] / se) ** 2
            rows.append((f"p-value of {term}", "p-value", fe.loc[term, "p_value"], p, max(abs(p), P_FLOOR) * max(1.0, t2)))
    vc = result.variance_components()
    ours = {(g, a, b): v for g, a, b, v in zip(vc.group, vc.term, vc.term2, vc.variance)}
    vr = {k: _listify(v) for k, v in r["varcorr"].items()}
    r_var = {}
    for g, a, b, v in zip(vr["group"], vr["var1"], vr["var2"], vr["vcov"]):
        if not b:
            r_var[(re.sub(r"\.\d+$", "", g), a or "")] = v
    total = sum(r_var.values())
    for g, a, b, v in zip(vr["group"], vr["var1"], vr["var2"], vr["vcov"]):
        key = (re.sub(r"\.\d+$", "", g), a or "", b or "")
        if key not in ours:
            raise ParityError(f"lme4 has the variance component {key}, lme_helpers has {sorted(ours)}.")
        if b:
            label = f"cov({_nice(a)}, {_nice(b)}) for {key[0]}"
            scale = max(abs(v), np.sqrt(r_var[(key[0], a)] * r_var[(key[0], b)]))
            rows.append((label, "covariance", ours[key], v, scale))
        else:
            label = "Residual variance" if g == "Residual" else f"var({_nice(a)}) for {key[0]}"
            rows.append((label, "variance", ours[key], v, max(abs(v), 1e-6 * total)))
    rows.append(("log-likelihood", "log-likelihood", result.loglik, r["loglik"], abs(r["loglik"])))
    out = pd.DataFrame(rows, columns=["quantity", "kind", "python", "r", "scale"])
    out["rel_diff"] = (out.python - out.r).abs() / out.scale.where(out.scale > 0, np.nan)
    out["rel_diff"] = out.rel_diff.fillna(0.0).where(out.python != out.r, 0.0)
    out["tolerance"] = out.kind.map(TOLERANCES)
    bad = [f"{row.quantity}: Python {row.python:.8g}, R {row.r:.8g}"
           for row in out.itertuples() if not row.rel_diff <= row.tolerance]
    out.attrs["note"] = ("All quantities agree within the tolerances." if not bad
                         else "Disagreements: " + "; ".join(bad))
    if bad and raise_on_failure:
        raise ParityError("Python and R disagree beyond tolerance: " + "; ".join(bad))
    return out


def statsmodels_components(result) -> dict[str, float]:
    """Variance parameters of a native statsmodels MixedLM fit, labelled as its summary labels them.

    Random-effect variances and covariances come from ``cov_re`` (``"Group Var"``,
    ``"Group x standLRT Cov"``, ...), variance components from ``vcomp``
    (``"plate Var"``), and the residual variance is ``"Scale"``.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> from lme_helpers import data
    >>> fit = smf.mixedlm("normexam ~ 1", data.load("exam"), groups="school").fit()
    >>> sorted(statsmodels_components(fit))
    ['Scale', 'school Var']
    """
    out: dict[str, float] = {}
    cov = result.cov_re
    names = list(cov.index)
    for i, a in enumerate(names):
        out[f"{a} Var"] = float(cov.iloc[i, i])
        for j in range(i + 1, len(names)):
            out[f"{a} x {names[j]} Cov"] = float(cov.iloc[i, j])
    vc_names = list(getattr(result.model.exog_vc, "names", []) or [])
    for name, value in zip(vc_names, np.atleast_1d(result.vcomp)):
        out[f"{name} Var"] = float(value)
    out["Scale"] = float(result.scale)
    return out


def components_table(native, ours: LMEResult, labels: dict[str, tuple[str, str, str]],
                     r: dict | None = None) -> pd.DataFrame:
    """One model's variance parameters as statsmodels labels them, beside lme_helpers' (and lme4's).

    Parameters
    ----------
    native : MixedLMResults
        A native statsmodels fit.
    ours : LMEResult
        The ``lh.fit`` of the same model.
    labels : dict
        statsmodels' label (``"school Var"``) -> the component it estimates, as
        ``(group, term, term2)`` of ``ours.variance_components()``.
    r : dict, optional
        The same model's lme4 results (``book/r/export_results.R``); adds an
        ``lme4`` column after checking every estimate with :func:`parity_table`.

    Returns
    -------
    DataFrame
        Indexed by statsmodels' label (and ``Scale``): the component in the
        book's words, then one column per program.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> from lme_helpers import fit, data
    >>> exam = data.load("exam")
    >>> native = smf.mixedlm("normexam ~ 1", exam, groups="school").fit()
    >>> ours = fit("normexam ~ 1 + (1 | school)", exam)
    >>> components_table(native, ours, {"school Var": ("school", "(Intercept)", "")}).round(3).values.tolist()
    [['var(intercept) for school', 0.172, 0.172], ['residual variance', 0.848, 0.848]]
    """
    vc = ours.variance_components().set_index(["group", "term", "term2"]).variance
    sm = statsmodels_components(native)
    targets = {**labels, "Scale": ("Residual", "", "")}
    r_values = {}
    if r is not None:
        parity_table(ours, r)  # raises when lme_helpers and lme4 disagree
        vr = {k: _listify(v) for k, v in r["varcorr"].items()}
        r_values = {(re.sub(r"\.\d+$", "", g), a or "", b or ""): v
                    for g, a, b, v in zip(vr["group"], vr["var1"], vr["var2"], vr["vcov"])}
    rows = {}
    for label, (group, term, term2) in targets.items():
        if label not in sm:
            raise KeyError(f"statsmodels' fit has no {label!r}; it has {sorted(sm)}.")
        if group == "Residual":
            what = "residual variance"
        elif term2:
            what = f"cov({_nice(term)}, {_nice(term2)}) for {group}"
        else:
            what = f"var({_nice(term)}) for {group}"
        row = {"component": what, "statsmodels": sm[label], "lme_helpers": float(vc[(group, term, term2)])}
        if r is not None:
            row["lme4"] = r_values[(group, term, term2)]
        rows[label] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "statsmodels label"
    return out
