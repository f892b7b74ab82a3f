import pytest

from assistants.services import clean_file_name
from assistants.uploads import is_text_type, looks_like_text, sniff_content_type

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (PNG, "photo.png", "image/png"),
        (PNG, "photo.txt", "image/png"),  # the bytes decide, not the name
        (JPEG, "photo.jpg", "image/jpeg"),
        (PDF, "paper.pdf", "application/pdf"),
        (b"GIF89a\x01\x00", "a.gif", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a.webp", "image/webp"),
        (b"hello\n", "notes.txt", "text/plain"),
        (b"# Title\n", "README.md", "text/markdown"),
        (b"a,b\n1,2\n", "data.csv", "text/csv"),
        (b'{"a": 1}', "data.json", "application/json"),
        (b"<html><script>alert(1)</script>", "page.html", "text/html"),
        (b"plain words", "photo.png", "text/plain"),  # a text file claiming to be an image is text
        (b"plain words", "no-extension", "text/plain"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe", "application/octet-stream"),
        (b"\x00\x01\x02\x03binary", "notes.txt", "application/octet-stream"),
        (b"\xff\xfe\xfd not utf-8", "notes.txt", "application/octet-stream"),
        ("Grüße, ünïcödé".encode(), "greeting.txt", "text/plain"),
    ],
)
def test_sniff_content_type_reads_the_bytes(head, name, expected):
    assert sniff_content_type(head, name) == expected


def test_looks_like_text_accepts_a_character_cut_at_the_end_of_the_sample():
    sample = "ü".encode() * 10

    assert looks_like_text(sample[:-1])


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", True),
        ("text/csv", True),
        ("application/json", True),
        ("application/pdf", False),
        ("image/png", False),
    ],
)
def test_is_text_type(content_type, expected):
    assert is_text_type(content_type) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        ("bad\x00name\n.txt", "badname.txt"),
        ("   ", "file"),
        ("a" * 300 + ".txt", "a" * 251 + ".txt"),
    ],
)
def test_clean_file_name_keeps_only_a_safe_last_segment(name, expected):
    assert clean_file_name(name) == expected
