"""The REST API against its own OpenAPI document (schemathesis: generated requests, every response checked
against the spec), and what a script would do with it: list, search, triage with a bearer token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.console.conftest import Console

pytestmark = pytest.mark.slow


def test_the_api_keeps_to_its_openapi_spec(console: Console) -> None:
    """Every operation, with generated parameters and bodies: no server error, and every answer (status,
    content type, body) is what the spec says."""
    spec = httpx.get(f"{console.base_url}/api/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    schema.config.update(base_url=f"{console.base_url}/api/v1")
    headers = {"Authorization": f"Bearer {console.tokens['ana']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11

    for operation in operations:
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        check()


def test_a_script_lists_searches_and_triages(console: Console) -> None:
    with console.client(console.tokens["ana"]) as api:
        listed = api.get("/api/v1/alerts", params={"severity": "critical"}).json()
        assert listed["total"] >= 1 and all(a["severity"] == "critical" for a in listed["alerts"])
        target = listed["alerts"][0]["id"]
        found = api.get("/api/v1/items", params={"q": "محكوميت"}).json()  # Arabic kaf and yeh
        assert found["total"] >= 1
        done = api.post(f"/api/v1/alerts/{target}/dismiss", json={"reason": "duplicate of an older case"})
        assert done.status_code == 200 and done.json()["state"] == "dismissed"
        assert done.json()["audit"][-1]["actor"] == "ana"
        again = api.post(f"/api/v1/alerts/{target}/ack")
        assert again.status_code == 409 and "dismissed" in again.json()["detail"]
        assert api.get("/api/v1/alerts/999999").status_code == 404
        cases = api.get("/api/v1/cases").json()
        assert any(c["person"] == "Behrouz Ehsani" for c in cases)
        timeline = api.get("/api/v1/cases/Behrouz Ehsani").json()["timeline"]
        assert timeline and timeline[0]["event_type"]
        assert {s["id"] for s in api.get("/api/v1/sources").json()} >= {"demo-rights-feed", "demo-state-fa"}
        assert api.get("/api/v1/trends/executions").status_code in (200, 404)
