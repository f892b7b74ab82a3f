import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assistants import errors
from assistants.models import Message, MessageRole
from assistants.tests.conftest import KINDS, STAFF_KINDS
from assistants.tests.factories import (
    AssistantFactory,
    MessageFactory,
    RunFactory,
    ThreadFactory,
    make_file,
    messages_at,
)


def url(thread) -> str:
    return reverse("api:thread-message-list", kwargs={"thread_pk": thread.pk})


def seed(thread, count: int) -> list[Message]:
    """`count` messages one second apart, oldest first."""
    start = timezone.now() - timedelta(days=1)
    return messages_at(thread, [start + timedelta(seconds=i) for i in range(count)])


@pytest.mark.parametrize("kind", KINDS)
def test_message_owner_posts_and_reads_user_messages(kind, make_user, make_client):
    user = make_user(kind)
    thread = ThreadFactory(owner=user)
    client = make_client(user)

    posted = client.post(url(thread), {"content": "Hello there"})
    listed = client.get(url(thread))

    assert posted.status_code == 201, posted.json()
    assert (posted.json()["role"], posted.json()["content"], posted.json()["file_ids"]) == ("user", "Hello there", [])
    assert [m["content"] for m in listed.json()["results"]] == ["Hello there"]


@pytest.mark.parametrize("role", [MessageRole.ASSISTANT, MessageRole.SYSTEM])
@pytest.mark.parametrize("kind", ["FREE", "PLUS", "PREMIUM"])
def test_message_non_user_roles_are_refused_to_non_staff(kind, role, make_user, make_client):
    user = make_user(kind)
    thread = ThreadFactory(owner=user)

    response = make_client(user).post(url(thread), {"content": "I am the assistant now", "role": role})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == errors.ROLE_NOT_ALLOWED
    assert not Message.objects.exists()


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_message_staff_may_post_system_and_assistant_messages(kind, make_user, make_client):
    thread = ThreadFactory()
    client = make_client(make_user(kind))

    for role in (MessageRole.SYSTEM, MessageRole.ASSISTANT):
        assert client.post(url(thread), {"content": "seeded", "role": role}).status_code == 201
    assert set(Message.objects.values_list("role", flat=True)) == {"system", "assistant"}


def test_message_refuses_an_unknown_role_and_empty_content(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    client = make_client(free_user)

    assert client.post(url(thread), {"content": "x", "role": "wizard"}).json()["errors"][0]["code"] == "invalid_choice"
    assert client.post(url(thread), {"content": ""}).json()["errors"][0]["code"] == "blank"


def test_message_of_another_users_thread_is_not_found(premium_user, make_client):
    other = ThreadFactory()
    MessageFactory(thread=other)
    client = make_client(premium_user)

    assert client.get(url(other)).status_code == 404
    assert client.post(url(other), {"content": "hi"}).status_code == 404
    assert Message.objects.filter(thread=other).count() == 1


def test_message_of_a_malformed_thread_id_is_not_found(free_user, make_client):
    response = make_client(free_user).get("/api/v1/threads/not-a-uuid/messages/")

    assert response.status_code == 404


@pytest.mark.parametrize("params", [{}, {"role": "user"}, {"run": "not-a-uuid"}, {"cursor": "bogus"}])
def test_message_list_of_another_users_thread_is_not_found_whatever_the_query(premium_user, make_client, params):
    # The list reaches the thread through the caller's scope in its own query; a filter matching nothing, an
    # invalid filter or cursor must still answer the thread's 404 first.
    other = ThreadFactory()
    MessageFactory(thread=other)

    response = make_client(premium_user).get(url(other), params)

    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "Not found."


def test_message_list_of_a_thread_without_messages_is_an_empty_page(free_user, make_client):
    thread = ThreadFactory(owner=free_user)

    response = make_client(free_user).get(url(thread))

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_message_attaches_files_of_the_callers_organizations(premium_user, staff_admin, make_client, join, org):
    join(premium_user, org)
    thread = ThreadFactory(owner=premium_user)
    file = make_file(organization=org, uploaded_by=staff_admin)

    response = make_client(premium_user).post(url(thread), {"content": "see file", "file_ids": [str(file.pk)]})

    assert response.status_code == 201
    assert response.json()["file_ids"] == [str(file.pk)]
    assert list(Message.objects.get().files.all()) == [file]


def test_message_refuses_files_outside_the_callers_organizations(premium_user, staff_admin, make_client, other_org):
    thread = ThreadFactory(owner=premium_user)
    theirs = make_file(organization=other_org, uploaded_by=staff_admin)

    response = make_client(premium_user).post(url(thread), {"content": "x", "file_ids": [str(theirs.pk)]})

    assert response.status_code == 400
    assert (response.json()["errors"][0]["attr"], response.json()["errors"][0]["code"]) == (
        "file_ids",
        "does_not_exist",
    )
    assert not Message.objects.exists()


def test_message_list_is_oldest_first_and_cursor_pages_cover_every_message_once(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    seeded = seed(thread, 45)
    client = make_client(free_user)

    seen, next_url = [], url(thread) + "?page_size=20"
    while next_url:
        page = client.get(next_url).json()
        assert "count" not in page
        seen += [m["content"] for m in page["results"]]
        next_url = page["next"]

    assert seen == [m.content for m in seeded]


def test_message_list_can_run_newest_first(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    seeded = seed(thread, 5)

    page = make_client(free_user).get(url(thread), {"ordering": "-created_at", "page_size": 3}).json()

    assert [m["content"] for m in page["results"]] == [m.content for m in reversed(seeded)][:3]


def test_message_list_keeps_order_when_times_are_equal(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    now = timezone.now()
    same_time = messages_at(thread, [now] * 7)
    assert Message.objects.filter(created_at=now).count() == 7
    client = make_client(free_user)

    seen, next_url = [], url(thread) + "?page_size=3"
    while next_url:
        page = client.get(next_url).json()
        seen += [m["id"] for m in page["results"]]
        next_url = page["next"]

    assert seen == sorted(str(m.pk) for m in same_time)


def test_message_page_size_is_capped_at_100(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    seed(thread, 120)

    page = make_client(free_user).get(url(thread), {"page_size": 500}).json()

    assert len(page["results"]) == 100


def test_message_list_filters_by_role(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    MessageFactory(thread=thread, role=MessageRole.USER)
    MessageFactory(thread=thread, role=MessageRole.ASSISTANT)

    page = make_client(free_user).get(url(thread), {"role": "assistant"}).json()

    assert [m["role"] for m in page["results"]] == ["assistant"]


def test_message_list_query_count_does_not_grow_with_rows(
    premium_user, staff_admin, make_client, join, org, django_assert_num_queries
):
    join(premium_user, org)
    thread = ThreadFactory(owner=premium_user)
    file = make_file(organization=org, uploaded_by=staff_admin)
    client = make_client(premium_user)
    MessageFactory(thread=thread).files.add(file)
    with django_assert_num_queries(3) as one:  # user, page (through the thread in scope), files of the page
        assert len(client.get(url(thread), {"page_size": 100}).json()["results"]) == 1
    for message in MessageFactory.create_batch(49, thread=thread):
        message.files.add(file)
    with django_assert_num_queries(len(one.captured_queries)):
        page = client.get(url(thread), {"page_size": 100}).json()
    assert len(page["results"]) == 50
    assert all(m["file_ids"] == [str(file.pk)] for m in page["results"])


# ---------------------------------------------------------------- a member who left the organization


@pytest.mark.parametrize("via", ["assistant", "thread"])
def test_message_post_is_not_found_once_the_author_left_the_threads_organization(
    via, free_user, make_client, join, org
):
    membership = join(free_user, org)
    assistant = AssistantFactory(organization=org if via == "assistant" else None)
    thread = ThreadFactory(owner=free_user, assistant=assistant, organization=org)
    client = make_client(free_user)
    assert client.post(url(thread), {"content": "while a member"}).status_code == 201
    membership.delete()

    response = client.post(url(thread), {"content": "after leaving"})

    unknown = client.post(reverse("api:thread-message-list", kwargs={"thread_pk": uuid.uuid4()}), {"content": "x"})
    assert (response.status_code, response.json()) == (404, unknown.json())
    assert list(Message.objects.values_list("content", flat=True)) == ["while a member"]


def test_message_post_by_staff_on_a_thread_of_an_organization_they_are_not_in(staff_admin, make_client, org):
    thread = ThreadFactory(assistant=AssistantFactory(organization=org), organization=org)

    assert make_client(staff_admin).post(url(thread), {"content": "moderator note"}).status_code == 201


def test_message_post_with_the_same_idempotency_key_creates_one_message(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    client = make_client(free_user)

    first = client.post(url(thread), {"content": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="message-key-1")
    retry = client.post(url(thread), {"content": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="message-key-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(thread=thread).count() == 1


def test_message_list_filter_answers_alike_for_another_threads_run_and_an_unknown_run(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    MessageFactory(thread=thread)
    elsewhere = RunFactory()
    client = make_client(free_user)

    hidden = client.get(url(thread), {"run": str(elsewhere.pk)})
    unknown = client.get(url(thread), {"run": str(uuid.uuid4())})

    assert (hidden.status_code, unknown.status_code) == (200, 200)
    assert hidden.json()["results"] == unknown.json()["results"] == []
