"""A crawl never outlives the process that started it.

When the service is SIGKILLed (or the OOM killer picks it), nothing in it runs to stop its crawl
children; they would crawl on, unobserved, until they finish, and their extraction workers with them.

Why a pipe, not ``prctl(PR_SET_PDEATHSIG)``: the death signal fires when the *thread* that forked the
child exits, not the process, and the service starts crawls from APScheduler's worker threads; it is also
Linux-only. A pipe is owned by the process: the parent keeps the write end of the child's stdin open for
the crawl's whole life, and the kernel closes it when the parent dies however it dies, so the child reads
EOF. The child then SIGKILLs its own process group (it leads one: the runner starts it with
``start_new_session``), which holds its forkserver and extraction workers too.

Extraction workers also watch their own parent (the crawl child) through multiprocessing's parent
sentinel, so they go when the crawl child dies by any other route (OOM killer, a kill by hand): they
keep the forkserver alive, and nothing else would stop them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import wait

log = logging.getLogger(__name__)
MAX_LINE = 64 * 2**20


def read_line(fd: int) -> bytes:
    """Read one newline-terminated line from ``fd`` without buffering past it (the rest of the stream
    is the lifeline). Returns what was read, without the newline, if EOF comes first."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise ValueError("the crawl plan is larger than 64 MiB")
    return bytes(data).rstrip(b"\n")


def kill_own_group() -> None:
    """SIGKILL this process and its descendants: the whole group when this process leads it (the
    runner's children do), otherwise only this process (never a shell's job group)."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def die_with_stdin(fd: int = 0) -> threading.Thread:
    """Watch ``fd`` (the parent's end of the pipe stays open while the parent lives); on EOF, kill this
    crawl and its workers. Anything written on the pipe after the plan is ignored."""

    def _watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        log.warning("the process that started this crawl is gone; stopping the crawl and its workers")
        kill_own_group()

    thread = threading.Thread(target=_watch, name="lifeline", daemon=True)
    thread.start()
    return thread


def die_with_parent_process() -> None:
    """For multiprocessing children (a pool ``initializer``): exit when the process that started them
    dies. Does nothing outside a multiprocessing child."""
    parent = multiprocessing.parent_process()
    sentinel = parent.sentinel if parent is not None else None
    if sentinel is None:
        return

    def _watch() -> None:
        with contextlib.suppress(OSError):
            wait([sentinel])
        os._exit(1)

    threading.Thread(target=_watch, name="parent-watch", daemon=True).start()
