"""report.html of a real run opened in headless Chromium: every figure loads, no console errors,
no request leaves the page, the first screen (question, caveats, primary analysis, plain
answer, summary figure) is visible at 1366x768 with the numbers of results.json, the page
stays short with its details collapsed, and printing to PDF expands every detail and cuts no
figure across pages.

Uses Debian's ``chromium`` (installed by ``.ci/run``) through Playwright, never a downloaded
browser.  Skipped only on a developer machine without Chromium; in CI (``CI`` set) a missing
browser is a failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The laptop screen the page is judged on.
VIEWPORT = {"width": 1366, "height": 768}
#: The bound on the page height with every <details> collapsed (the full seed report measures
#: about 10,600 px, docs/report.md; the test's small seed run much less: see its recorded
#: ``page_height_px``); it catches a section that stops collapsing.
MAX_HEIGHT = 12000


def _browser_available(*, pdf: bool = False) -> None:
    """Skip (developer machine) or fail (CI) when Chromium, Playwright (or pypdf) is missing."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    for module in ("playwright", *(("pypdf",) if pdf else ())):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the {module} package (pip install -e '.[test]')")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run this test, not skip it")
        pytest.skip(message)


#: What the first screen must show, by CSS selector (one element each, or every caveat).
FIRST_SCREEN = {"question": "#first-screen p.question", "caveat": "#first-screen .box.caveat",
                "primary": "#first-screen .box.primary", "answer": "#first-screen p.answer",
                "figure": "#first-screen #fig-summary img"}


def first_screen(page) -> dict[str, list[dict]]:
    """Position, text and (images) natural size of every first-screen element, in CSS px
    from the top of the page."""
    return page.evaluate("""(selectors) => Object.fromEntries(Object.entries(selectors).map(
        ([name, s]) => [name, Array.from(document.querySelectorAll(s)).map(e => {
            const r = e.getBoundingClientRect();
            return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY,
                    visible: r.width > 0 && r.height > 0, text: e.innerText || "",
                    width: r.width, natural: e.naturalWidth || 0};})]))""", FIRST_SCREEN)


def _pct(p: float) -> str:
    from bridgebayes.report.format import pct
    return pct(p)


def test_report_renders_in_headless_chromium(seed_run, tmp_path, record_property):
    _browser_available()
    from playwright.sync_api import sync_playwright

    out = seed_run / "report"
    screenshot = tmp_path / "report.png"
    problems, foreign = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: foreign.append(r.url)
                    if not r.url.startswith(("file:", "data:")) else None)
            page.goto((out / "report.html").as_uri(), wait_until="load")
            images = page.evaluate("""Array.from(document.images).map(i => ({
                alt: i.alt, complete: i.complete, width: i.naturalWidth}))""")
            title = page.title()
            first = first_screen(page)
            details = page.evaluate("""Array.from(document.querySelectorAll('details')).map(
                d => d.open)""")
            collapsed = page.evaluate("document.documentElement.scrollHeight")
            hidden_figure = page.locator("#checks figure").first.is_visible()
            page.screenshot(path=str(screenshot), full_page=True)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            expanded = page.evaluate("document.documentElement.scrollHeight")
            shown_figure = page.locator("#checks figure").first.is_visible()
        finally:
            browser.close()
    record_property("page_height_px", collapsed)
    record_property("page_height_expanded_px", expanded)
    print(f"report page height at {VIEWPORT['width']}x{VIEWPORT['height']}: {collapsed} px "
          f"with details collapsed, {expanded} px expanded")
    where = f"(screenshot: {screenshot})"
    assert screenshot.is_file() and screenshot.stat().st_size > 0, where
    expected = len(list((out / "figures").glob("*.png")))
    assert expected >= 6 and len(images) == expected, \
        f"expected {expected} figures, found {images} {where}"
    broken = [i["alt"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"figures that did not load: {broken} {where}"
    assert all(i["alt"] for i in images), f"a figure without alt text {where}"
    assert not problems, f"browser reported errors: {problems} {where}"
    assert not foreign, f"the page requested external resources: {foreign} {where}"
    assert title.startswith("CAR-T vs blinatumomab"), f"title {title!r} {where}"
    # the first screen, nothing clicked: every element there, whole, above the fold
    counts = {name: len(found) for name, found in first.items()}
    assert counts == {"question": 1, "caveat": 2, "primary": 1, "answer": 1, "figure": 1}, \
        f"{counts} {where}"
    for name, found in first.items():
        for element in found:
            assert element["visible"] and element["bottom"] <= VIEWPORT["height"], \
                f"{name} is not wholly on the first screen: {element} {where}"
    figure, = first["figure"]
    assert figure["width"] == figure["natural"], f"the summary figure is scaled {figure}"
    assert details and not any(details), f"details open on load: {details} {where}"
    assert not hidden_figure and shown_figure, f"the checks' figures are not collapsed {where}"
    assert collapsed <= MAX_HEIGHT, f"page is {collapsed} px high collapsed {where}"
    assert expanded > collapsed + 2000, f"collapsing hides little: {collapsed} vs {expanded}"
    _numbers_match_results(first, json.loads((out / "results.json").read_text()))


def _numbers_match_results(first: dict, results: dict) -> None:
    """Every number of the first screen's text is the saved one (results.json)."""
    from bridgebayes.report.format import fixed

    primary, = first["primary"]
    p, hr = results["primary"], results["primary"]["hr"]
    shown = re.findall(r"\d+(?:\.\d+)?%?", primary["text"])
    saved = [f"{100 * hr['level']:g}%", fixed(hr["estimate"], 2), fixed(hr["lower"], 2),
             fixed(hr["upper"], 2), _pct(p["probability"]),
             f"{100 * p['decision_probability']:g}%"]
    for number in saved:
        assert number in shown, f"{number} not on the first screen: {primary['text']}"
    assert {n.rstrip("%") for n in shown} <= {n.rstrip("%") for n in saved} | {
        f"{p['hr_threshold']:g}"}, f"a number not in results.json: {shown} vs {saved}"
    answer, = first["answer"]
    below_one = [r for r in results["decisions"] if r["analysis"] == "two_arm"
                 and r["quantity"] == "prob_hr_below" and r["threshold"] == 1.0]
    for endpoint in {r["endpoint"] for r in below_one}:
        values = sorted(_pct(r["probability"]) for r in below_one if r["endpoint"] == endpoint)
        label = results["study"]["endpoints"][endpoint]["label"]
        assert f"{label} {values[0]}" in answer["text"], (values, answer["text"])
    n = results["study"]["n_per_arm"]
    assert f"{n['CAR-T']} vs {n['blinatumomab']} patients" in answer["text"]


def test_the_report_prints_to_a_legible_pdf(seed_run, tmp_path, record_property):
    """Chromium's print to PDF: A4 pages, every collapsed detail printed, each figure whole
    on one page, the answer on the first."""
    _browser_available(pdf=True)
    import pypdf
    from playwright.sync_api import sync_playwright

    out = seed_run / "report"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto((out / "report.html").as_uri(), wait_until="load")
            pdf = page.pdf(format="A4", print_background=True)
        finally:
            browser.close()
    (tmp_path / "report.pdf").write_bytes(pdf)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = [re.sub(r"\s+", " ", pg.extract_text()).replace("ﬁ", "fi").replace("ﬂ", "fl")
             for pg in reader.pages]  # Chromium sets the fi and fl ligatures
    record_property("pdf_pages", len(pages))
    where = f"({tmp_path / 'report.pdf'})"
    assert 2 <= len(pages) <= 40, f"{len(pages)} pages {where}"
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert abs(width - 595) < 2 and abs(height - 842) < 2, f"not A4: {width} x {height}"
    text = " ".join(pages)
    results = json.loads((out / "results.json").read_text())
    # provenance: the hash's start (a 64-character token may wrap inside its table cell)
    for inside_details in (results["provenance"]["spec"]["resolved_sha256"][:16],
                           "Gate: R-hat", "Power-scaling sensitivity",  # checks
                           "Decision table under the skeptical prior",  # endpoint's table
                           "Median follow-up"):  # reference
        assert inside_details.replace(" ", "") in text.replace(" ", ""), \
            f"collapsed content {inside_details!r} not printed {where}"
    assert "Show the" not in text, f"a <summary> toggle was printed {where}"
    figures = len(list((out / "figures").glob("*.png")))
    per_page = [len(pg.images) for pg in reader.pages]
    assert sum(per_page) == figures, \
        f"{figures} figures but {sum(per_page)} image placements: one cut across pages? " \
        f"{per_page} {where}"
    assert per_page[0] == 1 and "Pre-specified primary analysis" in pages[0] \
        and "Question:" in pages[0], f"the answer is not on the first page {where}"


def capture(report: Path, folder: Path) -> list[Path]:
    """Screenshots for docs/: the first screen at 1366x768 and the first printed A4 page
    (rendered from Chromium's PDF by pypdfium2 where installed, else the print layout)."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    shots = [folder / "report_first_screen.png", folder / "report_print_page1.png"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(report.resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(shots[0]))
            pdf = page.pdf(format="A4", print_background=True)
            try:
                import pypdfium2
            except ImportError:
                page.set_viewport_size({"width": 794, "height": 1123})
                page.emulate_media(media="print")
                page.screenshot(path=str(shots[1]))
            else:
                document = pypdfium2.PdfDocument(pdf)
                document[0].render(scale=1.5).to_pil().save(shots[1])
        finally:
            browser.close()
    return shots


if __name__ == "__main__":  # python tests/report/test_report_browser.py REPORT.html docs/img
    print(*capture(Path(sys.argv[1]), Path(sys.argv[2])), sep="\n")
