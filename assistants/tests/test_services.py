"""Rules the services hold for every caller (admin, commands), not only for the API that scopes its input first."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from assistants import errors, services
from assistants.models import Assistant, File, Message, Run, Thread
from assistants.tests.factories import AssistantFactory, MessageFactory, RunFactory, ThreadFactory, make_file
from organizations import services as organization_services
from organizations.models import OrgRole


def codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errs] for field, errs in exc.error_dict.items()}


def test_thread_create_refuses_an_organization_the_owner_is_not_in(free_user, other_org, assistant):
    with pytest.raises(ValidationError) as caught:
        services.thread_create(owner=free_user, assistant=assistant, organization=other_org)

    assert codes(caught.value) == {"organization": [errors.NOT_A_MEMBER]}
    assert not Thread.objects.exists()


def test_thread_create_lets_staff_use_any_organization(staff_admin, other_org, assistant):
    thread = services.thread_create(owner=staff_admin, assistant=assistant, organization=other_org)

    assert thread.organization == other_org


@pytest.mark.parametrize("role", [None, OrgRole.MEMBER])
def test_file_create_refuses_an_uploader_who_does_not_manage_the_organization(role, premium_user, join, org):
    if role:
        join(premium_user, org, role)
    upload = SimpleUploadedFile("a.txt", b"text")

    with pytest.raises(errors.OrgRoleRequired):
        services.file_create(organization=org, uploaded_by=premium_user, upload=upload)

    assert not File.objects.exists()


def test_file_rename_and_delete_refuse_a_member_and_let_staff_act(premium_user, staff_admin, join, org):
    join(premium_user, org)
    file = make_file(organization=org, uploaded_by=staff_admin)

    with pytest.raises(errors.OrgRoleRequired):
        services.file_rename(file=file, original_name="x.txt", actor=premium_user)
    with pytest.raises(errors.OrgRoleRequired):
        services.file_delete(file=file, actor=premium_user)
    services.file_rename(file=file, original_name="x.txt", actor=staff_admin)

    assert File.objects.get().original_name == "x.txt"


def test_assistant_update_refuses_moving_an_assistant_in_use(org, other_org):
    assistant = AssistantFactory(organization=org)
    ThreadFactory(assistant=assistant, organization=org)
    assistant.organization = other_org  # as the admin form leaves it before saving

    with pytest.raises(ValidationError) as caught:
        services.assistant_update(assistant=assistant)

    assert codes(caught.value) == {"organization": [errors.ASSISTANT_IN_USE]}
    assert Assistant.objects.get().organization == org


def test_message_create_and_run_start_refuse_an_owner_who_left_the_organization(plus_user, join, org):
    membership = join(plus_user, org)
    thread = ThreadFactory(owner=plus_user, assistant=AssistantFactory(organization=org), organization=org)
    MessageFactory(thread=thread)
    membership.delete()

    with pytest.raises(Http404):
        services.message_create(thread=thread, author=plus_user, content="still here?")
    with pytest.raises(Http404):
        services.run_start(thread=thread, user=plus_user)

    assert (Message.objects.count(), Run.objects.count()) == (1, 0)


@pytest.mark.parametrize("thread_in_organization", [True, False])
def test_organization_delete_takes_the_threads_of_its_assistants(thread_in_organization, org):
    """Threads PROTECT their assistant; one on the organization's assistant but outside it (moved before moves were
    refused) goes too, rather than the deletion failing."""
    assistant = AssistantFactory(organization=org)
    thread = ThreadFactory(assistant=assistant, organization=org if thread_in_organization else None)
    RunFactory(thread=thread)
    kept = ThreadFactory()

    organization_services.organization_delete(organization=org)

    assert list(Thread.objects.all()) == [kept]
    assert not Assistant.objects.filter(pk=assistant.pk).exists()
