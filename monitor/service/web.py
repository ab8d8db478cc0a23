"""Serving the analyst console (``monitor.console``): ``tocsin web`` in the foreground, and ``tocsin run`` in a
thread when settings.yaml has ``web:``. Here the console gets what lives above its room: each source's
status and next run (``status.py``), and the trend views and charts (``monitor.trends``)."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from config.errors import ServiceError
from config.schema import WebSettings
from monitor.console import ConsoleServices, create_app
from monitor.console.host import SeriesInfo, web_settings
from monitor.service.app import App
from monitor.service.health import read_state
from monitor.service.status import service_summary, source_rows
from monitor.trends.analysis import early_warning_settings, series_specs
from monitor.trends.chart import render_trend
from monitor.trends.view import trend_view

log = logging.getLogger(__name__)


def console_services(app: App, *, in_service: bool) -> ConsoleServices:
    """``in_service``: the console runs inside ``tocsin run`` (the service is up; no lock to probe)."""

    def sources(session: Session) -> list[dict[str, Any]]:
        if in_service:
            state = read_state(app.database)
            service = {"running": True, "next_runs": state["schedule"].value if "schedule" in state else {}}
        else:
            service = service_summary(app.database, app.config)
        return source_rows(session, app.database, app.config, service)

    def series() -> list[SeriesInfo]:
        specs = series_specs(early_warning_settings(app.config))
        return [SeriesInfo(spec.id, spec.title, spec.scope) for spec in specs]

    def view(session: Session, series_id: str | None, scope: str | None, bins: int, now: datetime) -> Any:
        return trend_view(session, early_warning_settings(app.config), series_id=series_id, scope=scope, bins=bins,
                          now=now)

    return ConsoleServices(source_rows=sources, trend_series=series, trend_view=view,
                           trend_svg=lambda trend: render_trend(trend, "svg"))


def console_app(app: App, *, in_service: bool = False) -> FastAPI:
    return create_app(app, console_services(app, in_service=in_service))


class ConsoleServer:
    """The console on its own socket (bound at once, so a taken port fails the start with one clear line)."""

    def __init__(self, app: App, *, in_service: bool, settings: WebSettings | None = None) -> None:
        self.settings = settings or web_settings(app.config)
        try:
            self.socket = socket.create_server((self.settings.host, self.settings.port), reuse_port=False)
        except OSError as exc:
            raise ServiceError(f"cannot serve the console on {self.settings.host}:{self.settings.port} "
                               f"({exc.strerror}); change web.port (or --port), or use 0 for any free port") from None
        host, port = self.socket.getsockname()[:2]
        self.address = f"http://{host}:{port}"
        config = uvicorn.Config(
            console_app(app, in_service=in_service), log_level="warning",
            access_log=False,  # request lines carry feed tokens in their query strings: never logged
            proxy_headers=True, forwarded_allow_ips=self.settings.trusted_proxies)
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def serve(self) -> None:
        """In the foreground, until interrupted (``tocsin web``)."""
        self.server.run(sockets=[self.socket])

    def start(self) -> ConsoleServer:
        """In a thread of its own (``tocsin run``)."""
        self.thread = threading.Thread(target=self.serve, name="console", daemon=True)
        self.thread.start()
        log.info("analyst console on %s", self.address, extra={"console": self.address})
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)
        self.socket.close()
