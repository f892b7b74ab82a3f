"""Cache-backed throttles; they hold across workers because the cache is shared (Redis in production)."""

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle


class LiveRatesMixin:
    """Rates read from settings on every request: DRF copies them onto the class once, at import."""

    @property
    def THROTTLE_RATES(self) -> dict:
        return api_settings.DEFAULT_THROTTLE_RATES


class PlanRateThrottle(LiveRatesMixin, SimpleRateThrottle):
    """The default API rate: per user by plan (staff have their own), per client address when anonymous."""

    def __init__(self):
        # The scope, and so the rate, is only known once the request's user is.
        pass

    def allow_request(self, request, view):
        user = request.user
        if user and user.is_authenticated:
            self.scope = "plan_staff" if user.is_staff else f"plan_{user.plan}"
        else:
            self.scope = "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        user = request.user
        ident = str(user.pk) if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AuthScopedThrottle(LiveRatesMixin, ScopedRateThrottle):
    """For the public auth endpoints (`throttle_scope` on the view), keyed on the client address."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _body_value(request, name: str):
    data = request.data
    return data.get(name) if hasattr(data, "get") else None


def email_digest(email: str) -> str:
    """An email address as throttles key it: normalized, then hashed, so no address sits in a cache key."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class AccountEmailThrottle(LiveRatesMixin, SimpleRateThrottle):
    """Public endpoints that mail an account (forgot-password, resend verification): per target address, so that
    one mailbox cannot be flooded from many client addresses. Alongside AuthScopedThrottle (per client address)."""

    scope = "auth_email_account"

    def get_cache_key(self, request, view):
        email = _body_value(request, "email")
        if not isinstance(email, str) or not email.strip():
            return None  # nothing to mail to: validation answers 400
        return self.cache_format % {"scope": self.scope, "ident": email_digest(email)}


class UserEmailThrottle(LiveRatesMixin, SimpleRateThrottle):
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
