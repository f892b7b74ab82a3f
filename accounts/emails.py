"""Account emails, sent by background tasks. Links are built from FRONTEND_URL; tokens are made at send time
so that no token ever sits in the task queue."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.template.loader import render_to_string


def frontend_link(path: str, **params: str) -> str:
    return f"{settings.FRONTEND_URL}{path}?{urlencode(params)}"


def send_templated_email(*, to: str, template: str, context: dict) -> None:
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    body = render_to_string(f"{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


@task
def send_verification_email(user_id: str) -> None:
    from accounts.models import User
    from accounts.tokens import VERIFY_EMAIL, make_email_token

    user = User.objects.filter(pk=user_id, is_active=True, is_verified=False).first()
    if user is None:
        return
    link = frontend_link("/verify-email", token=make_email_token(user, VERIFY_EMAIL))
    send_templated_email(to=user.email, template="accounts/email/verify", context={"user": user, "link": link})


@task
def send_password_reset_email(user_id: str) -> None:
    from accounts.models import User
    from accounts.tokens import RESET_PASSWORD, make_email_token

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    link = frontend_link("/reset-password", token=make_email_token(user, RESET_PASSWORD))
    send_templated_email(to=user.email, template="accounts/email/reset_password", context={"user": user, "link": link})
