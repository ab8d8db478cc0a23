"""Tocsin crawler: fetch sources with Scrapy and turn pages into plain text with metadata."""
