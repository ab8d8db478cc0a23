"""One article, one alert per event: fold all the matches of one item version together.

Rules overlap on purpose (a transfer rule and a pre-execution transfer rule; a watchlist rule that fires on
every article naming a watched person), and a monitor wants one message per article and event, not one per
rule. So, for each event type the article reports, the most severe match makes or joins the alert
(``fold_match``) and the other matches of that event are recorded under it. Event types listed in
``alerts.facets`` (default: ``watchlist``) do not raise their own alert when the article reports another
event: they join the alert of that article's most severe event, and the names they found are added to its
entities under the facet's event type (``entities["watchlist"]``), so the message says who was named. Alone in an article, a facet event is folded like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from config.schema import SEVERITY_RANK
from monitor.alerts.folding import AlertDecision, fold_match, subjects
from storage.models import Alert, Item, Match


def _rank(match: Match) -> tuple[int, float]:
    return SEVERITY_RANK.get(match.severity, 0), match.score or 0.0


def _by_event(matches: Sequence[Match]) -> dict[str, list[Match]]:
    """The matches grouped by event type, in the order events first appear; most severe first in a group."""
    groups: dict[str, list[Match]] = {}
    for match in matches:
        groups.setdefault(match.event_type, []).append(match)
    return {event: sorted(group, key=_rank, reverse=True) for event, group in groups.items()}


def _record_under(alert: Alert, match: Match) -> AlertDecision:
    """A match of an event already alerted for this article: kept with the alert, no message of its own."""
    match.alert_id = alert.id
    return AlertDecision(alert.id, created=False, changed=False)


def join_facet(alert: Alert, match: Match) -> AlertDecision:
    """Fold a facet match (e.g. a watchlist hit) into another event's alert from the same article."""
    details = dict(alert.details or {})
    facets = list(details.get("facets") or [])
    if match.rule_id not in facets:
        facets.append(match.rule_id)
    details["facets"] = facets
    entities = dict(details.get("entities") or {})
    named = list(entities.get(match.event_type) or [])  # e.g. entities["watchlist"]: the watched people named
    for subject in subjects(match.entities or {}):  # whom the facet is about: its people, else its places
        if subject.name not in named:
            named.append(subject.name)
    if named:
        entities[match.event_type] = named
    details["entities"] = entities
    alert.details = details  # a new dict, so the JSON column is written
    return _record_under(alert, match)


def fold_article(session: Session, matches: Sequence[Match], item: Item, config: TocsinConfig
                 ) -> list[AlertDecision]:
    """Fold one item version's matches into alerts: at most one alert per event type, facets folded in."""
    groups = _by_event(matches)
    facet_events = set(config.settings.alerts.facets)
    main = {event: group for event, group in groups.items() if event not in facet_events}
    facets = {event: group for event, group in groups.items() if event in facet_events}
    if not main:
        main, facets = facets, {}
    decisions: list[AlertDecision] = []
    alerts: list[tuple[Match, Alert]] = []
    for group in main.values():
        lead, *others = group
        decision = fold_match(session, lead, item, config)
        alert = session.get_one(Alert, decision.alert_id)
        alerts.append((lead, alert))
        decisions += [decision, *(_record_under(alert, other) for other in others)]
    if facets:
        _lead, target = max(alerts, key=lambda pair: _rank(pair[0]))
        decisions += [join_facet(target, match) for group in facets.values() for match in group]
    return decisions
