"""The HTML reports in a real browser: headless Chromium through chromedriver (selenium).

Each report is written by the command line, opened from a file with the network shut off, and
must draw every chart (plotly's SVG, non-empty), log no console error and fetch nothing but the
file itself. A screenshot of each is saved under the test's temporary folder.

With CI=true (.ci/run, tox) a missing browser or driver is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from jinhua_subsidy.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HERMETIC = {"SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1", "SUBSIDY_DISABLE_PLUGINS": ""}
REPORTS = {
    "rates": (["compare", "rates", "--on", "2021-06-01"], 1),
    "claims": (["compare", "claims", str(EXAMPLES / "claims.csv")], 2),
    "progress": (["plan", "progress", str(EXAMPLES / "claims.csv"), "--year", "2021"], 2),
    "diff": (["diff", "urban", "--from", "2021-12-01", "--to", "2022-01-01"], 0),
    "coverage": (["coverage", "--on", "2021-10-15"], 1),
}


def _browser() -> tuple[str, str] | None:
    chromium = os.environ.get("SUBSIDY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver and Path(chromium).exists():
        return chromium, driver
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    found = _browser()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: Chromium and chromedriver are required (.ci/run installs them)")
        pytest.skip("no Chromium or chromedriver on this machine")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - the test extra has it
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: selenium is required (the test extra)")
        pytest.skip("selenium is not installed")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a driver or browser
    chromium, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000",
                "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _write(tmp_path: Path, name: str, args: list[str]) -> Path:
    out = tmp_path / f"{name}.html"
    r = CliRunner().invoke(main, [*args, "--format", "html", "--out", str(out)], env=HERMETIC)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_renders_offline_in_chromium(browser, tmp_path, name):
    args, charts = REPORTS[name]
    page = _write(tmp_path, name, args)
    text = page.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link " not in text  # every script and style inline
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(page.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.subsidyChartsRendered === true"))
    drawn = browser.execute_script("""
        return Array.from(document.querySelectorAll('div.chart')).map(function (div) {
          var svgs = div.querySelectorAll('svg.main-svg');
          var marks = div.querySelectorAll('g.trace, g.hm, image, path.point, g.bars path');
          var box = div.getBoundingClientRect();
          return {svgs: svgs.length, marks: marks.length, nodes: div.querySelectorAll('*').length,
                  width: box.width, height: box.height};
        });""")
    assert len(drawn) == charts
    for chart in drawn:
        assert chart["svgs"] >= 1 and chart["marks"] >= 1 and chart["nodes"] > 50, chart
        assert chart["width"] > 300 and chart["height"] > 300, chart
    tables = browser.execute_script("return document.querySelectorAll('table tbody tr').length")
    assert tables > 0
    assert browser.execute_script("return document.fonts.check('16px \"Noto Sans CJK SC\"')") in (True, False)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    assert requests and all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requests), requests
    shot = tmp_path / f"{name}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    keep = os.environ.get("SUBSIDY_KEEP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
