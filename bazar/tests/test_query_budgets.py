"""Query budgets: no N+1 anywhere. Every list answers in at most LIST_BUDGET queries whatever the page size (the
same count for 1 row as for 50), every detail in at most DETAIL_BUDGET, and authentication costs one query (none
once the user is cached).

To cover a new endpoint, add one line to LISTS or DETAILS: a maker that creates `n` rows the caller can see (with
their related rows filled in, so that a missing select_related/prefetch_related shows) and returns the URL kwargs.
"""

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from accounts.authentication import JWTAuthentication
from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_for
from assistants.models import Assistant, File, Message, MessageRole, Run, RunStatus, Thread
from organizations.models import Invitation, Membership, Organization, OrgRole

# Authentication, count (a cursor page has none: the files of its rows instead), the page. A list under a parent
# (organization, thread) reaches it through the caller's scope in the count and page queries; the parent is looked
# up only when the page is empty (bazar.pagination.ParentScopedListMixin), which the empty-page tests below count.
LIST_BUDGET = 3
DETAIL_BUDGET = 3

_serial = itertools.count()


@dataclass
class World:
    """A PREMIUM user owning an organization with an assistant, a thread, a run and a file."""

    user: object
    organization: Organization
    assistant: Assistant
    thread: Thread
    run: Run
    file: File


def _file(world_org: Organization, user) -> File:
    n = next(_serial)
    content = f"budget file {n}\n".encode()
    path = default_storage.save(f"files/{world_org.pk}/budget-{n}", ContentFile(content))
    return File.objects.create(
        organization=world_org,
        uploaded_by=user,
        original_name=f"budget-{n}.txt",
        content_type="text/plain",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_path=path,
    )


def _members(world: World, n: int, role: str = OrgRole.MEMBER) -> list:
    users = [UserFactory() for _ in range(n)]
    Membership.objects.bulk_create([Membership(user=u, organization=world.organization, role=role) for u in users])
    return users


@pytest.fixture
def world(db) -> World:
    user = UserFactory(plan=Plan.PREMIUM)
    organization = Organization.objects.create(name="Budget", slug=f"budget-{next(_serial)}", created_by=user)
    Membership.objects.create(user=user, organization=organization, role=OrgRole.OWNER)
    assistant = Assistant.objects.create(name="Helper", organization=organization, created_by=user)
    thread = Thread.objects.create(owner=user, assistant=assistant, organization=organization, title="budget")
    run = Run.objects.create(thread=thread, assistant=assistant, created_by=user, status=RunStatus.COMPLETED)
    file = _file(organization, user)
    return World(user=user, organization=organization, assistant=assistant, thread=thread, run=run, file=file)


# ---------------------------------------------------------------- makers: create n visible rows, return URL kwargs


def make_users(world: World, n: int) -> dict:
    _members(world, n)
    return {}


def make_organizations(world: World, n: int) -> dict:
    for _ in range(n):
        org = Organization.objects.create(name="Other", slug=f"org-{next(_serial)}", created_by=world.user)
        Membership.objects.create(user=world.user, organization=org, role=OrgRole.ADMIN)
        Membership.objects.create(user=UserFactory(), organization=org, role=OrgRole.OWNER)
    return {}


def make_members(world: World, n: int) -> dict:
    _members(world, n)
    return {"organization_pk": world.organization.pk}


def make_invitations(world: World, n: int) -> dict:
    for _ in range(n):
        k = next(_serial)
        Invitation.objects.create(
            organization=world.organization,
            email=f"invitee{k}@example.com",
            role=OrgRole.MEMBER,
            invited_by=world.user,
            token_hash=hashlib.sha256(f"token-{k}".encode()).hexdigest(),
            expires_at=timezone.now() + timedelta(days=7),
        )
    return {"organization_pk": world.organization.pk}


def make_assistants(world: World, n: int) -> dict:
    Assistant.objects.bulk_create(
        [Assistant(name=f"Assistant {next(_serial)}", organization=world.organization, created_by=world.user)]
        + [Assistant(name=f"Platform {next(_serial)}") for _ in range(n - 1)]
    )
    return {}


def make_threads(world: World, n: int) -> dict:
    Thread.objects.bulk_create(
        [Thread(owner=world.user, assistant=world.assistant, organization=world.organization) for _ in range(n)]
    )
    return {}


def make_messages(world: World, n: int) -> dict:
    for _ in range(n):
        message = Message.objects.create(
            thread=world.thread, role=MessageRole.ASSISTANT, content="hello", run=world.run
        )
        message.files.add(world.file)
    return {"thread_pk": world.thread.pk}


def make_runs(world: World, n: int) -> dict:
    for _ in range(n):
        run = Run.objects.create(thread=world.thread, assistant=world.assistant, created_by=world.user)
        run.files.add(world.file)
    return {"thread_pk": world.thread.pk}


def make_files(world: World, n: int) -> dict:
    for _ in range(n):
        _file(world.organization, world.user)
    return {}


LISTS: dict[str, Callable[[World, int], dict]] = {
    "user-list": make_users,
    "organization-list": make_organizations,
    "organization-member-list": make_members,
    "organization-invitation-list": make_invitations,
    "assistant-list": make_assistants,
    "thread-list": make_threads,
    "thread-message-list": make_messages,
    "thread-run-list": make_runs,
    "file-list": make_files,
}

DETAILS: dict[str, Callable[[World], dict]] = {
    "user-me": lambda w: {},
    "user-detail": lambda w: {"pk": _members(w, 1)[0].pk},
    "organization-detail": lambda w: {"pk": w.organization.pk},
    "organization-member-detail": lambda w: {"organization_pk": w.organization.pk, "user_id": _members(w, 1)[0].pk},
    "organization-invitation-detail": lambda w: {
        "organization_pk": w.organization.pk,
        "pk": (make_invitations(w, 1), Invitation.objects.filter(organization=w.organization).first().pk)[1],
    },
    "assistant-detail": lambda w: {"pk": w.assistant.pk},
    "thread-detail": lambda w: {"pk": w.thread.pk},
    "thread-run-detail": lambda w: {"thread_pk": w.thread.pk, "pk": (w.run.files.add(w.file), w.run.pk)[1]},
    "file-detail": lambda w: {"pk": w.file.pk},
    "file-content": lambda w: {"pk": w.file.pk},
}


def _get(client, url: str, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, getattr(response, "data", None))
    return response, [q["sql"] for q in queries.captured_queries]


def _rows(response) -> int:
    return len(response.data["results"])


@pytest.mark.parametrize("name", LISTS)
def test_list_queries_stay_within_budget_whatever_the_page_size(name, world, make_client):
    client = make_client(world.user)
    url = reverse(f"api:{name}", kwargs=LISTS[name](world, 1))
    client.get(url)  # warm the per-process caches (content types, settings)
    few, few_sql = _get(client, url, page_size=50)
    LISTS[name](world, 49)
    many, many_sql = _get(client, url, page_size=50)

    assert _rows(few) <= 3
    assert _rows(many) == 50
    assert len(many_sql) == len(few_sql), f"{name}: query count grows with rows: {many_sql}"
    assert len(many_sql) <= LIST_BUDGET, f"{name}: {len(many_sql)} queries: {many_sql}"


@pytest.mark.parametrize("name", DETAILS)
def test_detail_queries_stay_within_budget(name, world, make_client):
    client = make_client(world.user)
    url = reverse(f"api:{name}", kwargs=DETAILS[name](world))
    client.get(url)
    _, sql = _get(client, url)

    assert len(sql) <= DETAIL_BUDGET, f"{name}: {len(sql)} queries: {sql}"


# Lists under a parent, with a query their page answers empty for: the parent is then looked up, within the budget.
EMPTY_CHILD_LISTS: dict[str, tuple[Callable[[World], dict], dict]] = {
    "organization-member-list": (lambda w: {"organization_pk": w.organization.pk}, {"role": OrgRole.ADMIN}),
    "organization-invitation-list": (lambda w: {"organization_pk": w.organization.pk}, {}),
    "thread-message-list": (lambda w: {"thread_pk": w.thread.pk}, {}),
    "thread-run-list": (lambda w: {"thread_pk": w.thread.pk}, {"status": RunStatus.FAILED}),
}


@pytest.mark.parametrize("name", EMPTY_CHILD_LISTS)
def test_empty_page_under_a_parent_stays_within_budget(name, world, make_client):
    kwargs, params = EMPTY_CHILD_LISTS[name]
    client = make_client(world.user)
    url = reverse(f"api:{name}", kwargs=kwargs(world))
    client.get(url, params)
    response, sql = _get(client, url, **params)

    assert _rows(response) == 0
    assert len(sql) <= LIST_BUDGET, f"{name}: {len(sql)} queries: {sql}"


@pytest.mark.parametrize("name", EMPTY_CHILD_LISTS)
def test_parent_out_of_scope_answers_404_within_budget(name, world, make_client):
    kwargs, params = EMPTY_CHILD_LISTS[name]
    client = make_client(UserFactory(plan=Plan.PREMIUM))
    url = reverse(f"api:{name}", kwargs=kwargs(world))
    client.get(url, params)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)

    assert response.status_code == 404
    assert len(queries) <= LIST_BUDGET, f"{name}: {len(queries)} queries: {queries.captured_queries}"


def _authentication_sql(user) -> list[str]:
    token = token_pair_for(user)["access"]
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    with CaptureQueriesContext(connection) as queries:
        authenticated, _ = JWTAuthentication().authenticate(request)
    assert authenticated == user
    return [q["sql"] for q in queries.captured_queries]


def test_authentication_costs_one_query_then_none_until_the_user_changes(transactional_db):
    # Transactional: the cache stores nothing read inside a transaction, and every other test runs in one.
    user = UserFactory()
    first, cached = _authentication_sql(user), _authentication_sql(user)
    user.save()

    assert (len(first), len(cached)) == (1, 0)
    assert len(_authentication_sql(user)) == 1


@pytest.mark.parametrize("name", [*LISTS, *DETAILS])
def test_endpoint_loads_the_user_once_at_most(name, world, make_client):
    (auth_sql,) = _authentication_sql(world.user)
    kwargs = LISTS[name](world, 2) if name in LISTS else DETAILS[name](world)
    client = make_client(world.user)
    cache.clear()  # the signed-in user is not cached yet: authentication loads it, and nothing else may again
    _, sql = _get(client, reverse(f"api:{name}", kwargs=kwargs))

    assert sql.count(auth_sql) == 1, f"{name}: the user is loaded {sql.count(auth_sql)} times: {sql}"


@pytest.mark.parametrize(("name", "kind"), [*((n, "list") for n in LISTS), *((n, "detail") for n in DETAILS)])
def test_no_read_loads_a_password_hash(name, kind, world, make_client):
    """A hash a read never needs stays in the database: not in the rows of a page, nor of a join, nor of the user."""
    client = make_client(world.user)
    url = reverse(f"api:{name}", kwargs=(LISTS[name](world, 2) if kind == "list" else DETAILS[name](world)))
    cache.clear()  # the caller loaded from the database, not from the cache
    _, sql = _get(client, url)

    assert sql
    assert not [query for query in sql if '"password"' in query], f"{name}: {sql}"
