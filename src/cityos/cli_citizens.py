"""`cityos serve`'s options for the citizens' front door (docs/citizens.md): where photos are
kept, the SMTP server followers' e-mails go through, the address in links, and the limits
on keyless POSTs. Each option reads CITYOS_<OPTION>, as every serve option does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from cityos.api.http import Settings
from cityos.api.ratelimit import RateLimit
from cityos.citizens.mailer import SmtpSettings

PublicUrlOption = Annotated[
    str,
    typer.Option(
        "--public-url",
        envvar="CITYOS_PUBLIC_URL",
        help="The address citizens reach the city at, for links in e-mails and Open311 "
        "media_url (e.g. https://report.example.city); default: the request's own address.",
    ),
]
MediaDirOption = Annotated[
    Path | None,
    typer.Option(
        "--media-dir",
        envvar="CITYOS_MEDIA_DIR",
        help="Directory of citizens' photos (default: media/ in the data directory; a "
        "PostgreSQL deployment names one all its instances share, or takes no photos).",
    ),
]
SmtpOption = Annotated[
    str | None,
    typer.Option(
        "--smtp",
        envvar="CITYOS_SMTP",
        help="SMTP server for followers' e-mails: smtp://[user:password@]host:port "
        "(STARTTLS when offered; ?starttls=required to insist) or smtps://host:port. "
        "Without it, e-mails wait in the store's outbox.",
    ),
]
MailFromOption = Annotated[
    str,
    typer.Option("--mail-from", envvar="CITYOS_MAIL_FROM", help="The From address of e-mails."),
]
MaxPhotoOption = Annotated[
    int,
    typer.Option(
        "--max-photo-bytes",
        envvar="CITYOS_MAX_PHOTO_BYTES",
        min=10_000,
        help="Largest photo a citizen may send, in bytes (413).",
    ),
]
CitizenRateOption = Annotated[
    float,
    typer.Option(
        "--citizen-rate-limit",
        envvar="CITYOS_CITIZEN_RATE_LIMIT",
        min=0,
        help="Citizen POSTs (reports, me-too, photos, keyless Open311) a minute per client "
        "address, per instance; 0: no limit (429 with Retry-After past it).",
    ),
]
CitizenBurstOption = Annotated[
    int,
    typer.Option(
        "--citizen-rate-burst",
        envvar="CITYOS_CITIZEN_RATE_BURST",
        min=1,
        help="Citizen POSTs one address may make at once within its rate.",
    ),
]

DEFAULTS = Settings()
DEFAULT_RATE = DEFAULTS.citizen_rate


def with_citizens(
    settings: Settings,
    *,
    public_url: str,
    media_dir: Path | None,
    smtp: str | None,
    mail_from: str,
    max_photo_bytes: int,
    citizen_rate_limit: float,
    citizen_rate_burst: int,
) -> Settings:
    """`settings` with the front door's options of the command line."""
    mail = None
    if smtp:
        try:
            mail = SmtpSettings.parse(smtp, mail_from)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--smtp") from None
    if public_url and not public_url.startswith(("http://", "https://")):
        raise typer.BadParameter("an http(s):// address", param_hint="--public-url")
    rate = RateLimit(citizen_rate_limit / 60, citizen_rate_burst) if citizen_rate_limit else None
    return replace(
        settings,
        public_url=public_url.rstrip("/"),
        media_dir=media_dir,
        smtp=mail,
        max_photo_bytes=max_photo_bytes,
        citizen_rate=rate,
    )
