"""The review report in real headless Chromium (Debian's `chromium` + `chromium-driver`).

`.ci/run` installs both; locally the test is skipped without them unless
FACEFOCAL_REQUIRE_BROWSER=1 (as CI sets) makes their absence a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from facefocal_data.review import write_report

CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if CHROMEDRIVER is None:
        if os.environ.get("FACEFOCAL_REQUIRE_BROWSER"):
            pytest.fail("chromedriver not found: apt-get install chromium chromium-driver")
        pytest.skip("no chromium-driver here (CI installs it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def _errors(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _canvas_ink(driver) -> int:  # type: ignore[no-untyped-def]
    return driver.execute_script(
        "const c = document.querySelector('canvas');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n;"
    )


def _downloaded_json(target: Path, seconds: float = 10.0) -> Any:
    """The JSON Chromium downloads to `target`, once it is whole: the file can exist, empty,
    before the browser has written it (a CI run read it then)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return json.loads(target.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def test_report_in_chromium_filters_toggles_edits_and_exports(browser, mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    out, summary = mixed_build
    index = write_report(out, tmp_path / "site")
    browser.get(index.as_uri())
    time.sleep(0.5)
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == summary.faces
    emotions = [c.find_element(By.CSS_SELECTOR, ".meta").text for c in cards]
    Select(browser.find_element(By.ID, "f-emotion")).select_by_value("happiness")
    time.sleep(0.3)
    happy = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert 0 < len(happy) == sum("emotion happiness" in e for e in emotions)
    Select(browser.find_element(By.ID, "f-emotion")).select_by_value("")
    time.sleep(0.3)

    with_overlays = _canvas_ink(browser)
    browser.find_element(By.ID, "t-boxes").click()
    browser.find_element(By.ID, "t-points").click()
    assert with_overlays > 0 and _canvas_ink(browser) == 0
    browser.find_element(By.ID, "t-points").click()
    assert 0 < _canvas_ink(browser) < with_overlays

    card = browser.find_element(By.CSS_SELECTOR, "article.card")
    record_id = card.get_attribute("data-id")
    buttons = card.find_elements(By.CSS_SELECTOR, ".buttons button")
    buttons[2].click()  # edit
    text = card.find_element(By.CSS_SELECTOR, ".text")
    browser.execute_script(
        "arguments[0].textContent = 'Edited in the browser (AU12 Lip Corner Puller).'", text
    )
    buttons[2].click()  # save
    browser.find_elements(By.CSS_SELECTOR, "article.card")[1].find_elements(
        By.CSS_SELECTOR, ".buttons button"
    )[1].click()
    browser.find_element(By.ID, "export").click()
    exported = _downloaded_json(browser.downloads / "decisions.json")
    decisions = {d["record_id"]: d for d in exported["decisions"]}
    region = text.get_attribute("data-region")
    assert decisions[record_id]["edits"][region].startswith("Edited in the browser")
    assert "reject" in [d["decision"] for d in decisions.values()]
    browser.find_element(By.ID, "f-errors").click()
    time.sleep(0.2)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#errors tr")) == summary.errors + summary.no_face
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert _errors(browser) == []


def test_two_thousand_faces_open_and_filter_quickly(browser, mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Synthetic: the demo cards copied to 2,000, written in the report's own chunk format."""
    out, _ = mixed_build
    site = tmp_path / "big"
    write_report(out, site)
    line = (site / "data" / "cards-000.js").read_text()
    cards = json.loads(line.removeprefix("window.FF_CHUNK_0 = ").strip().removesuffix(";"))
    index, chunks = [], {}
    for n in range(2000):
        card = {
            **cards[n % len(cards)],
            "id": f"{n:020d}",
            "emotion": ["happiness", "sadness", "fear"][n % 3],
        }
        chunks.setdefault(n // 100, []).append(card)
        keys = ("id", "src", "dataset", "split", "emotion", "present", "fallback", "low_conf")
        index.append({**{k: card[k] for k in keys}, "chunk": n // 100})
    for number, chunk in chunks.items():
        (site / "data" / f"cards-{number:03d}.js").write_text(
            f"window.FF_CHUNK_{number} = {json.dumps(chunk)};\n"
        )
    head = (site / "data" / "index.js").read_text().split("\n", 1)[1]
    (site / "data" / "index.js").write_text(f"window.FF_INDEX = {json.dumps(index)};\n{head}")
    start = time.monotonic()
    browser.get((site / "index.html").as_uri())
    browser.find_element("css selector", "article.card")
    opened = time.monotonic() - start
    filter_ms = browser.execute_async_script(  # until the filtered page is on screen
        "const done = arguments[arguments.length - 1], t = performance.now();"
        "const s = document.getElementById('f-emotion'); s.value = 'fear';"
        "s.dispatchEvent(new Event('change'));"
        "const check = () => document.getElementById('status').textContent.startsWith('666 of')"
        " ? done(performance.now() - t) : setTimeout(check, 5); check();"
    )
    status = browser.find_element("id", "status").text
    assert status.startswith("666 of 2000 faces")
    print(f"2,000 faces: opened in {opened:.2f} s, filter handler {filter_ms:.0f} ms")
    assert opened < 10 and filter_ms < 1000
    assert _errors(browser) == []
