from django.urls import reverse
from rest_framework import serializers

from assistants.models import Assistant, File, Message, MessageRole, Run, Thread
from assistants.scoping import assistants_for
from assistants.services import MAX_FILES_PER_REQUEST
from assistants.validators import reject_null_characters
from bazar.serializers import FastReadModelSerializer
from organizations.models import Organization
from organizations.scoping import organizations_visible_to


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up only among the rows `scope(request.user)` returns: out of scope = does_not_exist."""

    def __init__(self, *, model, scope, **kwargs):
        self.scope = scope
        # The empty queryset only tells the schema which model this is; rows always come from the scope.
        super().__init__(queryset=model.objects.none(), **kwargs)

    def get_queryset(self):
        user = self.context["request"].user
        if not user.is_authenticated:
            return self.queryset  # anonymous callers (the schema generator) see nothing
        return self.scope(user)


def _json_object(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError("Expected a JSON object.", code="invalid")
    return value


class AssistantSerializer(FastReadModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Assistant
        fields = [
            "id",
            "name",
            "description",
            "instructions",
            "model",
            "settings",
            "metadata",
            "is_active",
            "organization",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_settings(self, value):
        return _json_object(value)

    def validate_metadata(self, value):
        return _json_object(value)


class ThreadSerializer(FastReadModelSerializer):
    class Meta:
        model = Thread
        fields = ["id", "owner", "assistant", "organization", "title", "metadata", "created_at", "updated_at"]
        read_only_fields = fields


class ThreadCreateSerializer(serializers.Serializer):
    assistant = ScopedPrimaryKeyRelatedField(model=Assistant, scope=assistants_for)
    title = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    organization = ScopedPrimaryKeyRelatedField(
        model=Organization, scope=organizations_visible_to, allow_null=True, required=False, default=None
    )
    metadata = serializers.JSONField(required=False, default=dict, validators=[_json_object, reject_null_characters])


class ThreadUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Thread
        fields = ["title", "metadata"]

    def validate_metadata(self, value):
        return _json_object(value)


class MessageSerializer(FastReadModelSerializer):
    """A message; `file_ids` is set on the instances by the view (see views.with_file_ids)."""

    file_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)

    class Meta:
        model = Message
        fields = ["id", "thread", "role", "content", "file_ids", "run", "created_at"]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=100_000, trim_whitespace=False)
    role = serializers.ChoiceField(choices=MessageRole.choices, required=False, default=MessageRole.USER)
    file_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=MAX_FILES_PER_REQUEST
    )


class RunSerializer(FastReadModelSerializer):
    file_ids = serializers.PrimaryKeyRelatedField(source="files", many=True, read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "thread",
            "assistant",
            "status",
            "error",
            "usage",
            "file_ids",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class RunCreateSerializer(serializers.Serializer):
    file_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=MAX_FILES_PER_REQUEST
    )


class FileSerializer(serializers.ModelSerializer):
    content_url = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = [
            "id",
            "organization",
            "uploaded_by",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "content_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_content_url(self, obj: File) -> str:
        url = reverse("api:file-content", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)
    organization = ScopedPrimaryKeyRelatedField(model=Organization, scope=organizations_visible_to)


class FileRenameSerializer(serializers.Serializer):
    original_name = serializers.CharField(max_length=255)
