"""The offline demo: a bundled site (``site/``) served on loopback by ``server.py``, crawled by the real
spiders. ``tocsin demo`` itself is ``monitor/cli/demo.py``; this package imports nothing of monitor/."""

from pathlib import Path

DEMO_SITE = Path(__file__).resolve().parent / "site"
