"""Citizens' photos: accepted only as what they decode to, stored only as we re-encode them.

A file is a JPEG, PNG or WebP when its bytes start with that format's signature, Pillow
decodes the whole image, and nothing follows the image's end (an HTML page or a ZIP
appended to a JPEG, the "GIFAR" kind of polyglot, is refused rather than trimmed: a file
made to be two things at once is not a citizen's photo). The stored file is a fresh
encoding of the decoded pixels, at most `MAX_SIDE` pixels on a side, in the same format:
no EXIF, no GPS, no XMP, no comments, nothing the sender wrote but the picture.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from cityos.citizens.messages import CitizenError
from cityos.governance.model import Photo

MAX_SIDE = 2048
MAX_PIXELS = 40_000_000
"""Larger images are refused before decoding (a decompression bomb)."""
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
_PHOTO_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def sniff(data: bytes) -> str | None:
    """The format the bytes' signature names, or None."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def clean(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """The re-encoded photo and its extension; CitizenError 413 or 415 when refused."""
    if len(data) > max_bytes:
        raise CitizenError(413, "too_large", "photo_size", mb=max_bytes // 1_000_000)
    kind = sniff(data)
    if kind is None:
        raise CitizenError(415, "unsupported_media", "photo_type")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[kind])
            if opened.width * opened.height > MAX_PIXELS:
                raise CitizenError(413, "too_large", "photo_size", mb=max_bytes // 1_000_000)
            opened.load()
            _check_end(data, kind)
            image = ImageOps.exif_transpose(opened)
    except CitizenError:
        raise
    except Exception:
        raise CitizenError(415, "unsupported_media", "photo_type") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        keep = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        image.convert(keep).save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85)
    return out.getvalue(), FORMATS[kind]


def _check_end(data: bytes, kind: str) -> None:
    """Refuse bytes after the image's end: the JPEG's last EOI, PNG's IEND chunk, the WebP
    RIFF length."""
    if kind == "JPEG":
        end = data.rfind(b"\xff\xd9")
        tail = data[end + 2 :] if end >= 0 else data
        if end < 0 or tail.strip(b"\x00"):
            raise ValueError("bytes after the JPEG")
        if b"<" in data and re.search(rb"<\s*(html|script|svg|body|iframe|!doctype)", data, re.I):
            raise ValueError("markup inside the JPEG")
    elif kind == "PNG":
        end = data.rfind(b"IEND")
        if end < 0 or len(data) != end + 8:
            raise ValueError("bytes after the PNG")
    else:
        if int.from_bytes(data[4:8], "little") + 8 != len(data):
            raise ValueError("bytes after the WebP")


@dataclass(frozen=True, slots=True)
class MediaStore:
    """Photos as files under `root/<tenant or _default>/`, written atomically."""

    root: Path

    def _dir(self, tenant: str) -> Path:
        return self.root / (tenant or "_default")

    def save(self, tenant: str, data: bytes, ext: str) -> Photo:
        folder = self._dir(tenant)
        folder.mkdir(parents=True, exist_ok=True)
        photo = Photo(secrets.token_urlsafe(18), ext)
        fd, temp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, folder / photo.file)
        return photo

    def hide(self, tenant: str, photo: Photo, hidden: bool) -> None:
        """A hidden photo's file is renamed, so /media cannot serve it whatever it is asked."""
        shown, kept = self._dir(tenant) / photo.file, self._dir(tenant) / f"{photo.file}.hidden"
        source, target = (shown, kept) if hidden else (kept, shown)
        if source.exists():
            os.replace(source, target)

    def read(self, tenant: str, photo_id: str, ext: str) -> bytes | None:
        if not _PHOTO_ID.match(photo_id) or ext not in MEDIA_TYPES:
            return None
        path = self._dir(tenant) / f"{photo_id}.{ext}"
        try:
            return path.read_bytes()
        except OSError:
            return None
