"""The OpenAPI schema generates cleanly and tells the truth; Swagger UI and ReDoc work offline (sidecar files
collected with hashed names and served by WhiteNoise as in production; no CDN, no inline script)."""

import re
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from drf_spectacular.drainage import GENERATOR_STATS

pytestmark = pytest.mark.django_db


# Production's storage is WhiteNoise's CompressedManifestStaticFilesStorage: this same manifest (hashed names, strict
# lookups) plus compression, which costs seconds and only concerns WhiteNoise.
MANIFEST_STORAGE = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """collectstatic once for this module (the docs need only the sidecar's files)."""
    from django.conf import settings

    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES={**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}):
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin", "rest_framework"])
    return root


@pytest.fixture
def collected(settings, static_root):
    settings.STATIC_ROOT = static_root
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}


@pytest.fixture(scope="module")
def generated(django_db_blocker) -> dict:
    """`manage.py spectacular --validate --fail-on-warn`, run once: the schema, the warnings, the failure if any."""
    GENERATOR_STATS.reset()
    out, err, failure = StringIO(), StringIO(), None
    with django_db_blocker.unblock():
        try:
            call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
        except Exception as exc:
            failure = exc
    return {
        "schema": yaml.safe_load(out.getvalue()) if out.getvalue() else None,
        "stderr": err.getvalue(),
        "failure": failure,
    }


@pytest.fixture
def schema(generated) -> dict:
    assert generated["schema"], generated
    return generated["schema"]


def _attribute_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


def _operation(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][path][method]


def _response_ref(operation: dict, status: str) -> str:
    return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def test_schema_validates_without_warnings(generated):
    assert generated["failure"] is None, generated["stderr"]
    assert "Warning" not in generated["stderr"]
    assert "Error" not in generated["stderr"]


def test_schema_endpoint_answers(api_client):
    response = api_client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert "/api/v1/auth/login/" in response.json()["paths"]


def test_schema_documents_bearer_auth(schema):
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert {"jwtAuth": []} in _operation(schema, "/api/v1/users/me/", "get")["security"]


@pytest.mark.parametrize(
    ("path", "status", "component"),
    [
        ("/api/v1/auth/register/", "201", "User"),
        ("/api/v1/auth/login/", "200", "LoginResponse"),
        ("/api/v1/auth/refresh/", "200", "TokenPair"),
        ("/api/v1/auth/verify/", "200", "User"),
        ("/api/v1/auth/verify/resend/", "202", "Detail"),
        ("/api/v1/auth/forgot-password/", "202", "Detail"),
        ("/api/v1/auth/reset-password/", "200", "Detail"),
        ("/api/v1/auth/change-password/", "200", "TokenPair"),
        ("/api/v1/auth/login/", "401", "UnauthorizedResponse"),
        ("/api/v1/auth/login/", "403", "ForbiddenResponse"),
        ("/api/v1/auth/login/", "429", "TooManyRequestsResponse"),
        ("/api/v1/auth/refresh/", "401", "UnauthorizedResponse"),
        ("/api/v1/auth/logout/", "401", "UnauthorizedResponse"),
    ],
)
def test_schema_auth_responses_match_the_wire(schema, path, status, component):
    assert _response_ref(_operation(schema, path, "post"), status) == component


def test_schema_login_response_shape(schema):
    login = schema["components"]["schemas"]["LoginResponse"]

    assert set(login["properties"]) == {"access", "refresh", "user"}
    assert login["properties"]["user"]["$ref"].endswith("/User")


def test_schema_logout_answers_204_without_body(schema):
    response = _operation(schema, "/api/v1/auth/logout/", "post")["responses"]["204"]

    assert "content" not in response


def test_schema_user_updates_answer_a_user(schema):
    for method in ("put", "patch"):
        assert _response_ref(_operation(schema, "/api/v1/users/{id}/", method), "200") == "User"


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _alternatives(schema: dict, node: dict) -> list[dict]:
    node = _resolve(schema, node)
    if "oneOf" in node:
        return [alt for option in node["oneOf"] for alt in _alternatives(schema, option)]
    return [node]


def _permits(schema: dict, node: dict, value: str) -> bool:
    """A string property permits a value unless it enumerates others."""
    node = _resolve(schema, node)
    if "allOf" in node:
        return all(_permits(schema, part, value) for part in node["allOf"])
    return "enum" not in node or value in node["enum"]


def _documents_400(schema: dict, path: str, method: str, attr: str, code: str) -> bool:
    """Whether the documented 400 body of an operation allows an error with this attr and code."""
    body = _operation(schema, path, method)["responses"]["400"]["content"]["application/json"]["schema"]
    for response in _alternatives(schema, body):
        for error in _alternatives(schema, response["properties"]["errors"]["items"]):
            properties = error["properties"]
            if _permits(schema, properties["attr"], attr) and _permits(schema, properties["code"], code):
                return True
    return False


@pytest.mark.parametrize(
    ("path", "method", "attr", "code"),
    [
        ("/api/v1/auth/register/", "post", "email", "email_taken"),
        ("/api/v1/auth/register/", "post", "password", "password_too_short"),
        ("/api/v1/auth/register/", "post", "password", "password_too_common"),
        ("/api/v1/auth/verify/", "post", "token", "token_invalid"),
        ("/api/v1/auth/verify/", "post", "token", "token_expired"),
        ("/api/v1/auth/reset-password/", "post", "token", "token_invalid"),
        ("/api/v1/auth/reset-password/", "post", "password", "password_entirely_numeric"),
        ("/api/v1/auth/change-password/", "post", "current_password", "wrong_password"),
        ("/api/v1/auth/change-password/", "post", "new_password", "password_too_similar"),
        ("/api/v1/users/me/", "patch", "email", "email_taken"),
        ("/api/v1/auth/login/", "post", None, "parse_error"),
    ],
)
def test_schema_400_allows_the_service_error_codes(schema, path, method, attr, code):
    assert _documents_400(schema, path, method, attr, code)


def test_schema_health_documents_503(schema):
    responses = _operation(schema, "/api/v1/health/", "get")["responses"]

    assert _response_ref({"responses": responses}, "200") == _response_ref({"responses": responses}, "503") == "Health"


@pytest.mark.parametrize("name", ["swagger-ui", "redoc"])
def test_docs_pages_load_only_local_files(api_client, collected, name):
    response = api_client.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html
    assert "https://" not in html
    urls = _attribute_urls(html)
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        asset = api_client.get(url)
        assert asset.status_code == 200, url
        asset.close()


@pytest.mark.parametrize("name", ["swagger-ui", "redoc"])
def test_docs_pages_have_no_inline_scripts(api_client, collected, name):
    """The CSP (script-src 'self') would block an inline script, leaving a blank page."""
    response = api_client.get(reverse(name))

    assert "script-src 'self'" in response["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.content.decode(), flags=re.DOTALL)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes
        assert not body.strip()


def test_swagger_init_script_points_at_the_schema(api_client, collected):
    html = api_client.get(reverse("swagger-ui")).content.decode()
    [script_url] = [url for url in _attribute_urls(html) if "script" in url]

    response = api_client.get(script_url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert reverse("schema") in response.content.decode()


def test_redoc_page_points_at_the_schema(api_client, collected):
    html = api_client.get(reverse("redoc")).content.decode()

    assert f'spec-url="{reverse("schema")}"' in html
