"""Shared bits of the account commands."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import User
from accounts.services import normalize_email


def user_by_email(email: str) -> User:
    user = User.objects.filter(email__iexact=normalize_email(email)).first()
    if user is None:
        raise CommandError(f"No user with email {email!r}.")
    return user


def command_error(exc: ValidationError) -> CommandError:
    return CommandError("; ".join(exc.messages))
