import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from assistants import services
from assistants.models import Assistant, Message, MessageRole, Run, RunStatus, Thread


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


def messages_at(thread, times, content: str = "m{i}") -> list[Message]:
    """Messages of `thread` created at the given times, in that order (auto_now_add would set them to now)."""
    messages = Message.objects.bulk_create(
        Message(thread=thread, content=content.format(i=i)) for i in range(len(times))
    )
    for message, created_at in zip(messages, times, strict=True):
        message.created_at = created_at
    Message.objects.bulk_update(messages, ["created_at"])
    return messages


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
