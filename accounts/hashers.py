"""Argon2id for passwords, hashed by one low-priority thread per worker process, so that a burst of sign-ins can
take neither every core nor every request thread of a small machine, nor slow the requests served beside it
(docs/benchmarks.md, login flood)."""

import contextlib
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher
from rest_framework.exceptions import Throttled

# Requests one worker process lets hash or wait to hash at once: one hashes, one waits. A public auth request that
# finds both taken is refused (429, Retry-After: 1) rather than left holding one of the worker's request threads;
# this only happens when sign-ins come faster than the machine can hash them. Anything else waits its turn.
HASHING_SLOTS = 2
# The hashing thread's nice value above the worker's (Linux schedules threads, not processes): when the cores are
# busy, the kernel runs the worker's request threads first, so a login's 50-100 ms of CPU does not queue the
# requests served beside it; on idle cores a hash runs at full speed. Any user may lower a thread's priority.
HASHING_NICENESS = 10

_refuse_when_busy = contextvars.ContextVar("refuse_when_busy", default=False)


class HashingBusy(Throttled):
    default_detail = "Too many passwords are being checked right now; try again in a second."


@contextlib.contextmanager
def refusing_when_busy(refuse: bool = True):
    """Within it, a password hash that would have to wait for a free slot raises HashingBusy instead (with
    refuse=False: waits, as outside; for work that must not be refused halfway, such as a re-hash)."""
    token = _refuse_when_busy.set(refuse)
    try:
        yield
    finally:
        _refuse_when_busy.reset(token)


class _Hashing:
    """Runs hashes one at a time in a thread of their own, started at the first hash of each process. One thread
    also means one malloc arena: Argon2's 24 MiB stay there for the next hash, instead of in every request thread
    that ever checked a password (~24 MiB of worker memory each)."""

    def __init__(self):
        self._slots = threading.BoundedSemaphore(HASHING_SLOTS)
        self._inside = threading.local()
        self._executor: ThreadPoolExecutor | None = None
        self._starting = threading.Lock()
        # A forked child (gunicorn's workers) starts its own thread: the parent's does not survive the fork.
        os.register_at_fork(after_in_child=self._forget_thread)

    def _forget_thread(self):
        self._executor, self._starting = None, threading.Lock()

    def _enter_thread(self):
        self._inside.hashing = True
        with contextlib.suppress(OSError, AttributeError):  # not Linux, or a sandbox that refuses: full priority
            thread = threading.get_native_id()
            niceness = os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS
            os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))

    def _thread(self) -> ThreadPoolExecutor:
        with self._starting:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, "password-hashing", initializer=self._enter_thread)
            return self._executor

    def run(self, function, *args):
        if getattr(self._inside, "hashing", False):  # a hasher calling itself (PBKDF2's verify encodes)
            return function(*args)
        if not self._slots.acquire(blocking=not _refuse_when_busy.get()):
            raise HashingBusy(wait=1)
        try:
            return self._thread().submit(function, *args).result()
        finally:
            self._slots.release()


hashing = _Hashing()


class _OneAtATime:
    """A hasher whose hashes go through `hashing`."""

    def encode(self, password, salt, *args):
        return hashing.run(super().encode, password, salt, *args)

    def verify(self, password, encoded):
        return hashing.run(super().verify, password, encoded)


class BazarArgon2PasswordHasher(_OneAtATime, Argon2PasswordHasher):
    """Argon2id sized so that one login costs 50-100 ms of CPU on the 2-core reference machine.

    Measured with `python scripts/bench/hash_cost.py` and the login row of `make bench` (docs/benchmarks.md): one
    hash ~52 ms, a whole login request ~68 ms. Django's defaults (100 MiB, 8 lanes) cost ~235 ms there: two workers
    could then serve only ~8 logins a second. Hashes made with other parameters still verify, and are re-hashed
    with these ones at the next successful login.
    """

    time_cost = 4
    memory_cost = 24 * 1024  # KiB
    parallelism = 1


class BazarPBKDF2PasswordHasher(_OneAtATime, PBKDF2PasswordHasher):
    """Verifies older PBKDF2 hashes (re-hashed with Argon2id at the next successful login), one at a time too."""
