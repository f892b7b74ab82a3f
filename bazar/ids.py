"""Public identifiers: time-ordered UUIDv7, so primary-key indexes stay append-mostly."""

import uuid

import uuid6


def uuid7() -> uuid.UUID:
    return uuid.UUID(int=uuid6.uuid7().int)
