"""``tocsin run`` with ``web:`` in settings.yaml serves the analyst console beside the service, and stops it
cleanly on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.service.support import REPO_ROOT, NewsSite, ServiceProcess, wait_until

pytestmark = pytest.mark.slow


def test_the_service_serves_the_console_when_web_is_set(
    news_site: NewsSite, service_config: Callable[..., Path], start_service: Callable[..., ServiceProcess],
) -> None:
    news_site.publish("Three prisoners executed at dawn in Qezel Hesar")
    config = service_config(web={"port": 0})
    added = subprocess.run([sys.executable, "-m", "monitor.cli", "users", "add", "ops", "--role", "admin",
                            "--config", str(config)], input="a long passphrase\n", text=True, capture_output=True,
                           cwd=REPO_ROOT, timeout=120)
    assert added.returncode == 0, added.stderr
    service = start_service(config)
    base = service.wait_for_output(r"analyst console on http://127\.0\.0\.1:\d+").split(" on ")[1]
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/healthz").text == "ok\n"
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post("/login", data={"name": "ops", "password": "a long passphrase", "csrf_token": token[1]})

        def alerted() -> bool:
            return "Qezel Hesar" in client.get("/alerts").text

        wait_until(alerted, what="the alert in the console's queue")
        sources = client.get("/sources").text
        assert "news" in sources and "when the service starts" not in sources  # the scheduler's next run
    service.signal(signal.SIGTERM)
    assert service.wait() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=5)
