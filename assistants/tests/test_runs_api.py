import copy
import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from assistants import errors, services
from assistants.models import Message, MessageRole, Run, RunStatus
from assistants.tasks import execute_run
from assistants.tests.chat_server import Behaviour, ChatCompletionsServer, error_body
from assistants.tests.conftest import KINDS
from assistants.tests.engines import ProbeEngine
from assistants.tests.factories import (
    AssistantFactory,
    MessageFactory,
    RunFactory,
    ThreadFactory,
    make_file,
    messages_at,
)

EXECUTING_KINDS = ["PLUS", "PREMIUM", "ADMIN", "SUPERADMIN"]


def runs_url(thread) -> str:
    return reverse("api:thread-run-list", kwargs={"thread_pk": thread.pk})


def run_url(run, name: str = "detail") -> str:
    return reverse(f"api:thread-run-{name}", kwargs={"thread_pk": run.thread_id, "pk": run.pk})


@pytest.fixture
def probe(settings):
    settings.ASSISTANT_ENGINE = "assistants.tests.engines.ProbeEngine"
    ProbeEngine.reset()
    yield ProbeEngine
    ProbeEngine.reset()


@pytest.fixture
def queue_only(settings):
    """Runs are enqueued but no worker picks them up until the test says so."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def thread_of(db):
    def _thread(user, content: str = "What is a bazaar?"):
        thread = ThreadFactory(owner=user)
        MessageFactory(thread=thread, content=content)
        return thread

    return _thread


@pytest.fixture
def start_run(django_capture_on_commit_callbacks):
    """POST a run the way production sees it: the task is enqueued when the run commits. Returns the response
    and the run as a fresh GET shows it afterwards."""

    def _start(client, thread, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(runs_url(thread), data or {}, format="json")
        if response.status_code != 201:
            return response, None
        return response, client.get(run_url(Run.objects.get(pk=response.json()["id"]))).json()

    return _start


def code_of(response) -> str:
    return response.json()["errors"][0]["code"]


@pytest.mark.parametrize("kind", EXECUTING_KINDS)
def test_run_start_completes_with_the_assistants_answer(kind, make_user, make_client, thread_of, probe, start_run):
    user = make_user(kind)
    thread = thread_of(user, "Where is the Grand Bazaar?")

    response, body = start_run(make_client(user), thread)

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == RunStatus.QUEUED  # answered when committed, before the task ran
    assert body["status"] == RunStatus.COMPLETED
    assert body["error"] == ""
    assert body["usage"]["completion_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert body["started_at"] and body["finished_at"]
    assert probe.seen_statuses == [RunStatus.IN_PROGRESS]  # the engine works on a run marked in progress
    answer = Message.objects.get(thread=thread, role=MessageRole.ASSISTANT)
    assert str(answer.run_id) == body["id"]
    assert answer.content.startswith("You said: Where is the Grand Bazaar?")


def test_run_is_queued_until_committed_then_executed(plus_user, thread_of, django_capture_on_commit_callbacks):
    thread = thread_of(plus_user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = services.run_start(thread=thread, user=plus_user)
        assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED

    assert len(callbacks) == 1
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


def test_run_stays_queued_without_a_worker_and_the_worker_completes_it(
    plus_user, make_client, thread_of, queue_only, django_capture_on_commit_callbacks
):
    thread = thread_of(plus_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = make_client(plus_user).post(runs_url(thread))
    assert response.json()["status"] == RunStatus.QUEUED

    execute_run.call(response.json()["id"])  # what `manage.py db_worker` does with the queued task

    run = Run.objects.get(pk=response.json()["id"])
    assert run.status == RunStatus.COMPLETED
    assert run.started_at <= run.finished_at
    assert run.messages.count() == 1


def test_run_start_passes_instructions_messages_and_file_text_to_the_engine(
    premium_user, staff_admin, make_client, join, org, probe, start_run
):
    join(premium_user, org)
    assistant = AssistantFactory(instructions="You are terse.", model="m-1", settings={"temperature": 0})
    thread = ThreadFactory(owner=premium_user, assistant=assistant)
    attached = make_file(organization=org, uploaded_by=staff_admin, content=b"Ledger: 42 carpets\n", name="ledger.txt")
    on_message = make_file(organization=org, uploaded_by=staff_admin, content=b"Prices rose.", name="prices.md")
    image = make_file(
        organization=org, uploaded_by=staff_admin, content=b"\x89PNG\r\n\x1a\n" + b"\0" * 30, name="a.png"
    )
    MessageFactory(thread=thread, content="Summarize").files.add(on_message)

    response, _ = start_run(make_client(premium_user), thread, {"file_ids": [str(attached.pk), str(image.pk)]})

    assert response.status_code == 201
    assert sorted(response.json()["file_ids"]) == sorted([str(attached.pk), str(image.pk)])
    [request] = probe.requests
    assert (request.instructions, request.model, request.options) == ("You are terse.", "m-1", {"temperature": 0})
    assert [(m.role, m.content) for m in request.messages] == [("user", "Summarize")]
    # Text files only: the image is attached to the run but not read.
    assert {(a.name, a.text) for a in request.attachments} == {
        ("ledger.txt", "Ledger: 42 carpets\n"),
        ("prices.md", "Prices rose."),
    }


def test_run_caps_the_text_taken_from_files(
    premium_user, staff_admin, join, org, probe, settings, django_capture_on_commit_callbacks
):
    settings.ASSISTANT_FILE_TEXT_MAX_CHARS = 10
    join(premium_user, org)
    thread = ThreadFactory(owner=premium_user)
    MessageFactory(thread=thread)
    big = make_file(organization=org, uploaded_by=staff_admin, content=b"0123456789abcdef", name="big.txt")

    with django_capture_on_commit_callbacks(execute=True):
        services.run_start(thread=thread, user=premium_user, file_ids=[big.pk])

    [attachment] = probe.requests[0].attachments
    assert attachment.text == "0123456789\n[truncated]"


def test_run_gives_the_engine_only_the_latest_messages(plus_user, probe, settings, django_capture_on_commit_callbacks):
    settings.ASSISTANT_CONTEXT_MESSAGES = 3
    thread = ThreadFactory(owner=plus_user)
    start = timezone.now() - timedelta(hours=1)
    messages_at(thread, [start + timedelta(seconds=i) for i in range(10)])

    with django_capture_on_commit_callbacks(execute=True):
        services.run_start(thread=thread, user=plus_user)

    assert [m.content for m in probe.requests[0].messages] == ["m7", "m8", "m9"]


def test_run_start_is_refused_to_free_users(free_user, make_client, thread_of):
    thread = thread_of(free_user)

    response = make_client(free_user).post(runs_url(thread))

    assert response.status_code == 403
    assert code_of(response) == "plan_upgrade_required"
    assert not Run.objects.exists()


def test_run_start_refuses_files_outside_the_callers_scope(plus_user, staff_admin, make_client, thread_of, other_org):
    thread = thread_of(plus_user)
    theirs = make_file(organization=other_org, uploaded_by=staff_admin)

    response = make_client(plus_user).post(runs_url(thread), {"file_ids": [str(theirs.pk)]}, format="json")

    assert response.status_code == 400
    assert (response.json()["errors"][0]["attr"], code_of(response)) == ("file_ids", "does_not_exist")
    assert not Run.objects.exists()


def test_run_start_refuses_more_than_the_file_limit(plus_user, make_client, thread_of):
    thread = thread_of(plus_user)
    ids = [str(ThreadFactory().pk) for _ in range(services.MAX_FILES_PER_REQUEST + 1)]

    response = make_client(plus_user).post(runs_url(thread), {"file_ids": ids}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"].startswith("file_ids")


def test_run_on_another_users_thread_is_not_found(plus_user, make_client, thread_of, make_user):
    other_thread = thread_of(make_user("PLUS"))
    other_run = RunFactory(thread=other_thread)
    client = make_client(plus_user)

    assert client.post(runs_url(other_thread)).status_code == 404
    assert client.get(runs_url(other_thread)).status_code == 404
    assert client.get(run_url(other_run)).status_code == 404
    assert client.post(run_url(other_run, "cancel")).status_code == 404
    assert Run.objects.get(pk=other_run.pk).status == RunStatus.COMPLETED


def test_run_of_another_thread_is_not_found_under_mine(plus_user, make_client, thread_of):
    mine = thread_of(plus_user)
    foreign_run = RunFactory()

    response = make_client(plus_user).get(
        reverse("api:thread-run-detail", kwargs={"thread_pk": mine.pk, "pk": foreign_run.pk})
    )

    assert response.status_code == 404


@pytest.mark.parametrize("params", [{}, {"status": "failed"}, {"status": "bogus"}, {"cursor": "bogus"}])
def test_run_list_of_another_users_thread_is_not_found_whatever_the_query(
    plus_user, make_client, thread_of, make_user, params
):
    # The list reaches the thread through the caller's scope in its own query; a filter matching nothing, an
    # invalid filter or cursor must still answer the thread's 404 first.
    other_run = RunFactory(thread=thread_of(make_user("PLUS")), status=RunStatus.COMPLETED)

    response = make_client(plus_user).get(runs_url(other_run.thread), params)

    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "Not found."


def test_run_list_of_a_thread_without_runs_is_an_empty_page(plus_user, make_client, thread_of):
    response = make_client(plus_user).get(runs_url(thread_of(plus_user)))

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_run_of_a_malformed_thread_id_is_not_found(plus_user, make_client, thread_of):
    run = RunFactory(thread=thread_of(plus_user))
    client = make_client(plus_user)

    assert client.get("/api/v1/threads/not-a-uuid/runs/").status_code == 404
    assert client.get(f"/api/v1/threads/not-a-uuid/runs/{run.pk}/").status_code == 404


def test_run_start_refuses_an_empty_thread(plus_user, make_client):
    thread = ThreadFactory(owner=plus_user)

    response = make_client(plus_user).post(runs_url(thread))

    assert response.status_code == 400
    assert code_of(response) == errors.THREAD_EMPTY


def test_run_start_refuses_a_second_active_run(plus_user, make_client, thread_of):
    thread = thread_of(plus_user)
    RunFactory(thread=thread, status=RunStatus.IN_PROGRESS)

    response = make_client(plus_user).post(runs_url(thread))

    assert response.status_code == 400
    assert code_of(response) == errors.RUN_ACTIVE


def test_run_start_refuses_an_inactive_assistant(staff_admin, make_client, thread_of):
    thread = thread_of(staff_admin)
    thread.assistant.is_active = False
    thread.assistant.save()

    response = make_client(staff_admin).post(runs_url(thread))

    assert response.status_code == 400
    assert code_of(response) == errors.ASSISTANT_INACTIVE


@pytest.fixture
def two_runs_a_day(settings):
    limits = copy.deepcopy(settings.PLAN_LIMITS)
    limits["PLUS"]["runs_per_day"] = 2
    settings.PLAN_LIMITS = limits


def test_run_quota_refuses_the_run_over_the_daily_limit(plus_user, make_client, thread_of, two_runs_a_day, start_run):
    thread = thread_of(plus_user)
    client = make_client(plus_user)
    assert start_run(client, thread)[1]["status"] == RunStatus.COMPLETED
    assert start_run(client, thread)[1]["status"] == RunStatus.COMPLETED

    response = client.post(runs_url(thread))

    assert response.status_code == 429
    assert code_of(response) == errors.QUOTA_EXCEEDED
    assert "2 per day" in response.json()["errors"][0]["detail"]
    assert 0 < int(response["Retry-After"]) <= 24 * 3600
    assert Run.objects.count() == 2


def test_run_quota_counts_failed_and_cancelled_runs(plus_user, make_client, thread_of, two_runs_a_day):
    thread = thread_of(plus_user)
    RunFactory(thread=thread, status=RunStatus.FAILED)
    RunFactory(thread=thread, status=RunStatus.CANCELLED)

    response = make_client(plus_user).post(runs_url(thread))

    assert response.status_code == 429


def test_run_quota_resets_with_the_utc_day(plus_user, make_client, thread_of, two_runs_a_day):
    thread = thread_of(plus_user)
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        RunFactory.create_batch(2, thread=thread)

    response = make_client(plus_user).post(runs_url(thread))

    assert response.status_code == 201


@pytest.mark.parametrize("kind", ["ADMIN", "SUPERADMIN"])
def test_run_quota_does_not_apply_to_staff(kind, make_user, make_client, thread_of, settings):
    limits = copy.deepcopy(settings.PLAN_LIMITS)
    limits["FREE"]["runs_per_day"] = 0
    settings.PLAN_LIMITS = limits
    user = make_user(kind)  # staff accounts are on the FREE plan by default
    thread = thread_of(user)
    RunFactory.create_batch(3, thread=thread)

    assert make_client(user).post(runs_url(thread)).status_code == 201


# ---------------------------------------------------------------- failures


def test_run_fails_with_the_engines_error_reply(plus_user, make_client, thread_of, openai_engine, start_run):
    openai_engine.behaviour = Behaviour(status=500, body=error_body("The server had an error while processing"))
    thread = thread_of(plus_user)

    response, body = start_run(make_client(plus_user), thread)

    assert (response.status_code, body["status"]) == (201, RunStatus.FAILED)
    assert body["error"] == "The engine failed (HTTP 500): The server had an error while processing"
    assert body["finished_at"]
    assert not Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT).exists()


def test_run_fails_readably_when_the_engine_refuses_the_key(
    plus_user, thread_of, openai_engine, django_capture_on_commit_callbacks
):
    openai_engine.behaviour = Behaviour(status=401, body=error_body("Incorrect API key provided: sk-test-secret-key"))
    thread = thread_of(plus_user)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(thread=thread, user=plus_user)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("The engine refused the request (HTTP 401)")
    assert "sk-test-secret-key" not in run.error


def test_run_fails_when_the_engine_times_out(plus_user, make_client, thread_of, openai_engine, start_run):
    openai_engine.behaviour = Behaviour(delay=1.5)
    thread = thread_of(plus_user)

    _, body = start_run(make_client(plus_user), thread)

    assert body["status"] == RunStatus.FAILED
    assert body["error"] == "The engine did not answer within 0.5 seconds."


def test_run_completes_through_the_openai_engine(plus_user, make_client, thread_of, openai_engine, start_run):
    thread = thread_of(plus_user, "Hello engine")

    _, body = start_run(make_client(plus_user), thread)

    assert body["status"] == RunStatus.COMPLETED
    assert body["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18, "model": "test-model"}
    assert Message.objects.get(thread=thread, role=MessageRole.ASSISTANT).content == "Echo: Hello engine"


def test_run_fails_without_details_when_the_engine_crashes(
    plus_user, thread_of, settings, django_capture_on_commit_callbacks
):
    settings.ASSISTANT_ENGINE = "assistants.engines.missing.NoSuchEngine"
    thread = thread_of(plus_user)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(thread=thread, user=plus_user)

    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, services.ENGINE_CRASHED_MESSAGE)


# ---------------------------------------------------------------- cancel


def test_run_cancel_of_a_queued_run_is_never_executed(
    plus_user, make_client, thread_of, queue_only, django_capture_on_commit_callbacks
):
    thread = thread_of(plus_user)
    client = make_client(plus_user)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client.post(runs_url(thread)).json()["id"]
    run = Run.objects.get(pk=run_id)

    response = client.post(run_url(run, "cancel"))
    execute_run.call(run_id)  # the worker reaches the task after the cancel

    assert response.status_code == 200
    assert response.json()["status"] == RunStatus.CANCELLED
    run.refresh_from_db()
    assert (run.status, run.started_at) == (RunStatus.CANCELLED, None)
    assert not run.messages.exists()


def test_run_cancelled_while_the_engine_works_keeps_its_status(
    plus_user, thread_of, probe, django_capture_on_commit_callbacks
):
    probe.cancel_while_working = True
    thread = thread_of(plus_user)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(thread=thread, user=plus_user)

    run.refresh_from_db()
    assert probe.seen_statuses == [RunStatus.IN_PROGRESS]
    assert run.status == RunStatus.CANCELLED
    assert run.usage == {}
    assert not Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT).exists()


@pytest.mark.parametrize("status", [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED])
def test_run_cancel_of_a_finished_run_is_refused(status, plus_user, make_client, thread_of):
    run = RunFactory(thread=thread_of(plus_user), status=status)

    response = make_client(plus_user).post(run_url(run, "cancel"))

    assert response.status_code == 400
    assert code_of(response) == errors.RUN_NOT_CANCELLABLE
    assert Run.objects.get(pk=run.pk).status == status


def test_run_cancel_is_refused_to_free_users(free_user, make_client, thread_of):
    run = RunFactory(thread=thread_of(free_user), status=RunStatus.QUEUED)

    response = make_client(free_user).post(run_url(run, "cancel"))

    assert response.status_code == 403
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED


@pytest.mark.parametrize("kind", ["ADMIN", "SUPERADMIN"])
def test_run_staff_cancel_any_run(kind, make_user, make_client, thread_of):
    run = RunFactory(thread=thread_of(make_user("PLUS")), status=RunStatus.IN_PROGRESS)

    response = make_client(make_user(kind)).post(run_url(run, "cancel"))

    assert response.status_code == 200
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("kind", KINDS)
def test_run_list_and_retrieve_for_the_thread_owner(kind, make_user, make_client, thread_of):
    user = make_user(kind)
    thread = thread_of(user)
    run = RunFactory(thread=thread)
    client = make_client(user)

    listed = client.get(runs_url(thread))
    retrieved = client.get(run_url(run))

    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [str(run.pk)]
    assert retrieved.json()["status"] == RunStatus.COMPLETED


def test_run_list_filters_by_status_and_pages_by_cursor(plus_user, make_client, thread_of):
    thread = thread_of(plus_user)
    RunFactory.create_batch(3, thread=thread, status=RunStatus.FAILED)
    RunFactory(thread=thread, status=RunStatus.COMPLETED)
    client = make_client(plus_user)

    failed = client.get(runs_url(thread), {"status": "failed", "page_size": 2}).json()

    assert [r["status"] for r in failed["results"]] == ["failed", "failed"]
    assert failed["next"]
    assert [r["status"] for r in client.get(failed["next"]).json()["results"]] == ["failed"]


def test_run_list_query_count_does_not_grow_with_rows(
    premium_user, staff_admin, make_client, join, org, thread_of, django_assert_num_queries
):
    join(premium_user, org)
    thread = thread_of(premium_user)
    file = make_file(organization=org, uploaded_by=staff_admin)
    client = make_client(premium_user)
    RunFactory(thread=thread).files.add(file)
    with django_assert_num_queries(3) as one:  # user, page (through the thread in scope), files of the page
        assert len(client.get(runs_url(thread), {"page_size": 100}).json()["results"]) == 1
    for run in RunFactory.create_batch(49, thread=thread):
        run.files.add(file)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(runs_url(thread), {"page_size": 100}).json()["results"]) == 50


def test_run_that_cannot_be_queued_is_marked_failed(plus_user, thread_of, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "no.such.TaskBackend"}}  # a misconfigured queue
    thread = thread_of(plus_user)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(thread=thread, user=plus_user)

    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, services.QUEUE_FAILED_MESSAGE)
    assert run.finished_at is not None


# ---------------------------------------------------------------- a member who left the organization


def test_run_start_is_not_found_once_the_starter_left_the_threads_organization(plus_user, make_client, join, org):
    membership = join(plus_user, org)
    thread = ThreadFactory(owner=plus_user, assistant=AssistantFactory(organization=org), organization=org)
    MessageFactory(thread=thread)
    membership.delete()

    response = make_client(plus_user).post(runs_url(thread))

    assert response.status_code == 404
    assert not Run.objects.exists()


# ---------------------------------------------------------------- replies that cannot be stored as they are


def test_run_completes_with_null_characters_stripped_from_the_engines_reply(
    plus_user, make_client, thread_of, openai_engine, start_run
):
    reply = json.loads(ChatCompletionsServer.completion({"json": {"model": "m", "messages": []}}))
    reply["choices"][0]["message"]["content"] = "Hal\x00f\x00"
    reply["model"] = "test\x00model"
    openai_engine.behaviour = Behaviour(body=json.dumps(reply).encode())

    _, body = start_run(make_client(plus_user), thread_of(plus_user))

    assert body["status"] == RunStatus.COMPLETED
    assert body["usage"]["model"] == "testmodel"
    assert Message.objects.get(role=MessageRole.ASSISTANT).content == "Half"


def test_run_fails_when_the_engines_reply_cannot_be_stored(
    plus_user, thread_of, settings, django_capture_on_commit_callbacks
):
    settings.ASSISTANT_ENGINE = "assistants.tests.engines.UnstorableReplyEngine"
    thread = thread_of(plus_user)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(thread=thread, user=plus_user)

    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, services.ENGINE_CRASHED_MESSAGE)
    assert run.finished_at is not None
    assert not Message.objects.filter(thread=thread, role=MessageRole.ASSISTANT).exists()
