"""`normwatch web`: the read-only page, over HTTP and in a real headless Chromium.

The browser test needs the system's Chromium and chromedriver
(`apt-get install -y chromium chromium-driver`, done by .ci/run); it skips
without them on a developer's machine and fails under CI=true.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_config
from bot.runtime import Runtime
from bot.web import WebView, make_web_server
from tests.history_data import build_history
from tests.sample import write_config

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def serve(view: WebView) -> Iterator[str]:
    server = make_web_server(view, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def runtime(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    build_history(db_url).kw["bind"].dispose()
    monkeypatch.setenv("NORMWATCH_DATABASE_URL", db_url)
    config = write_config(tmp_path, feeds=[])
    rt = Runtime.open(load_config(config), config)
    yield rt
    rt.close()


@pytest.fixture
def site(runtime: Runtime) -> Iterator[str]:
    yield from serve(WebView(runtime))


def get(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_page_lists_hits_with_links_and_filters(site: str) -> None:
    status, headers, body = get(f"{site}/?state=PL")
    assert status == 200
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert body.count('class="hit"') == 2
    assert 'href="https://news.example/pl-1"' in body
    assert 'id="chart"' in body


def test_bad_filter_values_show_a_message_not_a_crash(site: str) -> None:
    status, _, body = get(f"{site}/?since=someday")
    assert status == 400
    assert "since: &#x27;someday&#x27; is neither a duration" in body
    status, _, body = get(f"{site}/?q=k*")
    assert status == 400 and "at least 2 letters" in body


def test_csv_export_opens_in_a_spreadsheet(site: str) -> None:
    status, headers, body = get(f"{site}/export.csv?q=kasetin*")
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff")
    assert len(body.strip().splitlines()) == 1 + 3


def test_the_page_is_read_only(site: str) -> None:
    request = urllib.request.Request(f"{site}/", data=b"x=1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    assert info.value.code == 405
    assert get(f"{site}/admin")[0] == 404


def test_feed_text_cannot_inject_markup(runtime: Runtime) -> None:
    from sqlalchemy import update

    from storage.models import Item

    with runtime.sessions() as s, s.begin():
        s.execute(
            update(Item)
            .where(Item.guid == "pl-2")
            .values(title="<script>alert(1)</script>", url="javascript:alert(1)")
        )
    for url in serve(WebView(runtime)):
        body = get(f"{url}/?state=PL")[2]
        assert "<script>alert" not in body
        assert "&lt;script&gt;" in body
        assert 'href="javascript:' not in body


def test_a_shared_secret_is_required_when_set(runtime: Runtime) -> None:
    for url in serve(WebView(runtime, secret="s3cret")):
        status, headers, _ = get(f"{url}/")
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Basic")
        wrong = base64.b64encode(b"team:guess").decode()
        assert get(f"{url}/", Authorization=f"Basic {wrong}")[0] == 401
        right = base64.b64encode(b"team:s3cret").decode()
        assert get(f"{url}/", Authorization=f"Basic {right}")[0] == 200
        assert get(f"{url}/", Authorization="Bearer s3cret")[0] == 200


def test_another_address_without_a_secret_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "web", "--host", "0.0.0.0"],
        env={"NORMWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    assert result.exit_code == 2
    assert "NORMWATCH_WEB_SECRET" in result.stderr


@pytest.fixture
def browser() -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = (
            f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never downloads anything.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_in_chromium_a_search_a_filter_and_the_chart_render(
    site: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def submit() -> None:
        # The form reloads the page: wait until the old results are gone, or
        # reading them races the navigation (stale elements).
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        old = browser.find_element(By.ID, "results")
        browser.find_element(By.ID, "go").click()
        WebDriverWait(browser, 15).until(ec.staleness_of(old))
        WebDriverWait(browser, 15).until(
            lambda b: b.execute_script("return document.readyState") == "complete"
        )

    def rows() -> list[str]:
        return [
            row.find_element(By.CSS_SELECTOR, ".title").text
            for row in browser.find_elements(By.CSS_SELECTOR, "#results tr.hit")
        ]

    browser.get(site + "/")
    assert browser.title == "normwatch history"
    assert len(rows()) == 5
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert {b.get_attribute("data-state") for b in bars} == {"LT", "PL"}
    chart = browser.find_element(By.ID, "chart")
    assert chart.size["width"] > 300 and chart.size["height"] > 100
    assert all(b.size["height"] > 0 for b in bars)  # drawn, not just present

    box = browser.find_element(By.NAME, "q")
    box.send_keys("KASETINIU saudmen*")  # no diacritics, any case
    submit()
    assert sorted(rows()) == [
        "Lietuva perka kasetinius šaudmenis",
        "Lietuva perka kasetinius šaudmenis",
        "Seimas svarsto pasitraukimą iš Konvencijos dėl kasetinių šaudmenų",
    ]
    assert "q=KASETINIU" in browser.current_url

    box = browser.find_element(By.NAME, "q")
    box.clear()
    Select(browser.find_element(By.NAME, "state")).select_by_value("PL")
    submit()
    assert sorted(rows()) == [
        "Polska kupi amunicję kasetową",
        "Sejm: wypowiedzenie konwencji o amunicji kasetowej",
    ]
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert {b.get_attribute("data-state") for b in bars} == {"PL"}
    link = browser.find_element(By.CSS_SELECTOR, "#results a.title")
    assert link.get_attribute("href").startswith("https://news.example/pl-")
