"""The `cityos` command: serve the city, or a demo of it."""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import webbrowser
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from uuid import uuid4

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, TaskID
from starlette.applications import Starlette

from cityos import cli_citizens as cit
from cityos import cli_limits as lim
from cityos import logs
from cityos.api import background
from cityos.api.app import BackgroundService, create_app
from cityos.api.headtimeout import head_timeout_protocol
from cityos.api.http import Settings
from cityos.api.iot import enable_mqtt
from cityos.api.rules import load_rules_file
from cityos.auth.demo import KEY_FILE as DEMO_KEY_FILE
from cityos.auth.demo import demo_key
from cityos.cli_auth import (
    AudienceOption,
    AuthMode,
    AuthOption,
    IssuerOption,
    JwksOption,
    PublicReadOption,
    audit_log,
    auth_settings,
    keys_app,
    security_app,
)
from cityos.cli_basemap import BasemapOption, basemap_app, basemaps
from cityos.context.broker import Broker, utc_now
from cityos.context.errors import NgsiError
from cityos.context.jsonld import core_terms
from cityos.context.normalize import parse_batch
from cityos.domains.base import CityView
from cityos.events.bus import make_bus
from cityos.events.endpoints import EndpointPolicy
from cityos.governance.config import load_config
from cityos.governance.open311 import load_keys
from cityos.indicators.compare import compare
from cityos.indicators.entities import load_values, stored_values
from cityos.indicators.live import LiveCity, LiveCityError, load_live_city
from cityos.indicators.reference import (
    ReferenceError,
    ReferenceValue,
    load_reference,
    merge,
    packaged_reference,
)
from cityos.indicators.render import comparison_tables
from cityos.ingest.gateway import MqttUrl
from cityos.sim.runner import LoadReport, Simulation
from cityos.sim.scenario import ScenarioError, load_scenario
from cityos.sim.service import live
from cityos.store import is_store_url, open_store
from cityos.store.base import Store, StoredContext
from cityos.store.sqlite import SQLiteStore

app = typer.Typer(
    help="cityos: an open smart-city platform behind the NGSI-LD API.", no_args_is_help=True
)
console = Console()

DataOption = Annotated[
    Path,
    typer.Option("--data", envvar="CITYOS_DATA", help="Data directory (created on first run)."),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CITYOS_STORE",
        help="A PostgreSQL/PostGIS database (postgresql://user@host:5432/db) instead of the "
        "embedded store in DATA; its schema is created or upgraded in place.",
    ),
]
HostOption = Annotated[str, typer.Option(envvar="CITYOS_HOST", help="Interface to listen on.")]
RetentionOption = Annotated[
    int | None,
    typer.Option(
        min=0,
        envvar="CITYOS_RETENTION_DAYS",
        help="Keep N days of attribute history in every tenant (kept in DATA); 0 keeps all.",
    ),
]
PortOption = Annotated[
    int,
    typer.Option(envvar="CITYOS_PORT", help="Port (1026 is the NGSI-LD broker convention)."),
]


NotifyAllowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--notify-allow",
        envvar="CITYOS_NOTIFY_ALLOW",
        help="A network (CIDR, or `loopback` or `private`) notifications may go to although "
        "it is denied: loopback and private networks are by default (repeatable; in the "
        "environment, separated by spaces).",
    ),
]
PublicUrlOption = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        envvar="CITYOS_PUBLIC_URL",
        help="The base URL clients reach the API at (https://city.example), used in the URLs "
        "cityos hands out; default: the address a request came in on, never its Host header.",
    ),
]
NotifyDenyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--notify-deny",
        envvar="CITYOS_NOTIFY_DENY",
        help="A network (CIDR) notifications must not go to, besides loopback, private, "
        "link-local and metadata (repeatable; in the environment, separated by spaces).",
    ),
]

MqttOption = Annotated[
    str | None,
    typer.Option(
        "--mqtt",
        envvar="CITYOS_MQTT",
        help="MQTT broker for device measures (mqtt://host:port); none: no gateway.",
    ),
]

RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        envvar="CITYOS_RULES",
        help="A YAML file of rules to serve (kept in DATA; see docs/rules.md).",
    ),
]

EventsOption = Annotated[
    str,
    typer.Option(
        "--events",
        envvar="CITYOS_EVENTS",
        help="Where committed changes travel: local (one instance) or nats://host:port "
        "(NATS JetStream shared by several instances on one store; see docs/scale-out.md).",
    ),
]


class LogFormat(StrEnum):
    auto = "auto"
    text = "text"
    json = "json"


LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        envvar="CITYOS_LOG_FORMAT",
        help="Log lines on stdout: text (for people), json (one object a line, for a log "
        "shipper), or auto: text on a terminal, json otherwise (see docs/operations.md).",
    ),
]

DEMO_MQTT = "mqtt://127.0.0.1:1883"
SHUTDOWN_GRACE_S = 5
"""Seconds a stopping server waits for open requests (live streams) before closing them."""


def _check_mqtt(url: str) -> None:
    try:
        MqttUrl.parse(url)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--mqtt") from None


class Synchronous(StrEnum):
    full = "full"
    normal = "normal"


SynchronousOption = Annotated[
    Synchronous,
    typer.Option(
        envvar="CITYOS_SYNCHRONOUS",
        help="full: every commit reaches the disk before it is acknowledged; normal: commits "
        "survive a crash of cityos but the last ones may be lost if the machine itself fails "
        "(faster; SQLite's WAL setting of the same name).",
    ),
]


NotifyCaOption = Annotated[
    Path | None,
    typer.Option(
        "--notify-ca",
        envvar="CITYOS_NOTIFY_CA",
        help="PEM file of the certificate authorities that https/mqtts endpoints must be "
        "signed by (a city's own CA); default: the system's.",
    ),
]


GovernanceOption = Annotated[
    Path | None,
    typer.Option(
        "--governance",
        envvar="CITYOS_GOVERNANCE",
        help="Governance configuration (YAML: categories, departments, routing, deadlines); "
        "default: the packaged Chongqing one.",
    ),
]


Open311KeysOption = Annotated[
    Path | None,
    typer.Option(
        "--open311-keys",
        envvar="CITYOS_OPEN311_KEYS",
        help="Text file of the api_keys Open311 POSTs must carry (one a line, # comments); "
        "none: any non-empty api_key is accepted.",
    ),
]


def _open311_keys(path: Path | None) -> frozenset[str]:
    """The accepted Open311 api_keys, announced once: none configured means any key."""
    if path is None:
        console.print("  Open311: [yellow]accepts any api_key[/] (no --open311-keys file)")
        return frozenset()
    try:
        keys = load_keys(path)
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--open311-keys") from None
    console.print(f"  Open311: {len(keys)} api_key(s) from {path}")
    return keys


IndicatorsOption = Annotated[
    Path | None,
    typer.Option(
        "--indicators",
        envvar="CITYOS_INDICATORS",
        help="YAML naming the city this store models (city, basis, provenance) and the "
        "indicators computed live from its data (live: [ids]); see docs/indicators.md.",
    ),
]


def _live_city(path: Path | None) -> LiveCity | None:
    if path is None:
        return None
    try:
        live = load_live_city(path)
    except LiveCityError as error:
        raise typer.BadParameter(str(error), param_hint="--indicators") from None
    console.print(f"  live indicators of {live.name}: {', '.join(live.indicators)}")
    return live


def _settings(
    allow: list[str] | None,
    deny: list[str] | None,
    ca_file: Path | None = None,
    governance: Path | None = None,
) -> Settings:
    try:
        policy = EndpointPolicy.from_lists(allow or (), deny or ())
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    tls = None
    if ca_file is not None:
        try:
            tls = ssl.create_default_context(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as error:
            raise typer.BadParameter(f"{ca_file}: {error}", param_hint="--notify-ca") from None
    if governance is not None:
        try:
            load_config(governance)
        except (OSError, ValueError) as error:
            raise typer.BadParameter(str(error), param_hint="--governance") from None
    return Settings(notify_policy=policy, notify_tls=tls, governance=governance)


def _serve(
    store: Store,
    host: str,
    port: int,
    settings: Settings | None = None,
    mqtt: str | None = None,
    rules: Path | None = None,
    simulation: Simulation | None = None,
    browse: str | None = None,
    key: str | None = None,
) -> None:
    asgi = create_app(store, settings)
    if simulation is not None:
        simulating = _simulating(simulation, f"http://{host}:{port}", mqtt, browse, key)
        asgi.state.background.append(simulating)
    if mqtt:
        enable_mqtt(asgi, mqtt)
    if rules is not None:
        try:
            loaded = load_rules_file(asgi, rules)
        except NgsiError as error:
            raise typer.BadParameter(error.detail, param_hint="--rules") from None
        console.print(f"  rules: {len(loaded)} from {rules}")
    if hasattr(signal, "SIGUSR1"):
        # `kill -USR1 <pid>` prints every thread's stack to stderr: where a hang is.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    uvicorn.run(
        asgi,
        http=head_timeout_protocol((settings or Settings()).header_timeout_s),
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # records go to the root logger: `cityos.logs` formats them
        access_log=False,  # the app logs its own access lines, with request ids
        server_header=False,
        # open live streams (SSE) never end by themselves: stop waiting for them after a
        # few seconds, so a restart under systemd or Kubernetes is not held up
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


@app.command()
def serve(
    data: DataOption = Path("cityos-data"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 1026,
    notify_allow: NotifyAllowOption = None,
    notify_deny: NotifyDenyOption = None,
    notify_ca: NotifyCaOption = None,
    mqtt: MqttOption = None,
    retention_days: RetentionOption = None,
    synchronous: SynchronousOption = Synchronous.full,
    governance: GovernanceOption = None,
    rules: RulesOption = None,
    open311_keys: Open311KeysOption = None,
    indicators: IndicatorsOption = None,
    events: EventsOption = "local",
    log_format: LogFormatOption = LogFormat.auto,
    store_url: StoreOption = None,
    auth: AuthOption = AuthMode.required,
    jwks: JwksOption = None,
    issuer: IssuerOption = None,
    audience: AudienceOption = None,
    public_read: PublicReadOption = None,
    max_body_bytes: lim.MaxBodyOption = lim.DEFAULTS.max_body_bytes,
    max_page_size: lim.MaxPageOption = lim.DEFAULTS.max_limit,
    max_batch: lim.MaxBatchOption = lim.DEFAULTS.max_batch,
    max_query_length: lim.MaxQueryLengthOption = lim.DEFAULTS.query_limits.max_length,
    max_query_depth: lim.MaxQueryDepthOption = lim.DEFAULTS.query_limits.max_depth,
    max_attributes: lim.MaxAttributesOption = lim.DEFAULTS.max_attributes,
    max_subscriptions: lim.MaxSubscriptionsOption = lim.DEFAULTS.max_subscriptions,
    max_geometry_vertices: lim.MaxVerticesOption = lim.DEFAULTS.max_geometry_vertices,
    max_context_entries: lim.MaxContextEntriesOption = lim.DEFAULTS.context_limits.max_entries,
    max_context_depth: lim.MaxContextDepthOption = lim.DEFAULTS.context_limits.max_depth,
    max_query_names: lim.MaxQueryNamesOption = lim.DEFAULTS.max_names,
    max_streams: lim.MaxStreamsOption = lim.DEFAULTS.max_streams,
    header_timeout: lim.HeadTimeoutOption = lim.DEFAULTS.header_timeout_s,
    public_url: PublicUrlOption = None,
    rate_limit: lim.RateLimitOption = 0.0,
    rate_burst: lim.RateBurstOption = 100,
    basemap: BasemapOption = None,
    media_dir: cit.MediaDirOption = None,
    smtp: cit.SmtpOption = None,
    mail_from: cit.MailFromOption = "cityos@localhost",
    max_photo_bytes: cit.MaxPhotoOption = cit.DEFAULTS.max_photo_bytes,
    citizen_rate_limit: cit.CitizenRateOption = 10.0,
    citizen_rate_burst: cit.CitizenBurstOption = 10,
) -> None:
    """Serve the NGSI-LD API from the embedded store in DATA, or from PostgreSQL (--store)."""
    log_stream = sys.stdout
    log_as = logs.resolve_format(log_format.value, log_stream)
    if log_as == "json":
        sys.stdout = sys.stderr  # stdout carries the JSON lines only: banners go to stderr
    settings = lim.with_limits(
        _settings(notify_allow, notify_deny, notify_ca, governance),
        max_body_bytes=max_body_bytes,
        max_page_size=max_page_size,
        max_batch=max_batch,
        max_query_length=max_query_length,
        max_query_depth=max_query_depth,
        max_attributes=max_attributes,
        max_subscriptions=max_subscriptions,
        max_geometry_vertices=max_geometry_vertices,
        max_context_entries=max_context_entries,
        max_context_depth=max_context_depth,
        max_query_names=max_query_names,
        max_streams=max_streams,
        header_timeout=header_timeout,
        rate_limit=rate_limit,
        rate_burst=rate_burst,
    )
    settings = cit.with_citizens(
        settings,
        media_dir=media_dir,
        smtp=smtp,
        mail_from=mail_from,
        max_photo_bytes=max_photo_bytes,
        citizen_rate_limit=citizen_rate_limit,
        citizen_rate_burst=citizen_rate_burst,
    )
    try:
        make_bus(events)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--events") from None
    if store_url is not None and not is_store_url(store_url):
        raise typer.BadParameter("give a postgresql:// URL", param_hint="--store")
    try:
        store = open_store(store_url or data, synchronous=synchronous.value.upper())
    except Exception as error:  # the database does not answer, refuses us, lacks PostGIS…
        if store_url is None:
            raise
        raise typer.BadParameter(f"cannot open {_safe_url(store_url)}: {error}") from None
    if retention_days is not None:
        store.history.set_retention(None, retention_days or None)
    where = _safe_url(store_url) if store_url else data
    console.print(f"cityos serving [bold]{where}[/] at http://{host}:{port}/ngsi-ld/v1/entities")
    settings = replace(
        settings,
        open311_keys=_open311_keys(open311_keys),
        live_city=_live_city(indicators),
        events=events,
        auth=auth_settings(auth, jwks, issuer, audience, public_read),
        public_url=_public_url(public_url),
        basemaps=basemaps(data, basemap),
    )
    if events != "local":
        console.print(f"  events: {_safe_url(events)} (shared with the other instances)")
    if mqtt:
        _check_mqtt(mqtt)
        console.print(
            f"  MQTT device gateway: {_safe_url(mqtt)} (topics cityos/<apikey>/<device_id>/attrs)"
        )
    logs.configure(log_as, log_stream)  # here: a start refused above leaves no handler
    _serve(store, host, port, settings, mqtt, rules)


def _public_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise typer.BadParameter(
            "an http(s) URL such as https://city.example/, without a query",
            param_hint="--public-url",
        )
    return url.rstrip("/")


def _safe_url(url: str) -> str:
    """A database URL to print: without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def load_sample(store: SQLiteStore) -> int:
    """Upsert the bundled Chongqing sample entities; returns how many were loaded."""
    text = resources.files("cityos").joinpath("sample/chongqing.json").read_text("utf-8")
    core = core_terms()
    items = parse_batch(json.loads(text), lambda _: core, utc_now())
    result, _ = Broker(store).batch_upsert("", items)
    for failure in result.errors:
        console.print(f"[red]sample entity {failure.entity_id} rejected:[/] {failure.error.detail}")
    return len(result.success)


ScenarioOption = Annotated[
    str,
    typer.Option(help="A packaged scenario (chongqing, warsaw) or a scenario YAML file."),
]
SpeedOption = Annotated[
    float | None,
    typer.Option(help="Simulated seconds per real second (default: the scenario's).", min=0.01),
]

# Not CITYOS_DATA: a demo loads its sample city into DATA, which must never be a real city's.
DemoDataOption = Annotated[
    Path, typer.Option("--data", help="Data directory of the demo city (created on first run).")
]


@app.command()
def demo(
    scenario: ScenarioOption = "chongqing",
    speed: SpeedOption = None,
    data: DemoDataOption = Path(".cityos-demo"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 1026,
    mqtt: MqttOption = DEMO_MQTT,
    no_browser: Annotated[
        bool,
        typer.Option("--no-browser", help="Do not open the dashboard in a browser."),
    ] = False,
    auth: Annotated[
        AuthMode,
        typer.Option(
            "--auth",
            help="required: the demo makes an admin key (DATA/demo-key) and prints it, and "
            "the dashboard link that signs in with it; off: the API is open to anyone.",
        ),
    ] = AuthMode.required,
) -> None:
    """Serve a living demo city: the embedded store, a scenario's domain packs simulated
    through the real device paths, rules and cases at work.

    Devices publish through a local Mosquitto when one listens on the default port, else
    through the HTTP measure endpoint.
    """
    try:
        chosen = load_scenario(scenario)
    except ScenarioError as error:
        raise typer.BadParameter(str(error), param_hint="--scenario") from None
    if speed is not None:
        chosen = replace(chosen, speed=speed)
    logs.configure("text", level=logging.WARNING)  # the simulator's requests: no access lines
    store = SQLiteStore(data)
    loaded = load_sample(store)
    base = f"http://{host}:{port}"
    dashboard = f"{_browsable(host, port)}/dashboard/"
    console.print(f"cityos demo: scenario [bold]{chosen.name}[/] at {chosen.speed:g}x")
    required = auth_settings(auth, None, None, None, None)
    key = _demo_key(store, data) if required else None
    if key:
        dashboard += f"#key={key}"  # a fragment: never sent to the server, never logged
    console.print(f"  operations centre (dashboard): [bold]{dashboard}[/]", soft_wrap=True)
    console.print(f"  {loaded} Chongqing districts loaded into {data}")
    console.print(f"  NGSI-LD API: [bold]{base}/ngsi-ld/v1/entities?type=District[/]")
    bearer = ' -H "Authorization: Bearer $KEY"' if key else ""
    console.print(f"  try: curl{bearer} '{base}/ngsi-ld/v1/types'", soft_wrap=True)
    console.print(f"  city cases: {base}/governance/cases")
    console.print(f"  key figures of every domain: {base}/kpis")
    console.print(f"  citizens report a problem (no key): {_browsable(host, port)}/report/")
    console.print(f"  Open311 for citizens: {base}/open311/v2/services.json")
    if mqtt:
        _check_mqtt(mqtt)
        parsed = MqttUrl.parse(mqtt)
        if not _port_open(parsed.host, parsed.port):
            console.print(f"  no MQTT broker at {mqtt}: devices publish over HTTP (/iot/json)")
            mqtt = None
        else:
            console.print(f"  MQTT device gateway: {mqtt} (topics cityos/<apikey>/<id>/attrs)")
    # Its own key: demos on one machine share the MQTT broker, not their readings.
    simulation = Simulation(chosen, apikey=f"cityos-sim-{port}")
    browse = None if no_browser else dashboard
    # The demo city's indicators are computed every minute, for a visitor to see them come.
    settings = Settings(
        live_city=chosen.live,
        indicators_every_s=60.0,
        auth=required,
        # a demo's visitor tries subscriptions against a receiver on this machine
        notify_policy=EndpointPolicy.from_lists(allow=["loopback"]),
        basemaps=basemaps(data, None, build=True),  # built on the first run, then kept
    )
    _serve(store, host, port, settings, mqtt, simulation=simulation, browse=browse, key=key)


def _demo_key(store: SQLiteStore, data: Path) -> str:
    """The demo's admin key (kept in DATA), announced with what to do with it."""
    key, made = demo_key(store.keys, data)
    kept = data / DEMO_KEY_FILE
    console.print(
        f"  demo key (admin; {'new, ' if made else ''}kept in {kept}): [bold]{key}[/]",
        soft_wrap=True,
    )
    console.print(f"  for curl: export KEY=$(cat {kept})", soft_wrap=True)
    return key


def _browsable(host: str, port: int) -> str:
    """The address a browser on this machine reaches the server at (not 0.0.0.0 or ::)."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _open_browser(url: str) -> None:
    """Open `url` in the desktop's browser, without blocking the server.

    On Linux without a display, `webbrowser` would pick a text browser (lynx, w3m) that
    takes over the terminal the server logs to: there, say where to go instead.
    """
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if not graphical:
        console.print(f"  open {url} in a browser to see the city")
        return
    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


def _simulating(
    simulation: Simulation,
    base: str,
    mqtt: str | None,
    browse: str | None = None,
    key: str | None = None,
) -> BackgroundService:
    """The simulation as a service of the app: it loads the city once the API answers (with
    `key`, when the API requires one); then, if `browse` is an address, a browser opens it."""

    def service(asgi: Starlette) -> AbstractAsyncContextManager[None]:
        asgi.state.packs = simulation.packs
        bar = Progress(console=console, transient=True)
        task = bar.add_task("loading the city", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.start()
            bar.update(task, description=what, completed=done, total=total)

        started = time.monotonic()

        def announce(report: LoadReport) -> None:
            bar.stop()
            entities = sum(report.entities.values())
            console.print(
                f"  the city is alive: {entities} entities, {report.devices} devices, "
                f"{report.rules} rules loaded in {time.monotonic() - started:.1f} s"
            )
            if browse:
                _open_browser(browse)

        running = live(simulation, base, mqtt, progress, announce, key=key)
        return background.running(running, "simulation")

    return service


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@app.command("context-add")
def context_add(
    url: Annotated[str, typer.Argument(help="The URL clients use for this @context.")],
    file: Annotated[Path, typer.Argument(help="A local copy of the context document.")],
    data: DataOption = Path("cityos-data"),
) -> None:
    """Keep a copy of a remote @context, since cityos never fetches contexts itself."""
    document = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or "@context" not in document:
        raise typer.BadParameter(f"{file} is not a JSON-LD context document", param_hint="FILE")
    store = SQLiteStore(data)
    existing = store.get_context(url)
    store.put_context(
        StoredContext(existing.id if existing else str(uuid4()), url, "Cached", document, utc_now())
    )
    console.print(f"@context {url} kept in {data}")


app.add_typer(keys_app, name="keys")
app.add_typer(security_app, name="security")
app.add_typer(basemap_app, name="basemap")
app.command("audit")(audit_log)

import_app = typer.Typer(help="Load real data into cityos.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("gtfs")
def import_gtfs_command(
    file: Annotated[Path, typer.Argument(help="A GTFS feed: a .zip or a folder of .txt files.")],
    data: DataOption = Path("cityos-data"),
    tenant: Annotated[str, typer.Option(help="The NGSI-LD tenant to load into.")] = "",
    prefix: Annotated[
        str | None,
        typer.Option(help="Id prefix of the feed's entities (default: from the file name)."),
    ] = None,
) -> None:
    """Load a GTFS feed (agencies, stops, routes, shapes, services, trips with their stop
    times) as NGSI-LD entities. Problems are listed per file and row and do not stop the
    import; the exit code is non-zero only when the feed cannot be read at all."""
    from cityos.ingest.gtfs import GtfsError, import_gtfs

    store = SQLiteStore(data)
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"loading {file.name}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = import_gtfs(
                file, Broker(store), tenant=tenant, prefix=prefix, progress=progress
            )
    except GtfsError as error:
        console.print(f"[red]cannot read the feed:[/] {error}")
        raise typer.Exit(1) from None
    finally:
        store.close()
    for kind, count in report.counts.items():
        console.print(f"  {kind}: {count}")
    console.print(f"{report.total} entities loaded into {data}")
    for problem in report.problems:
        console.print(f"  [yellow]problem[/] {problem}")
    for rejected in report.rejected:
        console.print(f"  [red]rejected[/] {rejected}")
    if report.problems:
        console.print(f"{len(report.problems)} problem(s) in the feed")


ReferenceOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--reference",
        help="A CSV of reference values (city, indicator, value, unit, year, basis, source, "
        "note) besides the packaged set; repeatable.",
    ),
]


ValuesDataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Also the indicator values a cityos data directory holds (loaded, or computed "
        "live by a running city).",
    ),
]


def _stored_values(data: Path) -> list[ReferenceValue]:
    if not (data / "cityos.db").exists():
        raise typer.BadParameter(f"{data} holds no cityos data", param_hint="--data")
    store = SQLiteStore(data)
    try:
        return stored_values(CityView(Broker(store)))
    finally:
        store.close()


def _reference_values(files: list[Path] | None, data: Path | None = None) -> list[ReferenceValue]:
    """The packaged reference set, the given CSVs (a later file's value wins), then the
    values stored in `data`."""
    sets = [packaged_reference()]
    for file in files or ():
        try:
            sets.append(load_reference(file))
        except ReferenceError as error:
            for problem in error.problems:
                console.print(f"[red]{escape(problem)}[/]")
            raise typer.Exit(1) from None
        except OSError as error:
            raise typer.BadParameter(str(error), param_hint="--reference") from None
    if data is not None:
        sets.append(_stored_values(data))
    return merge(*sets)


indicators_app = typer.Typer(help="City indicators and reference values.", no_args_is_help=True)
app.add_typer(indicators_app, name="indicators")


@indicators_app.command("load")
def indicators_load(
    data: DataOption = Path("cityos-data"),
    reference: ReferenceOption = None,
    tenant: Annotated[str, typer.Option(help="The NGSI-LD tenant to load into.")] = "",
) -> None:
    """Load the reference values (packaged, and --reference CSVs) into the broker as
    KeyPerformanceIndicator entities, so the NGSI-LD, history and /indicators APIs see them."""
    values = _reference_values(reference)
    store = SQLiteStore(data)
    try:
        problems = load_values(Broker(store), values, tenant)
    finally:
        store.close()
    console.print(f"{len(values) - len(problems)} indicator values loaded into {data}")
    for problem in problems:
        console.print(f"  [red]rejected[/] {escape(problem)}")
    if problems:
        raise typer.Exit(1)


@app.command("compare")
def compare_command(
    cities: Annotated[list[str], typer.Argument(help="The peer group, e.g. chongqing london.")],
    reference: ReferenceOption = None,
    data: ValuesDataOption = None,
    theme: Annotated[
        str | None,
        typer.Option(help="Only these themes, comma-separated, e.g. transportation,education."),
    ] = None,
    language: Annotated[str, typer.Option(help="en or pl.")] = "en",
) -> None:
    """Cities side by side, one row per indicator: values with units, years and areas, the
    rank (#1 the best) where the values are on a comparable basis and year window, else the
    reason; a footnote per source. A value the sources do not give is shown as missing;
    values the city computes of itself are listed apart, never ranked."""
    from cityos.indicators.catalogue import THEMES
    from cityos.indicators.wording import WordingError, wording

    themes = [t.strip() for t in (theme or "").split(",") if t.strip()]
    unknown_themes = [t for t in themes if t not in THEMES]
    if unknown_themes:
        raise typer.BadParameter(
            f"unknown theme(s) {', '.join(unknown_themes)}; known: {', '.join(THEMES)}",
            param_hint="--theme",
        )
    try:
        words = wording(language)
    except WordingError as error:
        raise typer.BadParameter(str(error), param_hint="--language") from None
    comparison = compare(cities, _reference_values(reference, data), themes=themes or None)
    unknown = [
        c for c in comparison.cities if all(r.cells[c].value is None for r in comparison.rows)
    ]
    tables, footnotes = comparison_tables(comparison, language)
    for table in tables:
        console.print(table)
    for footnote in footnotes:
        console.print(footnote, soft_wrap=True)
    if len(comparison.cities) == 2:
        both = words.quantity(len(comparison.both(*comparison.cities)), "indicators")
        console.print(words.sentence("headings", "compared_count", count=both))
    if unknown:
        names = words.listing(words.city(c) for c in unknown)
        console.print(f"[yellow]{escape(words.sentence('headings', 'no_values', cities=names))}[/]")


report_app = typer.Typer(help="Reports on a city, as HTML or PDF.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("strengths")
def report_strengths(
    city: Annotated[str, typer.Argument(help="The city, e.g. chongqing.")],
    peers: Annotated[str, typer.Option(help="Its peer group, comma-separated.")],
    audience: Annotated[str, typer.Option(help="Who reads it: poland, germany, uk, world.")],
    out: Annotated[Path, typer.Option(help="The report file: .html or .pdf.")],
    reference: ReferenceOption = None,
    data: ValuesDataOption = None,
    links: Annotated[
        list[Path] | None,
        typer.Option(
            "--links",
            help="A CSV of cited city-place links (see docs/indicators.md) besides the "
            "packaged ones; repeatable.",
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="en or pl; the audience's language by default.")
    ] = None,
) -> None:
    """A city's core strengths against its peers: leads by theme, a cited profile written
    from the data, messages for the audience, charts; HTML or PDF by OUT's extension."""
    from cityos.indicators import audiences as aud
    from cityos.indicators import report as rep
    from cityos.indicators.wording import WordingError

    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise typer.BadParameter("the report is written as .html or .pdf", param_hint="--out")
    try:
        reader = aud.audience(audience)
    except aud.AudienceError as error:
        raise typer.BadParameter(str(error), param_hint="--audience") from None
    link_sets = [aud.packaged_links()]
    for file in links or ():
        try:
            link_sets.append(aud.load_links(file))
        except ReferenceError as error:
            for problem in error.problems:
                console.print(f"[red]{escape(problem)}[/]")
            raise typer.Exit(1) from None
        except OSError as error:
            raise typer.BadParameter(str(error), param_hint="--links") from None
    all_links = list(dict.fromkeys(link for s in link_sets for link in s))
    peer_ids = [p.strip() for p in peers.split(",") if p.strip()]
    try:
        built = rep.build(
            city, peer_ids, _reference_values(reference, data), all_links, reader, language
        )
    except WordingError as error:
        raise typer.BadParameter(str(error), param_hint="--language") from None
    except rep.ReportError as error:
        console.print(f"[red]{escape(str(error))}[/]")
        raise typer.Exit(1) from None
    rep.write(built, out)
    console.print(f"{escape(rep.summary(built))} → {out}", soft_wrap=True)


@app.command("migrate")
def migrate_command(
    source: Annotated[
        Path,
        typer.Option(
            "--from", help="The data directory of the embedded city (its server stopped)."
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--to",
            help="An empty PostgreSQL/PostGIS database: postgresql://user@host:5432/db; "
            "?options=-csearch_path%3Dname,public for a schema of its own.",
        ),
    ],
) -> None:
    """Move an embedded city into PostgreSQL, everything included (see docs/postgresql.md),
    then count both sides: the exit code is non-zero when they differ."""
    from rich.table import Table

    from cityos.store.migrate import MigrationError, migrate, open_source, open_target

    try:
        city = open_source(source)
    except MigrationError as error:
        raise typer.BadParameter(str(error), param_hint="--from") from None
    console.print(f"migrating {source} → {_safe_url(target)}", soft_wrap=True)
    try:
        try:
            database = open_target(target)
        except MigrationError as error:
            message = f"cannot open {_safe_url(target)}: {error}"
            raise typer.BadParameter(message, param_hint="--to") from None
        with Progress(console=console, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(what: str, done: int, total: int) -> None:
                if what not in tasks:
                    tasks[what] = bar.add_task(what)
                bar.update(tasks[what], completed=done, total=total)

            try:
                report = migrate(city, database, progress)
            except MigrationError as error:
                console.print(f"[red]{escape(str(error))}[/]")
                raise typer.Exit(1) from None
            finally:
                database.close()
    finally:
        city.close()
    table = Table("kind", "tenant", "source", "target", "")
    for count in report.counts:
        tenant = {"": "(default)", "*": ""}.get(count.tenant, count.tenant)
        mark = "[green]✓[/]" if count.agrees else "[red]✗[/]"
        table.add_row(count.kind, escape(tenant), str(count.source), str(count.target), mark)
    console.print(table)
    if not report.ok:
        console.print("[red]the target does not hold what the source holds[/]")
        raise typer.Exit(1)
    console.print(f"migrated in {report.seconds:.1f} s")


if __name__ == "__main__":
    app()
