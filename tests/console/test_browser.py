"""The console in a real browser (Debian's headless Chromium through Selenium), on the demo's data: log in,
triage, watch the alert leave the queue, a case timeline, a Persian search written with Arabic letters,
hostile titles shown as text, a viewer who cannot dismiss, live queue updates; a screenshot of each page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from monitor.alerts.matching import process_pending
from storage.alerts_repo import item_matches
from storage.models import Alert
from storage.records import ItemRecord
from storage.repository import store_item
from tests.console.conftest import PASSWORDS, RTL_TITLE, Console, screenshot

pytestmark = pytest.mark.slow


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 15) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def log_in(driver: WebDriver, console: Console, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{console.base_url}/alerts")
    assert "/login" in driver.current_url  # nothing is shown without a login
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.ID, "login").click()
    wait_for(driver, lambda d: d.current_url.endswith("/alerts"))


def queue_ids(driver: WebDriver) -> list[int]:
    """The alert ids in the queue, read in one go (the queue replaces its rows every second)."""
    ids = driver.execute_script(
        "return [...document.querySelectorAll('#queue-rows tr[id^=alert-]')].map(r => Number(r.id.slice(6)))")
    return [int(i) for i in ids]


def click(driver: WebDriver, css: str) -> None:
    """Click, finding the element again if the queue's refresh replaced it in between."""
    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css} kept going stale")


def alert_state(console: Console, alert_id: int) -> str:
    with console.app.database.read() as session:
        return session.get_one(Alert, alert_id).state


def test_log_in_and_triage_a_demo_alert_out_of_the_queue(browser: WebDriver, console: Console) -> None:
    driver = browser
    driver.get(f"{console.base_url}/login")
    screenshot(driver, "login")
    log_in(driver, console, "ana")
    before = queue_ids(driver)
    assert len(before) >= 10, "the demo's alerts wait in the queue"
    screenshot(driver, "queue")
    first = before[0]
    click(driver, f"#alert-{first} button.acknowledge")
    wait_for(driver, lambda d: first not in queue_ids(d))  # HTMX swapped the row out, no reload
    assert alert_state(console, first) == "acknowledged"

    second = queue_ids(driver)[0]
    driver.find_element(By.ID, f"reason-{second}").send_keys("an old case, republished")  # kept across refreshes
    click(driver, f"#alert-{second} button.dismiss")
    wait_for(driver, lambda d: second not in queue_ids(d))
    assert alert_state(console, second) == "dismissed"

    driver.get(f"{console.base_url}/alerts?state=acknowledged")
    assert first in queue_ids(driver)
    row = driver.execute_script(f"return document.getElementById('alert-{first}').textContent")
    assert "by ana" in row  # who triaged it, and when

    driver.get(f"{console.base_url}/alerts/{second}")
    audit = driver.find_element(By.ID, "audit").text
    assert "ana" in audit and "alert.dismiss" in audit and "an old case, republished" in audit
    screenshot(driver, "alert")


def test_escalate_from_the_alert_page(browser: WebDriver, console: Console) -> None:
    log_in(browser, console, "ana")
    target = queue_ids(browser)[0]
    browser.get(f"{console.base_url}/alerts/{target}")
    browser.find_element(By.ID, "escalate").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "alert-state").text == "escalated")
    assert alert_state(console, target) == "escalated"
    browser.get(f"{console.base_url}/alerts?state=escalated")
    assert queue_ids(browser) == [target]


def test_a_case_timeline(browser: WebDriver, console: Console) -> None:
    log_in(browser, console, "vic")
    browser.get(f"{console.base_url}/cases")
    screenshot(browser, "cases")
    browser.find_element(By.LINK_TEXT, "Behrouz Ehsani").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ol.timeline > li"))
    events = browser.find_elements(By.CSS_SELECTOR, "ol.timeline > li")
    assert len(events) >= 3
    assert browser.find_element(By.ID, "ladder-level").text
    assert any("death sentence" in e.text or "transfer" in e.text for e in events)
    screenshot(browser, "case")


def test_persian_search_written_with_arabic_letters_finds_the_persian_text(browser: WebDriver,
                                                                          console: Console) -> None:
    log_in(browser, console, "vic")
    browser.get(f"{console.base_url}/search")
    box = browser.find_element(By.ID, "q")
    box.send_keys("كيفرخواست")  # Arabic kaf and yeh; the demo article writes کیفرخواست
    browser.find_element(By.ID, "search").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "result-count"))
    results = browser.find_elements(By.CSS_SELECTOR, "li.result")
    assert results, browser.find_element(By.TAG_NAME, "main").text
    assert any("صدور حکم اعدام" in r.text for r in results)
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "li.result mark")]
    assert "کیفرخواست" in " ".join(marks)  # the hit highlighted as written
    screenshot(browser, "search")
    results[0].find_element(By.TAG_NAME, "a").click()
    wait_for(browser, lambda d: "/items/" in d.current_url)
    screenshot(browser, "item")


def test_hostile_titles_render_as_text_and_run_nothing(browser: WebDriver, console: Console) -> None:
    log_in(browser, console, "vic")
    with console.app.database.read() as session:
        script_alert, rtl_alert = (item_matches(session, console.items[key])[0].alert_id for key in ("script", "rtl"))
    pages = ["/alerts?state=all", f"/alerts/{script_alert}", f"/items/{console.items['script']}",
             "/search?q=Qezel+Hesar", f"/alerts/{rtl_alert}", f"/items/{console.items['rtl']}"]
    for page in pages:
        browser.get(console.base_url + page)
        assert browser.execute_script("return window.pwned") is None, page
        assert browser.title != "pwned", page
        scripts = browser.execute_script("return [...document.scripts].map(s => s.src || s.textContent)")
        assert scripts == [f"{console.base_url}/static/htmx.min.js"], page
    browser.get(f"{console.base_url}/alerts/{script_alert}")
    heading = browser.find_element(By.CSS_SELECTOR, "h1 bdi").text
    assert "<script>window.pwned = 1;" in heading
    browser.get(f"{console.base_url}/items/{console.items['rtl']}")
    title = browser.find_element(By.CSS_SELECTOR, "h1 bdi")
    assert title.get_attribute("textContent") == RTL_TITLE  # every mark kept, shown as text, isolated
    assert browser.find_element(By.TAG_NAME, "h1").get_attribute("dir") == "rtl"
    browser.get(f"{console.base_url}/alerts/{rtl_alert}")
    report = next(r for r in browser.find_elements(By.CSS_SELECTOR, "section.report")
                  if r.find_element(By.CSS_SELECTOR, "h3 bdi").get_attribute("textContent") == RTL_TITLE)
    assert report.find_element(By.TAG_NAME, "h3").get_attribute("dir") == "rtl"
    assert report.find_element(By.TAG_NAME, "blockquote").get_attribute("dir") == "rtl"
    assert report.find_elements(By.CSS_SELECTOR, "blockquote mark"), "the matched words are highlighted"


def test_a_viewer_cannot_dismiss_by_the_page_or_the_api(browser: WebDriver, console: Console) -> None:
    log_in(browser, console, "vic")
    target = queue_ids(browser)[0]
    assert not browser.find_elements(By.CSS_SELECTOR, "button.dismiss")  # no triage buttons for a viewer
    browser.get(f"{console.base_url}/alerts/{target}")
    with pytest.raises(NoSuchElementException):
        browser.find_element(By.ID, "dismiss")
    # A forged form with the viewer's own valid CSRF token: the server still refuses.
    browser.execute_script("""
        const form = document.createElement('form');
        form.method = 'post'; form.action = arguments[0];
        for (const [k, v] of [['csrf_token', arguments[1]], ['reason', 'forged']]) {
            const input = document.createElement('input'); input.name = k; input.value = v; form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();""",
        f"/alerts/{target}/dismiss", browser.find_element(By.NAME, "csrf_token").get_attribute("value"))
    wait_for(browser, lambda d: "403" in d.find_element(By.TAG_NAME, "h1").text)
    assert "analyst role" in browser.find_element(By.TAG_NAME, "main").text
    with console.client(console.tokens["vic"]) as api:
        answer = api.post(f"/api/v1/alerts/{target}/dismiss", json={"reason": "forged"})
    assert answer.status_code == 403
    assert alert_state(console, target) in ("new", "updated")


def test_the_queue_updates_itself(browser: WebDriver, console: Console) -> None:
    log_in(browser, console, "ana")
    before = set(queue_ids(browser))
    with console.app.database.write() as session:
        result = store_item(session, ItemRecord(
            source_id="demo-rights-feed", url="http://127.0.0.1/live/1", lang="en",
            title="Political prisoner Reza Moradi transferred to solitary confinement",
            text="Political prisoner Reza Moradi was sentenced to death by the Revolutionary Court of Tehran "
                 "on charges of moharebeh, his lawyer said.", fetched_at=datetime.now(UTC)))
    assert result.item_id is not None
    processed = process_pending(console.app.database, console.app.rules, console.app.config,
                                item_ids=[result.item_id])
    assert processed.alerts_new, "the test item raises an alert"
    new_id = processed.alerts_new[0]
    wait_for(browser, lambda d: new_id in queue_ids(d), timeout=20)  # no reload: HTMX polls /alerts/rows
    assert new_id not in before
    classes = browser.execute_script(f"return document.getElementById('alert-{new_id}').className")
    assert "new" in classes.split()  # new since ana last looked
    click(browser, "#mark-seen")
    wait_for(browser, lambda d: "0 new since I last looked" in d.find_element(By.ID, "new-since").text)


def test_every_page_for_the_screenshots(browser: WebDriver, console: Console) -> None:
    log_in(browser, console, "root")
    for name, path in (("trends", "/trends?last=30&until=2025-07-31"), ("sources", "/sources"), ("users", "/users")):
        browser.get(console.base_url + path)
        assert browser.find_element(By.TAG_NAME, "h1").text
        if name == "trends":  # the demo's executions of July 2025, counted per day
            counts = browser.execute_script(
                "return [...document.querySelectorAll('table.numbers tr td:nth-child(2)')].map(c => +c.textContent)")
            assert sum(counts) > 0
            assert browser.execute_script("return document.querySelector('img.chart').naturalWidth") > 0
        screenshot(browser, name)
    browser.get(f"{console.base_url}/rules")
    browser.find_element(By.ID, "lab-text").send_keys(
        "Nine prisoners were executed in Qezel Hesar prison on Tuesday, a rights group said.")
    browser.find_element(By.ID, "explain").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "explanation"))
    assert "fired" in browser.find_element(By.ID, "explanation").text
    screenshot(browser, "rules-lab")
