"""Tocsin's settings: pydantic schemas and the default YAML files that users edit.

This package is the bottom layer: it imports nothing from crawler/, storage/ or monitor/.
"""
