"""Cache-backed throttles; they hold across workers because the cache is shared (Redis in production)."""

import contextlib
import hashlib
import math

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from bazar.caching import increment

# The request attribute where authentication leaves the (counter key, count) it took for PlanRateThrottle.
COUNTED = "plan_rate_count"


class WindowRateThrottle(SimpleRateThrottle):
    """A counter per key and clock-aligned window of the rate's duration (60 s for "/min"): one atomic cache
    increment per request. DRF's SimpleRateThrottle reads and rewrites the key's whole request history instead (two
    round trips, and a pickled list as long as the rate). A client may spend a window's allowance at its end and
    the next one at its start: at most twice the rate across a boundary. Rates are read from settings on every
    request (DRF copies them onto the class once, at import). When the cache is down, requests are let through.
    """

    def __init__(self):
        # The rate may depend on the request (the caller's plan): allow_request reads it.
        pass

    @property
    def THROTTLE_RATES(self) -> dict:
        return api_settings.DEFAULT_THROTTLE_RATES

    def get_scope(self, request, view) -> str | None:
        return self.scope

    def allow_request(self, request, view) -> bool:
        self.scope = self.get_scope(request, view)
        key = self.get_cache_key(request, view) if self.scope else None
        if key is None:
            return True
        limit, duration = self.parse_rate(self.get_rate())
        if limit is None:
            return True
        now = self.timer()
        window = math.floor(now / duration)
        self.retry_after = (window + 1) * duration - now
        count = self._count(request, f"{key}:{window}", duration)
        return count is None or count <= limit

    def _count(self, request, key: str, duration: int) -> int | None:
        """This request's number in its window; None when the cache is unreachable."""
        # The key outlives its window by a second, so that clocks a little apart across workers agree.
        return increment(self.cache, key, duration + 1)

    def wait(self) -> float:
        return self.retry_after


class PlanRateThrottle(WindowRateThrottle):
    """The default API rate: per user by plan (staff have their own), per client address when anonymous.

    JWTAuthentication takes the count in the same cache round trip that reads the user (`counter_for`, under the
    role and plan the token claims); it is used when the user's scope turns out to be that one, else counted here.
    """

    @staticmethod
    def scope_for(is_staff: bool, plan: str) -> str:
        return "plan_staff" if is_staff else f"plan_{plan}"

    def get_scope(self, request, view) -> str:
        user = request.user
        if user and user.is_authenticated:
            return self.scope_for(user.is_staff, user.plan)
        return "anon"

    def get_cache_key(self, request, view):
        user = request.user
        ident = str(user.pk) if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    @classmethod
    def counter_for(cls, user_id, scope: str) -> tuple[str, int] | None:
        """The key and lifetime of the counter a request of this user in this scope increments now."""
        throttle = cls()
        throttle.scope = scope
        if scope not in throttle.THROTTLE_RATES:  # claims naming no plan we know: the throttle counts for itself
            return None
        limit, duration = throttle.parse_rate(throttle.get_rate())
        if limit is None:
            return None
        window = math.floor(throttle.timer() / duration)
        return f"{cls.cache_format % {'scope': scope, 'ident': user_id}}:{window}", duration + 1

    @classmethod
    def uncount(cls, key: str) -> None:
        """Take back a count made with counter_for's key."""
        with contextlib.suppress(ValueError):  # the window has ended meanwhile, and its counter with it
            cls.cache.decr(key)

    def _count(self, request, key: str, duration: int) -> int | None:
        taken = getattr(request, COUNTED, None)
        if taken is not None and taken[0] == key:
            return taken[1]
        return super()._count(request, key, duration)


class AuthScopedThrottle(WindowRateThrottle):
    """For the public auth endpoints (`throttle_scope` on the view), keyed on the client address."""

    def get_scope(self, request, view) -> str | None:
        return getattr(view, "throttle_scope", None)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _body_value(request, name: str):
    data = request.data
    return data.get(name) if hasattr(data, "get") else None


def email_digest(email: str) -> str:
    """An email address as throttles key it: normalized, then hashed, so no address sits in a cache key."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class AccountEmailThrottle(WindowRateThrottle):
    """Public endpoints that mail an account (forgot-password, resend verification): per target address, so that
    one mailbox cannot be flooded from many client addresses. Alongside AuthScopedThrottle (per client address)."""

    scope = "auth_email_account"

    def get_cache_key(self, request, view):
        email = _body_value(request, "email")
        if not isinstance(email, str) or not email.strip():
            return None  # nothing to mail to: validation answers 400
        return self.cache_format % {"scope": self.scope, "ident": email_digest(email)}


class UserEmailThrottle(WindowRateThrottle):
    """Signed-in writes that name an email address (own profile, creating or changing a user), per caller.

    Their `email_taken` field error tells whether an address has an account; the rate keeps that from becoming
    an account lookup. Staff see every account anyway and are not limited.
    """

    scope = "user_email"

    def get_cache_key(self, request, view):
        user = request.user
        if not (user and user.is_authenticated) or user.is_staff:
            return None
        if request.method not in ("POST", "PUT", "PATCH") or _body_value(request, "email") is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
