"""decode_body must read Persian pages whatever their charset labels claim, and say when it cannot."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.encoding import declared_meta_charset, decode_body, looks_binary

DATA = Path(__file__).resolve().parents[1] / "data" / "encoding"
CASES: list[dict[str, Any]] = yaml.safe_load((DATA / "cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_fixture_decodes_as_expected(case: dict[str, Any]) -> None:
    body = (DATA / case["file"]).read_bytes()

    decoded = decode_body(body, header_charset=case["header"])

    assert decoded.encoding == case["encoding"]
    assert decoded.suspicious is case["suspicious"]
    if case["contains"] is not None:
        assert case["contains"] in decoded.text
    if case["reason"] is None:
        assert decoded.reason is None
    else:
        assert decoded.reason is not None and case["reason"] in decoded.reason


def test_legacy_letters_are_not_normalised() -> None:
    decoded = decode_body((DATA / "cp1256_no_meta.html").read_bytes(), header_charset=None)

    assert "زنداني" in decoded.text and "زندانی" not in decoded.text
    assert "ك" in decoded.text and "ک" not in decoded.text


def test_suspicious_threshold_is_one_per_mille() -> None:
    clean_text = "a" * 2000
    just_under = (clean_text + "\ufffd").encode("utf-8")  # 1 in 2001 < 0.1%
    over = (clean_text[:900] + "\ufffd" * 2).encode("utf-8")  # 2 in 902 > 0.1%

    assert decode_body(just_under, header_charset="utf-8").suspicious is False
    flagged = decode_body(over, header_charset="utf-8")
    assert flagged.suspicious is True
    assert flagged.replacement_ratio == pytest.approx(2 / 902)
    assert flagged.reason is not None and "0.1%" in flagged.reason


def test_double_encoded_utf8_is_flagged_as_mojibake() -> None:
    persian = (DATA / "utf8_clean.html").read_text(encoding="utf-8")
    mangled = persian.encode("utf-8").decode("cp1256").encode("utf-8")  # a CMS that decoded wrongly

    decoded = decode_body(mangled, header_charset="utf-8")

    assert decoded.encoding == "utf-8"
    assert decoded.suspicious is True
    assert decoded.reason is not None and "mojibake" in decoded.reason


def test_override_wins_over_bom_and_header() -> None:
    body = codecs.BOM_UTF8 + "سلام".encode()

    decoded = decode_body(body, header_charset="utf-8", override="windows-1256")

    assert decoded.encoding == "cp1256"
    assert decoded.reason is not None and decoded.reason.startswith("per-source override cp1256")


def test_override_that_decodes_badly_is_kept_but_flagged() -> None:
    body = "زندانی".encode() * 50

    decoded = decode_body(body, header_charset=None, override="ascii")

    assert decoded.encoding == "cp1252"  # WHATWG: the "ascii" label means windows-1252
    assert decoded.suspicious is True


def test_unknown_override_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown encoding override 'klingon'"):
        decode_body(b"<html></html>", header_charset=None, override="klingon")


def test_unknown_header_label_falls_through_to_meta() -> None:
    body = (DATA / "cp1256_meta_after_1k.html").read_bytes()

    decoded = decode_body(body, header_charset="x-no-such-charset")

    assert decoded.encoding == "cp1256"
    assert "زنداني" in decoded.text


def test_empty_body_is_empty_clean_text() -> None:
    decoded = decode_body(b"", header_charset=None)

    assert (decoded.text, decoded.suspicious, decoded.replacement_ratio) == ("", False, 0.0)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="windows-1256">', "windows-1256"),
        (b"<meta charset=UTF-8>", "UTF-8"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-6">', "iso-8859-6"),
        (b'<meta content="text/html; charset=\'cp1256\'" http-equiv="content-type">', "cp1256"),
        (b'<?xml version="1.0" encoding="windows-1256"?>', "windows-1256"),
        (b"<meta name=description content=x>", None),
    ],
)
def test_meta_charset_forms(head: bytes, expected: str | None) -> None:
    assert declared_meta_charset(b"<html><head>" + head + b"</head></html>") == expected


def test_meta_beyond_4k_is_not_read() -> None:
    body = b"<!--" + b"x" * 5000 + b'--><meta charset="windows-1256">'

    assert declared_meta_charset(body) is None


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", None, "PNG signature"),
        (b"<html></html>", "image/png", "image/png content type"),
        (b"%PDF-1.7 ...", "application/pdf", "application/pdf content type"),
        (b"%PDF-1.7 ...", "application/octet-stream", "PDF signature"),
        (b"GIF89a....", "text/html", "GIF signature"),
        (b"<html>\x00</html>", "text/html", "NUL bytes"),
        (b"<p>" + b"\x01\x02\x03\x04\x05\x06" * 10, None, "not text: 95% control bytes"),
        (b"<html><body>\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85</body></html>", "text/html; charset=utf-8", None),
        (b"<rss><channel></channel></rss>", "application/rss+xml", None),
        (b'{"items": []}', "application/feed+json", None),
        (b"<html></html>", "application/octet-stream", None),
        (b"<html></html>", None, None),
        (codecs.BOM_UTF16_LE + "<html>".encode("utf-16-le"), "text/html", None),
        (b"", "text/html", None),
    ],
    ids=[
        "png-magic",
        "image-type",
        "pdf-type",
        "pdf-magic-as-octet-stream",
        "gif-magic-as-html",
        "nul",
        "control-bytes",
        "utf8-persian-html",
        "rss",
        "json-feed",
        "html-as-octet-stream",
        "html-no-type",
        "utf16-with-bom",
        "empty",
    ],
)
def test_looks_binary(body: bytes, content_type: str | None, reason: str | None) -> None:
    assert looks_binary(body, content_type) == reason


def test_garbage_fixture_is_binary() -> None:
    assert looks_binary((DATA / "garbage.bin").read_bytes(), "text/html") == "NUL bytes"
