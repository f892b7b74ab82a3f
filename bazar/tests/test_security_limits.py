"""Size caps: request bodies (JSON 413 in the one error format) and page sizes."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import UserFactory
from bazar.middleware import REQUEST_TOO_LARGE


@pytest.fixture
def small_caps(settings):
    settings.REQUEST_MAX_BODY_SIZE = 1_000
    settings.UPLOAD_MAX_BODY_SIZE = 5_000


def _assert_413(response) -> None:
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["type"] == "client_error"
    assert [(error["code"], error["attr"]) for error in body["errors"]] == [(REQUEST_TOO_LARGE, None)]


def test_json_body_over_cap_answers_413(make_client, free_user, small_caps):
    payload = json.dumps({"full_name": "x" * 2_000})

    response = make_client(free_user).generic("PATCH", reverse("api:user-me"), payload, content_type="application/json")

    _assert_413(response)
    free_user.refresh_from_db()
    assert free_user.full_name != "x" * 2_000


def test_json_body_under_cap_is_served(make_client, free_user, small_caps):
    response = make_client(free_user).patch(reverse("api:user-me"), {"full_name": "Short"}, format="json")

    assert response.status_code == 200


def test_body_over_cap_is_refused_before_authentication(api_client, db, small_caps):
    response = api_client.generic(
        "POST", reverse("api:auth:login"), json.dumps({"email": "a" * 2_000}), content_type="application/json"
    )

    _assert_413(response)


def test_default_cap_answers_413_where_django_would_raise_request_data_too_big(make_client, free_user, settings):
    assert settings.REQUEST_MAX_BODY_SIZE <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    payload = json.dumps({"full_name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})

    response = make_client(free_user).generic("PATCH", reverse("api:user-me"), payload, content_type="application/json")

    _assert_413(response)


def test_multipart_gets_the_upload_cap(make_client, free_user, small_caps):
    client = make_client(free_user)
    under = SimpleUploadedFile("a.txt", b"a" * 3_000, content_type="text/plain")
    over = SimpleUploadedFile("b.txt", b"b" * 6_000, content_type="text/plain")

    # Over the JSON cap but under the upload cap: the request reaches the view.
    assert (
        client.patch(reverse("api:user-me"), {"full_name": "Up", "file": under}, format="multipart").status_code == 200
    )
    _assert_413(client.patch(reverse("api:user-me"), {"full_name": "Up", "file": over}, format="multipart"))


@pytest.mark.parametrize("content_length", ["not-a-number", "-5"])
def test_unreadable_content_length_is_not_a_server_error(make_client, free_user, content_length):
    response = make_client(free_user).get(reverse("api:user-me"), CONTENT_LENGTH=content_length)

    assert response.status_code == 200


def test_page_size_is_capped_at_100(make_client, staff_admin, settings):
    UserFactory.create_batch(settings.MAX_PAGE_SIZE + 5)

    response = make_client(staff_admin).get(reverse("api:user-list"), {"page_size": 100_000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == settings.MAX_PAGE_SIZE == 100


@pytest.mark.parametrize("page_size", ["-1", "0", "abc"])
def test_bad_page_size_falls_back_to_the_default(make_client, staff_admin, settings, page_size):
    UserFactory.create_batch(settings.PAGE_SIZE + 1)

    response = make_client(staff_admin).get(reverse("api:user-list"), {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == settings.PAGE_SIZE
