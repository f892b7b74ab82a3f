"""/api/v1/health/ checks the real database and cache: 200 when both answer, 503 when either is down."""

import copy
import logging
import socket
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connections
from django.db.utils import load_backend
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("api:health")


def _closed_port() -> int:
    """A local TCP port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database_unreachable(directory):
    """Point the default connection at a database that cannot be reached, until the block ends."""
    original = connections["default"]
    settings_dict = copy.deepcopy(original.settings_dict)
    if original.vendor == "sqlite":
        settings_dict["NAME"] = str(directory / "no-such-directory" / "db.sqlite3")
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()), OPTIONS={"connect_timeout": 2})
    broken = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias="default")
    connections["default"] = broken
    try:
        yield
    finally:
        broken.close()
        connections["default"] = original


@pytest.fixture
def unreachable_database(tmp_path):
    with database_unreachable(tmp_path):
        yield


@pytest.fixture
def unreachable_cache(settings):
    """The production cache configuration (django-redis, errors ignored) against a Redis that is down."""
    location = f"redis://127.0.0.1:{_closed_port()}/0"
    options = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": 0.5,
        "SOCKET_TIMEOUT": 0.5,
        "IGNORE_EXCEPTIONS": True,
    }
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location, "OPTIONS": options},
        "strict": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {**options, "IGNORE_EXCEPTIONS": False},
        },
    }


def test_health_ok(api_client):
    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert response["X-Request-ID"]


def test_health_needs_no_credentials_and_ignores_bad_ones(api_client):
    response = api_client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 200


def test_health_is_503_when_the_database_is_down(api_client, unreachable_database, caplog):
    with caplog.at_level(logging.ERROR, logger="bazar.health"):
        response = api_client.get(URL)

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "cache": "ok"}
    [record] = [r for r in caplog.records if r.name == "bazar.health"]
    assert issubclass(record.exc_info[0], OperationalError)


def test_health_is_503_when_the_cache_is_down(api_client, unreachable_cache, caplog):
    with caplog.at_level(logging.ERROR, logger="bazar.health"):
        response = api_client.get(URL)

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "cache": "unavailable"}
    assert [r for r in caplog.records if r.name == "bazar.health"]


def test_health_is_503_when_both_are_down(api_client, unreachable_database, unreachable_cache):
    response = api_client.get(URL)

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "cache": "unavailable"}


def test_health_recovers_once_the_database_is_back(api_client, tmp_path):
    with database_unreachable(tmp_path):
        assert api_client.get(URL).status_code == 503

    assert api_client.get(URL).status_code == 200
