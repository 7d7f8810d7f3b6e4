"""verdict.html in a real browser: headless Chromium loads it from file:// and uses its controls.

Skipped, with the reason, where no Chromium or Chrome is found; CI's
ubuntu runners have Chrome, and ``.ci/run`` installs chromium-headless-shell
where it can.
"""

from __future__ import annotations

import time

import pytest
from PIL import Image

from browser import Browser, find_browser
from mlp_weights.report.page import rebuild_page
from page_data import failing_results, passing_results

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium or Chrome found (apt-get install chromium-headless-shell)"
)

#: Blink toggles every 0.5 s; a toggle must be seen within this many seconds.
BLINK_WAIT = 2.0


@pytest.fixture(scope="module")
def browser():
    browser = Browser(BROWSER, width=1300, height=900)
    browser.send("Log.enable")
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def failing_page(tmp_path_factory, browser):
    """The hand-made failing folder's page, opened in the browser."""
    path = rebuild_page(failing_results(tmp_path_factory.mktemp("browser") / "results"))
    url = path.resolve().as_uri()
    browser.open(url)
    return url, list(browser.events)


def errors(events) -> list:
    """Script exceptions, console errors and browser log errors (a CSP violation is one)."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(params["exceptionDetails"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            found.append(params)
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(params["entry"])
    return found


def test_the_page_requests_nothing_but_data_and_raises_nothing(browser, failing_page):
    url, events = failing_page
    requests = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests[0] == url
    assert all(r.startswith("data:image/png;base64,") for r in requests[1:]), requests
    assert errors(events) == []


def test_every_image_decodes(browser, failing_page):
    widths = browser.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
    assert len(widths) == 11
    assert all(w and w > 0 for w in widths), widths


def test_failures_come_first(browser, failing_page):
    order = browser.evaluate(
        "[...document.querySelectorAll('[data-status]')].map(e => e.dataset.status)"
    )
    assert order == ["fail", "fail", "pass", "skip"]
    # A passing cell is one line until opened.
    assert browser.evaluate("document.querySelector('details[data-status=pass]').open") is False


def test_the_swipe_slider_moves_the_edge_between_baseline_and_result(browser, failing_page):
    compare = "document.querySelector('.compare')"
    browser.evaluate(f"{compare}.querySelector('[data-mode=swipe]').click()")
    assert (
        browser.evaluate(f"getComputedStyle({compare}.querySelector('.view.swipe')).display")
        == "block"
    )
    assert (
        browser.evaluate(f"getComputedStyle({compare}.querySelector('.view.side')).display")
        == "none"
    )
    top = f"{compare}.querySelector('.swipe img.top')"
    before = browser.evaluate(f"getComputedStyle({top}).clipPath")
    browser.evaluate(
        f"(() => {{ const r = {compare}.querySelector('.swipe-range'); r.value = 10;"
        f" r.dispatchEvent(new Event('input')); }})()"
    )
    after = browser.evaluate(f"getComputedStyle({top}).clipPath")
    assert before == "inset(0px 0px 0px 50%)" and after == "inset(0px 0px 0px 10%)"
    # The edge between them is drawn where the slider puts it.
    assert browser.evaluate(f"{compare}.querySelector('.swipe .edge').style.left") == "10%"


def test_blink_flips_between_baseline_and_result(browser, failing_page):
    compare = "document.querySelector('.compare')"
    browser.evaluate(f"{compare}.querySelector('[data-mode=blink]').click()")
    top = f"{compare}.querySelector('.blink img.top')"
    shown = f"[{top}.hidden, {compare}.querySelector('.showing').textContent]"
    assert browser.evaluate(shown) == [True, "baseline"]
    browser.evaluate(f"{compare}.querySelector('.flip').click()")
    assert browser.evaluate(shown) == [False, "result"]
    browser.evaluate(f"{compare}.querySelector('.auto-blink').click()")
    seen = set()
    deadline = time.monotonic() + BLINK_WAIT
    while time.monotonic() < deadline and len(seen) < 2:
        seen.add(browser.evaluate(f"{compare}.querySelector('.showing').textContent"))
        time.sleep(0.05)
    browser.evaluate(f"{compare}.querySelector('.auto-blink').click()")
    assert seen == {"baseline", "result"}


def test_zoom_shows_image_pixels_as_squares(browser, failing_page):
    compare = "document.querySelector('.compare')"
    browser.evaluate(f"{compare}.querySelector('[data-mode=side]').click()")
    browser.evaluate(
        f"(() => {{ const z = {compare}.querySelector('.zoom'); z.value = '4';"
        f" z.dispatchEvent(new Event('change')); }})()"
    )
    img = f"{compare}.querySelector('.side img')"
    width, natural, rendering = browser.evaluate(
        f"[{img}.getBoundingClientRect().width, {img}.naturalWidth,"
        f" getComputedStyle({img}).imageRendering]"
    )
    assert (width, rendering) == (natural * 4, "pixelated")


def test_screenshots_of_a_failing_and_a_passing_page(browser, failing_page, tmp_path):
    url, _ = failing_page
    browser.open(url)
    browser.screenshot(tmp_path / "failing.png")
    browser.open(rebuild_page(passing_results(tmp_path / "passing")).resolve().as_uri())
    assert errors(browser.events) == []
    browser.screenshot(tmp_path / "passing.png")
    failing, passing = (Image.open(tmp_path / n) for n in ("failing.png", "passing.png"))
    assert failing.width == passing.width == 1300
    # The failing page shows its images; the passing one is a few lines.
    assert failing.height > passing.height


def test_a_pictures_reading_sits_above_the_images_and_outlines_its_panels(browser, tmp_path):
    import json

    folder = failing_results(tmp_path / "results", fits=False)
    data = json.loads((folder / "verdict.json").read_text())
    rendering = next(
        layer for layer in data["scenarios"][1]["layers"] if layer["layer"] == "rendering"
    )
    rendering["picture"] = [{"kind": "shift", "dx": 1, "dy": 0, "panels": [0, 1], "of": 2}]
    rendering["panel_boxes"] = [[10.0, 10.0, 60.0, 60.0], [70.0, 10.0, 120.0, 60.0]]
    (folder / "verdict.json").write_text(json.dumps(data))
    browser.open(rebuild_page(folder).resolve().as_uri())
    reading = browser.evaluate("document.querySelector('.reading li').textContent")
    assert reading.startswith("shift: panel contents offset 1 px right")
    # Above the images of its card.
    assert browser.evaluate(
        "document.querySelector('.reading').compareDocumentPosition("
        "document.querySelector('section .compare')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    inside = browser.evaluate(
        """[...document.querySelectorAll('.marked')].map(m => {
            const img = m.querySelector('img').getBoundingClientRect();
            return [...m.querySelectorAll('.panel-mark')].map(k => {
                const r = k.getBoundingClientRect();
                return r.width > 0 && r.left >= img.left - 1 && r.right <= img.right + 1
                    && r.top >= img.top - 1 && r.bottom <= img.bottom + 1;
            });
        })"""
    )
    assert inside and all(len(marks) == 2 and all(marks) for marks in inside)
    # The stack table's own "moved" marks stay in their cells.
    table = browser.evaluate("document.querySelector('#stack').getBoundingClientRect().right")
    rights = browser.evaluate(
        "[...document.querySelectorAll('#stack .mark')].map(m => m.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= table
