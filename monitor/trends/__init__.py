"""Early warning over time: surges of events, escalation ladders per person, the rhetoric trend.

Reads stored matches (never the rules engine), writes its own state (``trend_state``, ``case_files``,
``case_events``, ``watchlist_proposals``) and alerts of kind ``surge`` and ``escalation``.
Entry point: :func:`monitor.trends.analysis.analyze`. Method: docs/early-warning.md.
"""
