"""The generation protocol behind the cached signed-in user and assistants list (bazar/caching.py)."""

import pytest
from django.core.cache import cache

from bazar.caching import _new_generations, cached, start_new_generations


def _read(value: str):
    return cached("entry", "generation", lambda: value, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_value_built_before_the_write_committed_is_not_served_after_the_commit():
    _new_generations(["generation"])  # the write starts a generation at once...
    built_meanwhile = _read("as it was")  # ...another request reads rows that do not show the write yet...
    served_before_the_commit = _read("read again")

    _new_generations(["generation"])  # ...and the commit starts another one

    assert (built_meanwhile, served_before_the_commit) == ("as it was", "as it was")
    assert _read("as it is now") == "as it is now"


@pytest.mark.django_db(transaction=True)
def test_an_evicted_generation_orphans_what_was_cached():
    _read("old")
    cache.delete("generation")

    assert _read("new") == "new"


@pytest.mark.django_db
def test_nothing_read_inside_a_transaction_is_stored():
    # The default test runs inside a transaction, like a read made after a write that may still roll back.
    start_new_generations(["generation"])

    assert _read("uncommitted") == "uncommitted"
    assert _read("built again") == "built again"
