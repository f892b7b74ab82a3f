"""Engines answer a thread. `settings.ASSISTANT_ENGINE` names the class; both shipped engines take the same
request and return the same completion, so a run does not know which one it talks to."""

from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # user | assistant | system
    content: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """The text of a file given to a run (text types only, already capped in size)."""

    name: str
    content_type: str
    text: str


@dataclass(frozen=True, slots=True)
class EngineRequest:
    model: str
    instructions: str
    messages: list[ChatMessage]
    attachments: list[Attachment] = field(default_factory=list)
    options: dict = field(default_factory=dict)  # the assistant's settings (temperature, max_tokens, ...)


@dataclass(frozen=True, slots=True)
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    model: str = ""


class EngineError(Exception):
    """An engine failure whose message is safe to show the user (no traceback, no secrets)."""


class Engine(Protocol):
    def complete(self, request: EngineRequest) -> Completion: ...


def get_engine() -> Engine:
    return import_string(settings.ASSISTANT_ENGINE)()


def system_prompt(request: EngineRequest) -> str:
    """The assistant's instructions followed by the attached files, as one system message."""
    parts = [request.instructions.strip()] if request.instructions.strip() else []
    for attachment in request.attachments:
        parts.append(f"Attached file {attachment.name!r} ({attachment.content_type}):\n{attachment.text}")
    return "\n\n".join(parts)
