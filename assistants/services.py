"""Every assistants-app write that carries a rule. The API, the admin, commands and tests all call these."""

import codecs
import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from accounts.roles import limit_for
from assistants import errors
from assistants.engines import Attachment, ChatMessage, Completion, EngineError, EngineRequest, get_engine
from assistants.models import (
    TERMINAL_RUN_STATUSES,
    Assistant,
    File,
    Message,
    MessageRole,
    Run,
    RunStatus,
    Thread,
)
from assistants.scoping import files_for
from assistants.uploads import SNIFF_BYTES, is_text_type, sniff_content_type
from bazar.ids import uuid7
from organizations.models import Membership, Organization
from organizations.roles import MANAGER_ROLES

logger = logging.getLogger(__name__)

MAX_FILES_PER_REQUEST = 10
UNKNOWN_FILES_MESSAGE = "Unknown file id(s): {ids}."
QUEUE_FAILED_MESSAGE = "The run could not be queued. Start it again."
ENGINE_CRASHED_MESSAGE = "The engine failed unexpectedly."
WORKER_LOST_MESSAGE = "The worker stopped while this run was in progress. Start it again."
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------- assistants


@transaction.atomic
def assistant_update(*, assistant: Assistant, **fields) -> Assistant:
    """Set `fields` and save. An assistant with threads keeps its organization: its threads live there (and an
    organization's deletion takes its assistants' threads with it)."""
    for name, value in fields.items():
        setattr(assistant, name, value)
    stored = Assistant.objects.select_for_update().filter(pk=assistant.pk).values("organization_id").first()
    if stored is not None and stored["organization_id"] != assistant.organization_id and assistant.threads.exists():
        raise ValidationError(
            {"organization": ValidationError(errors.ASSISTANT_MOVE_IN_USE_MESSAGE, code=errors.ASSISTANT_IN_USE)}
        )
    assistant.save()
    return assistant


@transaction.atomic
def assistant_delete(*, assistant: Assistant) -> None:
    """Threads keep their assistant: one in use is deactivated, not deleted."""
    if assistant.threads.exists():
        raise ValidationError(errors.ASSISTANT_IN_USE_MESSAGE, code=errors.ASSISTANT_IN_USE)
    assistant.delete()


# ---------------------------------------------------------------- threads and messages


def _ensure_member(user, organization: Organization, field: str = "organization") -> None:
    if user.is_staff or Membership.objects.filter(user=user, organization=organization).exists():
        return
    raise ValidationError({field: ValidationError(errors.NOT_A_MEMBER_MESSAGE, code=errors.NOT_A_MEMBER)})


def _ensure_org_admin(user, organization: Organization) -> None:
    """Files are managed by the OWNERs and ADMINs of their organization (and staff); members only read them."""
    if user.is_staff:
        return
    if not Membership.objects.filter(user=user, organization=organization, role__in=MANAGER_ROLES).exists():
        raise errors.OrgRoleRequired()


def _ensure_thread_usable(thread: Thread, user) -> None:
    """Writing to a thread needs what starting it needed: membership of its organization and of its assistant's.
    A user who left (or was removed from) that organization still reads the thread, but adds nothing to it."""
    if user.is_staff:
        return
    org_ids = {thread.organization_id, thread.assistant.organization_id} - {None}
    if org_ids and Membership.objects.filter(user=user, organization_id__in=org_ids).count() != len(org_ids):
        raise Http404("No Thread matches the given query.")  # what an unknown thread answers


@transaction.atomic
def thread_create(
    *,
    owner,
    assistant: Assistant,
    title: str = "",
    organization: Organization | None = None,
    metadata: dict | None = None,
) -> Thread:
    """A thread of an organization's assistant lives in that organization; the owner must belong to it."""
    if not assistant.is_active:
        raise ValidationError(
            {"assistant": ValidationError(errors.ASSISTANT_INACTIVE_MESSAGE, code=errors.ASSISTANT_INACTIVE)}
        )
    if assistant.organization_id is not None:
        if organization is None:
            organization = assistant.organization
        elif organization.pk != assistant.organization_id:
            raise ValidationError(
                {
                    "organization": ValidationError(
                        errors.ORGANIZATION_MISMATCH_MESSAGE, code=errors.ORGANIZATION_MISMATCH
                    )
                }
            )
    if organization is not None:
        _ensure_member(owner, organization)
    return Thread.objects.create(
        owner=owner, assistant=assistant, organization=organization, title=title, metadata=metadata or {}
    )


def _resolve_files(*, user, file_ids: Iterable[UUID | str]) -> list[File]:
    """The files behind `file_ids`, all inside the user's scope; unknown and out-of-scope ids look alike."""
    ids = list(dict.fromkeys(str(pk) for pk in file_ids))
    if len(ids) > MAX_FILES_PER_REQUEST:
        message = errors.TOO_MANY_FILES_MESSAGE.format(limit=MAX_FILES_PER_REQUEST)
        raise ValidationError({"file_ids": ValidationError(message, code=errors.TOO_MANY_FILES)})
    if not ids:
        return []
    found = {str(f.pk): f for f in files_for(user).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        message = UNKNOWN_FILES_MESSAGE.format(ids=", ".join(missing))
        raise ValidationError({"file_ids": ValidationError(message, code="does_not_exist")})
    return [found[pk] for pk in ids]


@transaction.atomic
def message_create(
    *,
    thread: Thread,
    author,
    content: str,
    role: str = MessageRole.USER,
    file_ids: Iterable[UUID | str] = (),
) -> Message:
    """Users post `user` messages; only staff may write `assistant` or `system` ones (e.g. to seed a thread)."""
    _ensure_thread_usable(thread, author)
    if role != MessageRole.USER and not author.is_staff:
        raise ValidationError({"role": ValidationError(errors.ROLE_NOT_ALLOWED_MESSAGE, code=errors.ROLE_NOT_ALLOWED)})
    files = _resolve_files(user=author, file_ids=file_ids)
    message = Message.objects.create(thread=thread, role=role, content=content)
    if files:
        message.files.set(files)
    # The thread's updated_at tracks its last activity, so clients can order threads by it.
    Thread.objects.filter(pk=thread.pk).update(updated_at=timezone.now())
    return message


# ---------------------------------------------------------------- runs


def _start_of_utc_day():
    now = timezone.now()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _check_run_quota(user) -> None:
    """Runs per UTC calendar day by plan (every run started counts, whatever its outcome); staff are unlimited."""
    if user.is_staff:
        return
    limit = limit_for(user.plan, "runs_per_day")
    if limit is None:
        return
    day_start = _start_of_utc_day()
    used = Run.objects.filter(created_by=user, created_at__gte=day_start).count()
    if used >= limit:
        wait = (day_start + timedelta(days=1) - timezone.now()).total_seconds()
        raise errors.QuotaExceeded(wait=wait, detail=errors.RUN_QUOTA_MESSAGE.format(limit=limit))


def run_start(*, thread: Thread, user, file_ids: Iterable[UUID | str] = ()) -> Run:
    """Create a queued run and hand it to the task queue once the run is committed.

    The caller's row and the thread's row are locked so that neither the daily quota nor the one-active-run
    rule can be overrun by concurrent requests.
    """
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        thread = Thread.objects.select_for_update().select_related("assistant").filter(pk=thread.pk).first()
        if thread is None:
            raise Http404("The thread is gone.")  # deleted by a concurrent request
        _ensure_thread_usable(thread, user)
        if not thread.assistant.is_active:
            raise ValidationError(errors.ASSISTANT_INACTIVE_MESSAGE, code=errors.ASSISTANT_INACTIVE)
        if not thread.messages.exists():
            raise ValidationError(errors.THREAD_EMPTY_MESSAGE, code=errors.THREAD_EMPTY)
        if thread.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.IN_PROGRESS]).exists():
            raise ValidationError(errors.RUN_ACTIVE_MESSAGE, code=errors.RUN_ACTIVE)
        files = _resolve_files(user=user, file_ids=file_ids)
        _check_run_quota(user)
        run = Run.objects.create(thread=thread, assistant=thread.assistant, created_by=user)
        if files:
            run.files.set(files)
        transaction.on_commit(partial(_enqueue_run, run.pk))
    return run


def _enqueue_run(run_id: UUID) -> None:
    from assistants.tasks import execute_run

    try:
        execute_run.enqueue(str(run_id))
    except Exception:
        # The run is committed but no worker will see it: say so on the run rather than leave it queued.
        logger.exception("Could not enqueue run %s", run_id)
        Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error=QUEUE_FAILED_MESSAGE, finished_at=timezone.now()
        )


@transaction.atomic
def run_cancel(*, run: Run) -> Run:
    """Queued or in-progress runs stop here; whatever the worker produces later is discarded."""
    run = Run.objects.select_for_update().filter(pk=run.pk).first()
    if run is None:
        raise Http404("The run is gone.")  # its thread was deleted by a concurrent request
    if run.status in TERMINAL_RUN_STATUSES:
        raise ValidationError(errors.RUN_NOT_CANCELLABLE_MESSAGE, code=errors.RUN_NOT_CANCELLABLE)
    run.status = RunStatus.CANCELLED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run


def run_execute(*, run_id: UUID | str) -> Run | None:
    """The worker's side of a run: claim it, ask the engine, record the answer or the failure.

    No transaction or lock is held while the engine works; the claim and the final write are each
    conditional on the run's status, so a cancel at any moment wins.
    """
    claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.IN_PROGRESS, started_at=timezone.now()
    )
    if not claimed:
        return None  # cancelled, deleted, or already taken by another worker
    run = Run.objects.select_related("assistant").filter(pk=run_id).first()
    if run is None:
        return None
    try:
        completion = get_engine().complete(_engine_request(run))
    except EngineError as exc:
        return _run_finish(run_id, error=str(exc))
    except Exception:
        logger.exception("Run %s: the engine crashed", run_id)
        return _run_finish(run_id, error=ENGINE_CRASHED_MESSAGE)
    try:
        return _run_finish(run_id, completion=completion)
    except Exception:
        # A reply that cannot be stored must not leave the run in progress (and its thread blocked) for good.
        logger.exception("Run %s: the engine's reply could not be stored", run_id)
        return _run_finish(run_id, error=ENGINE_CRASHED_MESSAGE)


@transaction.atomic
def _run_finish(run_id: UUID | str, *, completion: Completion | None = None, error: str = "") -> Run | None:
    run = Run.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != RunStatus.IN_PROGRESS:
        return run  # cancelled (or deleted) while the engine worked: its outcome is not ours to overwrite
    if completion is not None:
        # PostgreSQL stores no U+0000 in text or jsonb, and an engine may well send one.
        content = completion.content.replace("\x00", "")
        Message.objects.create(thread_id=run.thread_id, role=MessageRole.ASSISTANT, content=content, run=run)
        Thread.objects.filter(pk=run.thread_id).update(updated_at=timezone.now())
        run.status = RunStatus.COMPLETED
        run.usage = {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
            "model": completion.model.replace("\x00", ""),
        }
    else:
        run.status = RunStatus.FAILED
        run.error = error.replace("\x00", "")[:2000] or ENGINE_CRASHED_MESSAGE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "usage", "error", "finished_at"])
    return run


def runs_fail_stale(*, older_than: timedelta) -> int:
    """Fail runs left in progress by a worker that died; they would otherwise block their thread for good."""
    cutoff = timezone.now() - older_than
    return Run.objects.filter(status=RunStatus.IN_PROGRESS, started_at__lt=cutoff).update(
        status=RunStatus.FAILED, error=WORKER_LOST_MESSAGE, finished_at=timezone.now()
    )


def _engine_request(run: Run) -> EngineRequest:
    """The thread as it stood when the run started (its latest messages), plus the text of attached files."""
    assistant = run.assistant
    recent = list(
        Message.objects.filter(thread_id=run.thread_id, created_at__lte=run.created_at)
        .order_by("-created_at", "-id")
        .prefetch_related("files")[: settings.ASSISTANT_CONTEXT_MESSAGES]
    )
    recent.reverse()
    files = {f.pk: f for f in run.files.all()}
    for message in recent:
        files.update({f.pk: f for f in message.files.all()})
    return EngineRequest(
        model=assistant.model,
        instructions=assistant.instructions,
        messages=[ChatMessage(m.role, m.content) for m in recent],
        attachments=_attachments(files.values()),
        options=assistant.settings if isinstance(assistant.settings, dict) else {},
    )


def _attachments(files: Iterable[File]) -> list[Attachment]:
    """Text files only, ASSISTANT_FILE_TEXT_MAX_CHARS in all; a file whose bytes are gone is skipped."""
    budget = settings.ASSISTANT_FILE_TEXT_MAX_CHARS
    attachments = []
    for file in files:
        if budget <= 0:
            break
        if not is_text_type(file.content_type):
            continue
        try:
            with default_storage.open(file.storage_path, "rb") as handle:
                raw = handle.read(budget + 1)
        except OSError:
            logger.warning("File %s: stored bytes missing, not given to the engine", file.pk)
            continue
        # UTF-8 takes at least one byte per character, so `budget` bytes never exceed `budget` characters.
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(raw[:budget], final=False)
        if len(raw) > budget:
            text += "\n[truncated]"
        budget -= len(raw[:budget])
        attachments.append(Attachment(name=file.original_name, content_type=file.content_type, text=text))
    return attachments


# ---------------------------------------------------------------- files


def clean_file_name(name: str) -> str:
    """The last path segment of an uploaded name, without control characters, at most 255 characters."""
    name = _UNSAFE_NAME_CHARS.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if len(name) > 255:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 254 - len(suffix)] + dot + suffix) if dot and len(suffix) < 16 else name[:255]
    return name or "file"


def _check_storage_quota(*, organization: Organization, user, size: int) -> None:
    """The organization's stored bytes stay within the uploader's plan limit (staff are unlimited)."""
    if user.is_staff:
        return
    limit = limit_for(user.plan, "storage_bytes")
    if limit is None:
        return
    used = File.objects.filter(organization=organization).aggregate(total=Sum("size"))["total"] or 0
    if used + size > limit:
        raise errors.StorageQuotaExceeded(detail=errors.STORAGE_QUOTA_MESSAGE.format(limit=limit))


def file_create(*, organization: Organization, uploaded_by, upload: UploadedFile) -> File:
    """Store an upload after checking its size, its real type (sniffed from the bytes) and the quota.

    Bytes are written before the row; if the row cannot be written, the bytes are removed again.
    """
    max_size = settings.FILE_UPLOAD_MAX_SIZE
    if upload.size > max_size:
        raise errors.FileTooLarge(detail=f"Files may be at most {max_size} bytes.")
    _ensure_org_admin(uploaded_by, organization)
    name = clean_file_name(upload.name or "")
    upload.seek(0)
    content_type = sniff_content_type(upload.read(SNIFF_BYTES), name)
    if content_type not in settings.FILE_ALLOWED_CONTENT_TYPES:
        raise errors.UnsupportedFileType(
            detail=f"Files of type {content_type} are not accepted. Accepted: "
            + ", ".join(settings.FILE_ALLOWED_CONTENT_TYPES)
            + "."
        )
    _check_storage_quota(organization=organization, user=uploaded_by, size=upload.size)  # fail fast, unlocked
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    file_id = uuid7()
    # The path holds no part of the client's file name: nothing to traverse, nothing to collide.
    stored_path = default_storage.save(f"files/{organization.pk}/{file_id}", upload)
    try:
        with transaction.atomic():
            # One upload at a time per organization, so two uploads cannot both fit under the quota.
            Organization.objects.select_for_update().filter(pk=organization.pk).first()
            _check_storage_quota(organization=organization, user=uploaded_by, size=upload.size)
            return File.objects.create(
                id=file_id,
                organization=organization,
                uploaded_by=uploaded_by,
                original_name=name,
                content_type=content_type,
                size=upload.size,
                sha256=digest.hexdigest(),
                storage_path=stored_path,
            )
    except BaseException:
        default_storage.delete(stored_path)
        raise


@transaction.atomic
def file_rename(*, file: File, original_name: str, actor) -> File:
    _ensure_org_admin(actor, file.organization)
    name = original_name.strip()
    if not name or "/" in name or "\\" in name or _UNSAFE_NAME_CHARS.search(name) or len(name) > 255:
        raise ValidationError(
            {"original_name": ValidationError(errors.INVALID_FILE_NAME_MESSAGE, code=errors.INVALID_FILE_NAME)}
        )
    file.original_name = name
    file.save(update_fields=["original_name", "updated_at"])
    return file


@transaction.atomic
def file_delete(*, file: File, actor) -> None:
    """The row goes now; its bytes go once the deletion is committed (see assistants.signals)."""
    _ensure_org_admin(actor, file.organization)
    file.delete()
