"""Storage housekeeping: a File's bytes leave storage once its row's deletion is committed, however the row
went (the service, the admin, a cascade from its organization). Cached assistants lists are dropped by every write
to an assistant or a membership, however it came (bulk writes: AssistantQuerySet)."""

import logging
from functools import partial

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from assistants.caching import assistants_changed
from assistants.models import Assistant, File
from organizations.models import Membership, Organization, memberships_changed

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
@receiver(post_save, sender=Membership, dispatch_uid="assistants.list_cache_membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="assistants.list_cache_membership_deleted")
@receiver(memberships_changed, sender=Membership, dispatch_uid="assistants.list_cache_memberships_bulk")
@receiver(m2m_changed, sender=Organization.members.through, dispatch_uid="assistants.list_cache_members_m2m")
def list_cache_drop(sender, using: str, **kwargs) -> None:
    if kwargs.get("action", "post_").startswith("post_"):  # m2m_changed also fires before the change
        assistants_changed(using=using)
