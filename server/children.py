"""Run a function in a forked child with a deadline and resource limits: the one way untrusted work is bounded.

Parsing a body, checking an update and SHACL validation are done by libraries that cannot be
interrupted (rdflib, pySHACL) and that a hostile input can make slow or large (billion laughs, a
100,000-line prefix block, a 9 MB literal). In a child they cost nothing to stop: the parent waits
for the answer at most `timeout` seconds, then kills it. The child also gets an address-space limit
(`memory` bytes above what it inherited) and a CPU-time limit, dies with its parent (a worker that
exits never leaves one behind), closes the sockets it inherited and uses default signal handlers.

The function's result (or the EntenteError it raised, rebuilt in the parent with its class, message
and `where`) comes back pickled through a pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import resource
import signal
import stat

from .errors import EntenteError

_PR_SET_PDEATHSIG = 1
_RESET_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                  signal.SIGWINCH, signal.SIGCHLD, signal.SIGALRM)


class TimedOut(Exception):
    """The child ran past its deadline and was killed."""

    def __init__(self, seconds: float):
        super().__init__(f"ran longer than {seconds:g} s")
        self.seconds = seconds


class OutOfMemory(Exception):
    """The child passed its memory limit."""


class Failed(Exception):
    """The child raised something other than an EntenteError (its type and message are kept)."""


class Crashed(Failed):
    """The child was killed by a crash signal: a parser ran out of stack (the engine parses recursively)
    or aborted when it could not allocate under the memory limit."""


def run(fn, *args, timeout: float, memory: int | None = None, nice: int = 0, **kwargs):
    """fn(*args, **kwargs) in a forked child; its result, or TimedOut / OutOfMemory / an EntenteError / Failed.
    `nice` lowers the child's CPU priority (SHACL validation yields the cores to queries)."""
    receive, send = multiprocessing.Pipe(duplex=False)
    gc.freeze()                  # the child's collector leaves the inherited heap alone: no copy-on-write
    pid = os.fork()
    if pid == 0:                                  # child: never returns into the caller's code
        try:
            receive.close()
            become_child(keep=send.fileno(), cpu_seconds=timeout + 1, memory=memory)
            if nice:
                os.nice(nice)
            try:
                outcome = ("ok", fn(*args, **kwargs))
            except EntenteError as e:
                outcome = ("entente", to_json(e))
            except MemoryError:
                outcome = ("memory", None)
            except BaseException as e:            # noqa: BLE001 - reported to the parent, which raises
                outcome = ("error", f"{type(e).__name__}: {e}")
            try:
                send.send(outcome)
            except MemoryError:
                send.send(("memory", None))
        finally:
            os._exit(0)
    gc.unfreeze()
    send.close()
    try:
        if not receive.poll(timeout):
            raise TimedOut(timeout)
        try:
            status, value = receive.recv()
        except EOFError:
            status, value = "died", None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        exit_status = 0
        with contextlib.suppress(ChildProcessError):
            exit_status = os.waitpid(pid, 0)[1]
        receive.close()
    if status == "ok":
        return value
    if status == "entente":
        raise from_json(value)
    if status == "memory":
        raise OutOfMemory()
    if status == "died":
        if os.WIFSIGNALED(exit_status) and os.WTERMSIG(exit_status) in (signal.SIGXCPU, signal.SIGKILL):
            raise TimedOut(timeout)
        if os.WIFSIGNALED(exit_status) and os.WTERMSIG(exit_status) in (signal.SIGSEGV, signal.SIGBUS,
                                                                          signal.SIGABRT, signal.SIGILL):
            raise Crashed(f"killed by signal {os.WTERMSIG(exit_status)}")
        raise Failed("the child process died without an answer")
    raise Failed(value)


def become_child(keep: int | None = None, cpu_seconds: float | None = None, memory: int | None = None) -> None:
    """In a freshly forked child: die with the parent, default signal handlers, no inherited sockets, limits."""
    die_with_parent()
    for sig in _RESET_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    close_sockets(keep)
    if cpu_seconds is not None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        limit = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))
    if memory is not None:
        limit = _address_space() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def die_with_parent() -> None:
    """SIGKILL this process when the thread that forked it exits (Linux prctl; a no-op elsewhere)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:                    # the parent died before prctl took effect
        os._exit(1)


def close_sockets(keep: int | None) -> None:
    """Close inherited sockets (gunicorn's listener, client connections) so a connection ends when the
    worker closes it, not when a child that inherited it exits."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd == keep:
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def _address_space() -> int:
    """This process's virtual size in bytes (the limit is counted on top of what was inherited)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def to_json(e: EntenteError) -> dict:
    return {"cls": type(e).__name__, "message": e.message, "where": e.where, "headers": e.headers,
            "details": e.details}


def from_json(d: dict) -> EntenteError:
    from . import errors

    cls = getattr(errors, d["cls"], EntenteError)
    if cls is errors.MethodNotAllowed or not (isinstance(cls, type) and issubclass(cls, EntenteError)):
        cls = EntenteError
    if cls is errors.Unauthorized:
        return cls(d["message"], where=d["where"])
    return cls(d["message"], where=d["where"], headers=d.get("headers"), details=d.get("details"))


__all__ = ["run", "TimedOut", "OutOfMemory", "Failed", "Crashed", "become_child", "die_with_parent", "close_sockets"]
