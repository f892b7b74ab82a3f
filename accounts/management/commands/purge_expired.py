import math
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from assistants.services import runs_fail_stale
from organizations.services import purge_expired_invitations


class Command(BaseCommand):
    help = (
        "Delete expired invitations and expired refresh tokens (simplejwt's flushexpiredtokens); "
        "fail runs a dead worker left in progress."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-run-minutes",
            type=int,
            default=None,
            help="runs in progress longer than this are failed (default: 3 x OPENAI_TIMEOUT, at least 15)",
        )

    def handle(self, *args, stale_run_minutes=None, **options):
        if stale_run_minutes is None:
            stale_run_minutes = max(15, math.ceil(3 * settings.OPENAI_TIMEOUT / 60))
        if stale_run_minutes < 1:
            raise CommandError("--stale-run-minutes must be at least 1.")
        runs = runs_fail_stale(older_than=timedelta(minutes=stale_run_minutes))
        invitations = purge_expired_invitations()
        # flushexpiredtokens prints nothing: count first so the operator sees what went.
        tokens = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).count()
        call_command("flushexpiredtokens", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(
            self.style.SUCCESS(
                f"Purged {invitations} expired invitation(s) and {tokens} expired token(s); failed {runs} stale run(s)."
            )
        )
