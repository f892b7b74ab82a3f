"""Validators of assistants' model fields, so that the API, the admin and services refuse the same input."""

from django.core.exceptions import ValidationError

NULL_CHARACTERS = "null_characters_not_allowed"
NULL_CHARACTERS_MESSAGE = "Null characters are not allowed."


def reject_null_characters(value) -> None:
    """No U+0000 in any key or string of a JSON value: PostgreSQL's jsonb cannot store it (SQLite can, so the
    rule is the same on every database)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationError(NULL_CHARACTERS_MESSAGE, code=NULL_CHARACTERS)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
