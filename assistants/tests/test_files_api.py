import copy
import hashlib
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from assistants import errors
from assistants.models import File
from assistants.tests.conftest import KINDS, STAFF_KINDS
from assistants.tests.factories import make_file
from organizations.models import OrgRole
from organizations.tests.factories import MembershipFactory

LIST = reverse("api:file-list")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    + bytes(range(256))
)


def detail(file) -> str:
    return reverse("api:file-detail", kwargs={"pk": file.pk})


def content(file) -> str:
    return reverse("api:file-content", kwargs={"pk": file.pk})


def upload(client, organization, data: bytes = b"hello, world\n", name: str = "hello.txt", content_type="text/plain"):
    return client.post(
        LIST,
        {"file": SimpleUploadedFile(name, data, content_type=content_type), "organization": str(organization.pk)},
        format="multipart",
    )


def code_of(response) -> str:
    return response.json()["errors"][0]["code"]


def read_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def make_user_in(organization):
    """A PREMIUM ADMIN of `organization`, who may upload into it."""
    user = UserFactory(plan=Plan.PREMIUM)
    MembershipFactory(user=user, organization=organization, role=OrgRole.ADMIN)
    return user


# ---------------------------------------------------------------- upload


@pytest.mark.parametrize("kind", ["PREMIUM", *STAFF_KINDS])
def test_file_upload_stores_bytes_type_size_and_sha256(kind, make_user, make_client, join, org):
    user = make_user(kind)
    join(user, org, OrgRole.ADMIN)
    data = "Grand Bazaar, Istanbul — ünïcödé\n".encode()

    response = upload(make_client(user), org, data, name="../../notes.txt", content_type="image/png")

    assert response.status_code == 201, response.json()
    body = response.json()
    file = File.objects.get(pk=body["id"])
    # The header said PNG; the bytes say text. The client's path is dropped.
    assert (body["original_name"], body["content_type"], body["size"]) == ("notes.txt", "text/plain", len(data))
    assert body["sha256"] == hashlib.sha256(data).hexdigest() == file.sha256
    assert body["content_url"].endswith(content(file))
    assert (file.organization, file.uploaded_by) == (org, user)
    with default_storage.open(file.storage_path, "rb") as stored:
        assert stored.read() == data
    assert "notes" not in file.storage_path


@pytest.mark.parametrize("kind", ["FREE", "PLUS"])
def test_file_upload_is_refused_below_premium(kind, make_user, make_client, join, org):
    user = make_user(kind)
    join(user, org, OrgRole.OWNER)

    response = upload(make_client(user), org)

    assert response.status_code == 403
    assert code_of(response) == "plan_upgrade_required"
    assert not File.objects.exists()


def test_file_upload_into_an_organization_the_caller_is_not_in_is_refused(premium_user, make_client, other_org):
    response = upload(make_client(premium_user), other_org)

    assert response.status_code == 400
    assert (response.json()["errors"][0]["attr"], code_of(response)) == ("organization", "does_not_exist")
    assert not File.objects.exists()


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_file_upload_by_staff_into_any_organization(kind, make_user, make_client, other_org):
    assert upload(make_client(make_user(kind)), other_org).status_code == 201


def test_file_upload_over_the_size_limit_is_refused(premium_user, make_client, join, org, settings):
    settings.FILE_UPLOAD_MAX_SIZE = 100
    join(premium_user, org, OrgRole.ADMIN)

    response = upload(make_client(premium_user), org, b"x" * 101)

    assert response.status_code == 413
    assert code_of(response) == errors.FILE_TOO_LARGE
    assert not File.objects.exists()
    assert not default_storage.exists("files")


def test_file_upload_at_the_size_limit_is_accepted(premium_user, make_client, join, org, settings):
    settings.FILE_UPLOAD_MAX_SIZE = 100
    join(premium_user, org, OrgRole.ADMIN)

    assert upload(make_client(premium_user), org, b"x" * 100).status_code == 201


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "report.txt", "text/plain"),  # a Windows executable named .txt
        (b"\x00\x01\x02binary", "data.csv", "text/csv"),
        (b"<html><script>alert(1)</script></html>", "page.html", "text/plain"),
        (b"GIF89a\x01\x00\x01\x00", "a.gif", "image/gif"),  # a real image type, not on the allow-list
    ],
)
def test_file_upload_of_a_type_outside_the_allow_list_is_refused(
    premium_user, make_client, join, org, data, name, content_type
):
    join(premium_user, org, OrgRole.ADMIN)

    response = upload(make_client(premium_user), org, data, name=name, content_type=content_type)

    assert response.status_code == 415
    assert code_of(response) == errors.UNSUPPORTED_FILE_TYPE
    assert not File.objects.exists()


def test_file_upload_follows_the_configured_allow_list(premium_user, make_client, join, org, settings):
    settings.FILE_ALLOWED_CONTENT_TYPES = ["image/png"]
    join(premium_user, org, OrgRole.ADMIN)
    client = make_client(premium_user)

    assert upload(client, org, b"text").status_code == 415
    assert upload(client, org, PNG, name="pixel.png").json()["content_type"] == "image/png"


def test_file_upload_refuses_an_empty_file_and_a_missing_file(premium_user, make_client, join, org):
    join(premium_user, org, OrgRole.ADMIN)
    client = make_client(premium_user)

    assert code_of(upload(client, org, b"")) == "empty"
    assert code_of(client.post(LIST, {"organization": str(org.pk)}, format="multipart")) == "required"


@pytest.fixture
def premium_storage_of(settings):
    def _limit(size: int):
        limits = copy.deepcopy(settings.PLAN_LIMITS)
        limits["PREMIUM"]["storage_bytes"] = size
        settings.PLAN_LIMITS = limits

    return _limit


def test_file_upload_over_the_organizations_storage_quota_is_refused(
    premium_user, make_client, join, org, premium_storage_of
):
    premium_storage_of(50)
    join(premium_user, org, OrgRole.ADMIN)
    client = make_client(premium_user)
    assert upload(client, org, b"a" * 30).status_code == 201

    response = upload(client, org, b"b" * 21)

    assert response.status_code == 403
    assert code_of(response) == errors.STORAGE_QUOTA_EXCEEDED
    assert File.objects.count() == 1
    assert len(default_storage.listdir(f"files/{org.pk}")[1]) == 1
    assert upload(client, org, b"c" * 20).status_code == 201  # exactly at the quota


def test_file_storage_quota_is_per_organization(premium_user, make_client, join, org, other_org, premium_storage_of):
    premium_storage_of(50)
    join(premium_user, org, OrgRole.ADMIN)
    join(premium_user, other_org, OrgRole.ADMIN)
    client = make_client(premium_user)

    assert upload(client, org, b"a" * 40).status_code == 201
    assert upload(client, other_org, b"b" * 40).status_code == 201


def test_file_storage_quota_does_not_apply_to_staff(staff_admin, make_client, org, settings):
    limits = copy.deepcopy(settings.PLAN_LIMITS)
    limits["FREE"]["storage_bytes"] = 0
    settings.PLAN_LIMITS = limits

    assert upload(make_client(staff_admin), org, b"a" * 40).status_code == 201


# ---------------------------------------------------------------- read and download


@pytest.mark.parametrize("kind", KINDS)
def test_file_list_and_retrieve_show_the_callers_organizations(
    kind, make_user, make_client, join, org, other_org, staff_admin
):
    user = make_user(kind)
    join(user, org)
    mine = make_file(organization=org, uploaded_by=staff_admin)
    theirs = make_file(organization=other_org, uploaded_by=staff_admin)
    client = make_client(user)

    listed = client.get(LIST)

    expected = {mine, theirs} if kind in STAFF_KINDS else {mine}
    assert {row["id"] for row in listed.json()["results"]} == {str(f.pk) for f in expected}
    assert client.get(detail(mine)).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_file_download_returns_the_uploaded_bytes(kind, make_user, make_client, join, org, premium_user):
    join(premium_user, org, OrgRole.ADMIN)
    user = make_user(kind)
    join(user, org)
    uploaded = upload(make_client(premium_user), org, PNG, name="pixel.png", content_type="application/octet-stream")
    file = File.objects.get(pk=uploaded.json()["id"])

    response = make_client(user).get(content(file), HTTP_ACCEPT="image/png")

    assert response.status_code == 200
    assert read_bytes(response) == PNG
    assert hashlib.sha256(PNG).hexdigest() == file.sha256
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="pixel.png"'
    assert response["Content-Length"] == str(len(PNG))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


def test_file_download_names_non_ascii_files_safely(premium_user, make_client, join, org):
    join(premium_user, org, OrgRole.ADMIN)
    file = make_file(organization=org, uploaded_by=premium_user, content=b"x", name='r\u00e9sum\u00e9 "v2".txt')

    response = make_client(premium_user).get(content(file))

    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''r%C3%A9sum%C3%A9")
    assert response["Content-Type"] == "text/plain"


def test_file_of_another_organization_is_not_found(premium_user, staff_admin, make_client, join, org, other_org):
    join(premium_user, org, OrgRole.ADMIN)
    theirs = make_file(organization=other_org, uploaded_by=staff_admin)
    client = make_client(premium_user)

    assert client.get(detail(theirs)).status_code == 404
    assert client.get(content(theirs)).status_code == 404
    assert client.patch(detail(theirs), {"original_name": "mine.txt"}).status_code == 404
    assert client.delete(detail(theirs)).status_code == 404
    assert File.objects.filter(pk=theirs.pk, original_name=theirs.original_name).exists()


def test_file_download_needs_authentication(api_client, org, staff_admin):
    file = make_file(organization=org, uploaded_by=staff_admin)

    assert api_client.get(content(file)).status_code == 401


def test_file_media_is_not_served_publicly(api_client, org, staff_admin):
    file = make_file(organization=org, uploaded_by=staff_admin)

    assert api_client.get(f"/media/{file.storage_path}").status_code == 404


def test_file_download_of_missing_bytes_answers_not_found(staff_admin, make_client, org):
    file = make_file(organization=org, uploaded_by=staff_admin)
    default_storage.delete(file.storage_path)

    response = make_client(staff_admin).get(content(file))

    assert response.status_code == 404
    assert code_of(response) == errors.FILE_CONTENT_MISSING


def test_file_list_query_count_does_not_grow_with_rows(premium_user, make_client, join, org, django_assert_num_queries):
    join(premium_user, org, OrgRole.ADMIN)
    client = make_client(premium_user)
    make_file(organization=org, uploaded_by=premium_user)
    with django_assert_num_queries(3) as one:  # user, count, page
        assert len(client.get(LIST, {"page_size": 100}).json()["results"]) == 1
    for _ in range(49):
        make_file(organization=org, uploaded_by=premium_user)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(LIST, {"page_size": 100}).json()["results"]) == 50


# ---------------------------------------------------------------- rename and delete


@pytest.mark.parametrize("kind", ["PREMIUM", *STAFF_KINDS])
def test_file_rename_and_delete(kind, make_user, make_client, join, org, django_capture_on_commit_callbacks):
    user = make_user(kind)
    join(user, org, OrgRole.ADMIN)
    file = make_file(organization=org, uploaded_by=user)
    client = make_client(user)

    renamed = client.patch(detail(file), {"original_name": "renamed.txt"})
    assert renamed.status_code == 200
    assert renamed.json()["original_name"] == "renamed.txt"
    assert make_client(user).get(content(file))["Content-Disposition"] == 'attachment; filename="renamed.txt"'

    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(detail(file))
        assert default_storage.exists(file.storage_path)  # bytes go only once the deletion commits
    assert deleted.status_code == 204
    assert not File.objects.filter(pk=file.pk).exists()
    assert not default_storage.exists(file.storage_path)


@pytest.mark.parametrize("kind", ["FREE", "PLUS"])
def test_file_rename_and_delete_are_refused_below_premium(kind, make_user, make_client, join, org, staff_admin):
    user = make_user(kind)
    join(user, org, OrgRole.OWNER)
    file = make_file(organization=org, uploaded_by=staff_admin)
    client = make_client(user)

    assert client.patch(detail(file), {"original_name": "x.txt"}).status_code == 403
    assert client.delete(detail(file)).status_code == 403
    assert File.objects.get(pk=file.pk).original_name == file.original_name


@pytest.mark.parametrize("name", ["", "a/b.txt", "..\\x.txt", "bad\nname.txt", "x" * 256])
def test_file_rename_refuses_unsafe_names(premium_user, make_client, join, org, name):
    join(premium_user, org, OrgRole.ADMIN)
    file = make_file(organization=org, uploaded_by=premium_user)

    response = make_client(premium_user).patch(detail(file), {"original_name": name})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "original_name"
    assert File.objects.get(pk=file.pk).original_name == file.original_name


def test_file_bytes_go_when_the_organization_is_deleted(staff_admin, org, django_capture_on_commit_callbacks):
    file = make_file(organization=org, uploaded_by=staff_admin)

    with django_capture_on_commit_callbacks(execute=True):
        org.delete()

    assert not default_storage.exists(file.storage_path)


# ---------------------------------------------------------------- managing files: the organization's OWNERs, ADMINs


def test_file_upload_rename_and_delete_are_refused_to_a_premium_member(
    premium_user, staff_admin, make_client, join, org
):
    join(premium_user, org)
    file = make_file(organization=org, uploaded_by=staff_admin)
    client = make_client(premium_user)

    responses = [
        upload(client, org),
        client.patch(detail(file), {"original_name": "mine.txt"}),
        client.put(detail(file), {"original_name": "mine.txt"}),
        client.delete(detail(file)),
    ]

    assert [(r.status_code, code_of(r)) for r in responses] == [(403, errors.ORG_ROLE_REQUIRED)] * 4
    assert list(File.objects.values_list("pk", "original_name")) == [(file.pk, file.original_name)]
    assert client.get(content(file)).status_code == 200  # members still read and download


@pytest.mark.parametrize("role", [OrgRole.OWNER, OrgRole.ADMIN])
def test_file_upload_rename_and_delete_by_a_premium_owner_or_admin(role, premium_user, make_client, join, org):
    join(premium_user, org, role)
    client = make_client(premium_user)

    uploaded = upload(client, org)
    file = File.objects.get(pk=uploaded.json()["id"])
    renamed = client.patch(detail(file), {"original_name": "renamed.txt"})
    deleted = client.delete(detail(file))

    assert (uploaded.status_code, renamed.status_code, deleted.status_code) == (201, 200, 204)
    assert not File.objects.exists()


def test_file_admin_of_one_organization_cannot_manage_files_of_another_it_only_belongs_to(
    premium_user, staff_admin, make_client, join, org, other_org
):
    join(premium_user, org, OrgRole.ADMIN)
    join(premium_user, other_org)
    theirs = make_file(organization=other_org, uploaded_by=staff_admin)
    client = make_client(premium_user)

    assert code_of(upload(client, other_org)) == errors.ORG_ROLE_REQUIRED
    assert code_of(client.delete(detail(theirs))) == errors.ORG_ROLE_REQUIRED
    assert File.objects.filter(pk=theirs.pk).exists()


# ---------------------------------------------------------------- filters on relations leak nothing


@pytest.mark.parametrize("name", ["organization", "uploaded_by"])
def test_file_list_filter_answers_alike_for_out_of_scope_and_unknown_ids(
    name, premium_user, staff_admin, make_client, join, org, other_org
):
    join(premium_user, org)
    make_file(organization=org, uploaded_by=staff_admin)
    theirs = make_file(organization=other_org, uploaded_by=make_user_in(other_org))
    client = make_client(premium_user)
    out_of_scope = {"organization": other_org.pk, "uploaded_by": theirs.uploaded_by_id}[name]

    hidden = client.get(LIST, {name: str(out_of_scope)})
    unknown = client.get(LIST, {name: str(uuid.uuid4())})

    assert (hidden.status_code, unknown.status_code) == (200, 200)
    assert hidden.json() == unknown.json() == {"count": 0, "next": None, "previous": None, "results": []}
