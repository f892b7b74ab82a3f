from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from accounts.management.commands._helpers import command_error, user_by_email
from accounts.services import user_unblock


class Command(BaseCommand):
    help = "Unblock a user."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = user_by_email(email)
        if not user.is_blocked:
            self.stdout.write(f"{user.email} is not blocked.")
            return
        try:
            user_unblock(user=user)
        except ValidationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(self.style.SUCCESS(f"Unblocked {user.email}."))
