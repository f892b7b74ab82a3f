import uuid

import pytest
from django.urls import reverse

from assistants import errors
from assistants.models import Assistant, Thread
from assistants.tests.conftest import KINDS, STAFF_KINDS
from assistants.tests.factories import AssistantFactory, RunFactory, ThreadFactory
from organizations.models import OrgRole

LIST = reverse("api:assistant-list")


def detail(assistant) -> str:
    return reverse("api:assistant-detail", kwargs={"pk": assistant.pk})


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("kind", KINDS)
def test_assistant_list_shows_platform_and_own_organization_assistants(
    kind, make_user, make_client, join, org, other_org
):
    user = make_user(kind)
    join(user, org)
    platform = AssistantFactory()
    mine = AssistantFactory(organization=org)
    theirs = AssistantFactory(organization=other_org)
    inactive = AssistantFactory(is_active=False)

    response = make_client(user).get(LIST)

    assert response.status_code == 200
    expected = {platform, mine} | ({theirs, inactive} if kind in STAFF_KINDS else set())
    assert ids(response) == {str(a.pk) for a in expected}


def test_assistant_retrieve_of_another_organization_is_not_found(free_user, make_client, other_org):
    theirs = AssistantFactory(organization=other_org)

    response = make_client(free_user).get(detail(theirs))

    assert response.status_code == 404


def test_assistant_retrieve_of_an_inactive_assistant_is_not_found_for_users(premium_user, make_client):
    inactive = AssistantFactory(is_active=False)

    assert make_client(premium_user).get(detail(inactive)).status_code == 404


def test_assistant_list_filters_and_searches(staff_admin, make_client, org):
    AssistantFactory(name="Translator", organization=org)
    AssistantFactory(name="Coder")
    client = make_client(staff_admin)

    assert [r["name"] for r in client.get(LIST, {"organization": org.pk}).json()["results"]] == ["Translator"]
    assert [r["name"] for r in client.get(LIST, {"search": "cod"}).json()["results"]] == ["Coder"]
    assert [r["name"] for r in client.get(LIST, {"ordering": "name"}).json()["results"]] == ["Coder", "Translator"]


@pytest.mark.parametrize("kind", ["FREE", "PLUS", "PREMIUM"])
def test_assistant_writes_are_refused_to_non_staff(kind, make_user, make_client, assistant):
    client = make_client(make_user(kind))

    created = client.post(LIST, {"name": "Mine"})
    updated = client.patch(detail(assistant), {"name": "Renamed"})
    deleted = client.delete(detail(assistant))

    assert [created.status_code, updated.status_code, deleted.status_code] == [403, 403, 403]
    assert created.json()["errors"][0]["code"] == "staff_required"
    assert Assistant.objects.get(pk=assistant.pk).name == assistant.name


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_assistant_staff_create_update_and_delete(kind, make_user, make_client, org):
    user = make_user(kind)
    client = make_client(user)

    created = client.post(
        LIST,
        {
            "name": "Support",
            "description": "Answers support questions.",
            "instructions": "Be kind.",
            "model": "gpt-4o-mini",
            "settings": {"temperature": 0.1},
            "organization": str(org.pk),
        },
    )
    assert created.status_code == 201, created.json()
    assistant = Assistant.objects.get(pk=created.json()["id"])
    assert (assistant.organization, assistant.created_by, assistant.settings) == (org, user, {"temperature": 0.1})

    updated = client.patch(detail(assistant), {"is_active": False, "instructions": "Be brief."})
    assert updated.status_code == 200
    assistant.refresh_from_db()
    assert (assistant.is_active, assistant.instructions) == (False, "Be brief.")

    assert client.delete(detail(assistant)).status_code == 204
    assert not Assistant.objects.filter(pk=assistant.pk).exists()


def test_assistant_create_refuses_settings_that_are_not_an_object(staff_admin, make_client):
    response = make_client(staff_admin).post(LIST, {"name": "X", "settings": [1, 2]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "settings"


def test_assistant_delete_is_refused_when_threads_use_it(staff_admin, make_client, assistant):
    ThreadFactory(assistant=assistant)

    response = make_client(staff_admin).delete(detail(assistant))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == errors.ASSISTANT_IN_USE
    assert Assistant.objects.filter(pk=assistant.pk).exists()


def test_assistant_list_needs_authentication(api_client):
    assert api_client.get(LIST).status_code == 401


@pytest.mark.parametrize("kind", ["FREE", "ADMIN"])
def test_assistant_list_query_count_does_not_grow_with_rows(
    kind, make_user, make_client, join, org, django_assert_num_queries
):
    user = make_user(kind)
    join(user, org)
    client = make_client(user)
    AssistantFactory(organization=org)
    with django_assert_num_queries(3) as one:  # user, count, page
        assert len(client.get(LIST, {"page_size": 100}).json()["results"]) == 1
    AssistantFactory.create_batch(49, organization=org)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(LIST, {"page_size": 100}).json()["results"]) == 50


@pytest.mark.parametrize("field", ["settings", "metadata"])
@pytest.mark.parametrize("value", [{"stop": "\x00"}, {"a\x00": 1}, {"nested": [{"x": "y\x00"}]}])
def test_assistant_create_and_update_refuse_null_characters_in_json(field, value, staff_admin, make_client, assistant):
    client = make_client(staff_admin)

    created = client.post(LIST, {"name": "X", field: value}, format="json")
    updated = client.patch(detail(assistant), {field: value}, format="json")

    for response in (created, updated):
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert (error["attr"], error["code"]) == (field, "null_characters_not_allowed")
    assert list(Assistant.objects.all()) == [assistant]
    assert getattr(Assistant.objects.get(), field) == {}


@pytest.mark.parametrize("move_to", ["other_org", None])
def test_assistant_update_refuses_moving_an_assistant_with_threads(move_to, staff_admin, make_client, org, request):
    assistant = AssistantFactory(organization=org)
    ThreadFactory(assistant=assistant, organization=org)
    target = request.getfixturevalue(move_to) if move_to else None

    response = make_client(staff_admin).patch(
        detail(assistant), {"organization": str(target.pk) if target else None}, format="json"
    )

    assert response.status_code == 400
    assert (response.json()["errors"][0]["attr"], response.json()["errors"][0]["code"]) == (
        "organization",
        errors.ASSISTANT_IN_USE,
    )
    assert Assistant.objects.get(pk=assistant.pk).organization == org


def test_assistant_update_of_one_in_use_keeps_other_changes_and_moves_an_unused_one(
    staff_admin, make_client, org, other_org
):
    in_use, unused = AssistantFactory(organization=org), AssistantFactory()
    ThreadFactory(assistant=in_use, organization=org)
    client = make_client(staff_admin)

    renamed = client.patch(detail(in_use), {"name": "Renamed", "organization": str(org.pk)}, format="json")
    moved = client.patch(detail(unused), {"organization": str(other_org.pk)}, format="json")

    assert (renamed.status_code, moved.status_code) == (200, 200)
    assert Assistant.objects.get(pk=in_use.pk).name == "Renamed"
    assert Assistant.objects.get(pk=unused.pk).organization == other_org


def test_organization_with_an_assistant_in_use_is_deleted_with_its_threads(make_user, make_client, join, org):
    owner = make_user()
    join(owner, org, OrgRole.OWNER)
    assistant = AssistantFactory(organization=org)
    thread = ThreadFactory(owner=owner, assistant=assistant, organization=org)
    RunFactory(thread=thread)

    response = make_client(owner).delete(reverse("api:organization-detail", kwargs={"pk": org.pk}))

    assert response.status_code == 204
    assert not Assistant.objects.filter(pk=assistant.pk).exists()
    assert not Thread.objects.exists()


def test_assistant_list_filter_answers_alike_for_out_of_scope_and_unknown_organizations(
    free_user, make_client, other_org
):
    AssistantFactory(organization=other_org)
    client = make_client(free_user)

    hidden = client.get(LIST, {"organization": str(other_org.pk)})
    unknown = client.get(LIST, {"organization": str(uuid.uuid4())})

    assert (hidden.status_code, unknown.status_code) == (200, 200)
    assert hidden.json() == unknown.json() == {"count": 0, "next": None, "previous": None, "results": []}
