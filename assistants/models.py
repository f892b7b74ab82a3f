from django.conf import settings as django_settings
from django.db import models

from assistants.caching import assistants_changed
from assistants.validators import reject_null_characters
from bazar.ids import uuid7


class AssistantQuerySet(models.QuerySet):
    """Bulk writes skip the model's signals: they drop the cached assistants lists here instead."""

    def update(self, **kwargs) -> int:
        count = super().update(**kwargs)
        assistants_changed(using=self.db)
        return count

    def bulk_create(self, *args, **kwargs) -> list:
        created = super().bulk_create(*args, **kwargs)
        assistants_changed(using=self.db)
        return created

    def bulk_update(self, *args, **kwargs) -> int:
        count = super().bulk_update(*args, **kwargs)
        assistants_changed(using=self.db)
        return count


class Assistant(models.Model):
    """An AI assistant; without an organization it is platform-wide."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    instructions = models.TextField(blank=True)
    model = models.CharField(max_length=100, blank=True)
    settings = models.JSONField(default=dict, blank=True, validators=[reject_null_characters])
    metadata = models.JSONField(default=dict, blank=True, validators=[reject_null_characters])
    is_active = models.BooleanField(default=True)
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="assistants"
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssistantQuerySet.as_manager()

    class Meta:
        db_table = "assistants"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="assistants_org_created_idx")]

    def __str__(self) -> str:
        return self.name


class Thread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    owner = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="threads")
    assistant = models.ForeignKey(Assistant, on_delete=models.PROTECT, related_name="threads")
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="threads"
    )
    title = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[reject_null_characters])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "threads"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="threads_owner_created_idx")]

    def __str__(self) -> str:
        return self.title or str(self.id)


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"


class File(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="files")
    uploaded_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_path = models.CharField(max_length=500, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "files"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="files_org_created_idx")]

    def __str__(self) -> str:
        return self.original_name


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=MessageRole.choices, default=MessageRole.USER)
    content = models.TextField()
    files = models.ManyToManyField(File, blank=True, related_name="messages", db_table="message_files")
    run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "messages"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at", "id"], name="messages_thread_created_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=MessageRole.values), name="messages_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="runs")
    assistant = models.ForeignKey(Assistant, on_delete=models.PROTECT, related_name="runs")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    files = models.ManyToManyField(File, blank=True, related_name="runs", db_table="run_files")
    error = models.TextField(blank=True)
    usage = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "runs"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["thread", "created_at", "id"], name="runs_thread_created_idx"),
            models.Index(fields=["created_by", "created_at"], name="runs_creator_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values), name="runs_status_valid"),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"
