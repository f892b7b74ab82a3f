"""The assistants list, cached per caller and query, and dropped as a whole by every write that could change what
anyone sees in it: one generation (bazar/caching.py) for all lists, started anew by every write to an assistant or
a membership (assistants/signals.py, AssistantQuerySet for bulk writes)."""

import hashlib
from collections.abc import Callable

from bazar.caching import cached, start_new_generations

GENERATION_KEY = "assistants:list:generation"
# An entry outlives no write, but a write the cache missed (Redis unreachable at that moment) stales it this long.
ENTRY_TIMEOUT = 60


def assistants_changed(using: str | None = None) -> None:
    start_new_generations([GENERATION_KEY], using=using)


def cached_list(request, build: Callable[[], dict], params: set[str]) -> dict:
    """The list page `build` makes for this request, from the cache when no write came since it was made. Only for
    queries of the list's own `params`: others would let a caller fill the cache with copies of one page."""
    if not set(request.GET) <= params:
        return build()
    user = request.user
    # The role decides the scope (staff see every assistant); memberships are covered by the generation.
    address = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    return cached(f"assistants:list:{user.pk}:{user.role}:{address}", GENERATION_KEY, build, timeout=ENTRY_TIMEOUT)
