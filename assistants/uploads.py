"""What an uploaded file really is, decided from its bytes (and its name for text), never from the client's
Content-Type header alone."""

import codecs
import mimetypes

SNIFF_BYTES = 8 * 1024

# Leading bytes of the binary formats we recognize.
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# Text formats whose type comes from the file name once the bytes are known to be text.
_TEXT_TYPES_BY_NAME = {
    "text/plain",
    "text/markdown",
    "text/csv",
    "text/tab-separated-values",
    "text/html",
    "text/xml",
    "text/x-python",
    "application/json",
    "application/xml",
    "application/x-yaml",
    "application/yaml",
}
_EXTRA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".yaml": "application/yaml"}
_TEXT_READABLE = {"application/json", "application/xml", "application/x-yaml", "application/yaml"}


def sniff_content_type(head: bytes, name: str) -> str:
    """The content type of a file from its first bytes; text files get the type their extension names."""
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if not looks_like_text(head):
        return "application/octet-stream"
    guessed = guess_type_from_name(name)
    return guessed if guessed in _TEXT_TYPES_BY_NAME else "text/plain"


def guess_type_from_name(name: str) -> str | None:
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name, strict=False)[0]


def looks_like_text(head: bytes) -> bool:
    """UTF-8 (a character cut at the end of the sample is fine) without NUL bytes."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        return False
    return True


def is_text_type(content_type: str) -> bool:
    """Types whose bytes a run may read as text and pass to the engine."""
    return content_type.startswith("text/") or content_type in _TEXT_READABLE
