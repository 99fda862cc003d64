"""Stored XSS (issue 16, item 1): markup a device key writes into its own entity must never
run in an operator's dashboard. The proof that the pages build DOM nodes is the browser test
(tests/web/test_xss.py); these probes check the server's half: the write lands as data,
and every dashboard response carries a Content-Security-Policy under which that markup
could not run even if it reached an HTML sink.
"""

from __future__ import annotations

from bench.redteam.target import DEVICE_ENTITY, Probe, Target, Verdict, refused

PAYLOAD = '"><img src=x onerror="window.__xss=1"><svg onload=window.__xss=1>'
DASHBOARD = ("/dashboard/", "/dashboard/js/main.js", "/dashboard/js/maps.js", "/docs")


def _directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed.setdefault(words[0].lower(), words[1:])
    return parsed


def _weak(policy: str | None) -> str:
    """What is wrong with a CSP for the dashboard ('' when it is strict enough)."""
    if not policy:
        return "no Content-Security-Policy"
    directives = _directives(policy)
    script = directives.get("script-src", directives.get("default-src"))
    problems = []
    if script is None or script != ["'self'"]:
        problems.append(f"script-src {script}")
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"object-src {directives.get('object-src')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors {directives.get('frame-ancestors')}")
    return ", ".join(problems)


def device_writes_markup(target: Target) -> Verdict:
    """The device key writes markup into its own entity's name and airQualityIndex: stored as
    it is (data), and the dashboard that shows it answers with a strict CSP."""
    entity = {
        "id": DEVICE_ENTITY,
        "type": "AirQualityObserved",
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [106.5, 29.5]},
        },
    }
    target.request("POST", "/ngsi-ld/v1/entities", as_="admin", json=entity)
    attrs = {
        "name": {"type": "Property", "value": PAYLOAD},
        "airQualityIndex": {"type": "Property", "value": PAYLOAD},
    }
    wrote = target.request(
        "PATCH", f"/ngsi-ld/v1/entities/{DEVICE_ENTITY}/attrs", as_="device", json=attrs
    )
    page = target.request("GET", "/dashboard/")
    weak = _weak(page.headers.get("content-security-policy"))
    return refused(
        not weak,
        f"device write {wrote.status_code}; /dashboard/ CSP: {weak or 'strict'}",
    )


def strict_policy_everywhere(target: Target) -> Verdict:
    """The page, its modules and the API browser all carry the strict CSP, nosniff and
    no-referrer."""
    problems = []
    for path in DASHBOARD:
        answer = target.request("GET", path)
        headers = answer.headers
        weak = _weak(headers.get("content-security-policy"))
        if weak:
            problems.append(f"{path}: {weak}")
        if headers.get("x-content-type-options") != "nosniff":
            problems.append(f"{path}: no nosniff")
        if headers.get("referrer-policy") != "no-referrer":
            problems.append(f"{path}: referrer-policy {headers.get('referrer-policy')}")
    return refused(not problems, "; ".join(problems) or f"{len(DASHBOARD)} responses strict")


def no_inline_script(target: Target) -> Verdict:
    """No page needs 'unsafe-inline' scripts: /dashboard/ and /docs hold no inline script."""
    inline = []
    for path in ("/dashboard/", "/docs"):
        body = target.request("GET", path).text
        if "<script>" in body or " onload=" in body or " onclick=" in body:
            inline.append(path)
    return refused(not inline, f"inline script in {inline}" if inline else "none inline")


PROBES = [
    Probe("device key writes markup; dashboard CSP strict", device_writes_markup),
    Probe("CSP, nosniff, no-referrer on every dashboard response", strict_policy_everywhere),
    Probe("no inline script in the pages", no_inline_script),
]
