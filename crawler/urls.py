"""One spelling per page URL, so a page reached by two links is stored once."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize_url(url: str) -> str:
    """One spelling per page URL: lowercase scheme and host, no fragment, no default port,
    no tracking parameters (utm_*, fbclid, gclid, ...), remaining query parameters sorted by
    name (repeated names keep their order). The path keeps its case."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname  # already lowercased by urlsplit
        host = f"[{host}]" if ":" in host else host
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (f"{userinfo}@" if userinfo else "") + host
        if port is not None and _DEFAULT_PORTS.get(scheme) != port:
            netloc += f":{port}"
    path = parts.path or ("/" if netloc else "")
    kept = [pair for pair in parts.query.split("&") if pair and not _is_tracking(pair)]
    kept.sort(key=lambda pair: unquote_plus(pair.partition("=")[0]))
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS
