"""Scrapy's caching resolver, except that special-use names are never looked up.

RFC 6761 reserves ``.invalid`` (and ``.test``-style names a resolver must not send out): such a name
fails at once as a DNS error, exactly as an unknown host would, without a query leaving the machine.
The crawl tests use it to exercise the real DNS-failure path with no network.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

NEVER_RESOLVED = (".invalid",)


class SpecialUseResolver(CachingThreadedResolver):
    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:  # noqa: N802
        if name.rstrip(".").lower().endswith(NEVER_RESOLVED) or name.rstrip(".").lower() == "invalid":
            return defer.fail(DNSLookupError(f"{name}: a reserved name that never resolves (RFC 6761)"))
        return super().getHostByName(name, timeout)
