from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from accounts.management.commands._helpers import command_error, user_by_email
from accounts.roles import Plan
from accounts.services import user_set_plan


class Command(BaseCommand):
    help = "Set a user's plan (FREE, PLUS, PREMIUM)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("plan", choices=Plan.values)

    def handle(self, *args, email, plan, **options):
        user = user_by_email(email)
        if user.plan == plan:
            self.stdout.write(f"{user.email} is already on {plan}.")
            return
        try:
            user_set_plan(user=user, plan=plan)
        except ValidationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(self.style.SUCCESS(f"{user.email} is now on {plan}."))
