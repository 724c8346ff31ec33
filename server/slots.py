"""A count of slots shared by every process of one server: at most `count` holders at once, server-wide.

Why: a SHACL validation (a dry run or a contribution) is seconds of CPU in a child process, and each
gunicorn worker forks its own, so only a bound shared by all workers keeps validations from taking
every core while queries wait (issue 11: 32 mixed clients). A request that finds no free slot is
answered at once (503 with Retry-After), not queued behind the others.

Slot i is a POSIX record lock (lockf) on `<directory>/<i>.lock`. Such a lock belongs to the process,
not to an open file: a child forked while a slot is held (the validation child itself, or a query
process another thread forks meanwhile) does not inherit it, and a process that dies releases its
slots. (An flock would travel into every such child and stay taken for the child's lifetime.)
Threads of one process share its locks, so each process also keeps the set its threads hold, and it
keeps each lock file open for good: closing any descriptor of a file drops the process's lock on it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from pathlib import Path


class Slots:
    def __init__(self, directory: Path, count: int):
        self.directory, self.count = Path(directory), max(0, int(count))
        self._fds: dict[int, int] = {}
        self._held: set[int] = set()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """A free slot's number, now held by the caller; None when all are taken. Never waits."""
        with self._lock:
            for slot in range(self.count):
                if slot in self._held:
                    continue
                try:
                    fcntl.lockf(self._fd(slot), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    if e.errno in (errno.EACCES, errno.EAGAIN):
                        continue
                    raise
                self._held.add(slot)
                return slot
        return None

    def give_back(self, slot: int) -> None:
        with self._lock:
            self._held.discard(slot)
            fcntl.lockf(self._fds[slot], fcntl.LOCK_UN)

    @contextlib.contextmanager
    def held(self):
        """`with slots.held() as got:` got is True while a slot is held, False when none was free.
        Without slots (count 0) there is no bound: always True."""
        if not self.count:
            yield True
            return
        slot = self.take()
        try:
            yield slot is not None
        finally:
            if slot is not None:
                self.give_back(slot)

    def _fd(self, slot: int) -> int:
        if slot not in self._fds:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fds[slot] = os.open(self.directory / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        return self._fds[slot]


__all__ = ["Slots"]
