"""Storage housekeeping: a File's bytes leave storage once its row's deletion is committed, however the row
went (the service, the admin, a cascade from its organization). Cached assistants lists are dropped by every write
to an assistant or a membership, however it came (bulk writes: AssistantQuerySet)."""

import logging
from functools import partial

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from assistants.caching import assistants_changed
from assistants.models import Assistant, File
from organizations.signals import on_membership_writes

logger = logging.getLogger(__name__)


def _delete_bytes(path: str) -> None:
    try:
        default_storage.delete(path)
    except Exception:  # any storage backend's error: the row is gone either way, so log and go on
        logger.exception("Could not delete stored bytes at %s", path)


@receiver(post_delete, sender=File, dispatch_uid="assistants.file_bytes_delete")
def file_bytes_delete(sender, instance: File, using: str, **kwargs) -> None:
    transaction.on_commit(partial(_delete_bytes, instance.storage_path), using=using)


@receiver(post_save, sender=Assistant, dispatch_uid="assistants.list_cache_assistant_saved")
@receiver(post_delete, sender=Assistant, dispatch_uid="assistants.list_cache_assistant_deleted")
def list_cache_drop(sender, using: str, **kwargs) -> None:
    assistants_changed(using=using)


@on_membership_writes("assistants.list_cache")
def list_cache_drop_for_memberships(using: str) -> None:
    assistants_changed(using=using)
