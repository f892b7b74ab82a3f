from django.core.management.base import BaseCommand, CommandError

from accounts.lockout import lockout_clear, lockout_seconds_left
from accounts.services import normalize_email


class Command(BaseCommand):
    help = "Clear the login lockout of an account (by email) and/or of a client address."

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", default="", help="The account's email (it need not exist).")
        parser.add_argument("--address", default="", help="A client address locked by failed logins.")

    def handle(self, *args, email, address, **options):
        email = normalize_email(email) if email else ""
        if not email and not address:
            raise CommandError("Give an email, an --address, or both.")
        locked = lockout_seconds_left(email=email, address=address)
        lockout_clear(email=email, address=address)
        target = " and ".join(part for part in (email, address) if part)
        if locked:
            self.stdout.write(self.style.SUCCESS(f"Cleared the login lockout of {target}."))
        else:
            self.stdout.write(f"{target} was not locked; failure counts cleared.")
