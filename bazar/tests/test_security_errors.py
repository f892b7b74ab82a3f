"""No information leaks: error bodies in the one format, without tracebacks, SQL, settings or other tenants' data."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

# DRF views and plain Django views word the detail differently; both are generic.
GENERIC_DETAILS = {"A server error occurred.", "Server Error (500)"}
LEAK_MARKERS = ("Traceback", "SELECT", "table_that_does_not_exist", "users_email_key", "DATABASES", "/etc/passwd")


@pytest.fixture
def quiet_client(make_client, free_user):
    """A client that gets the 500 response instead of the test re-raising the view's exception."""
    client = make_client(free_user)
    client.raise_request_exception = False
    return client


def _assert_no_leak(response) -> None:
    body = response.content.decode()
    for marker in (*LEAK_MARKERS, settings.SECRET_KEY):
        assert marker not in body


@pytest.mark.urls("bazar.tests.urls")
@pytest.mark.parametrize(
    ("name", "method"),
    [("test-boom", "get"), ("test-db-boom", "get"), ("test-integrity-boom", "post"), ("test-plain-boom", "get")],
)
def test_unhandled_error_answers_generic_json_500(quiet_client, name, method):
    response = getattr(quiet_client, method)(reverse(name))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["type"] == "server_error"
    assert [(error["code"], error["attr"]) for error in body["errors"]] == [("error", None)]
    assert body["errors"][0]["detail"] in GENERIC_DETAILS
    _assert_no_leak(response)


@pytest.mark.urls("bazar.tests.urls")
def test_unhandled_error_is_logged_for_operators(quiet_client, caplog):
    quiet_client.get(reverse("test-boom"))

    assert any(record.levelname == "ERROR" and record.exc_info for record in caplog.records)


def test_unknown_url_answers_json_404(api_client, db):
    response = api_client.get("/api/v1/does-not-exist/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert "urlpatterns" not in response.content.decode()


def test_malformed_json_answers_parse_error_without_echo(make_client, free_user):
    response = make_client(free_user).generic(
        "PATCH", reverse("api:user-me"), '{"full_name": "x", "secret-ish": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "client_error"
    assert "secret-ish" not in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/users/not-a-uuid/", "/api/v1/users/00000000-0000-0000-0000-000000000000/"])
def test_bad_or_unknown_ids_answer_404_not_500(make_client, free_user, path):
    response = make_client(free_user).get(path)

    assert response.status_code == 404
    _assert_no_leak(response)


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(api_client, free_user):
    known = api_client.post(reverse("api:auth:forgot-password"), {"email": free_user.email})
    unknown = api_client.post(reverse("api:auth:forgot-password"), {"email": "nobody@example.com"})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


def test_resend_verification_answers_the_same_for_known_and_unknown_emails(api_client, db):
    from accounts.tests.factories import UserFactory

    pending = UserFactory(is_verified=False, verified_at=None)
    known = api_client.post(reverse("api:auth:verify-resend"), {"email": pending.email})
    unknown = api_client.post(reverse("api:auth:verify-resend"), {"email": "nobody@example.com"})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


def test_other_users_outside_scope_answer_404(make_client, free_user, plus_user):
    """A stranger (no shared organization) is invisible: 404, as if the id did not exist."""
    response = make_client(free_user).get(reverse("api:user-detail", args=[plus_user.pk]))

    assert response.status_code == 404


def test_debug_is_off_unless_asked_for():
    env = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    env["SECRET_KEY"] = "x" * 50
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
