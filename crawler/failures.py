"""What went wrong with a request, as one line a person can act on: the host and what happened.

Scrapy and Twisted report failures as exception classes (``DownloadConnectionRefusedError``), some with an
empty message (a body cut off at the size limit). ``describe_failure`` names the host, the cause and,
where it helps, the setting involved; the spiders count article failures by this reason and the run's
error (``tocsin sources status``, crawl.log) is this line.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx
from twisted.python.failure import Failure

DNS_ERRORS = (CannotResolveHostError, tx.DNSLookupError)
REFUSED_ERRORS = (DownloadConnectionRefusedError, tx.ConnectionRefusedError)
TIMEOUT_ERRORS = (DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError)
CUT_OFF_ERRORS = (DownloadFailedError, ResponseDataLossError, tx.ConnectionLost, tx.ConnectionDone)
# A failure no retry within the same crawl can fix: the next scheduled run tries again.
NOT_RETRIED = ("scrapy.exceptions.CannotResolveHostError", "scrapy.exceptions.DownloadConnectionRefusedError")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def _where(url: str) -> tuple[str, str]:
    """(host, host:port) of a URL."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443 if parts.scheme == "https" else 80
    return host, f"{host}:{port}"


def describe_failure(failure: Failure, *, url: str | None = None, max_size: int | None = None,
                     timeout: float | None = None) -> str:
    """One line: the host and what happened (``url`` defaults to the failed request's)."""
    exc: Any = failure.value
    request = getattr(failure, "request", None)
    url = url or (request.url if request is not None else "")
    host, address = _where(url)
    if request is not None and timeout is None:
        timeout = request.meta.get("download_timeout")
    if isinstance(exc, HttpError):
        response = exc.response
        phrase = _http_phrase(response.status)
        return f"HTTP {response.status}{' ' + phrase if phrase else ''}"
    if isinstance(exc, DNS_ERRORS):
        return f"DNS lookup failed for {host}: no such host (or no network)"
    if isinstance(exc, REFUSED_ERRORS):
        return f"{address} refused the connection (nothing listening there, or a firewall)"
    if isinstance(exc, TIMEOUT_ERRORS):
        within = f" within {timeout:g}s" if timeout else ""
        return f"no answer from {host}{within} (crawl.download_timeout)"
    if isinstance(exc, DownloadCancelledError) or (
            isinstance(exc, IgnoreRequest) and "MAXSIZE" in str(exc).upper()):
        limit = f" of {_size(max_size)}" if max_size else ""
        what = "its body, decompressed," if "decompress" in str(exc) else "the response"
        return f"{host}: {what} is over the size limit{limit} (crawl.max_response_size)"
    if isinstance(exc, CUT_OFF_ERRORS):
        return f"{host} closed the connection before the response was complete"
    if type(exc).__name__ in {"SSLError", "Error"} and "ssl" in type(exc).__module__.lower():
        return f"TLS handshake with {host} failed: {exc}"
    message = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{host}: {name}: {message}" if message else f"{host}: {name}"


def _http_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
