"""Alerts: matching stored items, folding matches into alerts, removals, routing; ``outbox`` writes the rows."""
