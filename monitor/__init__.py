"""Tocsin monitor, in rooms whose imports go one way (docs/architecture.md):
cli -> service -> {delivery, trends} -> alerts -> {rules, messages}."""
