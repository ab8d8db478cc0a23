"""The analyst console: a web page (FastAPI, server-rendered Jinja2, HTMX) and a REST API over the same
storage and alert functions the CLI calls.

``create_app(host, services)`` builds the ASGI app; ``monitor/service/web.py`` gives it what lives above
this room (source status, trend views) and serves it for ``tocsin web`` and ``tocsin run``. Everything but
``/healthz``, ``/login`` and ``/static`` needs a login (pages) or a bearer token (``/api/v1``); scraped text
is escaped everywhere (autoescaped templates, no ``|safe``) and the pages run no inline script
(``security.CSP``). ``static/htmx.min.js`` is htmx 2.0.11 (0BSD), vendored: there is no JavaScript build.
"""

from __future__ import annotations

from monitor.console.app import create_app
from monitor.console.host import ConsoleHost, ConsoleServices

__all__ = ["ConsoleHost", "ConsoleServices", "create_app"]
