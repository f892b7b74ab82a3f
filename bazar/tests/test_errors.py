"""One error format everywhere (drf-standardized-errors): malformed bodies, ids and URLs answer 4xx JSON, never
a 500 or an HTML page."""

import json

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from assistants.tests.factories import ThreadFactory
from bazar import exceptions
from bazar.api import router
from organizations import services as org_services

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("api:auth:login")
REGISTER_URL = reverse("api:auth:register")


def assert_error(response, status: int, code: str, error_type: str = "client_error") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["type"] == error_type
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
    assert code in [error["code"] for error in body["errors"]], body
    return body


@pytest.mark.parametrize("url", [LOGIN_URL, REGISTER_URL, reverse("api:auth:refresh"), reverse("api:auth:verify")])
@pytest.mark.parametrize("body", ['{"email": ', "{'email': 'x'}", "not json", '{"a": 1}}', "\x00", "{" * 5000])
def test_malformed_json_answers_parse_error(api_client, url, body):
    response = api_client.post(url, data=body, content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_malformed_json_to_authenticated_endpoint_answers_parse_error(make_client, free_user):
    response = make_client(free_user).generic(
        "PATCH", reverse("api:user-me"), '{"full_name": ', content_type="application/json"
    )

    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("[]", "invalid"),
        ("[1, 2]", "invalid"),
        ('"a string"', "invalid"),
        ("42", "invalid"),
        ("true", "invalid"),
        ("null", "null"),
    ],
)
def test_json_that_is_not_an_object_answers_validation_error(api_client, body, code):
    response = api_client.post(LOGIN_URL, data=body, content_type="application/json")

    assert_error(response, 400, code, error_type="validation_error")


def test_invalid_utf8_answers_parse_error(api_client):
    response = api_client.post(LOGIN_URL, data=b'{"email": "\xff\xfe"}', content_type="application/json")

    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("field", ["full_name", "password", "email"])
def test_null_characters_are_refused(api_client, field):
    payload = {"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada"}
    payload[field] = payload[field][:3] + "\x00" + payload[field][3:]

    response = api_client.post(REGISTER_URL, data=json.dumps(payload), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_unsupported_media_type_answers_415(api_client):
    response = api_client.post(LOGIN_URL, data="email=x", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_answers_405(api_client):
    response = api_client.get(LOGIN_URL)

    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    "user_id",
    ["not-a-uuid", "1", "0", "-1", "00000000-0000-0000-0000-00000000000g", "%00", "' OR 1=1 --", "9" * 50],
)
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_malformed_user_id_answers_json_404(make_client, staff_admin, user_id, method):
    response = getattr(make_client(staff_admin), method)(f"/api/v1/users/{user_id}/", {})

    assert_error(response, 404, "not_found")


def test_malformed_user_id_answers_json_404_to_non_staff(make_client, free_user):
    assert_error(make_client(free_user).get("/api/v1/users/not-a-uuid/"), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    ["/api/", "/api/v1/", "/api/v1/nothing-here/", "/api/v2/users/", "/api/v1/users/me/extra/", "/nowhere"],
)
def test_unknown_url_answers_json_404(api_client, path):
    response = api_client.get(path)

    body = assert_error(response, 404, "not_found")
    assert "<html" not in response.content.decode().lower()
    assert body["errors"][0]["detail"] == "Not found."


def test_unknown_url_404_does_not_echo_the_path(api_client):
    response = api_client.get("/api/v1/<script>alert(1)</script>/")

    assert response.status_code == 404
    assert "<script>" not in response.content.decode()


@pytest.mark.parametrize("query", [{"plan": "GOLD"}, {"role": "user"}])
def test_invalid_filter_values_answer_400(make_client, staff_admin, query):
    response = make_client(staff_admin).get(reverse("api:user-list"), query)

    assert_error(response, 400, "invalid_choice", error_type="validation_error")


@pytest.mark.parametrize("search", ["%", "_", "a" * 5000])
def test_search_wildcards_match_literally(make_client, staff_admin, search):
    response = make_client(staff_admin).get(reverse("api:user-list"), {"search": search})

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


@pytest.mark.parametrize("search", ["'", '"', "'a", '"a" b'])
def test_search_with_stray_quotes_answers_200(make_client, staff_admin, search):
    assert make_client(staff_admin).get(reverse("api:user-list"), {"search": search}).status_code == 200


SEARCHABLE_LISTS = sorted(
    basename for _, viewset, basename in router.registry if getattr(viewset, "search_fields", None)
)


@pytest.mark.parametrize("search", ["\x00", "a\x00b", '"a\x00b"', "a,\x00"])
@pytest.mark.parametrize("basename", SEARCHABLE_LISTS)
def test_search_with_nul_character_answers_400_on_every_list(make_client, superadmin, basename, search):
    """PostgreSQL refuses NUL in text parameters (a 500 if it got there); DRF's SearchFilter refuses it first.
    The suite runs on PostgreSQL too (.ci/run), where this would catch a regression."""
    organization = org_services.organization_create(name="Acme", created_by=superadmin)
    thread = ThreadFactory(owner=superadmin)
    kwargs = {"organization_pk": organization.pk, "thread_pk": thread.pk}
    groups = next(url.pattern.regex.groupindex for url in router.urls if url.name == f"{basename}-list")
    url = reverse(f"api:{basename}-list", kwargs={name: kwargs[name] for name in groups})

    response = make_client(superadmin).get(url, {"search": search})

    body = assert_error(response, 400, "null_characters_not_allowed", error_type="validation_error")
    assert body["errors"] == [
        {"code": "null_characters_not_allowed", "detail": "Null characters are not allowed.", "attr": None}
    ]


def test_server_error_handler_answers_json_without_details():
    response = exceptions.server_error(RequestFactory().get("/api/v1/boom/"))

    assert response.status_code == 500
    assert json.loads(response.content) == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "A server error occurred.", "attr": None}],
    }


def test_unhandled_exception_in_a_view_answers_json_500(api_client, monkeypatch):
    """A bug in a view still answers in the one error format, without a traceback."""
    from accounts import views

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.services, "verification_resend", explode)
    api_client.raise_request_exception = False

    response = api_client.post(reverse("api:auth:verify-resend"), {"email": "ada@example.com"})

    body = assert_error(response, 500, "error", error_type="server_error")
    assert "secret internals" not in json.dumps(body)
    assert "Traceback" not in response.content.decode()


def test_disallowed_host_answers_json_400(api_client):
    response = api_client.get(reverse("api:health"), HTTP_HOST="evil.example.com")

    assert_error(response, 400, "bad_request")
