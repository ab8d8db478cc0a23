"""A removal alert shows the removed article as its source line (a link, the source, when and why it went) in
every rendering, escaped; ``alerts show`` rows and the evidence export find the article too.

Uses the ``world`` of ``test_removal_alerts`` (a real crawl of a local site into a migrated SQLite file).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.alerts.removals import raise_removal_alerts
from monitor.delivery.channels.telegram import render_telegram
from monitor.delivery.channels.telegram_html import plain_text
from monitor.delivery.compose import alert_item_rows, alert_view
from monitor.messages import render_email
from monitor.messages.text import format_when
from storage.crawl_repo import alert_item_ids, mark_removed
from storage.models import Alert, Item
from tests.alerts.test_removals import ARTICLE, World, world, world_db  # noqa: F401 - fixtures

# A redirect's target comes from the site's Location header: hostile like any scraped text.
HOSTILE_REASON = 'redirected to the home page (http://127.0.0.1/?a=1&b="><script>x</script>\u202e)'


def remove(scene: World, *, reason: str = HOSTILE_REASON, when: datetime | None = None) -> int:
    """Record the article removed (as a re-check does) and sweep; returns the removal alert's id."""
    item_id = scene.item().id
    with scene.app.database.write() as session:
        item = session.get_one(Item, item_id)
        item.status, item.removed_at = "active", None  # (again, after it came back)
        mark_removed(session, item_id, reason=reason, evidence=None, when=when)
    [raised] = raise_removal_alerts(scene.app.database, scene.app.config, now=when)
    assert raised.created
    return raised.alert_id


def test_every_rendering_links_the_removed_article_and_says_when_and_why_it_went(world: World) -> None:  # noqa: F811
    alert_id = remove(world)
    item = world.item()
    url = world.site.url(ARTICLE)
    note = f"removed {format_when(item.removed_at)}: redirected to the home page"

    with world.app.database.read() as session:
        view = alert_view(session, session.get_one(Alert, alert_id))
    [source] = view.sources
    assert (source.name, source.url, source.title) == ("IRNA", url, item.title)

    telegram = "\n".join(render_telegram(view))
    assert f'<a href="{url}">\u2068IRNA\u2069</a>' in telegram
    shown = plain_text(telegram)
    assert note in shown and "• rules: \u2068execution.test\u2069" in shown
    assert "• source:" not in shown and "• url:" not in shown  # said once, on the source line
    email = render_email(view)
    assert f'<a href="{url}">IRNA</a>' in email.html and note in email.html
    assert "- IRNA: Prisoner executed" in email.text and note in email.text and f"\n  {url}\n" in email.text
    for rendered in (telegram, email.html):
        assert "<script>" not in rendered and "&lt;script&gt;x&lt;/script&gt;" in rendered
    for rendered in (telegram, email.html, email.text):
        assert "\u202e" not in rendered


def test_each_removal_alert_keeps_its_own_removal_time(world: World) -> None:  # noqa: F811
    """Gone, back, gone again 10 days later: two alerts, each showing the removal it is about."""
    t0 = datetime.now(UTC).replace(microsecond=0)
    first = remove(world, reason="HTTP 404 Not Found", when=t0)
    second = remove(world, reason="HTTP 410 Gone", when=t0 + timedelta(days=10))

    with world.app.database.read() as session:
        notes = [alert_view(session, session.get_one(Alert, a)).sources[0].note for a in (first, second)]
    assert notes == [f"removed {format_when(t0)}: HTTP 404 Not Found",
                     f"removed {format_when(t0 + timedelta(days=10))}: HTTP 410 Gone"]


def test_alerts_show_rows_and_the_evidence_export_find_the_removed_article(world: World) -> None:  # noqa: F811
    alert_id = remove(world, reason="HTTP 404 Not Found")
    item = world.item()

    with world.app.database.write() as session:
        removal = session.get_one(Alert, alert_id)
        event = session.scalars(select(Alert).where(Alert.event_type == "execution")).one()
        [event_row] = alert_item_rows(session, event)
        [row] = alert_item_rows(session, removal)
        session.get_one(Item, item.id).removal_alert_id = None  # the link lost: the alert still names it
        session.flush()
        ids = alert_item_ids(session, alert_id)

    assert (event_row["item"], event_row["rule"]) == (item.id, "execution.test")
    assert (row["item"], row["url"], row["source"], row["rule"]) == (item.id, item.url, "IRNA", None)
    assert row["removal_reason"] == "HTTP 404 Not Found" and row["removed_at"] == item.removed_at
    assert ids == [item.id]

