"""Error codes and messages of the assistants app, as constants the tests assert on.

Rules that are plain bad input raise Django's ValidationError with one of these codes (the API answers 400).
The few refusals that need another HTTP status are DRF exceptions, as accounts.errors does for login.
"""

from rest_framework import exceptions, status

# 400
ASSISTANT_IN_USE = "assistant_in_use"
ASSISTANT_INACTIVE = "assistant_inactive"
ORGANIZATION_MISMATCH = "organization_mismatch"
NOT_A_MEMBER = "not_a_member"
ROLE_NOT_ALLOWED = "role_not_allowed"
THREAD_EMPTY = "thread_empty"
RUN_ACTIVE = "run_active"
RUN_NOT_CANCELLABLE = "run_not_cancellable"
TOO_MANY_FILES = "too_many_files"
INVALID_FILE_NAME = "invalid_file_name"
# 403 / 413 / 415 / 429
ORG_ROLE_REQUIRED = "org_role_required"
STORAGE_QUOTA_EXCEEDED = "storage_quota_exceeded"
FILE_TOO_LARGE = "file_too_large"
UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
QUOTA_EXCEEDED = "quota_exceeded"
# 404 on download when the row exists but the bytes are gone
FILE_CONTENT_MISSING = "file_content_missing"

ASSISTANT_IN_USE_MESSAGE = "This assistant has threads; deactivate it (is_active=false) instead of deleting it."
ASSISTANT_MOVE_IN_USE_MESSAGE = "This assistant has threads, so it stays in its organization; create a new one instead."
ASSISTANT_INACTIVE_MESSAGE = "This assistant is not active."
ORGANIZATION_MISMATCH_MESSAGE = "This assistant belongs to another organization."
NOT_A_MEMBER_MESSAGE = "You are not a member of this organization."
ROLE_NOT_ALLOWED_MESSAGE = "Only staff may post messages with this role."
THREAD_EMPTY_MESSAGE = "Add a message to the thread before starting a run."
RUN_ACTIVE_MESSAGE = "This thread already has a run queued or in progress."
RUN_NOT_CANCELLABLE_MESSAGE = "This run has already finished."
TOO_MANY_FILES_MESSAGE = "Attach at most {limit} files."
INVALID_FILE_NAME_MESSAGE = "Give the file a name without slashes or control characters."
STORAGE_QUOTA_MESSAGE = "This upload would exceed the organization's storage quota ({limit} bytes)."
RUN_QUOTA_MESSAGE = "You have used today's runs ({limit} per day on your plan)."


class QuotaExceeded(exceptions.Throttled):
    """The plan's runs-per-day quota is used up (429 with Retry-After until the next UTC day)."""

    default_detail = "Quota exceeded."
    default_code = QUOTA_EXCEEDED


class OrgRoleRequired(exceptions.PermissionDenied):
    """Uploading, renaming and deleting files needs the OWNER or ADMIN role in the file's organization."""

    default_detail = "Only the organization's owners and admins may manage its files."
    default_code = ORG_ROLE_REQUIRED


class StorageQuotaExceeded(exceptions.PermissionDenied):
    """The organization's stored bytes would pass the uploader's plan limit."""

    default_detail = "Storage quota exceeded."
    default_code = STORAGE_QUOTA_EXCEEDED


class FileTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is larger than the upload limit."
    default_code = FILE_TOO_LARGE


class UnsupportedFileType(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "This type of file is not accepted."
    default_code = UNSUPPORTED_FILE_TYPE


class FileContentMissing(exceptions.NotFound):
    default_detail = "The stored content of this file is missing."
    default_code = FILE_CONTENT_MISSING
