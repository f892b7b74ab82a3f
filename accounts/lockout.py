"""Login lockout: repeated failures lock the account and the client address for a while.

Counters live in the shared cache (Redis in production), so every web worker sees the same count. They are read and
written through the "strict" cache alias, which raises instead of degrading to misses; when it raises, the counters
fall back to this process's memory. Brute-force protection therefore holds through a Redis outage (per worker, so
an attacker gets at most workers x limit tries), and locks recorded in memory during an outage still count once
Redis is back. Staff unlock an account from the admin (the users' "Clear login lockout" action) or with
`manage.py unlock_user EMAIL [--address IP]`, both through `lockout_clear`; everything also unlocks on its own.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import BaseThrottle

from accounts import errors

logger = logging.getLogger(__name__)

# Process-local store used only while the shared cache fails.
_fallback = LocMemCache("bazar-lockout-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def client_address(request) -> str:
    """The client address exactly as the throttles key it (TRUSTED_PROXY_COUNT decides the X-Forwarded-For hop)."""
    if request is None:
        return ""
    return BaseThrottle().get_ident(request) or ""


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]


def _keys(kind: str, *, email: str = "", address: str = "") -> list[str]:
    keys = []
    if email:
        keys.append(f"lockout:{kind}:account:{_digest(email)}")
    if address:
        keys.append(f"lockout:{kind}:address:{_digest(address)}")
    return keys


def _shared() -> BaseCache:
    return caches["strict" if "strict" in settings.CACHES else "default"]


def _on_shared(operation, *args):
    """Run a cache operation on the shared cache, or on process memory when the shared cache fails."""
    try:
        return operation(_shared(), *args)
    except Exception:  # whatever the cache backend raises when its server is gone
        logger.warning("login lockout: shared cache unavailable, using process memory", exc_info=True)
        return operation(_fallback, *args)


def _unlock_times(cache: BaseCache, keys: list[str]) -> list[float]:
    found = []
    for value in cache.get_many(keys).values():
        try:
            found.append(float(value))
        except (TypeError, ValueError):
            continue
    return found


def lockout_seconds_left(*, email: str = "", address: str = "") -> int:
    """Seconds until the account (or address) may log in again; 0 when it is not locked."""
    keys = _keys("lock", email=email, address=address)
    if not keys:
        return 0
    unlock_times = _unlock_times(_fallback, keys)
    try:
        unlock_times += _unlock_times(_shared(), keys)
    except Exception:
        logger.warning("login lockout: shared cache unavailable, checking process memory only", exc_info=True)
    left = max(unlock_times, default=0.0) - time.time()
    return math.ceil(left) if left > 0 else 0


def lockout_check(*, email: str, address: str) -> None:
    """Raise AccountLocked (429, Retry-After) while the account or the client address is locked."""
    wait = lockout_seconds_left(email=email, address=address)
    if wait:
        raise errors.AccountLocked(wait=wait)


def _count(cache: BaseCache, key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr: this failure opens a new window
        cache.set(key, 1, timeout=window)
        return 1


def _lock(cache: BaseCache, key: str, duration: int) -> None:
    cache.set(key, time.time() + duration, timeout=duration)


def _forget(cache: BaseCache, keys: list[str]) -> None:
    cache.delete_many(keys)


def lockout_record_failure(*, email: str, address: str) -> None:
    """Count a failed login; the failure that reaches a limit locks, and answers locked at once."""
    window, duration = settings.LOGIN_FAILURE_WINDOW, settings.LOGIN_LOCKOUT_DURATION
    limits = {"account": settings.LOGIN_FAILURE_LIMIT, "address": settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS}
    locked = False
    for failure_key, lock_key in zip(
        _keys("failures", email=email, address=address), _keys("lock", email=email, address=address), strict=True
    ):
        limit = limits[failure_key.split(":")[2]]
        if _on_shared(_count, failure_key, window) >= limit:
            _on_shared(_lock, lock_key, duration)
            locked = True
    if locked:
        logger.warning("login lockout: locked after repeated failures", extra={"account": _digest(email)})
        lockout_check(email=email, address=address)


def lockout_record_success(*, email: str) -> None:
    """A correct password forgets the account's failures (the address keeps its count)."""
    _on_shared(_forget, _keys("failures", email=email))


def lockout_clear(*, email: str = "", address: str = "") -> None:
    """Unlock an account (and/or an address) now: for staff (admin action, unlock_user command). Clears the shared
    cache and this process's memory; other workers' outage-time memory expires on its own."""
    keys = _keys("failures", email=email, address=address) + _keys("lock", email=email, address=address)
    _fallback.delete_many(keys)
    _on_shared(_forget, keys)
