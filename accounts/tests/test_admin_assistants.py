"""The assistants admin: conversation history is read-only, runs are cancelled and files renamed or deleted
through assistants.services."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.storage import default_storage
from django.urls import reverse

from assistants import errors as assistant_errors
from assistants.models import Assistant, File, RunStatus
from assistants.tests.factories import AssistantFactory, MessageFactory, RunFactory, ThreadFactory, make_file
from organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def superadmin_client(client, superadmin):
    client.force_login(superadmin)
    return client


@pytest.fixture
def staff_client(client, staff_admin):
    client.force_login(staff_admin)
    return client


def messages_after(client, response) -> list[str]:
    return [str(message) for message in client.get(response["Location"]).context["messages"]]


def action(client, model: str, name: str, objects) -> object:
    return client.post(
        reverse(f"admin:assistants_{model}_changelist"),
        {"action": name, "index": "0", ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects]},
    )


# ---------------------------------------------------------------- assistants
def test_staff_admin_adds_platform_assistant_recorded_as_creator(staff_client, staff_admin):
    response = staff_client.post(
        reverse("admin:assistants_assistant_add"),
        {
            "name": "Platform helper",
            "description": "",
            "is_active": "on",
            "model": "",
            "instructions": "Be kind.",
            "settings": "{}",
            "metadata": "{}",
        },
    )
    assert response.status_code == 302
    assistant = Assistant.objects.get(name="Platform helper")
    assert assistant.organization is None and assistant.created_by == staff_admin


def test_assistant_in_use_is_not_deleted(superadmin_client):
    thread = ThreadFactory()
    response = superadmin_client.post(
        reverse("admin:assistants_assistant_delete", args=[thread.assistant.pk]), {"post": "yes"}
    )
    # Threads protect their assistant: the admin lists them instead of deleting.
    assert response.status_code == 200 and response.context["protected"]
    assert Assistant.objects.filter(pk=thread.assistant.pk).exists()


def test_unused_assistant_is_deleted(superadmin_client):
    assistant = AssistantFactory()
    superadmin_client.post(reverse("admin:assistants_assistant_delete", args=[assistant.pk]), {"post": "yes"})
    assert not Assistant.objects.filter(pk=assistant.pk).exists()


def test_deactivate_and_activate_actions(superadmin_client):
    assistant = AssistantFactory(is_active=True)
    action(superadmin_client, "assistant", "deactivate", [assistant])
    assistant.refresh_from_db()
    assert not assistant.is_active
    action(superadmin_client, "assistant", "activate", [assistant])
    assistant.refresh_from_db()
    assert assistant.is_active


def test_assistant_search_and_scope_filter(superadmin_client):
    AssistantFactory(name="Platform bot")
    AssistantFactory(name="Org bot", organization=OrganizationFactory())
    url = reverse("admin:assistants_assistant_changelist")
    platform = superadmin_client.get(url, {"scope": "platform"}).context["cl"].result_list
    found = superadmin_client.get(url, {"q": "org bot"}).context["cl"].result_list
    assert [a.name for a in platform] == ["Platform bot"]
    assert [a.name for a in found] == ["Org bot"]


# ---------------------------------------------------------------- threads, messages, runs
def test_thread_page_shows_messages_and_runs(superadmin_client):
    thread = ThreadFactory(title="Budget talk")
    MessageFactory(thread=thread, content="How much did we spend?")
    RunFactory(thread=thread, status=RunStatus.FAILED, error="engine timeout")
    body = superadmin_client.get(reverse("admin:assistants_thread_change", args=[thread.pk])).content.decode()
    assert "How much did we spend?" in body and "engine timeout" in body


def test_thread_owner_cannot_be_changed(superadmin_client):
    thread = ThreadFactory(title="Old")
    form = superadmin_client.get(reverse("admin:assistants_thread_change", args=[thread.pk])).context["adminform"].form
    assert {"owner", "assistant", "organization"}.isdisjoint(form.fields)


def test_staff_admin_reads_messages_but_cannot_change_them(staff_client):
    message = MessageFactory(content="original")
    url = reverse("admin:assistants_message_change", args=[message.pk])
    assert staff_client.get(url).status_code == 200
    assert staff_client.post(url, {"content": "edited", "role": "user"}).status_code == 403
    message.refresh_from_db()
    assert message.content == "original"


def test_cancel_action_cancels_active_runs_and_skips_finished(staff_client):
    queued = RunFactory(status=RunStatus.QUEUED)
    done = RunFactory(status=RunStatus.COMPLETED)
    response = action(staff_client, "run", "cancel_runs", [queued, done])
    queued.refresh_from_db()
    done.refresh_from_db()
    assert (queued.status, done.status) == (RunStatus.CANCELLED, RunStatus.COMPLETED)
    assert queued.finished_at is not None
    assert any(assistant_errors.RUN_NOT_CANCELLABLE_MESSAGE in m for m in messages_after(staff_client, response))


# ---------------------------------------------------------------- files
@pytest.fixture
def stored_file(superadmin):
    return make_file(organization=OrganizationFactory(), uploaded_by=superadmin, name="report.txt")


def test_file_rename_through_service(staff_client, stored_file):
    url = reverse("admin:assistants_file_change", args=[stored_file.pk])
    assert staff_client.post(url, {"original_name": "  summary.txt "}).status_code == 302
    stored_file.refresh_from_db()
    assert stored_file.original_name == "summary.txt"


def test_file_rename_refuses_bad_name(staff_client, stored_file):
    url = reverse("admin:assistants_file_change", args=[stored_file.pk])
    response = staff_client.post(url, {"original_name": "../etc/passwd"})
    assert assistant_errors.INVALID_FILE_NAME_MESSAGE in messages_after(staff_client, response)
    stored_file.refresh_from_db()
    assert stored_file.original_name == "report.txt"


def test_file_delete_removes_row_and_bytes(superadmin_client, stored_file, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = superadmin_client.post(
            reverse("admin:assistants_file_delete", args=[stored_file.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not File.objects.filter(pk=stored_file.pk).exists()
    assert not default_storage.exists(stored_file.storage_path)


def test_files_cannot_be_uploaded_or_deleted_by_staff_admin_in_admin(staff_client, stored_file):
    assert staff_client.get(reverse("admin:assistants_file_add")).status_code == 403
    assert staff_client.get(reverse("admin:assistants_file_delete", args=[stored_file.pk])).status_code == 403
