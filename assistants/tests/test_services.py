"""Rules the services hold for every caller (admin, commands), not only for the API that scopes its input first."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from assistants import errors, services
from assistants.models import File, Thread


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


def test_file_create_refuses_an_organization_the_uploader_is_not_in(premium_user, other_org):
    upload = SimpleUploadedFile("a.txt", b"text")

    with pytest.raises(ValidationError) as caught:
        services.file_create(organization=other_org, uploaded_by=premium_user, upload=upload)

    assert codes(caught.value) == {"organization": [errors.NOT_A_MEMBER]}
    assert not File.objects.exists()
