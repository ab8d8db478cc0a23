"""Tocsin monitor: rules, alerts, notifications, service and CLI."""
