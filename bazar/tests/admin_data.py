"""One row of every model the admin shows, made the way the application makes them."""

from dataclasses import dataclass

from django_tasks_db.models import DBTaskResult
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_for
from assistants.models import Assistant, File, Message, Run, Thread
from assistants.tests.factories import AssistantFactory, MessageFactory, RunFactory, ThreadFactory, make_file
from organizations import services as org_services
from organizations.models import Invitation, Membership, Organization, OrgRole

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@dataclass
class AdminData:
    owner: User
    member: User
    organization: Organization
    membership: Membership
    invitation: Invitation
    assistant: Assistant
    thread: Thread
    message: Message
    run: Run
    file: File


def admin_data(*, staff: User) -> AdminData:
    """Expects TASKS to use django_tasks_db's DatabaseBackend (see DB_TASKS), so task rows exist too."""
    owner = UserFactory(email="owner@acme.test", full_name="Olive Owner", plan=Plan.PREMIUM)
    member = UserFactory(email="member@acme.test", full_name="Max Member")
    organization = org_services.organization_create(name="Acme Corp", created_by=owner)
    membership = org_services.membership_add(organization=organization, user=member, role=OrgRole.MEMBER)
    invitation = org_services.invitation_create(
        organization=organization, email="invitee@acme.test", role=OrgRole.ADMIN, invited_by=owner
    )
    assistant = AssistantFactory(name="Acme helper", organization=organization)
    thread = ThreadFactory(owner=member, assistant=assistant, title="Quarterly numbers")
    thread.organization = organization
    thread.save(update_fields=["organization"])
    message = MessageFactory(thread=thread, content="What were the Q3 numbers?")
    run = RunFactory(thread=thread)
    file = make_file(organization=organization, uploaded_by=staff, name="report.txt")
    # Rows of the third-party apps the admin also shows.
    token_pair_for(member)
    BlacklistedToken.objects.create(token=OutstandingToken.objects.filter(user=member).first())
    assert DBTaskResult.objects.exists(), "run with the database task backend: the invitation email is a task row"
    return AdminData(owner, member, organization, membership, invitation, assistant, thread, message, run, file)
