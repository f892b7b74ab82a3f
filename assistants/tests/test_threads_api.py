import uuid

import pytest
from django.urls import reverse

from assistants import errors
from assistants.models import Message, Thread
from assistants.tests.conftest import KINDS, STAFF_KINDS
from assistants.tests.factories import AssistantFactory, MessageFactory, ThreadFactory

LIST = reverse("api:thread-list")


def detail(thread) -> str:
    return reverse("api:thread-detail", kwargs={"pk": thread.pk})


def first_error(response) -> tuple[str | None, str]:
    error = response.json()["errors"][0]
    return error["attr"], error["code"]


@pytest.mark.parametrize("kind", KINDS)
def test_thread_create_with_a_platform_assistant(kind, make_user, make_client, assistant):
    user = make_user(kind)

    response = make_client(user).post(LIST, {"assistant": str(assistant.pk), "title": "Hello"})

    assert response.status_code == 201, response.json()
    thread = Thread.objects.get(pk=response.json()["id"])
    assert (thread.owner, thread.assistant, thread.title, thread.organization) == (user, assistant, "Hello", None)
    assert response.json()["owner"] == str(user.pk)


def test_thread_create_with_an_organization_assistant_lands_in_that_organization(free_user, make_client, join, org):
    join(free_user, org)
    org_assistant = AssistantFactory(organization=org)

    response = make_client(free_user).post(LIST, {"assistant": str(org_assistant.pk)})

    assert response.status_code == 201
    assert response.json()["organization"] == str(org.pk)


def test_thread_create_refuses_an_assistant_of_another_organization(free_user, make_client, other_org):
    theirs = AssistantFactory(organization=other_org)

    response = make_client(free_user).post(LIST, {"assistant": str(theirs.pk)})

    assert response.status_code == 400
    assert first_error(response) == ("assistant", "does_not_exist")


def test_thread_create_refuses_an_inactive_assistant(free_user, make_client):
    inactive = AssistantFactory(is_active=False)

    response = make_client(free_user).post(LIST, {"assistant": str(inactive.pk)})

    assert response.status_code == 400
    assert first_error(response) == ("assistant", "does_not_exist")


def test_thread_create_by_staff_refuses_an_inactive_assistant_with_a_code(staff_admin, make_client):
    inactive = AssistantFactory(is_active=False)

    response = make_client(staff_admin).post(LIST, {"assistant": str(inactive.pk)})

    assert response.status_code == 400
    assert first_error(response) == ("assistant", errors.ASSISTANT_INACTIVE)


def test_thread_create_in_an_organization_the_owner_belongs_to(free_user, make_client, join, org, assistant):
    join(free_user, org)

    response = make_client(free_user).post(LIST, {"assistant": str(assistant.pk), "organization": str(org.pk)})

    assert response.status_code == 201
    assert Thread.objects.get(pk=response.json()["id"]).organization == org


def test_thread_create_refuses_an_organization_the_owner_is_not_in(free_user, make_client, other_org, assistant):
    response = make_client(free_user).post(LIST, {"assistant": str(assistant.pk), "organization": str(other_org.pk)})

    assert response.status_code == 400
    assert first_error(response) == ("organization", "does_not_exist")
    assert not Thread.objects.exists()


def test_thread_create_refuses_an_organization_other_than_the_assistants(free_user, make_client, join, org, other_org):
    join(free_user, org)
    join(free_user, other_org)
    org_assistant = AssistantFactory(organization=org)

    response = make_client(free_user).post(
        LIST, {"assistant": str(org_assistant.pk), "organization": str(other_org.pk)}
    )

    assert response.status_code == 400
    assert first_error(response) == ("organization", errors.ORGANIZATION_MISMATCH)


def test_thread_create_refuses_missing_and_malformed_assistants(free_user, make_client):
    client = make_client(free_user)

    assert first_error(client.post(LIST, {})) == ("assistant", "required")
    assert first_error(client.post(LIST, {"assistant": "not-a-uuid"}))[0] == "assistant"


@pytest.mark.parametrize("kind", KINDS)
def test_thread_list_shows_own_threads_and_staff_see_all(kind, make_user, make_client):
    user = make_user(kind)
    mine = ThreadFactory(owner=user)
    someone_elses = ThreadFactory()

    response = make_client(user).get(LIST)

    assert response.status_code == 200
    expected = {mine, someone_elses} if kind in STAFF_KINDS else {mine}
    assert {row["id"] for row in response.json()["results"]} == {str(t.pk) for t in expected}


def test_thread_of_another_user_is_not_found(premium_user, make_client):
    other = ThreadFactory()
    client = make_client(premium_user)

    assert client.get(detail(other)).status_code == 404
    assert client.patch(detail(other), {"title": "mine now"}).status_code == 404
    assert client.delete(detail(other)).status_code == 404
    assert Thread.objects.filter(pk=other.pk, title=other.title).exists()


def test_thread_owner_updates_and_deletes_with_its_messages(free_user, make_client):
    thread = ThreadFactory(owner=free_user)
    MessageFactory(thread=thread)
    client = make_client(free_user)

    updated = client.patch(detail(thread), {"title": "Renamed", "metadata": {"pinned": True}}, format="json")
    assert updated.status_code == 200
    assert (updated.json()["title"], updated.json()["metadata"]) == ("Renamed", {"pinned": True})

    assert client.delete(detail(thread)).status_code == 204
    assert not Thread.objects.filter(pk=thread.pk).exists()
    assert not Message.objects.filter(thread_id=thread.pk).exists()


def test_thread_update_cannot_move_it_to_another_assistant(free_user, make_client, assistant):
    thread = ThreadFactory(owner=free_user)

    make_client(free_user).patch(detail(thread), {"assistant": str(assistant.pk)})

    thread.refresh_from_db()
    assert thread.assistant != assistant


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_thread_staff_update_and_delete_any_thread(kind, make_user, make_client):
    thread = ThreadFactory()
    client = make_client(make_user(kind))

    assert client.patch(detail(thread), {"title": "Moderated"}).status_code == 200
    assert client.delete(detail(thread)).status_code == 204


def test_thread_list_filters_searches_and_orders(free_user, make_client, assistant):
    ThreadFactory(owner=free_user, title="Alpha", assistant=assistant)
    ThreadFactory(owner=free_user, title="Beta")
    client = make_client(free_user)

    assert [r["title"] for r in client.get(LIST, {"assistant": assistant.pk}).json()["results"]] == ["Alpha"]
    assert [r["title"] for r in client.get(LIST, {"search": "bet"}).json()["results"]] == ["Beta"]
    assert [r["title"] for r in client.get(LIST, {"ordering": "-title"}).json()["results"]] == ["Beta", "Alpha"]


@pytest.mark.parametrize("kind", ["FREE", "ADMIN"])
def test_thread_list_query_count_does_not_grow_with_rows(kind, make_user, make_client, django_assert_num_queries):
    user = make_user(kind)
    client = make_client(user)
    ThreadFactory(owner=user)
    with django_assert_num_queries(3) as one:  # user, count, page
        assert len(client.get(LIST, {"page_size": 100}).json()["results"]) == 1
    ThreadFactory.create_batch(49, owner=user)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(LIST, {"page_size": 100}).json()["results"]) == 50


# ---------------------------------------------------------------- NUL in JSON (PostgreSQL's jsonb refuses it)

NUL_METADATA = [{"note": "a\x00b"}, {"k\x00": 1}, {"deep": [{"x": ["ok", "\x00"]}]}]


@pytest.mark.parametrize("metadata", NUL_METADATA)
def test_thread_create_refuses_null_characters_in_metadata(metadata, free_user, make_client, assistant):
    response = make_client(free_user).post(LIST, {"assistant": str(assistant.pk), "metadata": metadata}, format="json")

    assert response.status_code == 400
    assert first_error(response) == ("metadata", "null_characters_not_allowed")
    assert not Thread.objects.exists()


@pytest.mark.parametrize("metadata", NUL_METADATA)
def test_thread_update_refuses_null_characters_in_metadata(metadata, free_user, make_client):
    thread = ThreadFactory(owner=free_user, metadata={"kept": True})

    response = make_client(free_user).patch(detail(thread), {"metadata": metadata}, format="json")

    assert response.status_code == 400
    assert first_error(response) == ("metadata", "null_characters_not_allowed")
    thread.refresh_from_db()
    assert thread.metadata == {"kept": True}


# ---------------------------------------------------------------- Idempotency-Key


def test_thread_create_with_the_same_idempotency_key_creates_one_thread(free_user, make_client, assistant):
    client = make_client(free_user)
    body = {"assistant": str(assistant.pk), "title": "Once"}

    first = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY="thread-key-1")
    retry = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY="thread-key-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Thread.objects.count() == 1


# ---------------------------------------------------------------- filters on relations leak nothing


@pytest.mark.parametrize("name", ["assistant", "organization", "owner"])
def test_thread_list_filter_answers_alike_for_out_of_scope_and_unknown_ids(
    name, free_user, make_user, make_client, other_org
):
    theirs = ThreadFactory(owner=make_user(), organization=other_org)
    client = make_client(free_user)
    ThreadFactory(owner=free_user)
    out_of_scope = {"assistant": theirs.assistant_id, "organization": other_org.pk, "owner": theirs.owner_id}[name]

    hidden = client.get(LIST, {name: str(out_of_scope)})
    unknown = client.get(LIST, {name: str(uuid.uuid4())})

    assert (hidden.status_code, unknown.status_code) == (200, 200)
    assert hidden.json() == unknown.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert first_error(client.get(LIST, {name: "not-a-uuid"})) == (name, "invalid")
    assert first_error(client.get(LIST, {name: "a\x00b"})) == (name, "null_characters_not_allowed")
