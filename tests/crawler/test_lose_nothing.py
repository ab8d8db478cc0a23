"""The whole crawl path loses nothing against the extractor called directly on the same HTML.

Real saved pages (/work/shared/fixtures/html, 128 pages in many languages and charsets) are served on
127.0.0.1 and crawled for real (child process, process-pool extraction, SQLite); the stored text of
each must equal ``extract_article`` on the same bytes decoded the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.encoding import decode_body
from crawler.extract import extract_article
from storage.records import content_sha256
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import listing
from tests.support.site import SiteServer

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
FIXTURES = SHARED / "fixtures" / "html"


def fixture_pages() -> list[Path]:
    if not FIXTURES.is_dir():
        pytest.skip(f"saved real pages not found at {FIXTURES.resolve()} (they ship beside the repo in CI)")
    return sorted(FIXTURES.rglob("*.html"))


def test_crawl_stores_exactly_what_the_extractor_returns(site: SiteServer, env: CrawlEnv) -> None:
    pages = fixture_pages()
    served: dict[str, Path] = {}
    for index, page in enumerate(pages):
        path = f"/fx/{index}.html"
        site.route(path, page.read_bytes(), content_type="text/html")
        served[site.url(path)] = page
    site.route("/fx/", listing([(path, "") for path in (f"/fx/{i}.html" for i in range(len(pages)))]))
    env.settings["crawl"] = {**env.settings["crawl"], "max_items_per_run": 1000, "max_response_size": "10MiB"}
    env.scrapy["TOCSIN_EXTRACTION_WORKERS"] = 2  # the production path: a process pool
    env.sources({"id": "fixtures", "kind": "listing", "url": site.url("/fx/"), "link_selector": "a.news-link"})

    outcome = env.crawl("fixtures")

    assert outcome.ok, outcome.error
    stored = {item.url: item for item in items(env, "fixtures")}
    expected_hashes = set()
    for url, page in served.items():
        extracted = extract_article(decode_body(page.read_bytes(), header_charset=None).text, url)
        if not extracted.text.strip():
            assert url not in stored, f"{page.name}: stored although the extractor found no text"
            continue
        expected_hashes.add(content_sha256(extracted.title or "", extracted.text))
        if url not in stored:  # same content as another page of the set: stored once (dedupe)
            assert any(i.content_sha256 == content_sha256(extracted.title or "", extracted.text)
                       for i in stored.values()), f"{page.name}: lost"
            continue
        item = stored[url]
        assert item.text == extracted.text, f"{page.name}: stored text differs from the extractor's"
        assert item.title == extracted.title, f"{page.name}: title differs"
        assert item.published_at == extracted.published_at, f"{page.name}: date differs"
    assert len(stored) == len(expected_hashes) > 80
