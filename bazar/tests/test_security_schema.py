"""The schema tells the truth about DRF's own 400 answers (bazar/openapi.py), so the fuzz step can hold it to it."""

import re

import pytest
from django.urls import reverse

from assistants.tests.factories import ThreadFactory


@pytest.fixture
def schema(api_client, db) -> dict:
    return api_client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _alternatives(schema: dict, node: dict) -> list[dict]:
    node = _resolve(schema, node)
    if "oneOf" in node:
        return [alternative for option in node["oneOf"] for alternative in _alternatives(schema, option)]
    return [node]


def _permits(schema: dict, node: dict, value) -> bool:
    node = _resolve(schema, node)
    if "enum" in node:
        return value in node["enum"]
    if "pattern" in node:
        return isinstance(value, str) and re.search(node["pattern"], value) is not None
    return value is not None or node.get("nullable", False)


def _documented(schema: dict, path: str, method: str, attr, code) -> bool:
    body = schema["paths"][path][method]["responses"]["400"]["content"]["application/json"]["schema"]
    for response in _alternatives(schema, body):
        for error in _alternatives(schema, response["properties"]["errors"]["items"]):
            if _permits(schema, error["properties"]["attr"], attr) and _permits(
                schema, error["properties"]["code"], code
            ):
                return True
    return False


def _errors(response) -> list[tuple]:
    assert response.status_code == 400, response.content
    return [(error["attr"], error["code"]) for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/files/", {"search": "a\x00b"}),
        ("/api/v1/users/", {"search": "a\x00b"}),
        ("/api/v1/threads/", {"organization": "a\x00b", "assistant": "a\x00b"}),
    ],
)
def test_schema_documents_nul_characters_in_search_and_relation_filters(schema, make_client, superadmin, path, query):
    response = make_client(superadmin).get(path, query)

    errors = _errors(response)
    assert "null_characters_not_allowed" in {code for _, code in errors}
    for attr, code in errors:
        assert _documented(schema, path, "get", attr, code), (attr, code)


def test_schema_documents_malformed_uuid_ids_of_related_objects(schema, make_client, free_user):
    response = make_client(free_user).post(reverse("api:thread-list"), {"assistant": "not-a-uuid"}, format="json")

    for attr, code in _errors(response):
        assert _documented(schema, "/api/v1/threads/", "post", attr, code), (attr, code)


def test_schema_documents_errors_of_list_items_by_index(schema, make_client, free_user):
    thread = ThreadFactory(owner=free_user)
    url = reverse("api:thread-message-list", kwargs={"thread_pk": thread.pk})

    response = make_client(free_user).post(url, {"content": "hi", "file_ids": ["not-a-uuid"]}, format="json")

    errors = _errors(response)
    assert errors == [("file_ids.0", "invalid")]
    assert _documented(schema, "/api/v1/threads/{thread_pk}/messages/", "post", *errors[0])
    assert not _documented(schema, "/api/v1/threads/{thread_pk}/messages/", "post", "file_idsX0", "invalid")
