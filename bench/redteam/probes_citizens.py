"""The citizens' front door (issue 18): uploads that are not photos, a filled honeypot, the
reporter's contact and moderated text on the public routes. Every probe is keyless, as a
citizen (or an attacker) is; moderation is done with the admin key."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from bench.redteam.target import Probe, Target, Verdict, refused

API = "/citizen/v1"
EMAIL = "redteam.reporter@example.org"
HIDDEN = "redteam-hidden-text-7731"
PLACE = {"category": "pothole", "lat": "29.557", "long": "106.577"}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


def upload(target: Target, name: str, data: bytes, kind: str) -> Any:
    files = [("photo", (name, data, kind))]
    return target.request("POST", f"{API}/reports", data=PLACE, files=files)


def svg_upload(target: Target) -> Verdict:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    answer = upload(target, "x.svg", svg, "image/svg+xml")
    return refused(answer.status_code == 415, f"SVG as a photo: {answer.status_code}")


def html_as_jpeg(target: Target) -> Verdict:
    answer = upload(target, "x.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    return refused(answer.status_code == 415, f"HTML named .jpg: {answer.status_code}")


def polyglot(target: Target) -> Verdict:
    data = jpeg() + b"<html><script>alert(document.cookie)</script></html>"
    answer = upload(target, "x.jpg", data, "image/jpeg")
    return refused(answer.status_code == 415, f"JPEG+HTML polyglot: {answer.status_code}")


def honeypot(target: Target) -> Verdict:
    answer = target.request("POST", f"{API}/reports", data={**PLACE, "website": "http://spam"})
    return refused(answer.status_code == 400, f"honeypot filled: {answer.status_code}")


_SEEDED: dict[int, tuple[str, str]] = {}


def seeded(target: Target) -> tuple[str, str]:
    """(reference, case id) of one report carrying a contact, whose text the admin hides
    (filed once per server)."""
    if target.port not in _SEEDED:
        _SEEDED[target.port] = _seed(target)
    return _SEEDED[target.port]


def _seed(target: Target) -> tuple[str, str]:
    form = {**PLACE, "description": HIDDEN, "email": EMAIL, "name": "Red Team"}
    answer = target.request(
        "POST", f"{API}/reports", data=form, files=[("photo", ("p.jpg", jpeg(), "image/jpeg"))]
    )
    if answer.status_code != 201:
        return "", ""
    body = answer.json()
    target.request(
        "POST",
        f"/governance/cases/{body['id']}/moderate",
        as_="admin",
        json={"hide": "text", "reason": "red team"},
    )
    return body["reference"], body["id"]


def public_texts(target: Target, reference: str) -> list[str]:
    paths = [
        f"{API}/reports/{reference}",
        f"{API}/reports?bbox=106.4,29.4,106.7,29.7",
        f"{API}/nearby?category=pothole&lat=29.557&long=106.577",
        f"/open311/v2/requests/{reference}.json",
        "/open311/v2/services.json",
    ]
    return [target.request("GET", path).text for path in paths]


def contact_leak(target: Target) -> Verdict:
    reference, _ = seeded(target)
    if not reference:
        return refused(False, "could not file a keyless report to look for its contact")
    leaks = [t for t in public_texts(target, reference) if EMAIL in t or "Red Team" in t]
    return refused(not leaks, f"reporter's contact on {len(leaks)} public answers")


def hidden_text_leak(target: Target) -> Verdict:
    reference, _ = seeded(target)
    if not reference:
        return refused(False, "could not file a keyless report to moderate")
    story = target.request("GET", f"{API}/reports/{reference}")
    leaks = [t for t in public_texts(target, reference) if HIDDEN in t]
    ok = story.status_code == 200 and not leaks
    return refused(ok, f"moderated text on {len(leaks)} public answers ({story.status_code})")


PROBES = [
    Probe("SVG uploaded as a photo", svg_upload),
    Probe("HTML uploaded as a JPEG", html_as_jpeg),
    Probe("JPEG+HTML polyglot", polyglot),
    Probe("honeypot filled", honeypot),
    Probe("reporter's contact on public routes", contact_leak),
    Probe("moderated text on public routes", hidden_text_leak),
]
