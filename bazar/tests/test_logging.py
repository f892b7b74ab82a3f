import copy
import io
import json
import logging
import logging.config
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.urls import reverse

from bazar.logging import _MAY_HOLD_SECRET, REDACTED, JsonFormatter, _may_hold_secret, redact, redact_text


@pytest.fixture
def log_lines(settings):
    """The production logging config (JSON formatter), written to a buffer; returns a reader of parsed lines."""
    stream = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"] = {**config["handlers"]["console"], "formatter": "json", "stream": stream}
    logging.config.dictConfig(config)

    def read():
        raw = stream.getvalue()
        return raw, [json.loads(line) for line in raw.splitlines()]

    yield read
    logging.config.dictConfig(settings.LOGGING)


def test_request_logs_one_json_line_with_request_id_and_user(make_client, free_user, log_lines):
    request_id = str(uuid.uuid4())
    client = make_client(free_user)
    token = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")

    response = client.get(reverse("api:user-me"), HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 200
    assert response["X-Request-ID"] == request_id
    raw, lines = log_lines()
    assert len(lines) == 1, raw
    line = lines[0]
    assert line["request_id"] == request_id
    assert line["user_id"] == str(free_user.pk)
    assert line["logger"] == "bazar.request"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", reverse("api:user-me"), 200)
    assert isinstance(line["duration_ms"], float)
    assert line["time"].endswith("+00:00")
    assert token not in raw
    assert "Bearer" not in raw
    assert "authorization" not in raw.lower()


def _record_at(nanoseconds: int) -> logging.LogRecord:
    with mock.patch("time.time_ns", return_value=nanoseconds):
        return logging.LogRecord("bazar.test", logging.INFO, __file__, 1, "at a time", None, None)


def test_the_time_is_utc_to_the_millisecond_in_every_second_a_formatter_sees():
    formatter = JsonFormatter()
    second = 1_700_000_000 * 10**9
    # Within one second, into the next, back to an earlier one (threads' lines can arrive out of order), and
    # the last millisecond and microsecond of a second (truncated, not rounded up into the next one).
    moments = [second + 5_000_000, second + 999_600_000, second + 10**9 + 400_000, second + 1, second + 999_999_000]

    written = [formatter.formatTime(_record_at(moment)) for moment in moments]

    expected = [
        datetime.fromtimestamp(moment // 10**9, tz=UTC).replace(microsecond=moment % 10**9 // 1000)
        for moment in moments
    ]
    assert written == [moment.isoformat(timespec="milliseconds") for moment in expected]
    assert written[1] == "2023-11-14T22:13:20.999+00:00" and written[2] == "2023-11-14T22:13:21.000+00:00"


def test_login_request_logs_neither_password_nor_tokens(api_client, free_user, password, log_lines):
    request_id = str(uuid.uuid4())

    response = api_client.post(
        reverse("api:auth:login") + "?token=query-secret-value",
        {"email": free_user.email, "password": password},
        HTTP_X_REQUEST_ID=request_id,
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    raw, lines = log_lines()
    assert len(lines) == 1, raw
    assert lines[0]["request_id"] == request_id
    assert lines[0]["status"] == 200
    for secret in (password, body["access"], body["refresh"], "query-secret-value"):
        assert secret not in raw


def test_request_id_is_generated_when_the_header_is_not_a_uuid(db, api_client, log_lines):
    response = api_client.get(reverse("api:health"), HTTP_X_REQUEST_ID="<script>\nforged")

    generated = response["X-Request-ID"]
    assert uuid.UUID(generated)
    raw, lines = log_lines()
    assert [line["request_id"] for line in lines] == [generated]
    assert "forged" not in raw


@pytest.mark.urls("bazar.tests.urls")
def test_lines_written_during_a_request_carry_its_id(db, log_lines):
    from rest_framework.test import APIClient

    request_id = uuid.uuid4().hex
    client = APIClient(raise_request_exception=False)

    response = client.get(reverse("test-plain-boom"), HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 500
    assert response["X-Request-ID"] == request_id
    raw, lines = log_lines()
    assert [line["logger"] for line in lines] == ["django.request", "bazar.request"], raw  # the error, then the line
    assert {line["request_id"] for line in lines} == {request_id}


def test_a_request_refused_before_any_view_still_gets_an_id_and_a_line(db, api_client, log_lines, settings):
    settings.REQUEST_MAX_BODY_SIZE = 10

    response = api_client.post(reverse("api:auth:login"), {"email": "x" * 40}, format="json")

    assert response.status_code == 413
    raw, lines = log_lines()
    assert [line["request_id"] for line in lines] == [response["X-Request-ID"]], raw
    assert uuid.UUID(response["X-Request-ID"])


def test_each_request_gets_its_own_id(db, api_client):
    ids = {api_client.get(reverse("api:health"))["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


def test_client_error_is_one_warning_line_without_user(db, api_client, log_lines):
    response = api_client.get(reverse("api:user-me"), HTTP_AUTHORIZATION="Bearer not-a-real-token-abcdef")

    assert response.status_code == 401
    raw, lines = log_lines()
    assert len(lines) == 1, raw
    assert (lines[0]["level"], lines[0]["status"], lines[0]["user_id"]) == ("WARNING", 401, None)
    assert "not-a-real-token-abcdef" not in raw


def test_log_calls_outside_a_request_carry_no_stale_request_id(db, api_client, log_lines):
    api_client.get(reverse("api:health"), HTTP_X_REQUEST_ID=str(uuid.uuid4()))

    logging.getLogger("bazar.test").info("after the request")

    _, lines = log_lines()
    assert lines[-1]["message"] == "after the request"
    assert lines[-1]["request_id"] is None


def test_json_formatter_masks_secrets_passed_by_mistake(log_lines):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJlLXZhbHVl"

    logging.getLogger("bazar.test").warning(
        "login for %s with password=%s header Authorization: Bearer %s",
        "a@example.com",
        "hunter2-secret",
        "opaque-access-token",
        extra={"payload": {"email": "a@example.com", "new_password": "pw-in-extra"}, "refresh_token": jwt},
    )

    raw, [line] = log_lines()
    for secret in ("hunter2-secret", "opaque-access-token", "pw-in-extra", jwt):
        assert secret not in raw
    assert line["payload"] == {"email": "a@example.com", "new_password": REDACTED}
    assert line["refresh_token"] == REDACTED
    assert "a@example.com" in line["message"]


def test_text_formatter_masks_secrets(settings, log_lines):
    stream = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"] = {**config["handlers"]["console"], "formatter": "text", "stream": stream}
    logging.config.dictConfig(config)

    logging.getLogger("bazar.test").info('{"email": "a@example.com", "password": "hunter2-secret"}')

    assert "hunter2-secret" not in stream.getvalue()
    assert '"password": "[REDACTED]"' in stream.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {REDACTED}"),
        ("GET /x?token=abc123&page=2", f"GET /x?token={REDACTED}&page=2"),
        ("current_password='old-one'", f"current_password='{REDACTED}'"),
        ("nothing to hide: status=200", "nothing to hide: status=200"),
    ],
)
def test_redact_text(text, expected):
    assert redact_text(text) == expected


def test_redact_keeps_harmless_values_and_masks_sensitive_keys():
    value = {"status": 200, "Cookie": "sessionid=abc", "items": [{"api_key": "k"}], "email": "a@b.c"}

    assert redact(value) == {"status": 200, "Cookie": REDACTED, "items": [{"api_key": REDACTED}], "email": "a@b.c"}


def _spellings(word: str) -> list[str]:
    return [
        word,
        word.upper(),
        word.title(),
        word.swapcase(),
        "".join(c.upper() if i % 2 else c for i, c in enumerate(word)),
    ]


# Written out from the regex, not taken from bazar.logging's word lists: a word missing there must fail here.
_GATE_WORDS = [
    "bearer",
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "apikey",
    "api-key",
    "api_key",
    "api key",
    "credential",
    "signature",
    "Basic",
    "basic",
    "BASIC",
    "eyJ",
    "eyj",
    "EYJ",
    "pass",
    "key",
]
_GATE_TEXTS = [
    f"{before}{spelling}{after}"
    for word in _GATE_WORDS
    for spelling in _spellings(word)
    for before, after in [("", ""), ("GET /x?", "=abc"), ("my_", "_field"), ("é ", " ü"), ("\u017f", "\u017f")]
] + ["", "nothing to hide: status=200", "\u017fecret=abc", "ToKen", "pas\u017fword", "api\u2010key", "İ token"]


def test_fast_secret_check_agrees_with_the_regex():
    disagreements = [text for text in _GATE_TEXTS if _may_hold_secret(text) != bool(_MAY_HOLD_SECRET.search(text))]

    assert len(_GATE_TEXTS) > 500
    assert disagreements == []


@pytest.mark.parametrize(
    "data",
    [
        {"message": "GET /api/v1/users/me/ 200 3ms", "status": 200, "duration_ms": 2.5, "user_id": None, "ok": True},
        {"message": "GET /x?token=abc 200 3ms", "status": 200},
        {"message": "fine", "detail": "Bearer abc.def"},
        {"message": "fine", "password": "hunter2"},
        {"message": "fine", "password": ""},
        {"message": "fine", "extra": {"api_key": "k"}},
        {"message": "fine", "items": ["eyJhbGciOi.eyJzdWIi.sig"]},
        {"message": "pass", "other": "word"},  # a word only across two values is no word
        {"message": "é \u017fecret=abc"},
    ],
)
def test_json_formatter_shortcut_changes_nothing_redact_would_change(data):
    assert JsonFormatter().process_log_record(dict(data)) == {key: redact(value, key) for key, value in data.items()}
