"""The shipped rules on real reporting: matching cost per passage on the labelled corpus
(tests/data/corpus), where every passage is dense with trigger words: the worst case for rule
evaluation, unlike bench_matching.py's generated news, where few sentences hold a trigger.

Prints passages per second, MB/s and mean/p95 latency per passage (CPU time, best of --repeat).

    .venv/bin/python bench/bench_rules_corpus.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.alerts.tuning import read_corpus  # noqa: E402
from monitor.rules import default_engine  # noqa: E402


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rows = [row for part in ("tuning", "check") for row in read_corpus(ROOT / "tests/data/corpus" / f"{part}.jsonl")]
    documents = [row.document() for row in rows]
    engine = default_engine()
    for document in documents:
        engine.match(document)  # warm caches once
    best: list[float] = [float("inf")] * len(documents)
    for _ in range(args.repeat):
        for index, document in enumerate(documents):
            started = time.process_time()
            engine.match(document)
            best[index] = min(best[index], time.process_time() - started)
    total = sum(best)
    volume = sum(len(d.text.encode()) + len(d.title.encode()) for d in documents)
    print(f"default rules ({len(engine.rules)}) on {len(documents)} real passages, CPU time, best of {args.repeat}")
    print(f"  {len(documents) / total:,.0f} passages/s, {volume / total / 1e6:.2f} MB/s")
    print(f"  per passage: mean {statistics.mean(best) * 1e3:.2f} ms, "
          f"p95 {statistics.quantiles(best, n=20)[-1] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
