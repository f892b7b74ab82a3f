"""Sessions, CSRF, the session user and flash messages run for the admin and are skipped for the stateless API; the
CSP header is built once per settings policy."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.base import BaseHandler
from django.http import HttpResponse
from django.urls import reverse
from django.utils.csp import CSP, build_policy

from bazar.middleware import ContentSecurityPolicyMiddleware

ME = reverse("api:user-me")
HEALTH = reverse("api:health")


@pytest.mark.django_db
def test_api_requests_skip_the_session_user_and_messages_even_with_a_session_cookie(client, superadmin, make_client):
    client.force_login(superadmin)  # a browser that is signed in to the admin
    from_the_browser = client.get(ME)
    with_a_token = make_client(superadmin).get(ME)

    assert from_the_browser.status_code == 401  # a session never authenticates the API
    assert with_a_token.status_code == 200
    for response in (from_the_browser, with_a_token, client.get(HEALTH)):
        request = response.wsgi_request
        assert not hasattr(request, "auser") and not hasattr(request, "_messages")


@pytest.mark.django_db
def test_api_requests_skip_sessions_and_csrf_and_keep_the_middleware_around_them(client, superadmin, make_client):
    client.force_login(superadmin)
    response = make_client(superadmin).get(ME)
    refused = client.post(ME, {})  # a cookie-only POST: the API answers 401, never a CSRF 403

    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "session")
    assert response.cookies == {} and "Cookie" not in response.get("Vary", "")
    assert refused.status_code == 401
    # Before the stretch (security, CORS, common) and after it (frame options, CSP) still run.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_an_api_request_with_a_host_not_allowed_is_refused(api_client):
    response = api_client.get(HEALTH, HTTP_HOST="attacker.example")

    assert response.status_code == 400


START, END, COMMON = (
    "bazar.middleware.APISkipsFromHere",
    "bazar.middleware.api_rejoins_here",
    "django.middleware.common.CommonMiddleware",
)


@pytest.mark.parametrize("middleware", [[START, COMMON], [COMMON, END], [END, COMMON, START]])
def test_the_stretch_needs_both_marks_in_order(settings, middleware):
    settings.MIDDLEWARE = middleware

    with pytest.raises(ImproperlyConfigured, match="api_rejoins_here must follow"):
        BaseHandler().load_middleware()


def test_an_end_mark_without_its_start_leaves_nothing_for_the_next_chain(settings):
    settings.MIDDLEWARE = [COMMON, END]
    with pytest.raises(ImproperlyConfigured):
        BaseHandler().load_middleware()
    settings.MIDDLEWARE = [START, COMMON, END]
    handler = BaseHandler()
    handler.load_middleware()  # the chain of its own end mark, built as usual

    settings.MIDDLEWARE = [START, COMMON]
    with pytest.raises(ImproperlyConfigured):
        BaseHandler().load_middleware()


@pytest.mark.django_db
def test_the_admin_keeps_the_session_user_and_messages(client, superadmin):
    login_page = client.get(reverse("admin:login"))
    client.force_login(superadmin)
    index = client.get(reverse("admin:index"))

    assert "csrftoken" in login_page.cookies
    assert "Cookie" in login_page["Vary"]
    assert index.status_code == 200
    assert index.wsgi_request.user == superadmin
    assert hasattr(index.wsgi_request, "auser") and hasattr(index.wsgi_request, "_messages")


def test_the_csp_header_is_the_settings_policy_and_follows_its_changes(db, api_client, settings):
    assert api_client.get(HEALTH)["Content-Security-Policy"] == build_policy(settings.SECURE_CSP)

    settings.SECURE_CSP = {"default-src": [CSP.NONE]}
    settings.SECURE_CSP_REPORT_ONLY = {"img-src": [CSP.SELF]}
    response = api_client.get(HEALTH)

    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["Content-Security-Policy-Report-Only"] == "img-src 'self'"
    assert all(type(name) is str for name in response.headers)  # what WSGI servers accept (wsgiref asserts it)


def test_a_csp_naming_a_nonce_gets_the_nonce_of_each_response(settings, rf):
    settings.SECURE_CSP = {"script-src": [CSP.SELF, CSP.NONCE]}

    def page_using_its_nonce(request):  # as a template writing {{ csp_nonce }} would
        return HttpResponse(str(request._csp_nonce))

    middleware = ContentSecurityPolicyMiddleware(page_using_its_nonce)
    responses = [middleware(rf.get("/admin/")) for _ in range(2)]

    for response in responses:
        assert response["Content-Security-Policy"] == f"script-src 'self' 'nonce-{response.content.decode()}'"
    assert responses[0].content != responses[1].content


CORS_CASES = {
    "API, no Origin": ("get", "/api/v1/health/", {}),
    "API write, no Origin": ("post", "/api/v1/auth/login/", {}),
    "admin, no Origin": ("get", "/admin/login/", {}),
    "API, listed Origin": ("get", "/api/v1/health/", {"HTTP_ORIGIN": "https://app.example.com"}),
    "API, other Origin": ("get", "/api/v1/health/", {"HTTP_ORIGIN": "https://evil.example"}),
    "admin, listed Origin": ("get", "/admin/login/", {"HTTP_ORIGIN": "https://app.example.com"}),
    "preflight": (
        "options",
        "/api/v1/auth/login/",
        {"HTTP_ORIGIN": "https://app.example.com", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"},
    ),
    "preflight without Origin": ("options", "/api/v1/auth/login/", {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"}),
    "OPTIONS, no Origin": ("options", "/api/v1/auth/login/", {}),
}


@pytest.mark.parametrize("case", CORS_CASES)
def test_cors_answers_as_django_cors_headers_does(case, rf, settings):
    """The short way for requests without an Origin changes no answer: each header equals the library's own."""
    from corsheaders.middleware import CorsMiddleware as LibraryCorsMiddleware

    from bazar.middleware import CorsMiddleware

    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    method, path, headers = CORS_CASES[case]

    def answer(middleware_class):
        def view(request):
            response = HttpResponse("view")
            response["Vary"] = "Accept"  # as DRF's answers carry
            return response

        return middleware_class(view)(getattr(rf, method)(path, **headers))

    ours, theirs = answer(CorsMiddleware), answer(LibraryCorsMiddleware)

    assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content)
    assert dict(ours.headers) == dict(theirs.headers)
    if path.startswith("/api/"):
        assert "origin" in ours["Vary"].lower()
