"""``DATA_DIR/logs/crawl.log``: every crawl child's stderr (Scrapy's log), rotated by size.

A service crawling 30 sources every 30 minutes writes about 2 GB of crawl log a year, so the file is
rotated: ``crawl.log`` -> ``crawl.log.1`` -> ... -> ``crawl.log.N``, the oldest dropped
(``log.crawl_log_max_bytes``, ``log.crawl_log_backups``).

Why the parent writes it: several crawls run at once, each started from its own service thread. A
child appending to the file itself would keep writing into a file after it was rotated away (or
deleted), so the size bound would not hold. Instead each child's stderr is a pipe; a thread in the
parent (:class:`ChildStderr`) reads it and hands whole lines, prefixed with the crawl's label, to one
:class:`RotatingLog` per file, shared by every crawl in the process. Its lock makes each batch of lines
and each rotation atomic with respect to the other crawls, so lines never interleave mid-line.

A killed child cannot leave the parent blocked: the pipe reaches EOF when the child's process group
dies (the runner kills the whole group), and :meth:`ChildStderr.close` waits only a bounded time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from config.schema import LogSettings

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024  # a longer line is written in pieces of this size
DRAIN_TIMEOUT = 10.0  # seconds to wait for a finished child's last lines


@dataclass(frozen=True)
class Rotation:
    """When ``crawl.log`` is rotated, and how many rotated files are kept."""

    max_bytes: int = 10 * 2**20
    backups: int = 5

    @classmethod
    def of(cls, settings: LogSettings) -> Rotation:
        return cls(max_bytes=settings.crawl_log_max_bytes, backups=settings.crawl_log_backups)


class RotatingLog:
    """An append-only log file rotated by size; thread-safe.

    A file is rotated before a write would take it past ``max_bytes`` (so a file is larger only when it
    holds one line longer than that). ``path.1`` is the newest rotated file, ``path.N`` the oldest;
    nothing beyond ``backups`` is kept. If the file was moved away by someone else (another process
    rotating it, logrotate), the next write reopens ``path`` instead of rotating again.
    """

    def __init__(self, path: Path, rotation: Rotation) -> None:
        self.path = path
        self.rotation = rotation
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None

    def write_lines(self, lines: list[bytes]) -> None:
        """Append ``lines`` (each ending with a newline) in order, none split, none interleaved."""
        with self._lock:
            file = self._current()
            size = os.fstat(file.fileno()).st_size
            for line in lines:
                if size and size + len(line) > self.rotation.max_bytes:
                    file.flush()
                    file = self._rotate()
                    size = 0
                file.write(line)
                size += len(line)
            file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _current(self) -> BinaryIO:
        if self._file is not None and not self._still_at_path(self._file):
            self._file.close()
            self._file = None
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open between writes
        return self._file

    def _still_at_path(self, file: BinaryIO) -> bool:
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(file.fileno())
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def _rotate(self) -> BinaryIO:
        assert self._file is not None
        self._file.close()
        self._file = None
        backups = self.rotation.backups
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._backup(backups))
        for n in range(backups - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self._backup(n), self._backup(n + 1))
        with contextlib.suppress(FileNotFoundError):  # someone removed it meanwhile
            os.replace(self.path, self._backup(1))
        # Leftovers of a larger ``backups`` setting would otherwise stay forever.
        n = backups + 1
        while self._backup(n).exists():
            os.remove(self._backup(n))
            n += 1
        return self._current()

    def _backup(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")


@dataclass
class _Shared:
    log: RotatingLog
    users: int = 0


_shared: dict[Path, _Shared] = {}
_shared_lock = threading.Lock()


def acquire(path: Path, rotation: Rotation) -> RotatingLog:
    """The process's one writer of ``path`` (created on first use; ``rotation`` updates it). Pair with
    :func:`release`: the file is closed when its last user releases it."""
    key = path.resolve()
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None:
            entry = _shared[key] = _Shared(RotatingLog(key, rotation))
        entry.log.rotation = rotation  # a reloaded configuration applies from the next crawl
        entry.users += 1
        return entry.log


def release(writer: RotatingLog) -> None:
    with _shared_lock:
        entry = _shared.get(writer.path)
        if entry is None or entry.log is not writer:
            return
        entry.users -= 1
        if entry.users <= 0:
            del _shared[writer.path]
            writer.close()


class ChildStderr:
    """A pipe for one child's stderr, copied line by line into the shared crawl log by a thread.

    Give :attr:`fd` to ``Popen(stderr=...)``, call :meth:`started` once the child exists (or failed to
    start), and :meth:`close` after the child is gone.
    """

    def __init__(self, path: Path, rotation: Rotation, *, label: str) -> None:
        self._prefix = f"[{label}] ".encode()
        self._writer = acquire(path, rotation)
        read_fd, self.fd = os.pipe()
        self._write_end_open = True
        self._thread = threading.Thread(target=self._copy, args=(read_fd,), name=f"crawl-log {label}",
                                        daemon=True)
        self._thread.start()

    def started(self) -> None:
        """Close this process's copy of the write end: EOF then comes when the child's group is gone."""
        if self._write_end_open:
            self._write_end_open = False
            os.close(self.fd)

    def close(self, timeout: float = DRAIN_TIMEOUT) -> bool:
        """Wait for the child's last lines; True once all are in the log. Never waits longer than
        ``timeout``: a descendant that left the child's process group may hold the pipe open (False;
        the thread copies its lines on, in the background, until it closes)."""
        self.started()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("a crawl's stderr is still open after the crawl ended; its log continues in "
                        "the background", extra={"log_file": str(self._writer.path)})
            return False
        return True

    def _copy(self, read_fd: int) -> None:
        pending, failed = b"", False
        try:
            while chunk := os.read(read_fd, 65536):
                lines, pending = _split_lines(pending + chunk)
                if lines and not failed:
                    failed = not self._write(lines)
            if pending and not failed:
                self._write([pending + b"\n"])
        finally:
            os.close(read_fd)
            release(self._writer)

    def _write(self, lines: list[bytes]) -> bool:
        """Write; on failure (disk full, say) say so once: the pipe is still drained, so the crawl goes on."""
        try:
            self._writer.write_lines([self._prefix + line for line in lines])
            return True
        except OSError:
            log.exception("could not write to the crawl log %s; the rest of this crawl's log is dropped",
                          self._writer.path)
            return False


def _split_lines(data: bytes) -> tuple[list[bytes], bytes]:
    """The complete lines in ``data`` (with their newline) and the incomplete rest; a rest longer than
    MAX_LINE is cut into lines of that size (a child cannot make the parent buffer without bound)."""
    *complete, rest = data.split(b"\n")
    lines = [line + b"\n" for line in complete]
    while len(rest) > MAX_LINE:
        lines.append(rest[:MAX_LINE] + b"\n")
        rest = rest[MAX_LINE:]
    return lines, rest
