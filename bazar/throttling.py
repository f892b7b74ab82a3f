"""Cache-backed throttles; they hold across workers because the cache is shared (Redis in production)."""

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
