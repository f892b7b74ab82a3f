from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import superadmin_ensure


class Command(BaseCommand):
    help = "Create or refresh the superadmin from SUPERUSER_EMAIL/SUPERUSER_PASSWORD (or --email/--password)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default=None, help="defaults to SUPERUSER_EMAIL")
        parser.add_argument("--password", default=None, help="defaults to SUPERUSER_PASSWORD")

    def handle(self, *args, email=None, password=None, **options):
        email = email or settings.SUPERUSER_EMAIL
        password = password or settings.SUPERUSER_PASSWORD
        if not email or not password:
            raise CommandError("Set SUPERUSER_EMAIL and SUPERUSER_PASSWORD (or pass --email and --password).")
        try:
            user, created = superadmin_ensure(email=email, password=password)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        verb = "Created" if created else "Refreshed"
        self.stdout.write(self.style.SUCCESS(f"{verb} superadmin {user.email}."))
