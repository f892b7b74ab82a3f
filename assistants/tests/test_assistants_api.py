import pytest
from django.urls import reverse

from assistants import errors
from assistants.models import Assistant
from assistants.tests.conftest import KINDS, STAFF_KINDS
from assistants.tests.factories import AssistantFactory, ThreadFactory

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
