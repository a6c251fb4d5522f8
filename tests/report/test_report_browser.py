"""report.html of a real run opened in headless Chromium: every figure loads, no console errors,
no request leaves the page, the first screen is visible, and the page stays short with its
details collapsed.

Uses Debian's ``chromium`` (installed by ``.ci/run``) through Playwright, never a downloaded
browser.  Skipped only on a developer machine without Chromium; in CI (``CI`` set) a missing
browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The laptop screen the page is judged on.
VIEWPORT = {"width": 1366, "height": 768}
#: A generous bound on the page height with every <details> collapsed (measured: see the
#: test's recorded ``page_height_px``); it catches a section that stops collapsing.
MAX_HEIGHT = 15000


def _browser_available() -> None:
    """Skip (developer machine) or fail (CI) when Chromium or Playwright is missing."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run this test, not skip it")
        pytest.skip(message)


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
            first_screen = {
                "question": page.locator("p.question").is_visible(),
                "caveats": page.locator("#first-screen .box.caveat").count(),
                "caveat_visible": page.locator("#first-screen .box.caveat").first.is_visible(),
                "primary": page.locator("#first-screen .box.primary").is_visible(),
                "primary_top": page.locator("#first-screen .box.primary").bounding_box()["y"],
            }
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
    assert first_screen["question"] and first_screen["caveats"] == 2, f"{first_screen} {where}"
    assert first_screen["caveat_visible"] and first_screen["primary"], where
    assert first_screen["primary_top"] < VIEWPORT["height"], \
        f"the primary analysis is below the first screen {first_screen} {where}"
    assert details and not any(details), f"details open on load: {details} {where}"
    assert not hidden_figure and shown_figure, f"the checks' figures are not collapsed {where}"
    assert collapsed <= MAX_HEIGHT, f"page is {collapsed} px high collapsed {where}"
    assert expanded > collapsed + 2000, f"collapsing hides little: {collapsed} vs {expanded}"
