"""The session user and flash messages run for the admin and are skipped for the stateless API."""

import pytest
from django.urls import reverse

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
def test_the_admin_keeps_the_session_user_and_messages(client, superadmin):
    login_page = client.get(reverse("admin:login"))
    client.force_login(superadmin)
    index = client.get(reverse("admin:index"))

    assert "csrftoken" in login_page.cookies
    assert index.status_code == 200
    assert index.wsgi_request.user == superadmin
    assert hasattr(index.wsgi_request, "auser") and hasattr(index.wsgi_request, "_messages")
