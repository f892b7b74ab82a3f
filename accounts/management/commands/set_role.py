from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from accounts.management.commands._helpers import command_error, user_by_email
from accounts.roles import Role
from accounts.services import user_set_role


class Command(BaseCommand):
    help = "Set a user's global role (USER, ADMIN, SUPERADMIN)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("role", choices=Role.values)

    def handle(self, *args, email, role, **options):
        user = user_by_email(email)
        if user.role == role:
            self.stdout.write(f"{user.email} is already {role}.")
            return
        try:
            user_set_role(user=user, role=role)
        except ValidationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(self.style.SUCCESS(f"{user.email} is now {role}."))
