"""Idempotency-Key on POST (bazar/idempotency.py), through a test-only view that creates one row per call."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.urls import reverse

from bazar import idempotency
from bazar.tests.urls import IdempotentThingView
from organizations.models import Organization

pytestmark = pytest.mark.urls("bazar.tests.urls")

THINGS = "test-things"


def _post(client, body, key="key-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(reverse(THINGS), body, format="json", **headers, **extra)


def _threaded(function):
    """`function` for a worker thread, handing the thread's database connection back when done. The test client does
    not, and a connection left open kept pytest-django from dropping the PostgreSQL test database."""

    def run(*args):
        try:
            return function(*args)
        finally:
            connections.close_all()

    return run


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


@pytest.fixture
def client(make_client, free_user):
    return make_client(free_user)


def test_idempotency_retry_replays_first_response_and_creates_once(client):
    first = _post(client, {"name": "alpha"})
    retry = _post(client, {"name": "alpha"})

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry[idempotency.REPLAYED_HEADER] == "true"
    assert not first.has_header(idempotency.REPLAYED_HEADER)
    assert Organization.objects.count() == 1


def test_idempotency_same_key_with_different_body_is_422(client):
    _post(client, {"name": "alpha"})

    response = _post(client, {"name": "beta"})

    assert response.status_code == 422
    assert _codes(response) == [idempotency.KEY_REUSED]
    assert Organization.objects.count() == 1


def test_idempotency_keys_are_scoped_per_user(make_client, free_user, plus_user):
    mine = _post(make_client(free_user), {"name": "alpha"})
    theirs = _post(make_client(plus_user), {"name": "alpha"})

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert Organization.objects.count() == 2


def test_idempotency_different_keys_create_separately(client):
    _post(client, {"name": "alpha"}, key="key-1")
    _post(client, {"name": "alpha"}, key="key-2")

    assert Organization.objects.count() == 2


def test_idempotency_without_header_runs_every_time(client):
    _post(client, {"name": "alpha"}, key=None)
    _post(client, {"name": "alpha"}, key=None)

    assert Organization.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "ünïcode"])
def test_idempotency_malformed_key_is_422(client, key):
    response = client.post(
        reverse(THINGS), {"name": "alpha"}, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )

    assert response.status_code == 422
    assert _codes(response) == [idempotency.KEY_INVALID]
    assert Organization.objects.count() == 0


def test_idempotency_failed_validation_releases_the_key(client):
    refused = _post(client, {"name": "invalid"})
    assert refused.status_code == 400

    # A corrected request may not reuse the key (different body), but the same one runs again and is refused again.
    again = _post(client, {"name": "invalid"})
    assert again.status_code == 400
    assert not again.has_header(idempotency.REPLAYED_HEADER)


def test_idempotency_server_error_is_not_stored(client):
    assert _post(client, {"name": "server-error"}).status_code == 500

    retry = _post(client, {"name": "server-error"})

    assert retry.status_code == 500
    assert not retry.has_header(idempotency.REPLAYED_HEADER)


def test_idempotency_request_in_progress_answers_409_then_replays(transactional_db, make_client, free_user):
    client = make_client(free_user)
    IdempotentThingView.gate, IdempotentThingView.started = threading.Event(), threading.Event()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(_threaded(_post), client, {"name": "slow"})
            assert IdempotentThingView.started.wait(timeout=10)

            duplicate = _post(make_client(free_user), {"name": "slow"})
            assert duplicate.status_code == 409
            assert _codes(duplicate) == [idempotency.KEY_IN_PROGRESS]

            IdempotentThingView.gate.set()
            first_response = first.result(timeout=10)
    finally:
        IdempotentThingView.gate = IdempotentThingView.started = None

    replay = _post(make_client(free_user), {"name": "slow"})
    assert first_response.status_code == replay.status_code == 201
    assert replay.json() == first_response.json()
    assert Organization.objects.count() == 1


def test_idempotency_concurrent_duplicates_create_once(transactional_db, make_client, free_user):
    clients = [make_client(free_user) for _ in range(6)]
    barrier = threading.Barrier(len(clients))

    def fire(client):
        barrier.wait(timeout=10)
        return _post(client, {"name": "race"}, key="race-key")

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        responses = list(pool.map(_threaded(fire), clients))

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    assert Organization.objects.count() == 1
    assert len({response.json()["id"] for response in responses if response.status_code == 201}) == 1


def test_idempotency_header_and_errors_are_in_the_schema(api_client, db):
    schema = api_client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/test/things/"]["post"]

    header = [parameter for parameter in operation["parameters"] if parameter["in"] == "header"]
    assert [(parameter["name"], parameter.get("required", False)) for parameter in header] == [
        ("Idempotency-Key", False)
    ]
    assert {"409", "422", "503"} <= set(operation["responses"])


# ---------------------------------------------------------------- the real endpoints: runs and file uploads


def test_run_start_retried_with_the_same_key_starts_one_run(make_client, plus_user, django_capture_on_commit_callbacks):
    from assistants.models import Run
    from assistants.tests.factories import MessageFactory, ThreadFactory

    thread = ThreadFactory(owner=plus_user)
    MessageFactory(thread=thread)
    client = make_client(plus_user)
    url = reverse("api:thread-run-list", kwargs={"thread_pk": thread.pk})

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")
        retry = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry[idempotency.REPLAYED_HEADER] == "true"
    assert Run.objects.filter(thread=thread).count() == 1


def test_run_start_with_a_reused_key_and_other_body_is_422(make_client, plus_user):
    from assistants.tests.factories import MessageFactory, ThreadFactory

    thread = ThreadFactory(owner=plus_user)
    MessageFactory(thread=thread)
    client = make_client(plus_user)
    url = reverse("api:thread-run-list", kwargs={"thread_pk": thread.pk})
    client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")

    response = client.post(url, {"file_ids": []}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")

    assert response.status_code == 422
    assert _codes(response) == [idempotency.KEY_REUSED]


def test_file_upload_retried_with_the_same_key_stores_one_file(make_client, premium_user, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assistants.models import File
    from organizations.models import OrgRole
    from organizations.tests.factories import MembershipFactory, OrganizationFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    organization = OrganizationFactory()
    MembershipFactory(user=premium_user, organization=organization, role=OrgRole.OWNER)
    client = make_client(premium_user)

    def upload(content: bytes):
        body = {
            "file": SimpleUploadedFile("a.txt", content, content_type="text/plain"),
            "organization": str(organization.pk),
        }
        return client.post(reverse("api:file-list"), body, format="multipart", HTTP_IDEMPOTENCY_KEY="upload-1")

    first, retry, other = upload(b"same bytes\n"), upload(b"same bytes\n"), upload(b"other bytes\n")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert other.status_code == 422
    assert File.objects.filter(organization=organization).count() == 1
    assert sum(1 for path in (tmp_path / "media").rglob("*") if path.is_file()) == 1


def test_run_and_upload_operations_document_the_header(api_client, db):
    schema = api_client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()

    for path in ("/api/v1/threads/{thread_pk}/runs/", "/api/v1/files/"):
        operation = schema["paths"][path]["post"]
        assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]
        assert {"409", "422"} <= set(operation["responses"])
