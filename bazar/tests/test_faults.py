"""Faults with real servers: a Redis that dies and comes back, a PostgreSQL restarted under load, and writes
that fail half-way. The server tests are `slow`; they skip when the binaries are missing, but fail under CI=true."""

import contextlib
import glob
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from accounts import errors
from accounts.lockout import lockout_clear
from accounts.models import User
from accounts.tests.factories import UserFactory
from bazar import idempotency

ORGANIZATIONS = "/api/v1/organizations/"
NO_DAEMON = ("--daemonize", "no")


def _require_binary(path: str | None, what: str) -> str:
    """The binary's path; a missing one skips the test locally and fails it in CI."""
    if path and os.access(path, os.X_OK):
        return path
    message = f"{what} is not installed (Debian package: apt-get install {what.split()[0]})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


# ---------------------------------------------------------------- Redis goes away and comes back


class RedisServer:
    """A throwaway redis-server on a spare port, without persistence."""

    def __init__(self, binary: str):
        self.binary, self.port, self.process = binary, _free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                *NO_DAEMON,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server():
    server = RedisServer(_require_binary(shutil.which("redis-server"), "redis-server"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_cache(redis_server, settings):
    """Point the caches at the throwaway Redis, configured as production is (errors become misses)."""
    options = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": 0.5,
        "SOCKET_TIMEOUT": 0.5,
        "IGNORE_EXCEPTIONS": True,
    }
    default = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_server.url,
        "KEY_PREFIX": "faults",
        "OPTIONS": options,
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.CACHES = {"default": default, "strict": {**default, "OPTIONS": {**options, "IGNORE_EXCEPTIONS": False}}}
    cache.clear()
    yield redis_server
    from django_redis import get_redis_connection

    with contextlib.suppress(Exception):  # a test may leave Redis down: nothing to clean then
        get_redis_connection("default").flushdb()


@pytest.mark.slow
@pytest.mark.urls("bazar.tests.urls")
def test_api_keeps_serving_through_a_redis_outage_and_recovers(
    redis_cache, api_client, make_client, free_user, password, settings, caplog
):
    settings.LOGIN_FAILURE_LIMIT = 3
    client = make_client(free_user)
    me = reverse("api:user-me")
    assert api_client.get(reverse("api:health")).json()["cache"] == "ok"
    cache.set("probe", "up")
    assert cache.get("probe") == "up"

    redis_cache.kill()
    caplog.set_level(logging.WARNING)

    # Reads and writes go on; the cache only misses.
    assert client.get(me).status_code == 200
    assert client.patch(me, {"full_name": "Written During Outage"}, format="json").status_code == 200
    registered = api_client.post(
        reverse("api:auth:register"), {"email": "outage@example.com", "password": "Zq8!long-enough"}
    )
    assert registered.status_code == 201
    assert (
        api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": password}).status_code == 200
    )
    assert cache.get("probe") is None
    health = api_client.get(reverse("api:health"))
    assert (health.status_code, health.json()["cache"]) == (503, "unavailable")
    free_user.refresh_from_db()
    assert free_user.full_name == "Written During Outage"
    assert User.objects.filter(email="outage@example.com").exists()

    # Brute-force protection still holds.
    attempts = [
        api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": f"guess-{n}"})
        for n in range(3)
    ]
    assert [response.status_code for response in attempts] == [401, 401, 429]
    assert _codes(attempts[-1]) == [errors.ACCOUNT_LOCKED]
    locked = api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": password})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0

    # A keyed POST refuses to run unprotected (503, retry later with the same key); unkeyed, it is served.
    client.raise_request_exception = False  # a 503 is reported like any server-side failure
    keyed = client.post(reverse("test-things"), {"name": "keyed"}, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")
    assert keyed.status_code == 503
    assert _codes(keyed) == [idempotency.UNAVAILABLE]
    assert client.post(reverse("test-things"), {"name": "unkeyed"}, format="json").status_code == 201

    # The outage is logged, by django-redis and by the lockout's fallback.
    logged = {record.name for record in caplog.records if record.levelno >= logging.WARNING}
    assert "accounts.lockout" in logged
    assert any(name.startswith("django_redis") for name in logged)

    redis_cache.start()

    assert api_client.get(reverse("api:health")).status_code == 200
    cache.set("probe", "back")
    assert cache.get("probe") == "back"
    # The lock recorded during the outage still holds until staff clear it (or it expires).
    assert (
        api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": password}).status_code == 429
    )
    lockout_clear(email=free_user.email)
    assert (
        api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": password}).status_code == 200
    )
    # Counting is shared again: failures land in Redis.
    api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": "guess-after"})
    assert any(b"lockout:failures" in key for key in _redis_keys(redis_cache))


def _redis_keys(server: RedisServer) -> list[bytes]:
    import redis

    return redis.Redis.from_url(server.url).keys("*")


# ---------------------------------------------------------------- PostgreSQL restarted under load


def _postgres_bin() -> Path:
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(_require_binary(initdb[-1] if initdb else None, "postgresql (initdb)")).parent


class PostgresCluster:
    """A throwaway cluster in a temporary directory, run as the `postgres` user when we are root."""

    def __init__(self, bindir: Path):
        self.bindir, self.port = bindir, _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="bazar-pg-"))
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = _require_binary(shutil.which("runuser"), "util-linux (runuser)")
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.root)], check=True)
            self.prefix = [runuser, "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", *args)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def postgres_cluster():
    cluster = PostgresCluster(_postgres_bin())
    try:
        cluster.init()
        cluster.pg_ctl("start")
        yield cluster
    finally:
        cluster.stop()


def _app_env(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "REDIS_"))}
    fast = "100000/min"
    env.update(
        DATABASE_URL=database_url,
        DB_POOL_MIN_SIZE="2",
        DB_POOL_MAX_SIZE="6",
        DB_POOL_TIMEOUT="20",
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        GUNICORN_ACCESS_LOG="false",
        TASKS_BACKEND="django.tasks.backends.immediate.ImmediateBackend",
        EMAIL_URL="consolemail://",
        THROTTLE_PLAN_FREE=fast,
        THROTTLE_PLAN_PLUS=fast,
        THROTTLE_PLAN_PREMIUM=fast,
        THROTTLE_STAFF=fast,
        THROTTLE_LOGIN=fast,
        THROTTLE_ANON=fast,
    )
    return env


def _http(method: str, url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


@pytest.fixture
def live_app(postgres_cluster):
    """gunicorn (the project's gunicorn.conf.py: gthread workers) against the throwaway cluster."""
    import psycopg

    with psycopg.connect(postgres_cluster.url(), autocommit=True) as connection:
        connection.execute("CREATE DATABASE bazar_faults")
    env = _app_env(postgres_cluster.url("bazar_faults"))
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    seed = (
        "from accounts.services import user_create;"
        "user_create(email='load@example.com', password='Load-test-pass-1', is_verified=True, send_verification=False)"
    )
    for command in (["migrate", "--noinput"], ["shell", "-c", seed]):
        result = subprocess.run([*manage, *command], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]

    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    log = open(postgres_cluster.root / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [gunicorn, "bazar.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
        cwd=settings.BASE_DIR,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, timeout=60)
        yield {"base": f"http://127.0.0.1:{port}", "cluster": postgres_cluster, "log": log.name}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_postgres_restart_under_load_loses_almost_nothing_and_half_writes_nothing(live_app):
    import psycopg

    base, cluster = live_app["base"], live_app["cluster"]
    status, body = _http(
        "POST", f"{base}/api/v1/auth/login/", body={"email": "load@example.com", "password": "Load-test-pass-1"}
    )
    assert status == 200, status
    token = body["access"]

    total, restart_at = 600, 200
    done = threading.Semaphore(0)
    created: list[str] = []

    def one(n: int) -> tuple[int, int]:
        if n % 3 == 0:
            status, body = _http("POST", f"{base}{ORGANIZATIONS}", token, {"name": f"Load {n}"})
            if status == 201:
                created.append(body["id"])
            expected = 201
        elif n % 3 == 1:
            status, _ = _http("GET", f"{base}{ORGANIZATIONS}", token)
            expected = 200
        else:
            status, _ = _http("GET", f"{base}/api/v1/users/me/", token)
            expected = 200
        done.release()
        return n, status if status != expected else 0

    def restart() -> float:
        for _ in range(restart_at):
            done.acquire()
        started = time.monotonic()
        cluster.pg_ctl("restart", "-m", "fast")
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=9) as pool:
        restarter = pool.submit(restart)
        results = list(pool.map(one, range(total)))
        restart_seconds = restarter.result(timeout=120)

    failures = [(n, status) for n, status in results if status]
    retried = Path(live_app["log"]).read_text(errors="replace").count("running it again")
    print(f"postgres restart ({restart_seconds:.1f}s) under load: {len(failures)}/{total} failed, {retried} retried")
    assert len(failures) <= total * 0.005, f"{len(failures)} of {total} failed: {failures[:20]}"
    assert restart_seconds > 0

    with psycopg.connect(cluster.url("bazar_faults")) as connection:
        orphans = connection.execute(
            "SELECT count(*) FROM organizations o WHERE NOT EXISTS ("
            " SELECT 1 FROM memberships m WHERE m.organization_id = o.id AND m.role = 'OWNER')"
        ).fetchone()[0]
        stored = {str(row[0]) for row in connection.execute("SELECT id FROM organizations").fetchall()}
    assert orphans == 0
    # Every acknowledged write is there.
    assert set(created) <= stored
    assert len(created) >= (total // 3) * 0.99


# ---------------------------------------------------------------- writes that fail half-way leave nothing


class Boom(RuntimeError):
    pass


def _raise(*args, **kwargs):
    raise Boom("simulated failure in the middle of a write")


@pytest.fixture
def quiet_client(make_client, free_user):
    client = make_client(free_user)
    client.raise_request_exception = False
    return client


def test_organization_create_leaves_nothing_when_owner_membership_fails(quiet_client, monkeypatch):
    from organizations.models import Membership, Organization

    monkeypatch.setattr(Membership.objects, "create", _raise)

    response = quiet_client.post(reverse("api:organization-list"), {"name": "Half Written"}, format="json")

    assert response.status_code == 500
    assert Organization.objects.count() == 0


def test_register_leaves_no_user_when_the_verification_mail_cannot_be_queued(api_client, db, monkeypatch):
    from accounts import emails

    class BrokenTask:
        enqueue = staticmethod(_raise)

    monkeypatch.setattr(emails, "send_verification_email", BrokenTask())
    api_client.raise_request_exception = False

    response = api_client.post(
        reverse("api:auth:register"), {"email": "half@example.com", "password": "Zq8!long-enough"}
    )

    assert response.status_code == 500
    assert not User.objects.filter(email="half@example.com").exists()


def test_org_user_create_rolls_back_user_and_queued_mail_when_membership_fails(db, settings, monkeypatch):
    """User + membership + mail: with the database task backend the mail is a row in the same transaction."""
    from django_tasks_db.models import DBTaskResult

    from organizations import services as org_services
    from organizations.models import Membership, OrgRole

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    admin = UserFactory(plan="PREMIUM")
    organization = org_services.organization_create(name="Acme", created_by=admin)
    users_before, tasks_before = User.objects.count(), DBTaskResult.objects.count()
    monkeypatch.setattr(Membership.objects, "create", _raise)

    with pytest.raises(Boom):
        org_services.org_user_create(
            organization=organization, email="new-member@example.com", actor=admin, org_role=OrgRole.MEMBER
        )

    assert User.objects.count() == users_before
    assert not User.objects.filter(email="new-member@example.com").exists()
    assert DBTaskResult.objects.count() == tasks_before

    # Control: the same call without the failure leaves the user, its membership and its queued mail.
    monkeypatch.undo()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    org_services.org_user_create(organization=organization, email="new-member@example.com", actor=admin)
    assert User.objects.filter(email="new-member@example.com").exists()
    assert DBTaskResult.objects.count() == tasks_before + 1


def test_org_user_create_leaves_no_user_when_the_mail_cannot_be_queued(db, monkeypatch):
    from accounts import emails
    from organizations import services as org_services
    from organizations.models import Membership

    admin = UserFactory(plan="PREMIUM")
    organization = org_services.organization_create(name="Acme", created_by=admin)

    class BrokenTask:
        enqueue = staticmethod(_raise)

    monkeypatch.setattr(emails, "send_verification_email", BrokenTask())

    with pytest.raises(Boom):
        org_services.org_user_create(organization=organization, email="new-member@example.com", actor=admin)

    assert not User.objects.filter(email="new-member@example.com").exists()
    assert Membership.objects.filter(organization=organization).count() == 1


# ---------------------------------------------------------------- which requests may be run again


class _FakeRaw:
    def __init__(self):
        from psycopg import pq

        self.status, self.closed, self.broken = pq.TransactionStatus.IDLE, False, False

    @property
    def info(self):
        return self

    @property
    def transaction_status(self):
        return self.status


class _FakeConnection:
    def __init__(self):
        self.connection = _FakeRaw()


def _run(tracker, sql, *, status_after=None, dies=False) -> None:
    from django.db import OperationalError

    def execute(sql, params, many, context):
        if dies:
            tracker.connection.connection.closed = True
            raise OperationalError("terminating connection due to administrator command")
        if status_after is not None:
            tracker.connection.connection.status = status_after
        return None

    with contextlib.suppress(OperationalError):
        tracker(execute, sql, None, False, {})


def test_reconnect_tracker_allows_retry_when_only_an_open_transaction_had_written():
    from psycopg import pq

    from bazar.middleware import _WriteTracker

    tracker = _WriteTracker(_FakeConnection())
    _run(tracker, "SELECT 1")
    _run(tracker, "INSERT INTO organizations VALUES (1)", status_after=pq.TransactionStatus.INTRANS)
    _run(tracker, "INSERT INTO memberships VALUES (1)", dies=True)

    assert (tracker.lost, tracker.unsafe) == (True, False)


def test_reconnect_tracker_refuses_retry_after_an_autocommitted_write():
    from bazar.middleware import _WriteTracker

    tracker = _WriteTracker(_FakeConnection())
    _run(tracker, "UPDATE users SET full_name = 'x'")  # no transaction open: committed at once
    _run(tracker, "SELECT 1", dies=True)

    assert (tracker.lost, tracker.unsafe) == (True, True)


def test_reconnect_tracker_refuses_retry_once_a_writing_transaction_ended():
    from psycopg import pq

    from bazar.middleware import _WriteTracker

    tracker = _WriteTracker(_FakeConnection())
    _run(tracker, "INSERT INTO organizations VALUES (1)", status_after=pq.TransactionStatus.INTRANS)
    tracker.connection.connection.status = pq.TransactionStatus.IDLE  # COMMIT happened outside execute()
    _run(tracker, "SELECT 1", dies=True)

    assert (tracker.lost, tracker.unsafe) == (True, True)


def test_reconnect_tracker_does_not_count_reads_as_writes():
    from bazar.middleware import _WriteTracker

    tracker = _WriteTracker(_FakeConnection())
    for sql in ("SELECT 1", "  select id from users", "SAVEPOINT s1", "RELEASE SAVEPOINT s1", "SET TIME ZONE 'UTC'"):
        _run(tracker, sql)

    assert (tracker.lost, tracker.unsafe, tracker.pending) == (False, False, False)
