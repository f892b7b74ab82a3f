"""A messages page reads its file ids with plain SQL (assistants/views.py `_file_links`): the same pairs, in the same
order, as the ORM query it replaced, on SQLite and PostgreSQL."""

import pytest

from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from assistants.models import Message
from assistants.tests.factories import MessageFactory, ThreadFactory, make_file
from assistants.views import _file_links
from organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_same_pairs_and_order_as_the_orm(django_assert_num_queries):
    owner = UserFactory(plan=Plan.PREMIUM)
    organization = OrganizationFactory(owner=owner)
    files = [make_file(organization=organization, uploaded_by=owner, name=f"{i}.txt") for i in range(3)]
    thread = ThreadFactory(owner=owner)
    first, second, bare = (MessageFactory(thread=thread) for _ in range(3))
    for file in (files[2], files[0], files[1]):  # one add() each: the link rows keep this order
        first.files.add(file)
    second.files.add(files[1])
    ids = [bare.pk, second.pk, first.pk]

    with django_assert_num_queries(1):
        links = _file_links(ids)

    orm = list(
        Message.files.through.objects.filter(message__in=ids).order_by("id").values_list("message_id", "file_id")
    )
    assert links == orm
    assert [file_id for message_id, file_id in links if message_id == first.pk] == [
        f.pk for f in (files[2], files[0], files[1])
    ]


def test_no_messages_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert _file_links([]) == []
