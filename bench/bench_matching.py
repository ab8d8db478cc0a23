"""Benchmark the rules engine against a naive loop, for 10 to 10,000 watch terms and 200 rules.

Generates a mixed English/Persian corpus (~5 KB per document) and, for each size, watchlists of
that many terms (names in both scripts) plus 200 rules that refer to them. Every document carries
the same number of watched-name mentions whatever the size, as real news does. Prints, per size:

- the engine: MB/s over title + text (UTF-8 bytes) and per-item latency (mean, p95), everything
  included (normalisation, one Aho-Corasick pass, boundary checks, rule evaluation, slots);
- the naive loop: one ``re.search(term)`` per term on the lower-cased text (substring, no
  boundary check: the fast variant, as in shared/PERFORMANCE.md), nothing else, on the same
  documents (fewer for the large sizes, within a time budget; MB/s does not depend on the count).

Targets (issue 3): >= 50x the naive loop at 10,000 terms; 10,000 terms cost <= 2x 10 terms.

    .venv/bin/python bench/bench_matching.py [--docs 600] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.rules import Document, RuleEngine  # noqa: E402

SIZES = (10, 100, 1_000, 10_000)


def _words(text: str) -> list[str]:
    return text.split()


RULES = 200
LISTS = 20
MENTIONS_PER_DOC = 3
NAIVE_BUDGET_SECONDS = 3.0
BOUNDED_HEADER = "naive \\b MB/s"

EN_WORDS = _words(
    "the court prisoner judicial review rejected sentence "
    "family lawyer appeal supreme rights group "
    "solitary confinement report said according officials on tuesday was of and to in a for that "
    "with his her their political activists authorities statement international call prison ward "
    "province city news agency minister spokesman economy "
    "market trade oil exports weather football "
    "club season league teacher students university protest "
    "union workers wages inflation rial bank "
    "health hospital water drought election parliament budget government president visit talks"
)
FA_WORDS = _words(
    "دادگاه زندانی حکم دیوان عالی کشور درخواست خانواده وکیل گزارش گروه‌های حقوق بشری سلول "
    "می‌گویند قوه قضاییه پرونده روز سه‌شنبه این آن که را به از در با سیاسی اعتراض فعالان مقام‌ها "
    "بیانیه بین‌المللی استان شهر خبرگزاری وزیر سخنگو اقتصاد بازار تجارت نفت صادرات هوا فوتبال "
    "باشگاه فصل لیگ معلم دانشجویان دانشگاه کارگران دستمزد "
    "تورم ریال بانک سلامت بیمارستان آب خشکسالی "
    "انتخابات مجلس بودجه دولت رئیس‌جمهور سفر مذاکرات"
)
EN_TOPICAL = _words(
    "moharebeh gallows rapporteur amnesty hunger strike retrial clemency verdict indictment lashes "
    "hostage espionage baghi moratorium crackdown detainee confession torture"
)
FA_TOPICAL = _words(
    "محاربه چوبه‌دار گزارشگر عفو اعتصاب انفرادی اعاده کیفرخواست شلاق گروگان جاسوسی بغی "
    "سرکوب بازداشتی اعتراف شکنجه قصاص بازجویی"
)
EN_SIGNALS = (
    "were executed",
    "was hanged",
    "sentenced to death",
    "transferred to",
    "death sentence",
)
FA_SIGNALS = ("اعدام شدند", "به اعدام محکوم شد", "منتقل شد", "حکم اعدام", "تبعید شد")
EN_GIVEN = _words(
    "Ali Reza Hamid Majid Farhad Kamran Dariush Babak Kaveh Omid Arash Behnam Navid Pouya Sina "
    "Saman Shahram Siamak Soheil Vahid Yasser Zahra Maryam Leila Nasrin Parisa Roya Shirin Taraneh "
    "Mina Neda Golnar Azadeh Bahareh Elham Fariba Haleh Jila Katayoun Ladan"
)
EN_FAMILY = _words(
    "Ahmadi Bagheri Cheraghi Dehghan Esmaeili Farahani Ghasemi Hashemi Izadi Jafari Karimi "
    "Latifi Moradi Nazari Omidvar Pakravan Qorbani Rahimi Sadeghi Tabrizi Vaziri Yazdani Zarei "
    "Abbasi Bahrami Daneshvar Ebrahimi Fathi Golzari Heidari Kazemi Mansouri Navabi Rostami "
    "Shirazi Talebi Yousefi Zamani Ansari Bakhtiari"
)
FA_GIVEN = _words(
    "علی رضا حمید مجید فرهاد کامران داریوش بابک کاوه امید آرش بهنام نوید پویا سینا سامان شهرام "
    "سیامک سهیل وحید یاسر زهرا مریم لیلا نسرین پریسا رویا شیرین ترانه مینا ندا گلنار آزاده "
    "بهاره الهام فریبا هاله ژیلا کتایون لادن"
)
FA_FAMILY = _words(
    "احمدی باقری چراغی دهقان اسماعیلی فراهانی قاسمی هاشمی ایزدی جعفری کریمی لطیفی مرادی نظری "
    "امیدوار پاکروان قربانی رحیمی صادقی تبریزی وزیری یزدانی زارعی عباسی بهرامی دانشور ابراهیمی "
    "فتحی گلزاری حیدری کاظمی منصوری نوابی رستمی شیرازی طالبی یوسفی زمانی انصاری بختیاری"
)


EN_SYLLABLES = _words("ba da fa ga ha ka la ma na pa ra sa ta va za sha kha ro ri ze mi")
FA_SYLLABLES = _words("با دا فا گا ها کا لا ما نا پا را سا تا وا زا شا خا رو ری زه می")


def watch_terms(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct full names, half in Latin script and half in Persian: given names with
    real and made-up family names (given + family + a made-up suffix for the big sizes)."""
    english = [f"{g} {f}" for g in EN_GIVEN for f in EN_FAMILY]
    persian = [f"{g} {f}" for g in FA_GIVEN for f in FA_FAMILY]
    english += [
        f"{g} {f}{a}{b}"
        for g in EN_GIVEN[:20]
        for f in EN_FAMILY[:10]
        for a in EN_SYLLABLES[:6]
        for b in EN_SYLLABLES[6:10]
    ]
    persian += [
        f"{g} {f}{a}{b}"
        for g in FA_GIVEN[:20]
        for f in FA_FAMILY[:10]
        for a in FA_SYLLABLES[:6]
        for b in FA_SYLLABLES[6:10]
    ]
    rng.shuffle(english)
    rng.shuffle(persian)
    half = count // 2
    chosen = english[:half] + persian[: count - half]
    assert len(set(chosen)) == count, "not enough distinct names"
    return chosen


def document(index: int, terms: Sequence[str], rng: random.Random) -> Document:
    """~5 KB of news-like text in one language, with a few signals and watched names."""
    persian = index % 2 == 1
    words, signals, topical = (
        (FA_WORDS, FA_SIGNALS, FA_TOPICAL) if persian else (EN_WORDS, EN_SIGNALS, EN_TOPICAL)
    )
    script_terms = [t for t in terms if (t[0] >= "\u0600") == persian] or list(terms)
    paragraphs: list[str] = []
    size = 0
    while size < 5_000:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            sentence = [rng.choice(words) for _ in range(rng.randint(8, 20))]
            if rng.random() < 0.05:
                sentence.insert(rng.randrange(len(sentence)), rng.choice(signals))
            if rng.random() < 0.02:
                sentence.insert(rng.randrange(len(sentence)), rng.choice(topical))
            sentences.append(" ".join(sentence) + ("." if not persian else "."))
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph.encode())
    for _ in range(MENTIONS_PER_DOC):
        where = rng.randrange(len(paragraphs))
        paragraphs[where] = f"{rng.choice(script_terms)} {paragraphs[where]}"
    title = " ".join(rng.choice(words) for _ in range(8))
    return Document(
        id=str(index), text="\n\n".join(paragraphs), title=title, lang="fa" if persian else "en"
    )


def config_files(directory: Path, terms: Sequence[str], rng: random.Random) -> tuple[Path, Path]:
    """Watchlists splitting ``terms`` into LISTS lists, and RULES rules that refer to them."""
    lists = [
        {"id": f"list{n}", "kind": "term", "entries": list(terms[n::LISTS]) or ["placeholder"]}
        for n in range(LISTS)
    ]
    shapes = (  # each needs a watched name or a topical word with a signal
        '@{a} AND ("{en}" OR «{fa}»)',
        '@{a} NEAR/8 ("{en}" OR «{fa}»)',
        '(@{a} OR @{b}) AND ("{en}" OR «{fa}») AND NOT {word}',
        '"{en}" AND (@{a} OR {word})',
        "«{fa}» AND (@{b} OR {word})",
        "@{a} BEFORE/12 {word}",
    )
    rules = []
    for number in range(RULES):
        shape = shapes[number % len(shapes)]
        query = shape.format(
            a=f"list{rng.randrange(LISTS)}",
            b=f"list{rng.randrange(LISTS)}",
            en=rng.choice(EN_SIGNALS),
            fa=rng.choice(FA_SIGNALS),
            word=rng.choice(EN_TOPICAL + FA_TOPICAL),
        )
        rules.append(
            {
                "id": f"bench.{number}",
                "event": "bench",
                "severity": "info",
                # Like the default rules: mostly sentences, some paragraphs, a few documents.
                "within": (("sentence",) * 7 + ("paragraph",) * 2 + ("document",))[number % 10],
                "query": query,
            }
        )
    watchlists = directory / "watchlists.yaml"
    watchlists.write_text(yaml.safe_dump({"lists": lists}, allow_unicode=True), encoding="utf-8")
    rule_file = directory / "rules.yaml"
    rule_file.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    return rule_file, watchlists


def run_engine(engine: RuleEngine, documents: Sequence[Document], repeat: int) -> list[float]:
    """Per-document CPU seconds, the best of ``repeat`` runs for each document (robust to a busy
    machine: other processes inflate some runs, never shorten them)."""
    best = [float("inf")] * len(documents)
    for _ in range(repeat):
        for index, doc in enumerate(documents):
            began = time.process_time()
            engine.match(doc)
            best[index] = min(best[index], time.process_time() - began)
    return best


def run_naive(
    terms: Sequence[str], documents: Sequence[Document], repeat: int, *, bounded: bool = False
) -> tuple[float, int]:
    """CPU seconds and bytes for one ``re.search`` per term per document (best of ``repeat`` per
    document), over as many documents as fit in a time budget. ``bounded`` wraps each term in
    ``\\b``: what a correct naive watchlist needs, and much slower (no literal prefix scan)."""
    template = r"\b{}\b" if bounded else "{}"
    patterns = [re.compile(template.format(re.escape(term.lower()))) for term in terms]
    elapsed = 0.0
    done = 0
    for doc in documents:
        text = f"{doc.title}\n{doc.text}".lower()
        best = float("inf")
        for _ in range(repeat):
            start = time.process_time()
            for pattern in patterns:
                pattern.search(text)
            best = min(best, time.process_time() - start)
        elapsed += best
        done += len(text.encode())
        if elapsed > NAIVE_BUDGET_SECONDS:
            break
    return elapsed, done


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    print(
        f"corpus: {args.docs} documents (half English, half Persian), {RULES} rules, "
        f"{MENTIONS_PER_DOC} watched names per document; CPU time, best of {args.repeat} per "
        "document"
    )
    header = (
        f"{'terms':>6} {'keys':>7} {'load s':>7} {'engine MB/s':>11} {'mean µs':>8} {'p95 µs':>8} "
        f"{'matches':>8} {'naive MB/s':>10} {'speed-up':>9} {BOUNDED_HEADER:>13} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    costs: dict[int, float] = {}
    speedups: dict[int, float] = {}
    for size in SIZES:
        terms = watch_terms(size, rng)
        documents = [
            document(i, terms, random.Random(args.seed * 1000 + i)) for i in range(args.docs)
        ]
        volume = sum(len(d.title.encode()) + len(d.text.encode()) for d in documents)
        with tempfile.TemporaryDirectory() as tmp:
            rule_file, watchlists = config_files(Path(tmp), terms, rng)
            started = time.perf_counter()
            engine = RuleEngine.load([rule_file], [watchlists])
            load_seconds = time.perf_counter() - started
        matches = sum(len(engine.match(doc)) for doc in documents)
        latencies = run_engine(engine, documents, args.repeat)
        elapsed = sum(latencies)
        naive_seconds, naive_bytes = run_naive(terms, documents, args.repeat)
        bounded_seconds, bounded_bytes = run_naive(terms, documents, 1, bounded=True)
        bounded_rate = bounded_bytes / bounded_seconds / 1e6
        engine_rate = volume / elapsed / 1e6
        naive_rate = naive_bytes / naive_seconds / 1e6
        costs[size] = elapsed / len(documents)
        speedups[size] = engine_rate / naive_rate
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(
            f"{size:>6} {engine.automaton_size:>7} {load_seconds:>7.2f} {engine_rate:>11.1f} "
            f"{statistics.mean(latencies) * 1e6:>8.0f} {p95 * 1e6:>8.0f} {matches:>8} "
            f"{naive_rate:>10.2f} {speedups[size]:>8.0f}x {bounded_rate:>13.2f} "
            f"{engine_rate / bounded_rate:>8.0f}x"
        )
    ratio = costs[SIZES[-1]] / costs[SIZES[0]]
    print()
    print(
        f"speed-up over the naive substring loop at {SIZES[-1]:,} terms: "
        f"{speedups[SIZES[-1]]:.0f}x (target >= 50x)"
    )
    print(f"cost of {SIZES[-1]:,} terms / {SIZES[0]} terms: {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
