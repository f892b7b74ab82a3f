"""Every write to a user's row drops the user's cached copy (accounts/caching.py), however the write came."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.caching import users_changed
from accounts.models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.user_cache_saved")
@receiver(post_delete, sender=User, dispatch_uid="accounts.user_cache_deleted")
def user_cache_drop(sender, instance: User, using: str, **kwargs) -> None:
    users_changed([instance.pk], using=using)
