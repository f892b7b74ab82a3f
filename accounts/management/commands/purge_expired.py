from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from organizations.services import purge_expired_invitations


class Command(BaseCommand):
    help = "Delete expired invitations (never accepted) and expired refresh tokens (simplejwt's flushexpiredtokens)."

    def handle(self, *args, **options):
        invitations = purge_expired_invitations()
        # flushexpiredtokens prints nothing: count first so the operator sees what went.
        tokens = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).count()
        call_command("flushexpiredtokens", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(
            self.style.SUCCESS(f"Purged {invitations} expired invitation(s) and {tokens} expired token(s).")
        )
