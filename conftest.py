"""Shared fixtures: an API client, users per role and plan, and a way to log them in."""

import pytest
from rest_framework.test import APIClient

from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import token_pair_for


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    # A fast hasher keeps the suite quick; Argon2 stays the production default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = settings.BASE_DIR / ".pytest-media"
    # Pages that link static files (the admin) need no collectstatic manifest; production keeps whitenoise's.
    static_storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": static_storage}


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def make_client():
    """An API client authenticated as the given user with a real access token."""

    def _make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")
        return client

    return _make


@pytest.fixture
def free_user(db):
    return UserFactory(plan=Plan.FREE)


@pytest.fixture
def plus_user(db):
    return UserFactory(plan=Plan.PLUS)


@pytest.fixture
def premium_user(db):
    return UserFactory(plan=Plan.PREMIUM)


@pytest.fixture
def staff_admin(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def superadmin(db):
    return UserFactory(role=Role.SUPERADMIN)
