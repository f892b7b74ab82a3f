"""Argon2 hashing one at a time per worker process, with a cap the public auth endpoints cannot queue past
(accounts/hashers.py)."""

import contextlib
import os
import threading
import time

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.urls import reverse

from accounts.hashers import HASHING_NICENESS, HASHING_SLOTS, _refuse_when_busy, hashing, refusing_when_busy
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import error_codes

LOGIN_URL = reverse("api:auth:login")
ARGON2 = "accounts.hashers.BazarArgon2PasswordHasher"


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = [ARGON2]


@contextlib.contextmanager
def slots_taken():
    """Every hashing slot of this process held, as by requests hashing right now."""
    for _ in range(HASHING_SLOTS):
        hashing._slots.acquire()
    released = threading.Event()

    def release():
        if not released.is_set():
            released.set()
            for _ in range(HASHING_SLOTS):
                hashing._slots.release()

    # Should a hash wait where it must be refused, the test fails after 10 s instead of hanging.
    watchdog = threading.Timer(10, release)
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        release()


@pytest.fixture
def argon2_user(argon2, db):
    return UserFactory(password=PASSWORD)  # hashed with Argon2 before any slot is taken


def test_passwords_hash_and_verify_with_argon2id(argon2):
    encoded = make_password(PASSWORD)

    assert encoded.startswith("argon2$argon2id$v=19$m=24576,t=4,p=1$")
    assert check_password(PASSWORD, encoded)
    assert not check_password("not-the-password", encoded)


def test_a_process_runs_one_hash_at_a_time():
    running, most = [0], [0]
    lock = threading.Lock()

    def a_hash():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    threads = [threading.Thread(target=hashing.run, args=(a_hash,)) for _ in range(HASHING_SLOTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most[0] == 1


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _where_and_how_nice() -> tuple[int, int]:
    return threading.get_native_id(), _niceness()


def test_every_hash_runs_in_one_thread_of_lower_priority():
    """One hashing thread per process, whatever request thread asks, niced below the request threads."""
    asked_from = []

    def ask():
        asked_from.append(threading.get_native_id())
        ran_in.append(hashing.run(_where_and_how_nice))

    ran_in: list[tuple[int, int]] = []
    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
        thread.join()
    ran_in.append(hashing.run(_where_and_how_nice))

    hashing_threads = {thread for thread, _ in ran_in}
    assert len(hashing_threads) == 1
    assert hashing_threads.isdisjoint({*asked_from, threading.get_native_id()})
    assert {niceness for _, niceness in ran_in} == {min(_niceness() + HASHING_NICENESS, 19)}


# gunicorn forks its workers from a master that never hashed; here the test process has a hashing thread already.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_forked_process_hashes_in_a_thread_of_its_own():
    parent_thread, _ = hashing.run(_where_and_how_nice)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child only reports and leaves, without running anything of pytest's
        try:
            thread, niceness = hashing.run(_where_and_how_nice)
            os.write(write, f"{thread} {niceness}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        reported = answer.read()
    os.waitpid(child, 0)

    thread, niceness = (int(value) for value in reported.split())
    assert thread != parent_thread  # the parent's hashing thread did not survive the fork; the child made its own
    assert niceness == min(_niceness() + HASHING_NICENESS, 19)


def test_a_failing_hash_raises_in_the_thread_that_asked():
    def broken():
        raise ValueError("broken hash")

    with pytest.raises(ValueError, match="broken hash"):
        hashing.run(broken)
    assert hashing.run(lambda: "still hashing") == "still hashing"


def test_a_login_finding_every_hashing_slot_taken_is_refused_with_retry_after(api_client, argon2_user):
    with slots_taken():
        response = api_client.post(LOGIN_URL, {"email": argon2_user.email, "password": PASSWORD})

    assert response.status_code == 429
    assert error_codes(response) == ["throttled"]
    assert response["Retry-After"] == "1"


def test_a_refused_login_counts_no_failure_and_the_next_one_signs_in(api_client, argon2_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 1  # one counted failure would lock the account
    with slots_taken():
        refused = api_client.post(LOGIN_URL, {"email": argon2_user.email, "password": "wrong-password-1"})

    signed_in = api_client.post(LOGIN_URL, {"email": argon2_user.email, "password": PASSWORD})

    assert refused.status_code == 429
    assert signed_in.status_code == 200


def test_outside_the_public_endpoints_a_hash_waits_for_a_free_slot(argon2):
    with slots_taken():
        threading.Timer(0.2, hashing._slots.release).start()
        encoded = make_password(PASSWORD)  # waits until the timer frees a slot
        hashing._slots.acquire()  # back to every slot taken, as slots_taken() releases them all

    assert check_password(PASSWORD, encoded)


@pytest.fixture
def pbkdf2_user(settings, db):
    settings.PASSWORD_HASHERS = ["accounts.hashers.BazarPBKDF2PasswordHasher"]
    user = UserFactory(password=PASSWORD)
    settings.PASSWORD_HASHERS = [ARGON2, "accounts.hashers.BazarPBKDF2PasswordHasher"]
    return user


def test_an_older_pbkdf2_hash_is_checked_one_at_a_time_too(api_client, pbkdf2_user):
    with slots_taken():
        refused = api_client.post(LOGIN_URL, {"email": pbkdf2_user.email, "password": PASSWORD})
    signed_in = api_client.post(LOGIN_URL, {"email": pbkdf2_user.email, "password": PASSWORD})

    assert refused.status_code == 429
    assert signed_in.status_code == 200
    pbkdf2_user.refresh_from_db()
    assert pbkdf2_user.password.startswith("argon2$")  # re-hashed with the current parameters


def test_the_re_hash_of_a_right_password_waits_where_the_check_may_be_refused(pbkdf2_user, monkeypatch):
    refusable = []
    run = hashing.run

    def spy(function, *args):
        refusable.append((function.__name__, _refuse_when_busy.get()))
        return run(function, *args)

    monkeypatch.setattr(hashing, "run", spy)
    with refusing_when_busy():
        assert pbkdf2_user.check_password(PASSWORD)

    # (PBKDF2's verify encodes inside its own hash; the last call is the re-hash with Argon2id.)
    assert (refusable[0], refusable[-1]) == (("verify", True), ("encode", False))
