from django.urls import reverse

from accounts.tests.factories import UserFactory
from accounts.tokens import VERIFY_EMAIL, make_email_token

OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40


def test_verify_link_mailed_before_rotation_works_when_old_key_is_a_fallback(db, settings, api_client):
    user = UserFactory(is_verified=False, verified_at=None)
    settings.SECRET_KEY = OLD_KEY
    token = make_email_token(user, VERIFY_EMAIL)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]

    response = api_client.post(reverse("api:auth:verify"), {"token": token})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.is_verified


def test_verify_link_from_a_retired_key_is_refused(db, settings, api_client):
    user = UserFactory(is_verified=False, verified_at=None)
    settings.SECRET_KEY = OLD_KEY
    token = make_email_token(user, VERIFY_EMAIL)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, []

    response = api_client.post(reverse("api:auth:verify"), {"token": token})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "token_invalid"
    user.refresh_from_db()
    assert not user.is_verified


def test_empty_jwt_signing_key_falls_back_to_secret_key(monkeypatch):
    import importlib

    import bazar.settings

    monkeypatch.setenv("JWT_SIGNING_KEY", "")
    monkeypatch.setenv("SECRET_KEY", NEW_KEY)
    reloaded = importlib.reload(bazar.settings)
    try:
        assert reloaded.SIMPLE_JWT["SIGNING_KEY"] == NEW_KEY
    finally:
        monkeypatch.undo()
        importlib.reload(bazar.settings)
