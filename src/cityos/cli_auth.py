"""The command line of authentication: `cityos keys …`, and `cityos serve --auth …`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from cityos import audit
from cityos.auth.config import AuthSettings
from cityos.auth.keys import ApiKeys
from cityos.auth.oidc import OidcSettings, TokenValidator
from cityos.auth.policy import matrix_markdown
from cityos.auth.principal import ALL_TENANTS, RoleError
from cityos.context.errors import NgsiError
from cityos.store import is_store_url, open_store
from cityos.store.audit import AuditFilter
from cityos.store.base import Store

console = Console()


class AuthMode(StrEnum):
    required = "required"
    off = "off"


AuthOption = Annotated[
    AuthMode,
    typer.Option(
        "--auth",
        envvar="CITYOS_AUTH",
        help="required: every request needs an API key or bearer token (but the public "
        "routes); off: the API is open to anyone who reaches it.",
    ),
]
JwksOption = Annotated[
    Path | None,
    typer.Option(
        "--jwks",
        envvar="CITYOS_JWKS",
        help="JWKS file of the identity provider whose bearer tokens are accepted (offline).",
    ),
]
IssuerOption = Annotated[
    str | None,
    typer.Option("--issuer", envvar="CITYOS_ISSUER", help="The tokens' issuer (iss), exactly."),
]
AudienceOption = Annotated[
    str | None,
    typer.Option("--audience", envvar="CITYOS_AUDIENCE", help="The tokens' audience (aud)."),
]
PublicReadOption = Annotated[
    list[str] | None,
    typer.Option(
        "--public-read",
        envvar="CITYOS_PUBLIC_READ",
        help="An entity type anyone may read without credentials (repeatable).",
    ),
]


def auth_settings(
    mode: AuthMode,
    jwks: Path | None,
    issuer: str | None,
    audience: str | None,
    public_read: list[str] | None,
) -> AuthSettings | None:
    """The server's authentication, checked now (a bad JWKS file stops the start)."""
    if mode is AuthMode.off:
        console.print("  auth: [bold red]off[/]: anyone who reaches this port may read and write")
        return None
    oidc = None
    if (jwks is None) != (issuer is None):
        raise typer.BadParameter("--jwks and --issuer go together", param_hint="--jwks")
    if jwks is not None and issuer is not None:
        oidc = OidcSettings(jwks=jwks, issuer=issuer, audience=audience)
        try:
            TokenValidator(oidc)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--jwks") from None
    public = frozenset(public_read or ())
    what = "API keys" + (f" and bearer tokens of {issuer}" if oidc else "")
    console.print(f"  auth: required ({what}; create keys with `cityos keys create`)")
    if public:
        console.print(f"  public read of: {', '.join(sorted(public))}")
    return AuthSettings(oidc=oidc, public_types=public)


keys_app = typer.Typer(
    help="API keys: create (shown once), list, revoke. Run beside the server, on its store.",
    no_args_is_help=True,
)

KeysDataOption = Annotated[
    Path, typer.Option("--data", envvar="CITYOS_DATA", help="Data directory of the city.")
]
KeysStoreOption = Annotated[
    str | None,
    typer.Option("--store", envvar="CITYOS_STORE", help="Its PostgreSQL database instead."),
]


def _open(data: Path, store_url: str | None) -> Store:
    if store_url is not None and not is_store_url(store_url):
        raise typer.BadParameter("give a postgresql:// URL", param_hint="--store")
    return open_store(store_url or data)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="admin, operator, supervisor, department:<name>, inspector, device, "
            "citizen or public-read (repeatable).",
        ),
    ],
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="A tenant the key may use (repeatable; none: all)."),
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="The entity a device key writes.")
    ] = None,
    expires: Annotated[
        float | None, typer.Option("--expires", min=0.001, help="Days until it expires.")
    ] = None,
    data: KeysDataOption = Path("cityos-data"),
    store_url: KeysStoreOption = None,
) -> None:
    """Create a key and print it, once: only its hash is kept."""
    store = _open(data, store_url)
    try:
        record, key = ApiKeys(store.keys).create(
            name, role, tenant or [ALL_TENANTS], entity, expires
        )
        detail = {"name": name, "roles": record.roles, "tenants": record.tenants}
        if record.entity:
            detail["entity"] = record.entity
        audit.record(store.audit, "key.create", ALL_TENANTS, record.key_id, detail, who=audit.CLI)
    except (RoleError, NgsiError) as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        store.close()
    console.print(
        f"key {record.key_id} ({escape(name)}: {', '.join(record.roles)}); "
        "shown this once, keep it safe:",
        highlight=False,
    )
    print(key)


@keys_app.command("list")
def list_keys(
    data: KeysDataOption = Path("cityos-data"), store_url: KeysStoreOption = None
) -> None:
    """Every key, one a line (tab-separated), without its secret (which is not kept)."""
    store = _open(data, store_url)
    try:
        records = ApiKeys(store.keys).list()
    finally:
        store.close()
    print("\t".join(("id", "name", "roles", "tenants", "entity", "created", "expires", "revoked")))
    for r in records:
        print(
            "\t".join(
                (
                    r.key_id,
                    r.name,
                    ",".join(r.roles),
                    ",".join(r.tenants),
                    r.entity or "-",
                    _when(r.created_at),
                    _when(r.expires_at),
                    _when(r.revoked_at),
                )
            )
        )


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%dT%H:%M}Z" if moment else "-"


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (`cityos keys list`).")],
    data: KeysDataOption = Path("cityos-data"),
    store_url: KeysStoreOption = None,
) -> None:
    """Revoke a key: refused at once here, by running servers within seconds."""
    store = _open(data, store_url)
    try:
        done = ApiKeys(store.keys).revoke(key_id)
        if done:
            audit.record(store.audit, "key.revoke", ALL_TENANTS, key_id, who=audit.CLI)
    finally:
        store.close()
    if not done:
        console.print(f"[red]no key {escape(key_id)} to revoke (unknown or revoked already)[/]")
        raise typer.Exit(1)
    console.print(f"key {key_id} revoked")


security_app = typer.Typer(help="Who may do what.", no_args_is_help=True)


@security_app.command("matrix")
def matrix() -> None:
    """Print the role matrix (docs/security.md holds the same table)."""
    print(matrix_markdown(), end="")


def audit_log(
    since: Annotated[
        datetime | None,
        typer.Option("--since", help="Only records from this moment on (UTC when no zone)."),
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help="Only this action (case.accept), or kind (case)."),
    ] = None,
    data: KeysDataOption = Path("cityos-data"),
    store_url: KeysStoreOption = None,
) -> None:
    """The audit log, oldest first, one record a line (tab-separated; detail as JSON)."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    store = _open(data, store_url)
    print("\t".join(("seq", "at", "actor", "method", "tenant", "action", "object", "request")))
    try:
        after = 0
        while records := store.audit.find(AuditFilter(since, tenant, action, after, 1000)):
            for r in records:
                fields = (str(r.seq), r.at.isoformat(), r.actor, r.method, r.tenant, r.action)
                extra = (r.object_id, r.request_id or "-", orjson.dumps(r.detail).decode())
                print("\t".join((*fields, *extra)))
            after = records[-1].seq or after
    finally:
        store.close()
