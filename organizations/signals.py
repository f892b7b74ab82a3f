"""One hook for every write to memberships, however it came: a row saved or deleted, a bulk write
(MembershipQuerySet sends `memberships_changed`), or `organization.members` changed."""

from collections.abc import Callable

from django.db.models.signals import m2m_changed, post_delete, post_save

from organizations.models import Membership, Organization, memberships_changed


def on_membership_writes(name: str) -> Callable:
    """Decorator: `func(using=...)` runs after every write to memberships (a cached list dropping its pages, say).
    `name` keeps the connections unique, so that importing the module twice connects nothing twice."""

    def connect(func: Callable[..., None]) -> Callable[..., None]:
        def receiver(sender, using: str, **kwargs) -> None:
            if kwargs.get("action", "post_").startswith("post_"):  # m2m_changed also fires before the change
                func(using=using)

        for signal, sender, kind in (
            (post_save, Membership, "saved"),
            (post_delete, Membership, "deleted"),
            (memberships_changed, Membership, "bulk"),
            (m2m_changed, Organization.members.through, "m2m"),
        ):
            signal.connect(receiver, sender=sender, weak=False, dispatch_uid=f"{name}.memberships_{kind}")
        return func

    return connect
