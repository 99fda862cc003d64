"""What the citizens' tests share: an app on a store, photos made with Pillow, a form."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from PIL import Image
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.store.base import Store

API = "/citizen/v1"
JIEFANGBEI = ("29.557", "106.577")
"""(lat, long) in Yuzhong district."""
EMAIL = "wang.fang@example.cn"
NAME = "Wang Fang"
OPERATOR = {"CityOS-Actor": "li.operator", "CityOS-Roles": "operator"}


def app_client(store: Store, **settings: Any) -> TestClient:
    base = Settings(citizen_rate=None)
    return TestClient(create_app(store, replace(base, **settings)), raise_server_exceptions=False)


def jpeg_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG carrying EXIF with a camera make and GPS coordinates."""
    exif = Image.Exif()
    exif[0x010F] = "CityCam"
    exif[0x8825] = {1: "N", 2: (29.0, 33.0, 25.0), 3: "E", 4: (106.0, 34.0, 37.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (0, 128, 0, 255)).save(out, "PNG")
    return out.getvalue()


def form(**fields: str) -> dict[str, str]:
    base = {
        "category": "pothole",
        "lat": JIEFANGBEI[0],
        "long": JIEFANGBEI[1],
        "description": "A deep hole by the bus stop",
        "attribute[size]": "large",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def report(
    client: TestClient, photos: list[bytes] | None = None, headers: Any = None, **fields: str
) -> Any:
    files = [("photo", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos or [])]
    return client.post(f"{API}/reports", data=form(**fields), files=files or None, headers=headers)
