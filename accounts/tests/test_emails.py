"""Account emails go through Django's tasks framework: sent in-process by the immediate backend (the default), or
queued as database rows for `manage.py db_worker` with the django-tasks-db backend."""

import signal

import pytest
from django.core import mail
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.urls import reverse
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from accounts import emails, services
from accounts.tests.factories import PASSWORD
from accounts.tests.utils import FRONTEND_URL, mails_to, token_from_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def run_worker(monkeypatch):
    """Run `manage.py db_worker` until the queue is empty, then give the test runner its signal handlers back.

    Inside the test's transaction the worker must not drop the connection between tasks, exactly as Django's test
    client keeps it across requests; a transactional test would cost a flush and disturb serialized-rollback tests.
    """
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def _run():
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
        try:
            call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    return _run


def test_immediate_backend_is_the_default(settings):
    assert settings.TASKS["default"]["BACKEND"] == "django.tasks.backends.immediate.ImmediateBackend"


def test_register_queues_verification_email_with_database_backend(api_client, database_tasks, run_worker):
    response = api_client.post(reverse("api:auth:register"), {"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 201

    [row] = DBTaskResult.objects.all()
    assert row.task_path == "accounts.emails.send_verification_email"
    assert row.args_kwargs == {"args": [response.json()["id"]], "kwargs": {}}
    assert row.status == TaskResultStatus.READY
    assert mail.outbox == []

    run_worker()

    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    [message] = mails_to("ada@example.com")
    token = token_from_mail(message, "/verify-email")
    assert token not in str(row.args_kwargs)  # tokens are made at send time, never stored in the queue
    assert api_client.post(reverse("api:auth:verify"), {"token": token}).status_code == 200


def test_forgot_password_queues_reset_email_with_database_backend(api_client, free_user, database_tasks, run_worker):
    api_client.post(reverse("api:auth:forgot-password"), {"email": free_user.email})

    [row] = DBTaskResult.objects.all()
    assert row.task_path == "accounts.emails.send_password_reset_email"
    assert mail.outbox == []

    run_worker()

    [message] = mails_to(free_user.email)
    assert f"{FRONTEND_URL}/reset-password?token=" in message.body
    token = token_from_mail(message, "/reset-password")
    response = api_client.post(reverse("api:auth:reset-password"), {"token": token, "password": "new-passphrase-42"})
    assert response.status_code == 200


def test_unknown_email_queues_nothing(api_client, db, database_tasks):
    api_client.post(reverse("api:auth:forgot-password"), {"email": "nobody@example.com"})
    api_client.post(reverse("api:auth:verify-resend"), {"email": "nobody@example.com"})

    assert not DBTaskResult.objects.exists()


def test_queued_verification_is_skipped_once_the_user_is_verified(unverified_user, database_tasks, run_worker):
    services.verification_resend(email=unverified_user.email)
    services.user_mark_verified(user=unverified_user)

    run_worker()

    assert mail.outbox == []
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_queued_reset_is_skipped_for_deleted_account(free_user, database_tasks, run_worker):
    services.password_reset_request(email=free_user.email)
    services.user_deactivate(user=free_user)

    run_worker()

    assert mail.outbox == []


def test_task_function_sends_the_email(unverified_user):
    emails.send_verification_email.call(str(unverified_user.pk))

    [message] = mail.outbox
    assert message.to == [unverified_user.email]
    assert message.subject == "Confirm your email address for Bazar"
    assert token_from_mail(message, "/verify-email")


def test_reset_email_greets_user_and_has_one_link(free_user):
    emails.send_password_reset_email.call(str(free_user.pk))

    [message] = mail.outbox
    assert message.subject == "Reset your Bazar password"
    assert free_user.full_name in message.body
    assert message.body.count(FRONTEND_URL) == 1
