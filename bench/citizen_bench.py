"""The citizens' front door: what a 3 MB photo costs a report, and how fast e-mail goes out.

    .venv/bin/python -m bench.citizen_bench [--reports 40] [--mails 500]

In process (Starlette's TestClient over the ASGI app, one client, requests back to back), on
a fresh SQLite data directory (synchronous=full): --reports keyless reports without a photo,
then as many with one 3 MB JPEG (camera noise, 3000x2000, GPS EXIF), each checked by
decoding, resized to 2048 px, re-encoded without metadata and stored. Latencies p50/p99 of
both, and their ratio. Then --mails e-mails queued in the store's outbox are sent by the
mailer to an aiosmtpd server on loopback in this process; the rate is set against the same
server's own limit: smtplib sending the same messages over one session, without the store.
"""

from __future__ import annotations

import argparse
import io
import random
import smtplib
import socket
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from PIL import Image
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.citizens.mailer import Mailer, SmtpSettings
from cityos.store.citizens import Mail
from cityos.store.sqlite import SQLiteStore


def photo(target_bytes: int = 3_000_000) -> bytes:
    """A JPEG of about `target_bytes`: noise compresses as badly as a real street does."""
    rng = random.Random(7)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (29.0, 33.0, 25.0), 3: "E", 4: (106.0, 34.0, 37.0)}
    quality, data = 95, b""
    noise = Image.frombytes("RGB", (3000, 2000), rng.randbytes(3000 * 2000 * 3))
    while quality > 20:
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=quality, exif=exif.tobytes())
        data = out.getvalue()
        if len(data) <= target_bytes * 1.1:
            break
        quality -= 5
    return data


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def reports(client: TestClient, n: int, files: Any) -> list[float]:
    took = []
    for i in range(n):
        form = {
            "category": "pothole",
            "lat": f"{29.5 + i * 1e-4:.6f}",
            "long": f"{106.5 + i * 1e-4:.6f}",
            "description": f"Benchmark report {i}",
            "email": f"citizen{i}@example.cn",
        }
        start = time.perf_counter()
        answer = client.post("/citizen/v1/reports", data=form, files=files)
        took.append(time.perf_counter() - start)
        assert answer.status_code == 201, answer.text
    return took


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def mail_rates(data: Path, n: int) -> tuple[float, float]:
    """(mailer's e-mails/s from the outbox, smtplib's raw e-mails/s) to the same server."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = SQLiteStore(data / "mail")
        now = datetime.now(UTC)
        body = "Report CQ-2026-000001 is now: accepted.\nFollow it: https://x/report/CQ\n"
        mails = [Mail("", f"c{i}", f"c{i}@example.cn", "Your report", body, now) for i in range(n)]
        store.citizens.enqueue(mails)
        smtp = SmtpSettings.parse(f"smtp://127.0.0.1:{port}", "bench@example.cn")
        mailer = Mailer(store.citizens, smtp)
        start = time.perf_counter()
        while mailer.send_due(batch=100):
            pass
        queued_rate = n / (time.perf_counter() - start)
        assert sink.count == n, sink.count
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as raw:
            for i in range(n):
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = "b@x.cn", f"c{i}@x.cn", "r"
                message.set_content(body)
                raw.send_message(message)
        raw_rate = n / (time.perf_counter() - start)
        store.close()
        return queued_rate, raw_rate
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--mails", type=int, default=500)
    args = parser.parse_args()
    jpeg = photo()
    with tempfile.TemporaryDirectory(prefix="cityos-citizen-bench-") as tmp:
        data = Path(tmp)
        store = SQLiteStore(data / "city")
        settings = replace(Settings(), citizen_rate=None)
        with TestClient(create_app(store, settings)) as client:
            reports(client, 3, None)  # warm up
            bare = reports(client, args.reports, None)
            with_photo = reports(
                client, args.reports, [("photo", ("street.jpg", jpeg, "image/jpeg"))]
            )
        store.close()
        queued, raw = mail_rates(data, args.mails)
    print(f"photo: {len(jpeg) / 1e6:.2f} MB JPEG, 3000x2000, GPS EXIF")
    for name, took in (("without photo", bare), ("with one photo", with_photo)):
        p50, p99 = percentile(took, 50) * 1000, percentile(took, 99) * 1000
        print(f"report {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms (n={len(took)})")
    ratio = statistics.median(with_photo) / statistics.median(bare)
    print(f"p50 ratio with/without photo: {ratio:.1f}")
    print(f"e-mails from the outbox: {queued:.0f}/s; raw smtplib to the same server: {raw:.0f}/s")
    print(f"ratio: {queued / raw:.2f}")


if __name__ == "__main__":
    main()
