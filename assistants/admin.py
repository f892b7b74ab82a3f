"""Staff console for assistants, threads, messages, runs and files. Conversation history is read-only here:
messages and runs are written by users and the worker; staff cancel runs, rename and delete files."""

from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.forms.models import BaseInlineFormSet
from django.template.defaultfilters import filesizeformat, truncatechars
from django.urls import reverse
from django.utils.html import format_html

from assistants import services
from assistants.models import Assistant, File, Message, Run, Thread
from bazar.admin_helpers import ServiceErrorsMixin, apply_to_each

INLINE_LIMIT = 50  # rows of a thread shown on its page; the full history is one link away
RUN_FIELDS = ("status", "assistant", "created_by", "error", "usage", "created_at", "started_at", "finished_at")


class ReadOnlyMixin:
    """Rows only the application writes: staff look, they do not type."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.get_fields(request, obj)]


class PlatformWideFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return (("platform", "Platform-wide"), ("organization", "Of an organization"))

    def queryset(self, request, queryset):
        if self.value() == "platform":
            return queryset.filter(organization__isnull=True)
        if self.value() == "organization":
            return queryset.filter(organization__isnull=False)
        return queryset


@admin.register(Assistant)
class AssistantAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("name", "organization", "model", "is_active", "created_at")
    list_filter = ("is_active", PlatformWideFilter, "model")
    search_fields = ("name", "description", "organization__name")
    search_help_text = "Search by name, description or organization name."
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    readonly_fields = ("id", "created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "description", "organization", "is_active")}),
        ("Behaviour", {"fields": ("model", "instructions", "settings", "metadata")}),
        ("Audit", {"classes": ("collapse",), "fields": ("id", "created_by", "created_at", "updated_at")}),
    )
    actions = ("activate", "deactivate")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
        else:
            services.assistant_update(assistant=obj)  # an assistant in use keeps its organization

    def delete_model(self, request, obj):
        services.assistant_delete(assistant=obj)

    def delete_queryset(self, request, queryset):
        for assistant in queryset:
            services.assistant_delete(assistant=assistant)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        # An assistant in use cannot be deleted (deactivate it), which delete_selected cannot report.
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Activate selected assistants", permissions=["change"])
    def activate(self, request, queryset):
        count = queryset.update(is_active=True)
        self.message_user(request, f"Activated: {count}.")

    @admin.action(description="Deactivate selected assistants", permissions=["change"])
    def deactivate(self, request, queryset):
        count = queryset.update(is_active=False)
        self.message_user(request, f"Deactivated: {count}.")


class LatestRowsFormSet(BaseInlineFormSet):
    """The thread's latest INLINE_LIMIT rows, oldest first: a thread may hold many thousands."""

    def get_queryset(self):
        if not hasattr(self, "_latest"):
            rows = super().get_queryset()
            latest = rows.order_by("-created_at", "-id").values("pk")[:INLINE_LIMIT]
            self._latest = rows.filter(pk__in=latest)
        return self._latest


class MessageInline(admin.TabularInline):
    model = Message
    formset = LatestRowsFormSet
    verbose_name_plural = f"messages (the latest {INLINE_LIMIT})"
    fields = ("created_at", "role", "content", "run")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RunInline(admin.TabularInline):
    model = Run
    formset = LatestRowsFormSet
    verbose_name_plural = f"runs (the latest {INLINE_LIMIT})"
    fields = ("created_at", "status", "created_by", "error", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _thread_rows_link(model: str, thread: Thread) -> str:
    """A link to the changelist of `model` (message or run) showing every row of the thread."""
    url = reverse(f"admin:assistants_{model}_changelist") + f"?thread__id__exact={thread.pk}"
    return format_html('<a href="{}">All {}s of this thread</a>', url, model)


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("__str__", "owner", "assistant", "organization", "created_at", "updated_at")
    list_filter = (PlatformWideFilter,)
    search_fields = ("title", "owner__email", "assistant__name", "organization__name")
    search_help_text = "Search by title, owner email, assistant or organization name."
    list_select_related = ("owner", "assistant", "organization")
    autocomplete_fields = ("owner", "assistant", "organization")
    fields = (
        "title",
        "owner",
        "assistant",
        "organization",
        "metadata",
        "all_messages",
        "all_runs",
        "id",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"
    inlines = (MessageInline, RunInline)

    def has_add_permission(self, request) -> bool:
        # Threads belong to their owner and are started through the API (thread_create checks membership).
        return False

    def get_readonly_fields(self, request, obj=None):
        # Owner, assistant and organization are fixed once the conversation exists.
        return ("owner", "assistant", "organization", "all_messages", "all_runs", "id", "created_at", "updated_at")

    @admin.display(description="All messages")
    def all_messages(self, obj: Thread) -> str:
        return _thread_rows_link("message", obj)

    @admin.display(description="All runs")
    def all_runs(self, obj: Thread) -> str:
        return _thread_rows_link("run", obj)


@admin.register(Message)
class MessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("short_content", "role", "thread", "created_at")
    list_filter = ("role",)
    search_fields = ("content", "thread__title", "thread__owner__email")
    search_help_text = "Search by content, thread title or thread owner email."
    list_select_related = ("thread",)
    fields = ("thread", "role", "content", "run", "files", "id", "created_at")

    @admin.display(description="Content")
    def short_content(self, obj: Message) -> str:
        return truncatechars(obj.content, 80)


@admin.register(Run)
class RunAdmin(ReadOnlyMixin, ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("id", "status", "thread", "assistant", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("id", "thread__title", "created_by__email", "assistant__name")
    search_help_text = "Search by run id, thread title, starter email or assistant name."
    list_select_related = ("thread", "assistant", "created_by")
    fields = ("thread", *RUN_FIELDS, "files", "id")
    date_hierarchy = "created_at"
    actions = ("cancel_runs",)

    @admin.action(description="Cancel selected runs", permissions=["change"])
    def cancel_runs(self, request, queryset):
        apply_to_each(
            self,
            request,
            queryset,
            lambda run: services.run_cancel(run=run),
            done="Cancelled",
        )


@admin.register(File)
class FileAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("original_name", "organization", "uploaded_by", "content_type", "human_size", "created_at")
    list_filter = ("content_type",)
    search_fields = ("original_name", "sha256", "organization__name", "uploaded_by__email")
    search_help_text = "Search by name, sha256, organization name or uploader email."
    list_select_related = ("organization", "uploaded_by")
    fields = (
        "original_name",
        "organization",
        "uploaded_by",
        "content_type",
        "size",
        "sha256",
        "storage_path",
        "id",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields[1:]
    date_hierarchy = "created_at"

    @admin.display(description="Size", ordering="size")
    def human_size(self, obj: File) -> str:
        return filesizeformat(obj.size)

    def has_add_permission(self, request) -> bool:
        # Uploads go through the API (files/), which checks type, size and quota and stores the bytes.
        return False

    def save_model(self, request, obj, form, change):
        if "original_name" in form.changed_data:
            services.file_rename(file=obj, original_name=form.cleaned_data["original_name"], actor=request.user)

    def delete_model(self, request, obj):
        services.file_delete(file=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for file in queryset:
            services.file_delete(file=file, actor=request.user)
