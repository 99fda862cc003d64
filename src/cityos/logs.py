"""cityos's log lines: text for a person at a terminal, JSON lines for a log shipper.

`configure` installs one handler on the root logger (so uvicorn's, the libraries' and
cityos's own records all come out in the same format) with two filters:

- `RequestContext` stamps every record with the id of the request being handled, from a
  context variable the API's middleware sets (`request_id`); work the request hands to
  a thread (`asyncio.to_thread`, Starlette's thread pool) carries it along.
- `Redact` takes secrets and personal data out of every record, whoever logged it:
  credentials in URLs, Authorization / Cookie / API-key headers and parameters,
  notification endpoint headers (receiverInfo, notifierInfo) and citizens' contact
  details (Open311 email, phone, names, account and device ids).

Nothing here knows HTTP: the API fills the access-line fields (`ACCESS_FIELDS`) as
`extra`.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from contextvars import Context, ContextVar, copy_context
from typing import IO, Any

import orjson

request_id: ContextVar[str | None] = ContextVar("cityos_request_id", default=None)
"""The id of the request being handled (None outside requests)."""


def detached() -> Context:
    """A copy of the current context without the request id, for a task that outlives the
    request that started it (a subscription's worker): its log lines are its own."""
    context = copy_context()
    context.run(request_id.set, None)
    return context


ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "tenant")
"""What an access line carries besides the message, in this order."""

FORMATS = ("auto", "text", "json")
"""auto: text on a terminal, JSON lines otherwise (a container, a service manager)."""

MASK = "***"

_SECRET_KEYS = (
    r"authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|"
    r"api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|client[_-]?secret|"
    r"password|passwd|secret|token"
)
_PERSONAL_KEYS = (
    r"email|e-mail|phone|first[_-]?name|last[_-]?name|firstName|lastName|account[_-]?id|"
    r"device[_-]?id"
)
_KEYS = rf"(?:{_SECRET_KEYS}|{_PERSONAL_KEYS})"

_STRUCTURED = re.compile(
    r"""(["']?(?:receiverInfo|notifierInfo|receiver_info|notifier_info)["']?\s*[:=]\s*)"""
    r"""(\[[^\]]*\]|\{[^}]*\})"""
)
"""receiverInfo / notifierInfo, whole: they carry the endpoint's headers."""
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\"']*):[^\s@/\"']*@")
_COOKIE = re.compile(r"(?i)((?<![A-Za-z0-9_\-])(?:set-)?cookie\s*[:=]\s*)([^\r\n\"']+)")
"""A Cookie header's value to the end of the line (its pairs are separated by `;`)."""
_KEYED = re.compile(
    rf"""(?i)(?<![A-Za-z0-9_\-])(b?["']?{_KEYS}["']?)(\s*(?::|=|,)\s*)"""
    r"""(b?"[^"]*"|b?'[^']*'|\+?\(?\d[\d\s().\-]*\d|"""
    r"""(?:(?:bearer|basic|digest|token|negotiate)\s+)?[^\s"'&,;}\]\)]+)"""
)
"""key: value, key=value, "key": "value", ('key', 'value'), (b'key', b'value'): the value,
quoted or not (a phone number with its spaces, an Authorization value with its scheme)."""
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?<!//)[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
)
"""An e-mail address anywhere (not the user@host of a URL)."""
_IOT_KEY = re.compile(r"([?&]k=)[^&\s\"']*")
"""The FIWARE IoT Agent's device key in a query string."""
_HINTS = (
    "auth", "cookie", "key", "token", "secret", "passw", "mail", "phone", "name", "account",
    "device", "info", "@", "k=",
)  # fmt: skip
"""Substrings (lower case) of everything redacted: a line with none of them is left as it is
without running the patterns (a plain substring test is many times cheaper)."""


def _masked(match: re.Match[str]) -> str:
    value = match[3]
    quote = value[:2] if value[:1] == "b" and value[1:2] in "\"'" else value[:1]
    if quote and quote[-1] in "\"'":
        return f"{match[1]}{match[2]}{quote}{MASK}{quote[-1]}"
    return f"{match[1]}{match[2]}{MASK}"


def redact(text: str) -> str:
    """`text` without the secrets and personal data it may hold (see the module doc)."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    text = _STRUCTURED.sub(rf'\1"{MASK}"', text)
    text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    text = _COOKIE.sub(rf"\1{MASK}", text)
    text = _KEYED.sub(_masked, text)
    text = _EMAIL.sub(f"{MASK}@{MASK}", text)
    return _IOT_KEY.sub(rf"\1{MASK}", text)


class RequestContext(logging.Filter):
    """Stamps each record with the request id of the context it was made in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class Redact(logging.Filter):
    """Redacts the message, its arguments and any traceback of every record it sees, but
    for records marked `clean` (the access lines: a route template, a method and a status
    from fixed sets, a checked tenant name)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "clean", False):  # made only of values that cannot hold secrets
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be kept
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_second: tuple[int, str] = (-1, "")


def _stamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds (the date formatted once a second: every request
    logs a line)."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, the access
    fields when present, and the traceback as `error`."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _stamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid is not None:
            doc["request_id"] = rid
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["error"] = record.exc_text
        return orjson.dumps(doc, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message` and the traceback, for people."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        line = f"{_stamp(record.created)} {record.levelname:<7} {record.name}"
        if rid is not None:
            line += f" [{rid}]"
        line += f" {record.getMessage()}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def resolve_format(name: str, stream: IO[str]) -> str:
    """`auto` made concrete for `stream`: text for a terminal, JSON otherwise."""
    if name not in FORMATS:
        raise ValueError(f"Unknown log format {name!r}: use {', '.join(FORMATS)}")
    if name != "auto":
        return name
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """cityos's own handler on the root logger (so that `configure` replaces, not adds)."""


def configure(
    log_format: str = "auto", stream: IO[str] | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send every log record to `stream` (stdout by default) in `log_format`, request ids
    stamped and secrets redacted; a second call replaces the first one's handler."""
    out = stream if stream is not None else sys.stdout
    handler = _Handler(out)
    fmt = resolve_format(log_format, out)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContext())
    handler.addFilter(Redact())
    # Neither format shows thread or process names: not gathering them makes every record
    # (one per request) cheaper.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
