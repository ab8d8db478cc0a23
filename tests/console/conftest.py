"""The console on real parts: the demo's database (``tocsin demo`` run once per session, then copied for each
module), hostile items added through the real matcher, users of each role, the console served by uvicorn on
a loopback port, and Debian's headless Chromium driven by Selenium (``/usr/bin/chromium``; never a downloaded
browser). Screenshots of each page go to ``build/screenshots/`` (the README names it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.remote.webdriver import WebDriver

from monitor.alerts.matching import process_pending
from monitor.console.users import add_user, new_api_token
from monitor.service.app import App
from monitor.service.web import ConsoleServer
from storage.records import ItemRecord
from storage.repository import store_item

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("TOCSIN_SCREENSHOTS", REPO / "build" / "screenshots"))
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PASSWORDS = {"ana": "analyst passphrase 1", "vic": "viewer passphrase 1", "root": "admin passphrase 1"}
ROLES = {"ana": "analyst", "vic": "viewer", "root": "admin"}
SCRIPT_TITLE = "<script>window.pwned = 1; document.title = 'pwned'</script> Nine prisoners executed in Qezel Hesar"
# A Persian title wrapped in bidi overrides and marks (RLO, PDF, RLM, LRE): it must show as the text it is.
RTL_TITLE = "\u202eاعدام\u202c دو زندانی در زندان \u200fقزل‌حصار\u202a (گزارش)"


def tocsin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, cwd=cwd,
                           timeout=600, env={**os.environ, "COLUMNS": "160"})


def _hostile_items(app: App) -> dict[str, int]:
    """Two items that match the execution rule and so raise alerts: one with a script for a title, one
    Persian with bidi controls in its title."""
    now = datetime.now(UTC)
    records = {
        "script": ItemRecord(source_id="demo-rights-feed", url="http://127.0.0.1/hostile/script", title=SCRIPT_TITLE,
                             text="Nine prisoners were executed in Qezel Hesar prison on Tuesday, a rights group "
                                  "said. <img src=x onerror=alert(1)>", fetched_at=now, lang="en"),
        "rtl": ItemRecord(source_id="demo-state-fa", url="http://127.0.0.1/hostile/rtl", title=RTL_TITLE,
                          text="دو زندانی سیاسی سحرگاه امروز در زندان قزل‌حصار کرج اعدام شدند.", fetched_at=now,
                          lang="fa"),
    }
    ids = {}
    with app.database.write() as session:
        for key, record in records.items():
            result = store_item(session, record)
            assert result.item_id is not None
            ids[key] = result.item_id
    process_pending(app.database, app.rules, app.config, item_ids=list(ids.values()))
    return ids


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], dict[str, str]]:
    """``tocsin demo``'s data directory with hostile items and one user of each role (with an API token)."""
    workdir = tmp_path_factory.mktemp("console-demo")
    result = tocsin("demo", "--data-dir", str(workdir / "data"), "--port", "0", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    app = App.open(workdir / "data" / "config")
    try:
        items = _hostile_items(app)
        tokens = {}
        with app.database.write() as session:
            for name, role in ROLES.items():
                add_user(session, name, role=role, password=PASSWORDS[name], actor="test")
                tokens[name] = new_api_token(session, name, actor="test")
    finally:
        app.close()
    return workdir / "data", items, tokens


@dataclass
class Console:
    base_url: str
    app: App
    data: Path
    items: dict[str, int]
    tokens: dict[str, str]
    server: ConsoleServer | None = field(default=None, repr=False)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, follow_redirects=False, timeout=30)

    def login(self, name: str) -> httpx.Client:
        """A plain HTTP client logged in as ``name`` (what a browser does, without the browser)."""
        client = self.client()
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        answer = client.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf_token": token[1]})
        assert answer.status_code == 303 and answer.headers["location"] == "/alerts", answer.text
        return client


def start_console(data: Path, items: dict[str, int], tokens: dict[str, str], **web: object) -> Console:
    """Serve the console of ``data`` with ``web:`` settings (any free port; the queue refreshes every second)."""
    settings = data / "config" / "settings.yaml"
    config = yaml.safe_load(settings.read_text(encoding="utf-8"))
    config["web"] = {"port": 0, "refresh": "1s", **web}
    settings.write_text(yaml.safe_dump(config), encoding="utf-8")
    app = App.open(data / "config")
    server = ConsoleServer(app, in_service=False).start()
    return Console(server.address, app, data, items, tokens, server)


@pytest.fixture(scope="module")
def console(demo_template: tuple[Path, dict[str, int], dict[str, str]],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A copy of the demo data (each module triages its own alerts), served on a free loopback port."""
    source, items, tokens = demo_template
    data = tmp_path_factory.mktemp("console") / "data"
    shutil.copytree(source, data)
    running = start_console(data, items, tokens)
    yield running
    assert running.server is not None
    running.server.stop()
    running.app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Debian's Chromium, headless, with a fresh profile and no background traffic."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: "
                    "apt-get update && apt-get install -y chromium chromium-driver (.ci/run does it)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en-US",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=ChromeService(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save what the browser shows as build/screenshots/NAME.png (whole page height)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = int(driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)"))
    driver.set_window_size(1400, max(800, height))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    return path
