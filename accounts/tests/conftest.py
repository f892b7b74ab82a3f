"""Fixtures of the accounts tests."""

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.utils import FRONTEND_URL


@pytest.fixture(autouse=True)
def _frontend_url(settings):
    # A distinctive value proves the links are built from the setting.
    settings.FRONTEND_URL = FRONTEND_URL


@pytest.fixture
def unverified_user(db):
    return UserFactory(is_verified=False, verified_at=None)
