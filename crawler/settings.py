"""Scrapy settings for every Tocsin crawl (UPPER_CASE only; per-source values are applied in crawler.child).

Safe defaults from PITFALLS.md section 8: bounded sizes and timeouts (a decompression bomb is cut off at
DOWNLOAD_MAXSIZE by HttpCompressionMiddleware), robots.txt obeyed, AutoThrottle on, retries spaced out
and Retry-After honoured (crawler.middlewares), HTTP cache off (it would hide changes).
"""

BOT_NAME = "tocsin"
SPIDER_MODULES = ["crawler.spiders"]
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
ROBOTSTXT_OBEY = True
USER_AGENT = "Tocsin/0.1 (+https://github.com/tocsin-monitor/tocsin; human-rights early warning)"

DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 10
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
CONCURRENT_REQUESTS = 16
# Scrapy starts this many asyncio tasks per callback output; a page yields one item (a channel page ~20).
CONCURRENT_ITEMS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.5
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Scrapy's list less DNS failures and refused connections: retrying those within one crawl only makes a
# source without network take minutes to fail (crawler.failures.NOT_RETRIED); the next run tries again.
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.DownloadFailedError",
    "scrapy.exceptions.DownloadTimeoutError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectionLost",
    "twisted.internet.error.ConnectError",  # (a refused connection is a DownloadConnectionRefusedError)
    OSError,  # HttpCompressionMiddleware on an empty compressed body
    "scrapy.core.downloader.handlers.http11.TunnelError",
]
TWISTED_DNS_RESOLVER = "crawler.resolver.SpecialUseResolver"
HTTPCACHE_ENABLED = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
CLOSESPIDER_TIMEOUT = 600
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
# Responses waiting for extraction count here: the engine stops downloading above it (bounded memory).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 16 * 1024 * 1024

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.ConditionalGetMiddleware": 560,
    "crawler.middlewares.SourceProxyMiddleware": 740,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StoragePipeline": 500,
}

# Tocsin's own knobs (read by crawler.middlewares and crawler.spiders).
TOCSIN_RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry, doubled for each next one
TOCSIN_RETRY_BACKOFF_MAX = 60.0
TOCSIN_RETRY_AFTER_MAX = 300.0  # a longer Retry-After gives up on the request instead of waiting
TOCSIN_EXTRACTION_WORKERS = -1  # worker processes for extraction; -1 = one per core (max 4), 0 = inline
TOCSIN_CONDITIONAL_GET = True
