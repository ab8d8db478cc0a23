"""Regenerate the encoding fixtures in this folder: `python tests/data/encoding/make_fixtures.py`.

The article is invented. Legacy (windows-1256) pages cannot encode Persian yeh U+06CC, so their
text uses Arabic ي and ك, as real cp1256-era Persian sites do.
"""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

ARTICLE = (
    "دیوان عالی کشور درخواست اعاده دادرسی یک زندانی سیاسی را رد کرد. "
    "به گزارش خبرنگار ما، وکیل این زندانی روز سه‌شنبه گفت که پرونده موکلش برای اجرای حکم "
    "به شعبه اجرای احکام دادگاه ویژه فرستاده شده است.\n"
    "خانواده او می‌گویند اعترافات تلویزیونی زیر فشار گرفته شده و هیچ‌گونه مدرک مستقلی در "
    "پرونده وجود ندارد. گروه‌های حقوق بشری از مقام‌های قضایی خواسته‌اند که اجرای حکم را متوقف کنند."
)


def legacy(text: str) -> str:
    """Spell Persian the way cp1256 pages do."""
    return text.replace("ی", "ي").replace("ک", "ك")


LEGACY_ARTICLE = legacy(ARTICLE)


def page(text: str, head: str = "") -> str:
    paragraphs = "".join(f"<p>{line}</p>\n" for line in text.split("\n"))
    return (
        f'<!DOCTYPE html>\n<html dir="rtl">\n<head>\n{head}<title>خبر</title>\n</head>\n'
        f"<body>\n<article>\n<h1>رد درخواست اعاده دادرسی</h1>\n{paragraphs}</article>\n</body>\n</html>\n"
    )


def main() -> None:
    late_head = "<script>\n" + "// analytics placeholder\n" * 90 + "</script>\n"
    http_equiv = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">\n'
    files = {
        "cp1256_no_meta.html": legacy(page(ARTICLE)).encode("cp1256"),
        "cp1256_meta_after_1k.html": legacy(page(ARTICLE, late_head + http_equiv)).encode("cp1256"),
        "cp1256_lying_utf8_meta_after_1k.html": legacy(
            page(ARTICLE, late_head + '<meta charset="utf-8">\n')
        ).encode("cp1256"),
        "utf8_cp1256_meta.html": page(ARTICLE, '<meta charset="windows-1256">\n').encode("utf-8"),
        "utf8_bom.html": codecs.BOM_UTF8 + page(ARTICLE).encode("utf-8"),
        "utf8_clean.html": page(ARTICLE, '<meta charset="utf-8">\n').encode("utf-8"),
    }
    noise = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(128))
    files["garbage.bin"] = noise
    # Mostly-valid UTF-8 with a cp1256 fragment pasted in: no candidate decodes it cleanly.
    files["utf8_with_cp1256_fragment.html"] = (
        page(ARTICLE).encode("utf-8").replace(b"<h1>", b"<h1>" + LEGACY_ARTICLE[:200].encode("cp1256"), 1)
    )
    for name, data in files.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
