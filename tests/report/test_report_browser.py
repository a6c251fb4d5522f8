"""report.html of a real run opened in headless Chromium: every figure loads, no console errors.

Uses Debian's ``chromium`` (installed by ``.ci/run``) through Playwright, never a downloaded
browser.  Skipped only on a developer machine without Chromium; in CI (``CI`` set) a missing
browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from specs import small_run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


def test_report_renders_in_headless_chromium(repo_root, tmp_path_factory, tmp_path):
    _browser_available()
    from playwright.sync_api import sync_playwright

    out = small_run(repo_root, tmp_path_factory.getbasetemp())
    page_path = out / "report.html"
    screenshot = tmp_path / "report.png"
    problems, foreign = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: foreign.append(r.url)
                    if not r.url.startswith(("file:", "data:")) else None)
            page.goto(page_path.as_uri(), wait_until="load")
            images = page.evaluate("""Array.from(document.images).map(i => ({
                alt: i.alt, complete: i.complete, width: i.naturalWidth}))""")
            title = page.title()
            banner = page.locator("#reconstructed-banner").is_visible()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    where = f"(screenshot: {screenshot})"
    assert screenshot.is_file() and screenshot.stat().st_size > 0, where
    expected = len(list((out / "figures").glob("*.png")))
    assert expected >= 5 and len(images) == expected, \
        f"expected {expected} figures, found {images} {where}"
    broken = [i["alt"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"figures that did not load: {broken} {where}"
    assert not problems, f"browser reported errors: {problems} {where}"
    assert not foreign, f"the page requested external resources: {foreign} {where}"
    assert title.startswith("CAR-T vs blinatumomab"), f"title {title!r} {where}"
    assert banner, f"the reconstructed-data banner is not visible {where}"
