"""Shared admin plumbing: service errors shown as messages, bulk actions through services, action forms."""

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from rest_framework.exceptions import APIException

ACTION_FORM_TEMPLATE = "admin/bazar/action_form.html"


# What services raise when they refuse: Django's ValidationError (bad input), or a DRF error (e.g. 403).
SERVICE_ERRORS = (ValidationError, APIException)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(getattr(exc, "detail", exc))


class ServiceErrorsMixin:
    """Saves and deletes call services; a rule they enforce becomes an error message, never a 500.

    Django wraps the change and delete views in a transaction, so a refused write leaves nothing half-done.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SERVICE_ERRORS as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except SERVICE_ERRORS as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def apply_to_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Model],
    service: Callable[[Model], object],
    *,
    done: str,
    check: Callable[[Model], str | None] | None = None,
) -> int:
    """Call `service` on each object; `check` may refuse one with a reason. Report what was done and skipped."""
    count, skipped = 0, []
    for obj in objects:
        reason = check(obj) if check else None
        if reason is None:
            try:
                service(obj)
            except SERVICE_ERRORS as exc:
                reason = error_text(exc)
        if reason is None:
            count += 1
        else:
            skipped.append(f"{obj}: {reason}")
    if count:
        modeladmin.message_user(request, f"{done}: {count}.", messages.SUCCESS)
    for line in skipped:
        modeladmin.message_user(request, f"Skipped {line}", messages.WARNING)
    return count


def action_form_response(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset,
    *,
    form: forms.Form,
    action: str,
    title: str,
    submit: str,
) -> TemplateResponse:
    """The intermediate page of an action that needs input (a reason, a plan) before it runs."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": action,
        "submit_label": submit,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)


def bound_action_form(form_class: type[forms.Form], request: HttpRequest) -> forms.Form:
    """The action's own form, bound once its intermediate page was submitted ("apply" in the POST)."""
    return form_class(request.POST if "apply" in request.POST else None)
