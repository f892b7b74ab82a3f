import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from assistants import services
from assistants.models import Assistant, Message, MessageRole, Run, RunStatus, Thread
from organizations.models import Membership, Organization, OrgRole


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = OrgRole.MEMBER


class AssistantFactory(factory.django.DjangoModelFactory):
    """A platform-wide assistant unless `organization` is given."""

    class Meta:
        model = Assistant

    name = factory.Sequence(lambda n: f"Assistant {n}")
    description = "Helps with things."
    instructions = "Answer briefly."
    model = ""
    organization = None


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    owner = factory.SubFactory(UserFactory)
    assistant = factory.SubFactory(AssistantFactory)
    title = factory.Sequence(lambda n: f"Thread {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    role = MessageRole.USER
    content = factory.Sequence(lambda n: f"Message number {n}")


class RunFactory(factory.django.DjangoModelFactory):
    """A run row as the worker would leave it; no task is enqueued."""

    class Meta:
        model = Run

    thread = factory.SubFactory(ThreadFactory)
    assistant = factory.SelfAttribute("thread.assistant")
    created_by = factory.SelfAttribute("thread.owner")
    status = RunStatus.COMPLETED


def make_file(*, organization, uploaded_by, content: bytes = b"hello, file\n", name: str = "notes.txt"):
    """A File stored through the real upload service (sniffing, sha256, storage)."""
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return services.file_create(organization=organization, uploaded_by=uploaded_by, upload=upload)
