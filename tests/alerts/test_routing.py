"""Routing decisions, table-driven from tests/data/alerts/routing.yaml: filters, quiet hours, digests, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.schema import ChannelConfig, RateLimit
from monitor.alerts.routing import (
    Action,
    AlertFacts,
    channel_wants,
    digest_slot,
    gate,
    previous_digest_slot,
    quiet_until,
    rate_check,
    route,
)

CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "alerts" / "routing.yaml").read_text())
NOW = datetime(2025, 9, 20, 12, 0, tzinfo=UTC)


def channel(spec: dict[str, Any] | None, *, timezone: str | None = None) -> ChannelConfig:
    values = {"url": "json://127.0.0.1:9/", **(spec or {})}
    if timezone:
        values["timezone"] = timezone
    return ChannelConfig.model_validate(values)


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def ids(table: str) -> list[str]:
    return [case["id"] for case in CASES[table]]


@pytest.mark.parametrize("case", CASES["wants"], ids=ids("wants"))
def test_channel_filters(case: dict[str, Any]) -> None:
    alert = case["alert"]
    facts = AlertFacts(severity=alert["severity"], event_type=alert["event_type"],
                       tags=frozenset(alert.get("tags", [])), language=alert.get("language"))
    assert channel_wants(channel(case["channel"]), facts) is case["expect"]


def test_route_leaves_out_disabled_channels() -> None:
    channels = {"on": channel({}), "off": channel({"enabled": False}), "picky": channel({"events": ["x"]})}
    assert route(channels, AlertFacts(severity="critical", event_type="transfer")) == ["on"]


@pytest.mark.parametrize("case", CASES["quiet"], ids=ids("quiet"))
def test_quiet_hours(case: dict[str, Any]) -> None:
    configured = channel({"quiet_hours": case["quiet_hours"]}, timezone=case.get("channel_timezone"))
    assert quiet_until(configured, when(case["now"]) or NOW) == when(case["until"])


@pytest.mark.parametrize("case", CASES["digest"], ids=ids("digest"))
def test_digest_slots(case: dict[str, Any]) -> None:
    configured = channel({"digest": case["digest"]}, timezone=case.get("channel_timezone"))
    slot = digest_slot(configured, when(case["now"]) or NOW)
    assert slot == when(case["slot"])
    assert slot is not None and previous_digest_slot(configured, slot) == when(case["previous"])


@pytest.mark.parametrize("case", CASES["rate"], ids=ids("rate"))
def test_rate_limits(case: dict[str, Any]) -> None:
    limit = RateLimit.model_validate(case["limit"]) if case["limit"] else None
    sent = [NOW - timedelta(minutes=m) for m in case["sent_minutes_ago"]]
    check = rate_check(limit, sent, in_flight=case["in_flight"], now=NOW)
    assert check.allowed is case["allowed"]
    if not case["allowed"]:
        assert check.free_at == NOW + timedelta(minutes=case["free_in_minutes"])


@pytest.mark.parametrize("case", CASES["gate"], ids=ids("gate"))
def test_gate(case: dict[str, Any]) -> None:
    delivery = case["delivery"]
    configured = channel(case["channel"]) if case["channel"] is not None else None
    decision = gate(configured, channel_name="ch", delivery_kind=delivery["kind"], severity=delivery["severity"],
                    alert_state=delivery["state"], now=when(case.get("now")) or NOW)
    assert decision.action is Action(case["action"])
    assert decision.until == when(case.get("until"))
    if decision.action is Action.DEAD:
        assert "'ch'" in decision.reason and "tocsin alerts retry" in decision.reason
