from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services as account_services
from accounts.models import User
from accounts.roles import Plan, Role
from assistants import services as assistant_services
from assistants.models import Assistant, MessageRole, Thread
from organizations import services as org_services
from organizations.models import Membership, Organization, OrgRole

DEFAULT_PASSWORD = "tea-and-biscuits-42"
DOMAIN = "demo.bazar.test"

# One account per plan and per global role: (local part, full name, role, plan).
USERS = [
    ("superadmin", "Sam Superadmin", Role.SUPERADMIN, Plan.PREMIUM),
    ("admin", "Ada Admin", Role.ADMIN, Plan.PREMIUM),
    ("premium", "Pia Premium", Role.USER, Plan.PREMIUM),
    ("plus", "Pat Plus", Role.USER, Plan.PLUS),
    ("free", "Fred Free", Role.USER, Plan.FREE),
]
# Organization name, owner, other members (local part, org role).
ORGANIZATIONS = [
    ("Acme Demo", "premium", [("plus", OrgRole.ADMIN), ("free", OrgRole.MEMBER)]),
    ("Globex Demo", "plus", [("free", OrgRole.MEMBER)]),
]
# Assistant name, organization (None = platform-wide), description.
ASSISTANTS = [
    ("Bazar Guide", None, "A platform-wide assistant that explains Bazar."),
    ("Acme Support", "Acme Demo", "Answers questions about Acme's products."),
]
# Thread owner, assistant, title, messages (role, content).
THREADS = [
    (
        "free",
        "Bazar Guide",
        "Getting started",
        [
            (MessageRole.USER, "How do I invite a colleague?"),
            (MessageRole.ASSISTANT, "Open your organization and send an invitation to their email address."),
        ],
    ),
    (
        "premium",
        "Acme Support",
        "Quarterly report",
        [
            (MessageRole.USER, "Summarize last quarter's support tickets."),
            (MessageRole.ASSISTANT, "Ticket volume fell 12%; most questions were about billing."),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo organizations, one user per plan and role, assistants and threads; print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of every demo account")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off (accounts are public)")

    def handle(self, *args, password, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo accounts have a published password: run with DEBUG on, or pass --force.")
        try:
            with transaction.atomic():
                users = {local: self._user(local, name, role, plan, password) for local, name, role, plan in USERS}
                orgs = {
                    name: self._organization(name, users[owner], users, members)
                    for name, owner, members in ORGANIZATIONS
                }
                assistants = {
                    name: self._assistant(name, orgs.get(org_name), description, users["superadmin"])
                    for name, org_name, description in ASSISTANTS
                }
                for owner, assistant, title, messages in THREADS:
                    self._thread(users[owner], assistants[assistant], title, messages, users["superadmin"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

        self.stdout.write("Demo accounts (all with the same password):")
        for local, _, role, plan in USERS:
            self.stdout.write(f"  {users[local].email:<32} {role:<11} {plan:<8} {password}")
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {len(orgs)} organizations, {len(assistants)} assistants.")
        )

    def _user(self, local: str, full_name: str, role: str, plan: str, password: str) -> User:
        """Create the account, or bring it back to its demo state (role, plan, unblocked, password)."""
        email = f"{local}@{DOMAIN}"
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            return account_services.user_create(
                email=email,
                password=password,
                full_name=full_name,
                role=role,
                plan=plan,
                is_verified=True,
                send_verification=False,
            )
        if user.role != role:
            account_services.user_set_role(user=user, role=role)
        if user.plan != plan:
            account_services.user_set_plan(user=user, plan=plan)
        if user.is_blocked:
            account_services.user_unblock(user=user)
        account_services.user_mark_verified(user=user)
        if not user.is_active or not user.check_password(password):
            User.objects.filter(pk=user.pk).update(is_active=True)
            user.refresh_from_db()
            account_services.user_set_password(user=user, password=password)
        return user

    def _organization(self, name: str, owner: User, users: dict, members: list) -> Organization:
        organization = Organization.objects.filter(name=name, created_by=owner).first()
        if organization is None:
            organization = org_services.organization_create(name=name, created_by=owner)
        for local, role in members:
            if not Membership.objects.filter(organization=organization, user=users[local]).exists():
                org_services.membership_add(organization=organization, user=users[local], role=role)
        return organization

    def _assistant(self, name: str, organization, description: str, creator: User) -> Assistant:
        assistant, _ = Assistant.objects.get_or_create(
            name=name,
            organization=organization,
            defaults={"description": description, "instructions": "Answer briefly and kindly.", "created_by": creator},
        )
        return assistant

    def _thread(self, owner: User, assistant: Assistant, title: str, messages: list, staff: User) -> Thread:
        thread = Thread.objects.filter(owner=owner, assistant=assistant, title=title).first()
        if thread is not None:
            return thread
        thread = assistant_services.thread_create(owner=owner, assistant=assistant, title=title)
        for role, content in messages:
            # Only staff may write assistant messages: the superadmin authors the seeded conversation.
            author = owner if role == MessageRole.USER else staff
            assistant_services.message_create(thread=thread, author=author, content=content, role=role)
        return thread
