from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._helpers import command_error, user_by_email
from accounts.services import user_block


class Command(BaseCommand):
    help = "Block a user (login and every token refused from the next request on), with a reason."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--reason", required=True, help="why, kept on the account for staff")

    def handle(self, *args, email, reason, **options):
        if not reason.strip():
            raise CommandError("Give a non-empty --reason.")
        user = user_by_email(email)
        if user.is_blocked:
            self.stdout.write(f"{user.email} is already blocked ({user.blocked_reason or 'no reason given'}).")
            return
        try:
            user_block(user=user, reason=reason.strip())
        except ValidationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(self.style.SUCCESS(f"Blocked {user.email}."))
