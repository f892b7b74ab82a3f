"""Every write to a user's row drops the user's cached copy and the cached users lists (accounts/caching.py), and
so does every write to a membership (it changes who sees whom), however the write came."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from accounts import caching
from accounts.models import User
from bazar.caching import lists_changed
from organizations.models import Membership, Organization, memberships_changed


@receiver(post_save, sender=User, dispatch_uid="accounts.user_cache_saved")
@receiver(post_delete, sender=User, dispatch_uid="accounts.user_cache_deleted")
def user_cache_drop(sender, instance: User, using: str, **kwargs) -> None:
    caching.users_changed([instance.pk], using=using)


@receiver(post_save, sender=Membership, dispatch_uid="accounts.list_cache_membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="accounts.list_cache_membership_deleted")
@receiver(memberships_changed, sender=Membership, dispatch_uid="accounts.list_cache_memberships_bulk")
@receiver(m2m_changed, sender=Organization.members.through, dispatch_uid="accounts.list_cache_members_m2m")
def list_cache_drop(sender, using: str, **kwargs) -> None:
    if kwargs.get("action", "post_").startswith("post_"):  # m2m_changed also fires before the change
        lists_changed(caching.LIST_CACHE, using=using)
