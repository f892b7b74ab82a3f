import uuid
from collections import defaultdict

from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from accounts.roles import Plan
from assistants import errors, serializers, services
from assistants.caching import LIST_CACHE
from assistants.filters import AssistantFilter, FileFilter, MessageFilter, RunFilter, ThreadFilter
from assistants.models import File, Message, Run, Thread
from assistants.scoping import assistants_for, files_for, threads_for
from assistants.validators import NULL_CHARACTERS
from bazar.caching import CachedListMixin
from bazar.idempotency import idempotent
from bazar.pagination import CreatedCursorPagination, ParentScopedListMixin
from bazar.permissions import IsStaff, PlanRequired


# The codes services raise, so that the documented 400 bodies are the real ones (checked by .ci/fuzz.sh).
@extend_validation_errors([errors.ASSISTANT_IN_USE], field_name="non_field_errors", actions=["destroy"])
@extend_validation_errors([errors.ASSISTANT_IN_USE], field_name="organization", actions=["update", "partial_update"])
@extend_validation_errors([NULL_CHARACTERS], field_name="settings", actions=["create", "update", "partial_update"])
@extend_validation_errors([NULL_CHARACTERS], field_name="metadata", actions=["create", "update", "partial_update"])
class AssistantViewSet(CachedListMixin, viewsets.ModelViewSet):
    """Assistants: everyone reads those in scope (platform-wide and their organizations'); staff write. The list
    comes from the cache until a write could change it (assistants/caching.py)."""

    list_cache = LIST_CACHE
    serializer_class = serializers.AssistantSerializer
    filterset_class = AssistantFilter
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "updated_at", "name"]

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method in SAFE_METHODS else [IsStaff()]

    def get_queryset(self):
        return assistants_for(self.request.user)

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer):
        services.assistant_update(assistant=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.assistant_delete(assistant=instance)


@extend_validation_errors([errors.ASSISTANT_INACTIVE], field_name="assistant", actions=["create"])
@extend_validation_errors([errors.ORGANIZATION_MISMATCH, "not_a_member"], field_name="organization", actions=["create"])
@extend_validation_errors([NULL_CHARACTERS], field_name="metadata", actions=["create", "update", "partial_update"])
class ThreadViewSet(viewsets.ModelViewSet):
    """Conversation threads: each user has their own; staff see all."""

    filterset_class = ThreadFilter
    search_fields = ["title"]
    ordering_fields = ["created_at", "updated_at", "title"]

    def get_queryset(self):
        return threads_for(self.request.user)

    def get_serializer_class(self):
        return {
            "create": serializers.ThreadCreateSerializer,
            "update": serializers.ThreadUpdateSerializer,
            "partial_update": serializers.ThreadUpdateSerializer,
        }.get(self.action, serializers.ThreadSerializer)

    @extend_schema(request=serializers.ThreadCreateSerializer, responses={201: serializers.ThreadSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_create(owner=request.user, **serializer.validated_data)
        return Response(serializers.ThreadSerializer(thread).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ThreadUpdateSerializer, responses={200: serializers.ThreadSerializer})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        thread = self.get_object()
        serializer = serializers.ThreadUpdateSerializer(thread, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializers.ThreadSerializer(thread).data)


def with_file_ids(messages: list[Message]) -> list[Message]:
    """Set `file_ids` on each message with one query on the link table: on a 100-message page this costs a
    fraction of prefetch_related("files"), which builds a related manager and File objects per message."""
    file_ids = defaultdict(list)
    for message_id, file_id in _file_links([m.pk for m in messages]):
        file_ids[message_id].append(file_id)
    for message in messages:
        message.file_ids = file_ids[message.pk]
    return messages


def _file_links(message_ids: list) -> list[tuple]:
    """(message id, file id) pairs of these messages, in link-row order as before. Plain SQL: on a page of 50,
    building and compiling the ORM's `message_id__in` query took 0.6 ms of CPU, its raw twin 0.15."""
    if not message_ids:
        return []
    links, message_pk, file_pk = Message.files.through, Message._meta.pk, File._meta.pk
    table, link_column, message_column, file_column = (
        connection.ops.quote_name(name)
        for name in (
            links._meta.db_table,
            links._meta.pk.column,
            links._meta.get_field("message").column,
            links._meta.get_field("file").column,
        )
    )
    placeholders = ", ".join(["%s"] * len(message_ids))
    # Names come from the model, values travel as parameters.
    sql = (
        f"SELECT {message_column}, {file_column} FROM {table} "  # noqa: S608
        f"WHERE {message_column} IN ({placeholders}) ORDER BY {link_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [message_pk.get_db_prep_value(pk, connection) for pk in message_ids])
        return [(message_pk.to_python(m), file_pk.to_python(f)) for m, f in cursor.fetchall()]


_THREAD_PK = OpenApiParameter("thread_pk", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The thread.")


class ThreadChildViewSet(ParentScopedListMixin, viewsets.GenericViewSet):
    """Base of the views under threads/{thread_pk}/: reads reach the thread through the caller's scope in their own
    query (`of_thread`), writes look it up first (`get_thread`); either way a thread out of scope answers 404."""

    pagination_class = CreatedCursorPagination
    ordering_fields = ["created_at"]

    def get_thread(self) -> Thread:
        if not hasattr(self, "_thread"):
            self._thread = get_object_or_404(
                threads_for(self.request.user).select_related("assistant"), pk=self.kwargs["thread_pk"]
            )
        return self._thread

    def check_parent(self) -> None:
        self.get_thread()

    def of_thread(self, rows: QuerySet) -> QuerySet:
        """`rows` of the URL's thread if the caller may see it, checked in the rows' own query."""
        try:
            thread_pk = uuid.UUID(self.kwargs["thread_pk"])
        except ValueError:  # the route takes any segment: one that is no UUID names no thread
            raise Http404 from None
        return rows.filter(thread_id=thread_pk, thread__in=threads_for(self.request.user))


@extend_schema_view(list=extend_schema(parameters=[_THREAD_PK]), create=extend_schema(parameters=[_THREAD_PK]))
@extend_validation_errors([errors.ROLE_NOT_ALLOWED], field_name="role", actions=["create"])
@extend_validation_errors([errors.TOO_MANY_FILES, "does_not_exist"], field_name="file_ids", actions=["create"])
class MessageViewSet(mixins.CreateModelMixin, ThreadChildViewSet):
    """A thread's messages, oldest first, cursor-paginated on (created_at, id)."""

    filterset_class = MessageFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return self.of_thread(Message.objects.all())

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_file_ids(page) if page is not None else None

    def get_serializer_class(self):
        return serializers.MessageCreateSerializer if self.action == "create" else serializers.MessageSerializer

    @extend_schema(request=serializers.MessageCreateSerializer, responses={201: serializers.MessageSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = serializers.MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_create(thread=self.get_thread(), author=request.user, **serializer.validated_data)
        [message] = with_file_ids([message])
        return Response(serializers.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(parameters=[_THREAD_PK]),
    create=extend_schema(parameters=[_THREAD_PK]),
    retrieve=extend_schema(parameters=[_THREAD_PK]),
    cancel=extend_schema(parameters=[_THREAD_PK]),
)
@extend_validation_errors([errors.TOO_MANY_FILES, "does_not_exist"], field_name="file_ids", actions=["create"])
@extend_validation_errors(
    [errors.ASSISTANT_INACTIVE, errors.THREAD_EMPTY, errors.RUN_ACTIVE],
    field_name="non_field_errors",
    actions=["create"],
)
@extend_validation_errors([errors.RUN_NOT_CANCELLABLE], field_name="non_field_errors", actions=["cancel"])
class RunViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, ThreadChildViewSet):
    """A thread's runs. Starting (executing) and cancelling one needs PLUS or above."""

    serializer_class = serializers.RunSerializer
    filterset_class = RunFilter
    permission_classes = [IsAuthenticated, PlanRequired]
    required_plan = {"create": Plan.PLUS, "cancel": Plan.PLUS}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Run.objects.none()
        return self.of_thread(Run.objects.prefetch_related("files"))

    @extend_schema(request=serializers.RunCreateSerializer, responses={201: serializers.RunSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        """Start (execute) a run on the thread: it is created `queued` and answered by a background worker.

        Refusals: 403 `plan_upgrade_required` (FREE); 429 `quota_exceeded` when the plan's runs per UTC day are
        used up (Retry-After: seconds to the next UTC day); 400 `thread_empty`, `run_active` (one queued or
        in-progress run per thread), `assistant_inactive`, `does_not_exist` / `too_many_files` on `file_ids`.
        """
        serializer = serializers.RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.run_start(thread=self.get_thread(), user=request.user, **serializer.validated_data)
        # With the immediate task backend the run has already finished: answer with its current state.
        run = self.get_queryset().get(pk=run.pk)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: serializers.RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        """Cancel a queued or in-progress run; a finished one answers 400 `run_not_cancellable`."""
        run = services.run_cancel(run=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data)


@extend_validation_errors(["not_a_member"], field_name="organization", actions=["create"])
@extend_validation_errors([errors.INVALID_FILE_NAME], field_name="original_name", actions=["update", "partial_update"])
class FileViewSet(viewsets.ModelViewSet):
    """Files of the caller's organizations: members read and download; PREMIUM OWNERs and ADMINs of the file's
    organization (and staff) upload, rename and delete. Bytes are only ever served through files/{id}/content/."""

    filterset_class = FileFilter
    search_fields = ["original_name"]
    ordering_fields = ["created_at", "original_name", "size"]
    permission_classes = [IsAuthenticated, PlanRequired]
    required_plan = {
        "create": Plan.PREMIUM,
        "update": Plan.PREMIUM,
        "partial_update": Plan.PREMIUM,
        "destroy": Plan.PREMIUM,
    }

    def get_queryset(self):
        return files_for(self.request.user)

    def get_serializer_class(self):
        return {
            "create": serializers.FileUploadSerializer,
            "update": serializers.FileRenameSerializer,
            "partial_update": serializers.FileRenameSerializer,
        }.get(self.action, serializers.FileSerializer)

    def perform_content_negotiation(self, request, force=False):
        # A download answers whatever the client accepts; its errors still come as JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "content")

    @extend_schema(request=serializers.FileUploadSerializer, responses={201: serializers.FileSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        """Upload a file (multipart: `file`, `organization`) into an organization the caller belongs to.

        The type is sniffed from the bytes. Refusals: 403 `plan_upgrade_required` (below PREMIUM), 403
        `org_role_required` (a MEMBER of the organization, not its OWNER or ADMIN); 413
        `file_too_large` (FILE_UPLOAD_MAX_SIZE); 415 `unsupported_file_type` (FILE_ALLOWED_CONTENT_TYPES);
        403 `storage_quota_exceeded` (the organization's bytes over the uploader's plan `storage_bytes`).
        """
        # Bodies far over the limit never get here: bazar.middleware answers them 413 unread.
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = services.file_create(
            organization=serializer.validated_data["organization"],
            uploaded_by=request.user,
            upload=serializer.validated_data["file"],
        )
        return Response(
            serializers.FileSerializer(file, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=serializers.FileRenameSerializer, responses={200: serializers.FileSerializer})
    def update(self, request, *args, **kwargs):
        file = self.get_object()
        serializer = serializers.FileRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = services.file_rename(
            file=file, original_name=serializer.validated_data["original_name"], actor=request.user
        )
        return Response(serializers.FileSerializer(file, context=self.get_serializer_context()).data)

    def perform_destroy(self, instance):
        services.file_delete(file=instance, actor=self.request.user)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The stored bytes")
        }
    )
    @action(detail=True, methods=["get"])
    def content(self, request, *args, **kwargs):
        """The stored bytes, streamed as an attachment with the type sniffed at upload."""
        file = self.get_object()
        try:
            handle = default_storage.open(file.storage_path, "rb")
        except OSError:
            raise errors.FileContentMissing() from None
        response = FileResponse(handle, as_attachment=True, filename=file.original_name, content_type=file.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
