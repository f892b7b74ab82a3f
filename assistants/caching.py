"""The assistants list, cached per caller and query (bazar/caching.py CachedListMixin), and dropped as a whole by
every write that could change what anyone sees in it: every write to an assistant or a membership
(assistants/signals.py, AssistantQuerySet for bulk writes)."""

from bazar.caching import lists_changed

LIST_CACHE = "assistants"


def assistants_changed(using: str | None = None) -> None:
    lists_changed(LIST_CACHE, using=using)
