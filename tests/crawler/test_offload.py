"""Extraction workers: a page comes back extracted, with its evidence compressed and hashed when asked."""

from __future__ import annotations

import asyncio
import gzip
import hashlib

from crawler.extract import ExtractionOverrides
from crawler.spiders.offload import PageJob, PageProcessor, process_page

ARTICLE = ("<html><head><title>Sentence upheld</title></head><body><article><h1>Sentence upheld</h1>"
           + "<p>The Supreme Court upheld the death sentence of the political prisoner, his lawyer said.</p>" * 20
           + "</article></body></html>").encode()


def job(body: bytes, *, keep_evidence: bool) -> PageJob:
    return PageJob(url="http://127.0.0.1/a/1.html", body=body, content_type="text/html; charset=utf-8",
                   header_charset="utf-8", encoding_override=None, overrides=ExtractionOverrides(),
                   keep_evidence=keep_evidence)


def test_a_worker_returns_the_evidence_of_the_body_it_extracted() -> None:
    processor = PageProcessor(1)
    try:
        result = asyncio.run(processor.process(job(ARTICLE, keep_evidence=True)))
    finally:
        processor.close()
    assert result.skip_reason is None and result.extracted is not None
    assert "upheld the death sentence" in result.extracted.text
    assert result.evidence is not None
    assert gzip.decompress(result.evidence.body_gzip) == ARTICLE
    assert result.evidence.sha256 == hashlib.sha256(ARTICLE).hexdigest()
    assert result.evidence.size == len(ARTICLE)


def test_no_evidence_unless_asked_and_none_for_a_skipped_page() -> None:
    assert process_page(job(ARTICLE, keep_evidence=False)).evidence is None
    skipped = process_page(job(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, keep_evidence=True))
    assert skipped.skip_reason is not None and skipped.evidence is None
