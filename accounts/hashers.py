"""Argon2id for passwords, one hash at a time per worker process, so that a burst of sign-ins can neither take every
core nor every request thread of a small machine (docs/benchmarks.md, login flood)."""

import contextlib
import contextvars
import threading

from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher
from rest_framework.exceptions import Throttled

# Requests one worker process lets hash or wait to hash at once: one hashes, one waits. A public auth request that
# finds both taken is refused (429, Retry-After: 1) rather than left holding one of the worker's request threads;
# this only happens when sign-ins come faster than the machine can hash them. Anything else waits its turn.
HASHING_SLOTS = 2

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
    # Made at import: gunicorn's preloaded master never hashes, so every forked worker starts with both unheld.
    def __init__(self):
        self._slots, self._running = threading.BoundedSemaphore(HASHING_SLOTS), threading.Lock()
        self._inside = threading.local()

    def run(self, function, *args):
        if getattr(self._inside, "hashing", False):  # a hasher calling itself (PBKDF2's verify encodes)
            return function(*args)
        if not self._slots.acquire(blocking=not _refuse_when_busy.get()):
            raise HashingBusy(wait=1)
        try:
            with self._running:
                self._inside.hashing = True
                try:
                    return function(*args)
                finally:
                    self._inside.hashing = False
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
