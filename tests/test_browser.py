"""End-to-end: every page of the built site in headless Chromium, served on loopback.

For every page: no page errors, no failed requests, no request to any host but the local
server, every chart drawn with marks, and nothing wider than a phone screen at 390 px.
"""

from __future__ import annotations

import pytest
from site_server import CHROMIUM_ARGS, SITE, chromium_path, serve_site, site_pages

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """() => [...document.querySelectorAll('figure.lme-chart')].map(f => ({
    drawn: f.dataset.drawn || 'no',
    marks: f.querySelectorAll('svg g.role-mark > *').length,
    width: f.querySelector('svg') ? f.querySelector('svg').getBoundingClientRect().width : 0,
    figureWidth: f.getBoundingClientRect().width,
}))"""


@pytest.fixture(scope="module")
def browser_site():
    if not (SITE / "index.html").exists():
        pytest.fail("No built site in _build/html: run 'make book' (make test does it first).")
    from playwright.sync_api import sync_playwright

    with serve_site() as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield base, browser
        browser.close()


def visit(browser, base, rel, width=1280):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"failed request: {req.url} {req.failure}"))
    page.on("response", lambda resp: resp.status >= 400 and problems.append(f"HTTP {resp.status}: {resp.url}"))
    page.on("request", lambda req: not req.url.startswith((base, "data:", "blob:", "about:"))
            and problems.append(f"request to another host: {req.url}"))
    page.goto(f"{base}/{rel}", wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.lme-chart')].every(f => ['yes', 'error'].includes(f.dataset.drawn))",
        timeout=20_000,
    )
    page.wait_for_load_state("networkidle")
    return context, page, problems


@pytest.mark.parametrize("rel", site_pages() if (SITE / "index.html").exists() else ["index.html"])
def test_page_loads_cleanly_and_draws_its_charts(browser_site, rel):
    base, browser = browser_site
    context, page, problems = visit(browser, base, rel)
    charts = page.evaluate(CHARTS_DRAWN)
    context.close()
    assert not problems, problems
    for i, chart in enumerate(charts):
        assert chart["drawn"] == "yes", (rel, i, chart)
        assert chart["marks"] > 0, f"{rel}: chart {i} has axes but no marks"
        assert chart["width"] <= chart["figureWidth"] + 1, (rel, i, chart)


@pytest.mark.parametrize("rel", [p for p in (site_pages() if (SITE / "index.html").exists() else []) if p.startswith("book/")])
def test_page_fits_a_phone_screen(browser_site, rel):
    base, browser = browser_site
    context, page, problems = visit(browser, base, rel, width=390)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    charts = page.evaluate(CHARTS_DRAWN)
    context.close()
    assert not problems, problems
    assert overflow <= 1, f"{rel} scrolls sideways by {overflow}px at 390px"
    for i, chart in enumerate(charts):
        assert chart["drawn"] == "yes" and chart["marks"] > 0, (rel, i, chart)
        assert chart["width"] <= chart["figureWidth"] + 1, (rel, i, chart)


def test_language_tabs_stay_in_sync(browser_site):
    """Choosing R in one tab set switches every tab set on the page, and on the next page."""
    base, browser = browser_site
    pages = [p for p in site_pages() if "lme-side-by-side" in (SITE / p).read_text()]
    assert len(pages) >= 5, pages
    context, page, problems = visit(browser, base, pages[0])
    checked = "() => [...document.querySelectorAll('.lme-side-by-side')].map(s => s.querySelector('input:checked + label').dataset.syncId)"
    assert set(page.evaluate(checked)) == {"statsmodels"}
    page.locator(".lme-side-by-side").first.locator("label[data-sync-id='r']").click()
    assert set(page.evaluate(checked)) == {"r"}
    page.goto(f"{base}/{pages[1]}")
    page.wait_for_load_state("load")
    assert set(page.evaluate(checked)) == {"r"}
    # keyboard: the tab labels' radio inputs can take focus
    focusable = page.evaluate("() => [...document.querySelectorAll('.lme-side-by-side input')].every(i => i.tabIndex >= 0)")
    context.close()
    assert focusable and not problems, problems


def test_search_finds_the_icc_chapter(browser_site):
    base, browser = browser_site
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/search.html?q=ICC", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    links = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    context.close()
    assert any("04_null_model_icc" in (link or "") for link in links), links


AXE = SITE.parents[1] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.parametrize("rel", [p for p in (site_pages() if (SITE / "index.html").exists() else []) if p.startswith("book/")])
def test_page_has_no_serious_accessibility_violations(browser_site, rel):
    """axe-core (from npm) in the browser: no serious or critical violations."""
    base, browser = browser_site
    context, page, problems = visit(browser, base, rel)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations'], preload: false});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    context.close()
    assert not problems, problems
    assert not result, result
