"""Every write to a user's row drops the user's cached copy and the cached users lists (accounts/caching.py), and
so does every write to a membership (it changes who sees whom), however the write came."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import caching
from accounts.models import User
from bazar.caching import lists_changed
from organizations.signals import on_membership_writes


@receiver(post_save, sender=User, dispatch_uid="accounts.user_cache_saved")
@receiver(post_delete, sender=User, dispatch_uid="accounts.user_cache_deleted")
def user_cache_drop(sender, instance: User, using: str, **kwargs) -> None:
    caching.users_changed([instance.pk], using=using)


@on_membership_writes("accounts.users_list_cache")
def users_list_cache_drop(using: str) -> None:
    lists_changed(caching.LIST_CACHE, using=using)
