"""``DATA_DIR/logs/crawl.log`` rotates by size, keeps a bounded number of backups, and concurrent crawls
never lose or split each other's lines.

The runner cannot be handed a fake child, so the writer (crawler.crawl_log) is driven directly with real
processes writing to real pipes from real threads, plus one real crawl through ``run_crawl``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from crawler.crawl_log import ChildStderr, RotatingLog, Rotation
from tests.crawler.conftest import CrawlEnv
from tests.crawler.pages import days_ago, rss
from tests.support.site import SiteServer

# A child that writes LINES deterministic lines of 50 to ~5000 bytes (Persian too) to its stderr, each in
# two raw writes, so the parent's reads see partial lines and other children's lines in between.
CHILD = r"""
import os, sys
child, lines = sys.argv[1], int(sys.argv[2])
for n in range(lines):
    line = (f"{child} {n} " + "ابجد-xyz " * 700)[: 50 + (n * 397 + int(child[1:]) * 131) % 4900]
    data = line.encode() + b"\n"
    os.write(2, data[: len(data) // 2])
    os.write(2, data[len(data) // 2 :])
"""


def expected_line(child: str, n: int) -> str:
    return (f"{child} {n} " + "ابجد-xyz " * 700)[: 50 + (n * 397 + int(child[1:]) * 131) % 4900]


def log_files(path: Path) -> list[Path]:
    """``crawl.log`` and its backups, oldest first."""
    backups = sorted(path.parent.glob(f"{path.name}.*"), key=lambda p: int(p.suffix[1:]), reverse=True)
    return [*backups, path] if path.exists() else backups


def run_logged_child(path: Path, rotation: Rotation, child: str, lines: int) -> bool:
    """Start a child as the runner does (own session, stderr through ChildStderr), wait, drain."""
    stderr = ChildStderr(path, rotation, label=child)
    try:
        process = subprocess.Popen([sys.executable, "-c", CHILD, child, str(lines)], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr.fd, start_new_session=True)
    finally:
        stderr.started()
    assert process.wait() == 0
    return stderr.close()


def test_concurrent_crawls_logs_roll_over_whole_lines_in_order_none_lost(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "crawl.log"
    rotation = Rotation(max_bytes=256 * 1024, backups=100)  # room for all ~4 MB: nothing may be lost
    children, lines = [f"c{i}" for i in range(6)], 150
    drained: list[bool] = []
    threads = [threading.Thread(target=lambda c=c: drained.append(run_logged_child(path, rotation, c, lines)))
               for c in children]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert drained == [True] * len(children)
    files = log_files(path)
    assert len(files) > 10  # it rolled over, many times
    assert all(f.stat().st_size <= rotation.max_bytes for f in files)
    seen: dict[str, list[int]] = {c: [] for c in children}
    line_format = re.compile(r"\[(c\d)\] (c\d) (\d+) ")
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            found = line_format.match(line)
            assert found and found[1] == found[2], f"a line that is not one child's whole line: {line[:80]!r}"
            child, n = found[1], int(found[3])
            assert line == f"[{child}] {expected_line(child, n)}", f"line {n} of {child} is damaged"
            seen[child].append(n)
    assert seen == {c: list(range(lines)) for c in children}  # every line, once, in its child's order


def test_never_more_than_the_configured_backups_and_the_newest_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "crawl.log"
    writer = RotatingLog(path, Rotation(max_bytes=1000, backups=3))
    barrier = threading.Barrier(4)

    def write(worker: int) -> None:
        barrier.wait()
        for n in range(250):
            writer.write_lines([f"w{worker} {n:04d} {'x' * 80}\n".encode()])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.write_lines([b"the last line\n"])

    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.log", "crawl.log.1", "crawl.log.2",
                                                          "crawl.log.3"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    assert path.read_text().endswith("the last line\n")
    kept = [line for f in log_files(path) for line in f.read_text().splitlines()]
    assert all(re.fullmatch(r"w\d \d{4} x{80}|the last line", line) for line in kept)
    for worker in range(4):  # what is kept is each writer's newest lines, in order
        mine = [int(line.split()[1]) for line in kept if line.startswith(f"w{worker} ")]
        assert mine == list(range(250 - len(mine), 250))

    writer.rotation = Rotation(max_bytes=1000, backups=1)  # a smaller setting drops the extra backups
    writer.write_lines([b"y" * 990 + b"\n"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.log", "crawl.log.1"]
    writer.close()


def test_a_killed_child_leaves_its_partial_line_and_never_blocks_the_parent(tmp_path: Path) -> None:
    path = tmp_path / "crawl.log"
    stderr = ChildStderr(path, Rotation(), label="hung")
    script = "import os, time; os.write(2, b'whole line\\nhalf a li'); os.write(1, b'ready\\n'); time.sleep(600)"
    try:
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                   stderr=stderr.fd, start_new_session=True)
    finally:
        stderr.started()
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"  # stderr written
    os.killpg(process.pid, signal.SIGKILL)  # what the runner does on timeout
    process.wait()
    process.stdout.close()

    assert stderr.close() is True  # EOF when the group died: nothing left to wait for
    assert path.read_text(encoding="utf-8").splitlines() == ["[hung] whole line", "[hung] half a li"]


def test_a_descendant_holding_the_pipe_open_delays_the_log_not_the_crawl(tmp_path: Path) -> None:
    path = tmp_path / "crawl.log"
    stderr = ChildStderr(path, Rotation(), label="escaped")
    # The child starts a grandchild in a session of its own (out of reach of a group kill), which
    # inherits the child's stderr and stdout, says where it is, and sleeps; the child exits at once.
    grandchild = ("import os, time; os.write(2, b'grandchild started\\n'); "
                  "os.write(1, str(os.getpid()).encode() + b'\\n'); time.sleep(600)")
    script = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {grandchild!r}], start_new_session=True)"
    try:
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=stderr.fd,
                                 start_new_session=True)
    finally:
        stderr.started()
    assert child.stdout is not None
    grandchild_pid = int(child.stdout.readline())
    assert child.wait() == 0

    assert stderr.close(timeout=0.2) is False  # the parent moves on while the pipe is still open
    os.kill(grandchild_pid, signal.SIGKILL)
    child.stdout.close()
    assert stderr.close() is True  # the copying thread ends when the last holder is gone...
    assert path.read_text(encoding="utf-8") == "[escaped] grandchild started\n"  # ...having copied it all


def test_a_real_crawl_writes_its_scrapy_log_to_the_rotated_crawl_log(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", rss(site.base, [("/news/a.html", "Prisoner moved", days_ago(1))]),
               content_type="application/rss+xml")
    env.settings = {**env.settings, "log": {"crawl_log_max_bytes": "2KiB", "crawl_log_backups": 2}}
    env.sources({"id": "rights", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("rights")

    assert outcome.ok, outcome.error
    path = env.root / "crawl.log"
    files = log_files(path)
    assert [f.name for f in files] == ["crawl.log.2", "crawl.log.1", "crawl.log"]  # one crawl: ~5 KB
    for file in files:
        lines = file.read_text(encoding="utf-8").splitlines()
        assert all(line.startswith("[rights] ") for line in lines)
        assert file.stat().st_size <= 2048 or len(lines) == 1
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in path.read_text(encoding="utf-8")
