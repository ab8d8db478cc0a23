"""The console's protections over real HTTP (uvicorn on loopback, the demo's data): nothing without a login
but /healthz, session cookies HttpOnly and SameSite=Strict, CSRF on every form, a CSP with no inline script,
login attempts limited, roles enforced for pages and API, tokens and passwords never stored, Atom feeds
readable with their own token only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import inspect

from monitor.console import feeds, pages_admin, pages_alerts, pages_auth, pages_items, pages_watch
from storage import console_repo as repo
from storage.console_models import ApiToken, User, WebSession
from tests.console.conftest import PASSWORDS, Console, start_console

NO_LOGIN = {"/login", "/healthz", "/feeds/{filter_id}.atom"}


def _routes() -> list[tuple[str, str]]:
    """Every page route and method the console serves."""
    found = []
    for module in (pages_auth, pages_alerts, pages_items, pages_watch, pages_admin, feeds):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            found += [(method, route.path) for method in route.methods]
    return sorted(found)


ROUTES = [(m, p) for m, p in _routes() if p not in NO_LOGIN and p != "/"]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_page_needs_a_login(console: Console, method: str, path: str) -> None:
    url = path.replace("{alert_id}", "1").replace("{item_id}", "1").replace("{filter_id}", "1") \
        .replace("{name}", "root").replace("{action}", "disable")
    with console.client() as client:
        answer = client.request(method, url, data={"reason": "x", "name": "x"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (url, answer.text[:200])


def test_only_healthz_answers_anonymously(console: Console) -> None:
    with console.client() as client:
        assert client.get("/healthz").text == "ok\n"
        assert client.get("/api/v1/alerts").status_code == 401
        assert client.get("/api/v1/alerts", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        assert client.get("/feeds/1.atom?token=wrong").status_code == 401


def test_session_cookie_and_security_headers(console: Console) -> None:
    client = console.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    answer = client.post("/login", data={"name": "ana", "password": PASSWORDS["ana"], "csrf_token": token[1]})
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "tocsin_session=" in v)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    queue = client.get("/alerts")
    csp = queue.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert queue.headers["x-frame-options"] == "DENY"
    assert "<script>" not in queue.text.replace('<script src="/static/htmx.min.js"></script>', "")
    with console.app.database.read() as session:  # only digests are stored
        rows = session.query(WebSession).all()  # noqa: the tests may look at rows directly
        assert rows and all(cookie.split(";")[0].split("=", 1)[1] not in (r.id_hash, r.csrf_token) for r in rows)
    client.close()


def test_every_form_needs_its_csrf_token(console: Console) -> None:
    client = console.login("ana")
    alert_id = int(re.search(r'id="alert-(\d+)"', client.get("/alerts").text)[1])
    refused = client.post(f"/alerts/{alert_id}/acknowledge", data={})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/alerts").text)[1]
    done = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf})
    assert done.status_code == 303
    htmx = client.post(f"/alerts/{alert_id}/escalate", headers={"HX-Request": "true", "X-CSRF-Token": csrf},
                       data={"view": "acknowledged"})
    assert htmx.status_code == 200 and htmx.text == ""  # the row leaves the acknowledged view
    client.close()


def test_roles_are_enforced_on_the_server(console: Console) -> None:
    viewer = console.login("vic")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', viewer.get("/alerts").text)[1]
    assert viewer.get("/users").status_code == 403
    assert viewer.post("/users", data={"csrf_token": csrf, "name": "eve", "role": "admin",
                                       "password": "x" * 12}).status_code == 403
    assert viewer.post("/alerts/1/acknowledge", data={"csrf_token": csrf}).status_code == 403
    analyst = console.login("ana")
    assert analyst.get("/users").status_code == 403
    with console.client(console.tokens["vic"]) as api:
        assert api.get("/api/v1/alerts").status_code == 200
        assert api.post("/api/v1/alerts/1/ack").status_code == 403
    with console.app.database.read() as session:
        assert repo.user_by_name(session, "eve") is None
    viewer.close()
    analyst.close()


def test_passwords_and_tokens_are_stored_as_hashes_only(console: Console) -> None:
    with console.app.database.read() as session:
        users = session.query(User).all()  # noqa
        tokens = session.query(ApiToken).all()  # noqa
        assert all(u.password_hash and u.password_hash.startswith("$argon2id$") for u in users)
        assert all(PASSWORDS[u.name] not in (u.password_hash or "") for u in users if u.name in PASSWORDS)
        stored = {t.token_hash for t in tokens}
        assert stored and not stored & set(console.tokens.values())
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("api_tokens")}
        assert "token" not in columns


def test_login_attempts_are_limited(demo_template: Any, tmp_path: Any) -> None:
    import shutil

    source, items, tokens = demo_template
    shutil.copytree(source, tmp_path / "data")
    limited = start_console(tmp_path / "data", items, tokens, login_attempts=3)
    try:
        client = limited.client()
        statuses = []
        for _ in range(5):
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
            statuses.append(client.post("/login", data={"name": "ana", "password": "guess", "csrf_token": token})
                            .status_code)
        assert statuses == [401, 401, 401, 429, 429]
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        right = client.post("/login", data={"name": "ana", "password": PASSWORDS["ana"], "csrf_token": token})
        assert right.status_code == 429, "the right password waits too: the limit is per name and address"
        assert "Try again in" in right.text
        client.close()
    finally:
        assert limited.server is not None
        limited.server.stop()
        limited.app.close()


def test_saved_filter_feed_is_read_only_with_its_own_token(console: Console) -> None:
    client = console.login("vic")
    page = client.get("/alerts?severity=critical")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    saved = client.post("/filters", data={"csrf_token": csrf, "name": "critical only", "query": "severity=critical"})
    assert saved.status_code == 303
    filter_id = int(re.search(r'action="/filters/(\d+)/feed"', client.get("/alerts").text)[1])
    shown = client.post(f"/filters/{filter_id}/feed", data={"csrf_token": csrf})
    feed_url = re.search(r'value="(http[^"]+)" id="feed-url"', shown.text)[1].replace("&amp;", "&")
    token = feed_url.split("token=")[1]
    with console.client() as anonymous:
        feed = anonymous.get(feed_url.removeprefix(console.base_url))
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
        assert "<entry>" in feed.text and "[critical]" in feed.text and "[info]" not in feed.text
        assert anonymous.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert anonymous.get(f"/feeds/{filter_id + 1}.atom?token={token}").status_code == 401
    client.post(f"/filters/{filter_id}/feed", data={"csrf_token": csrf})  # a new address retires the old one
    with console.client() as anonymous:
        assert anonymous.get(feed_url.removeprefix(console.base_url)).status_code == 401
    client.close()
