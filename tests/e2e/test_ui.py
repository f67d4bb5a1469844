"""The Dagster UI in a real browser (Debian's chromium, driven by Playwright) over the whole loop's runs."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from ml_platform.serving.deploy import free_port
from ml_platform.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def webserver(loop):
    _, settings = loop
    port = free_port()
    env = {**os.environ, **settings.subprocess_env(), "DAGSTER_HOME": str(settings.dagster_home)}
    log = open(settings.home / "webserver.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
         "-w", str(PROJECT_ROOT / "workspace.yaml")],
        env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        else:
            pytest.fail(f"dagster-webserver did not start; see {settings.home / 'webserver.log'}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def page(webserver):
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def open_page(page, url: str, text: str) -> None:
    """Go to ``url``, wait for ``text``, and close the first-visit community dialog if it shows."""
    page.goto(url)
    page.get_by_text(text).first.wait_for()
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=8_000)
        skip.click()
    except PlaywrightTimeout:
        pass
    page.wait_for_load_state("networkidle")


def test_asset_catalog_shows_every_layer(webserver, page):
    open_page(page, f"{webserver}/assets", "flight_features")
    text = page.inner_text("body")
    page.screenshot(path=str(SCREENSHOTS / "ui-assets.png"), full_page=True)
    for layer in ("raw", "staging", "features", "models", "serving", "monitoring"):
        assert layer in text, f"layer {layer} missing from the asset catalog"


def test_champion_page_shows_the_gate_and_its_reason(webserver, page):
    open_page(page, f"{webserver}/assets/models/champion", "compared_on_holdout")
    page.screenshot(path=str(SCREENSHOTS / "ui-champion.png"), full_page=True)
    text = page.inner_text("body")
    assert "promoted" in text and "floor" in text and "challenger" in text
    page.get_by_text("Checks", exact=True).first.click()
    page.get_by_text("promotion_gate").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "ui-champion-checks.png"), full_page=True)
    text = page.inner_text("body").lower()
    assert "blocking" in text and "non-blocking" not in text  # the gate is the champion's one check: blocking


def test_service_page_links_the_endpoint(webserver, page):
    open_page(page, f"{webserver}/assets/serving/service", "endpoint")
    page.screenshot(path=str(SCREENSHOTS / "ui-service.png"), full_page=True)
    assert "http://127.0.0.1:" in page.inner_text("body")


def test_feature_profile_page_shows_drift_and_its_warning_check(webserver, page):
    """Monitoring is read in the UI: the drift numbers on the asset, the warn-severity check beside them."""
    open_page(page, f"{webserver}/assets/monitoring/feature_profile", "max_drift")
    page.screenshot(path=str(SCREENSHOTS / "ui-feature-profile.png"), full_page=True)
    assert "model_version" in page.inner_text("body")
    page.get_by_text("Checks", exact=True).first.click()
    page.get_by_text("feature_drift").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "ui-feature-drift-check.png"), full_page=True)
    text = page.inner_text("body")
    assert "Per-feature drift against the champion's reference" in text
    assert "non-blocking" in text  # a drift warning never stops the data
    assert "drift above thresholds on" in text or "no monitored feature above its threshold" in text


def test_live_performance_plots_each_days_auc(webserver, page):
    """Each partition carries its own day's AUC, so the asset's metadata plots are the champion's daily AUC."""
    open_page(page, f"{webserver}/assets/monitoring/live_performance", "auc_7d")
    page.get_by_role("button", name="Plots").click()
    page.get_by_role("button", name="Events").click()  # one point per materialization, i.e. per day
    page.locator("canvas").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "ui-live-performance-plots.png"), full_page=True)
    text = page.inner_text("body")
    assert all(name in text for name in ("auc", "auc_7d", "logloss", "ece", "dagster/row_count"))
    assert page.locator("canvas").count() >= 5
