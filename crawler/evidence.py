"""Export stored evidence as a standard WARC file (ISO 28500, written with warcio).

For each item: every response kept for it (each earlier version's, the current one, and the response
that showed it removed), as a request record and a response record with the original status, headers
and body, plus a metadata record tying the response to the item. warcio computes WARC-Block-Digest and
WARC-Payload-Digest, so archivists can verify the file (``warcio check``) and replay it (pywb).

The body we keep is the one Scrapy handed us, already decoded from any Content-Encoding, so those
framing headers are renamed ``X-Archive-Orig-*`` (the convention of pywb and warcprox) and
Content-Length is set to the stored body; every other header is kept as received.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage.crawl_repo import item_snapshots
from storage.models import Item, Snapshot
from storage.repository import snapshot_body

SOFTWARE = "Tocsin (https://github.com/tocsin-monitor/tocsin)"
FRAMING_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass
class ExportReport:
    items: int = 0
    responses: int = 0
    skipped: list[str] = field(default_factory=list)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _response_headers(snapshot: Snapshot, body: bytes) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, value in (snapshot.headers or {}).items():
        for line in str(value).split("\n"):
            if name.lower() in FRAMING_HEADERS:
                headers.append((f"X-Archive-Orig-{name}", line))
            else:
                headers.append((name, line))
    headers.append(("Content-Length", str(len(body))))
    return headers


def _request_headers(url: str) -> StatusAndHeaders:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return StatusAndHeaders(f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True)


def _write_snapshot(writer: WARCWriter, item: Item, snapshot: Snapshot, role: str, report: ExportReport) -> None:
    body = snapshot_body(snapshot)
    if body is None:
        report.skipped.append(f"item {item.id}: snapshot {snapshot.id} ({role}) was pruned by housekeeping")
        return
    if hashlib.sha256(body).hexdigest() != snapshot.sha256:
        report.skipped.append(f"item {item.id}: snapshot {snapshot.id} ({role}) fails its SHA-256 check")
        return
    date = snapshot.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    uri = snapshot.final_url or snapshot.url
    http_headers = StatusAndHeaders(_status_line(snapshot.status), _response_headers(snapshot, body),
                                    protocol="HTTP/1.1")
    response = writer.create_warc_record(uri, "response", payload=BytesIO(body), length=len(body),
                                         http_headers=http_headers, warc_headers_dict={"WARC-Date": date})
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    request = writer.create_warc_record(uri, "request", http_headers=_request_headers(uri),
                                        warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id})
    facts = {
        "item_id": item.id, "item_url": item.url, "source_id": item.source_id, "role": role,
        "requested_url": snapshot.url, "sha256": snapshot.sha256, "fetched_at": snapshot.fetched_at.isoformat(),
        "item_status": item.status, "removal_reason": item.removal_reason,
    }
    metadata = writer.create_warc_record(
        uri, "metadata", payload=BytesIO(json.dumps(facts, ensure_ascii=False).encode("utf-8")),
        warc_content_type="application/json",
        warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": response_id},
    )
    for record in (request, response, metadata):
        writer.write_record(record)
    report.responses += 1


def _role(item: Item, snapshot: Snapshot) -> str:
    if (item.details or {}).get("removal_snapshot_id") == snapshot.id:
        return "removal"
    if snapshot.id == item.snapshot_id:
        return f"version {item.version} (current)"
    version = next((v.version for v in item.versions if v.snapshot_id == snapshot.id), None)
    return f"version {version}" if version is not None else "earlier response"


def export_items(session: Session, item_ids: Sequence[int], out: BinaryIO | Path) -> ExportReport:
    """Write the items' evidence as a gzipped WARC to ``out``; raises LookupError for an unknown item."""
    items = []
    for item_id in item_ids:
        item = session.get(Item, item_id)
        if item is None:
            raise LookupError(f"no item with id {item_id}")
        items.append(item)
    report = ExportReport()
    stream = out.open("wb") if isinstance(out, Path) else out
    try:
        writer = WARCWriter(stream, gzip=True)
        filename = out.name if isinstance(out, Path) else "tocsin-evidence.warc.gz"
        writer.write_record(writer.create_warcinfo_record(filename, {
            "software": SOFTWARE, "format": "WARC File Format 1.1",
            "description": "Responses kept by Tocsin as evidence for items " + ", ".join(map(str, item_ids)),
        }))
        for item in items:
            report.items += 1
            for snapshot in item_snapshots(session, item.id):
                _write_snapshot(writer, item, snapshot, _role(item, snapshot), report)
    finally:
        if isinstance(out, Path):
            stream.close()
    return report
