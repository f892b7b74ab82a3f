"""Relations are filtered by id (UUIDFilter on the *_id column), never through a lookup of the related row: a
row out of the caller's scope and an id that exists nowhere both answer an empty page, so nothing leaks."""

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django_filters import rest_framework as filters

from assistants.models import Assistant, File, Message, Run, Thread


class IdField(forms.UUIDField):
    """A UUID; a NUL character answers `null_characters_not_allowed`, as in every other filter and in search."""

    def to_python(self, value):
        ProhibitNullCharactersValidator()(value)
        return super().to_python(value)


class IdFilter(filters.UUIDFilter):
    field_class = IdField


def _related(name: str, label: str) -> IdFilter:
    return IdFilter(field_name=f"{name}_id", label=label)


class AssistantFilter(filters.FilterSet):
    organization = _related("organization", "Organization id")

    class Meta:
        model = Assistant
        fields = ["organization", "is_active", "model"]


class ThreadFilter(filters.FilterSet):
    assistant = _related("assistant", "Assistant id")
    organization = _related("organization", "Organization id")
    owner = _related("owner", "Owner (user) id")

    class Meta:
        model = Thread
        fields = ["assistant", "organization", "owner"]


class MessageFilter(filters.FilterSet):
    run = _related("run", "Run id")

    class Meta:
        model = Message
        fields = ["role", "run"]


class RunFilter(filters.FilterSet):
    class Meta:
        model = Run
        fields = ["status"]


class FileFilter(filters.FilterSet):
    content_type = filters.CharFilter()
    organization = _related("organization", "Organization id")
    uploaded_by = _related("uploaded_by", "Uploader (user) id")

    class Meta:
        model = File
        fields = ["organization", "content_type", "uploaded_by"]
