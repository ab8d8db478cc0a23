"""Processes as the kernel sees them (Linux ``/proc``), for tests that a crawl leaves no process behind.

A process is identified by its pid *and* start time, so a recycled pid is not mistaken for a survivor;
a zombie (dead, waiting to be reaped by whoever adopted it) counts as gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

PROC = Path("/proc")


@dataclass(frozen=True)
class Proc:
    pid: int
    start: int  # clock ticks after boot (field 22 of /proc/PID/stat)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, start time), or None when the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="latin-1")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def require_proc() -> None:
    if not PROC.is_dir():
        pytest.skip("needs Linux /proc to see which processes are left")


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode("latin-1")
    except OSError:
        return ""


def children(parent: int) -> list[Proc]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == parent:
            found.append(Proc(int(entry.name), stat[2]))
    return found


def proc(pid: int) -> Proc | None:
    stat = _stat(pid)
    return Proc(pid, stat[2]) if stat else None


def descendants(root: int) -> list[Proc]:
    found: list[Proc] = []
    todo = [root]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child.pid)
    return found


def alive(process: Proc) -> bool:
    stat = _stat(process.pid)
    return stat is not None and stat[2] == process.start and stat[0] not in ("Z", "X")


def survivors(processes: list[Proc]) -> list[str]:
    """The processes still running, described (for the assertion message); empty when all are gone."""
    return [f"{p.pid}: {cmdline(p.pid)[:120]}" for p in processes if alive(p)]
