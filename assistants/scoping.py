"""What each caller may see at all. Views, serializers and services start every lookup here, so a row out
of scope is simply absent (404 or does_not_exist), never forbidden. Anonymous callers see nothing (the schema
generator asks as one)."""

from django.db.models import Q, QuerySet

from assistants.models import Assistant, File, Thread
from organizations.scoping import member_org_ids


def assistants_for(user) -> QuerySet[Assistant]:
    """Staff: every assistant. Others: active platform-wide assistants and those of their organizations."""
    if not user.is_authenticated:
        return Assistant.objects.none()
    if user.is_staff:
        return Assistant.objects.all()
    return Assistant.objects.filter(
        Q(organization__isnull=True) | Q(organization__in=member_org_ids(user)), is_active=True
    )


def threads_for(user) -> QuerySet[Thread]:
    """Staff: every thread. Others: their own."""
    if not user.is_authenticated:
        return Thread.objects.none()
    return Thread.objects.all() if user.is_staff else Thread.objects.filter(owner=user)


def files_for(user) -> QuerySet[File]:
    """Staff: every file. Others: the files of their organizations."""
    if not user.is_authenticated:
        return File.objects.none()
    return File.objects.all() if user.is_staff else File.objects.filter(organization__in=member_org_ids(user))
