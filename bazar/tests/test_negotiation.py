"""Content negotiation: DRF's choice of renderer, remembered per Accept header, format and renderers."""

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer, TemplateHTMLRenderer
from rest_framework.request import Request

from bazar.negotiation import ContentNegotiation

ME = reverse("api:user-me")
SCHEMA = reverse("schema")


@pytest.fixture(autouse=True)
def _forget():
    ContentNegotiation.forget()
    yield
    ContentNegotiation.forget()


@pytest.mark.django_db
def test_a_repeated_accept_header_is_answered_from_memory(make_client, free_user, monkeypatch):
    client = make_client(free_user)
    first = client.get(ME, HTTP_ACCEPT="application/json")

    def no_second_parse(*args, **kwargs):
        raise AssertionError("negotiated again")

    monkeypatch.setattr("rest_framework.negotiation.DefaultContentNegotiation.select_renderer", no_second_parse)
    again = client.get(ME, HTTP_ACCEPT="application/json")

    assert first.status_code == again.status_code == 200
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again.json() == first.json()


RENDERERS = [JSONRenderer, TemplateHTMLRenderer, StaticHTMLRenderer]


@pytest.mark.parametrize(
    ("accept", "format_"),
    [
        ("application/json", None),
        ("*/*", None),
        (None, None),
        ("application/json; indent=4", None),
        ("text/html;q=0.9, application/json", None),
        ("text/html, application/json;q=0.5", None),
        ("text/*", None),
        ("*/*", "html"),
        ("application/json", "json"),
    ],
)
def test_the_choice_is_drfs_first_time_and_from_memory(rf, accept, format_):
    query = {"format": format_} if format_ else {}
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    def choose(negotiation):
        renderers = [renderer() for renderer in RENDERERS]
        renderer, media_type = negotiation.select_renderer(Request(rf.get("/", query, **headers)), renderers)
        return type(renderer), media_type

    drf = choose(DefaultContentNegotiation())
    first = choose(ContentNegotiation())
    remembered = choose(ContentNegotiation())

    assert first == remembered == drf
    assert len(ContentNegotiation._chosen) == 1


def test_every_part_of_the_request_that_decides_is_remembered_apart(rf):
    """One after another in the same process: the Accept header, the format and the view's renderers each decide."""
    cases = [
        ("*/*", None, RENDERERS),
        ("*/*", "html", RENDERERS),
        ("*/*", None, list(reversed(RENDERERS))),
        ("text/html", None, RENDERERS),
        ("*/*", None, RENDERERS),
    ]
    for accept, format_, classes in cases:
        query = {"format": format_} if format_ else {}
        answers = []
        for negotiation in (ContentNegotiation(), DefaultContentNegotiation()):
            renderers = [renderer() for renderer in classes]
            renderer, media_type = negotiation.select_renderer(
                Request(rf.get("/", query, HTTP_ACCEPT=accept)), renderers
            )
            answers.append((type(renderer), media_type))
        assert answers[0] == answers[1], (accept, format_, classes)


@pytest.mark.parametrize(("accept", "format_", "error"), [("text/csv", None, NotAcceptable), ("*/*", "csv", Http404)])
def test_refusals_are_drfs_and_never_remembered(rf, accept, format_, error):
    query = {"format": format_} if format_ else {}
    for _ in range(2):
        with pytest.raises(error):
            ContentNegotiation().select_renderer(
                Request(rf.get("/", query, HTTP_ACCEPT=accept)), [renderer() for renderer in RENDERERS]
            )
    assert ContentNegotiation._chosen == {}


@pytest.mark.django_db
def test_an_unacceptable_accept_header_is_refused_every_time(make_client, free_user):
    client = make_client(free_user)
    ok = client.get(ME, HTTP_ACCEPT="application/json")
    refused = [client.get(ME, HTTP_ACCEPT="text/csv") for _ in range(2)]

    assert ok.status_code == 200
    assert [r.status_code for r in refused] == [406, 406]
    assert refused[1].json()["errors"][0]["code"] == "not_acceptable"


@pytest.mark.django_db
def test_views_with_other_renderers_negotiate_for_themselves(make_client, superadmin):
    """The schema view offers YAML and JSON; the same Accept header picks from each view's own renderers."""
    client = make_client(superadmin)
    me, schema_json, schema_yaml = (
        client.get(ME, HTTP_ACCEPT="*/*"),
        client.get(SCHEMA, HTTP_ACCEPT="application/vnd.oai.openapi+json"),
        client.get(SCHEMA, HTTP_ACCEPT="*/*"),
    )

    assert me["Content-Type"] == "application/json"
    assert schema_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert schema_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert not schema_yaml["Content-Type"].startswith("application/vnd.oai.openapi+json")


def test_memory_is_bounded(rf):
    negotiation = ContentNegotiation()
    for n in range(ContentNegotiation.REMEMBERED + 10):
        request = Request(rf.get("/", HTTP_ACCEPT=f"application/json; v={n}"))
        negotiation.select_renderer(request, [JSONRenderer()])

    assert len(ContentNegotiation._chosen) <= ContentNegotiation.REMEMBERED
