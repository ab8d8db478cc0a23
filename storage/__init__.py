"""Tocsin's storage: typed SQLAlchemy models, the engine/session factory and repository functions.

Storage never imports monitor/ or crawler/: data flows crawler -> storage -> monitor.
"""
