"""The offline demo: a bundled site served on loopback, crawled by the real spiders."""
