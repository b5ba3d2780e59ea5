"""Evidence files: validation by sniffed content, private storage under server names.

Accepted: PNG, JPEG, PDF (recognised by their signatures with the ``filetype`` package and
checked for a proper ending, so appended payloads are refused) and plain text / CSV (valid
UTF-8 without NUL bytes, not markup). The extension must agree with the sniffed type;
anything else is refused as disguised. Names with path components are refused (Django's
upload parser already strips them from HTTP uploads, so they never reach the disk); the
file is stored as ``PRIVATE_ROOT/evidence/<dispute id>/<uuid>`` and the client's name,
sanitised, is kept for display only.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import filetype
from django.conf import settings
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from solosales.core.errors import ValidationFailed

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES_PER_SUBMISSION = 5

EXTENSIONS = {
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg"},
    "application/pdf": {".pdf"},
    "text/plain": {".txt"},
    "text/csv": {".csv"},
}
_MARKUP_PREFIXES = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<head", b"<iframe")
_MARKUP_ANYWHERE = (b"<script", b"<html", b"<!doctype html", b"<iframe", b"javascript:")


class InvalidFile(ValidationFailed):
    code = "invalid_file"


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    display_name: str
    sha256: str
    size: int
    content_type: str


def _read_capped(upload) -> bytes:
    if hasattr(upload, "seek"):
        upload.seek(0)
    chunks, total = [], 0
    reader = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b"")
    for chunk in reader:
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise InvalidFile(
                _("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)},
                extra={"max_bytes": MAX_FILE_BYTES},
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _check_name(raw_name: str) -> tuple[str, str]:
    name = raw_name or ""
    if any(sep in name for sep in ("/", "\\", "\x00")) or ".." in name or name.startswith("."):
        raise InvalidFile(_("File names may not contain a path."), extra={"name": name[:200]})
    display = get_valid_filename(name)[:200] if name.strip() else ""
    ext = os.path.splitext(display)[1].lower()
    if not display or not ext:
        raise InvalidFile(_("The file needs a name with an extension (.png, .jpg, .pdf, .txt or .csv)."))
    return display, ext


def _sniff(data: bytes, ext: str) -> str:
    kind = filetype.guess(data)
    if kind is not None:
        mime = kind.mime
        if mime not in ("image/png", "image/jpeg", "application/pdf"):
            raise InvalidFile(
                _("Files of this type are not accepted: PNG, JPEG, PDF, plain text or CSV only."),
                extra={"sniffed": mime},
            )
        head = data[:1024].lower()
        tail = data[-1024:]
        well_formed = {
            "image/png": data.endswith(b"IEND\xaeB`\x82"),
            "image/jpeg": data.endswith(b"\xff\xd9"),
            "application/pdf": b"%%EOF" in tail,
        }[mime]
        if not well_formed or any(marker in head for marker in _MARKUP_ANYWHERE):
            raise InvalidFile(
                _("The file is damaged or carries extra content and was refused."), extra={"sniffed": mime}
            )
    else:
        if b"\x00" in data:
            raise InvalidFile(_("Files of this type are not accepted: PNG, JPEG, PDF, plain text or CSV only."))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidFile(_("Files of this type are not accepted: PNG, JPEG, PDF, plain text or CSV only."))
        lowered = text.lstrip("\ufeff \t\r\n").lower().encode()
        if lowered.startswith(_MARKUP_PREFIXES):
            raise InvalidFile(_("HTML and other markup files are not accepted."))
        mime = "text/csv" if ext == ".csv" else "text/plain"
    if ext not in EXTENSIONS[mime]:
        raise InvalidFile(
            _("The file's name (%(ext)s) does not match its content (%(type)s).") % {"ext": ext, "type": mime},
            extra={"extension": ext, "sniffed": mime},
        )
    return mime


def check_upload(upload) -> CheckedFile:
    """Validates an uploaded file (anything with ``name`` and ``read``/``chunks``) or raises
    InvalidFile with a message for the client."""
    display, ext = _check_name(getattr(upload, "name", "") or "")
    data = _read_capped(upload)
    if not data:
        raise InvalidFile(_("The file is empty."))
    mime = _sniff(data, ext)
    return CheckedFile(
        data=data,
        display_name=display,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type=mime,
    )


def private_root() -> Path:
    return Path(settings.PRIVATE_ROOT)


def store(*, dispute_id: int, checked: CheckedFile) -> str:
    """Writes the bytes under a fresh server-generated name; returns the path relative to
    PRIVATE_ROOT."""
    relative = f"evidence/{int(dispute_id)}/{uuid.uuid4().hex}"
    target = private_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as fh:
        fh.write(checked.data)
    os.chmod(target, 0o600)
    return relative


def absolute_path(item) -> Path:
    root = private_root().resolve()
    path = (root / item.file_path).resolve()
    if root not in path.parents:
        raise InvalidFile(_("The stored file path is outside the private root."))
    return path


def stored_file_sha256(item) -> str | None:
    try:
        path = absolute_path(item)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(65536), b""):
                digest.update(block)
        return digest.hexdigest()
    except (OSError, InvalidFile):
        return None


def discard(relative_paths: list[str]) -> None:
    """Removes files written by a transaction that then rolled back."""
    for relative in relative_paths:
        try:
            (private_root() / relative).unlink()
        except OSError:
            pass
