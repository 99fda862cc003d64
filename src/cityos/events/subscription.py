"""NGSI-LD subscriptions (ETSI GS CIM 009, 5.2.12): validation, and the compiled form matched
against every change.

A subscription is kept as the client wrote it (short names, its own @context) so that it
reads back the same; `compile_subscription` turns that document into a `Subscription` whose
names are expanded IRIs and whose q, scopeQ and geoQ are parsed once, not per change.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit
from uuid import uuid4

from cityos.context.errors import BadRequestData
from cityos.context.geo import GeoMatcher, GeoQuery, parse_geo_query
from cityos.context.jsonld import Terms
from cityos.context.normalize import (
    check_datetime,
    check_list,
    check_name,
    check_text,
    check_uri,
)
from cityos.context.pattern import Pattern, compile_pattern
from cityos.context.query import (
    DEFAULT_LIMITS,
    QNode,
    ScopeExpr,
    TypeExpr,
    expand_q,
    expand_types,
    parse_q,
    parse_scope_q,
    parse_type_expr,
)
from cityos.context.render import FORMATS, KEY_VALUES, NORMALIZED
from cityos.context.temporal import text_epoch_ms
from cityos.store.subscriptions import StoredSubscription

SUBSCRIPTION_TYPE = "Subscription"
STREAM_URI = "urn:cityos:stream"
"""An endpoint that only the Server-Sent Events stream of the subscription receives."""

ACCEPTS = ("application/json", "application/ld+json", "application/geo+json")
TRIGGERS = frozenset(
    {
        "entityCreated",
        "entityUpdated",
        "entityDeleted",
        "attributeCreated",
        "attributeUpdated",
        "attributeDeleted",
    }
)
DEFAULT_TRIGGERS = frozenset({"attributeCreated", "attributeUpdated"})
"""What an NGSI-LD subscription hears when it names no notificationTrigger (v1.8)."""

_KNOWN = frozenset(
    {
        "id",
        "type",
        "subscriptionName",
        "description",
        "entities",
        "watchedAttributes",
        "notificationTrigger",
        "timeInterval",
        "q",
        "geoQ",
        "csf",
        "scopeQ",
        "lang",
        "isActive",
        "notification",
        "expiresAt",
        "throttling",
        "temporalQ",
        "jsonldContext",
        "datasetId",
        "status",
        "@context",
    }
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
"""receiverInfo headers that carry credentials (with every Proxy-*): only an admin sets them,
and they are never read back (see `is_credential_header`)."""
HIDDEN = "***"
"""What a credential reads back as: in an endpoint URI's password, a credential header."""
READ_ONLY = ("status",)
"""Members the broker reports and a client cannot set."""
SIMPLIFIED = "simplified"
"""Another name of the keyValues format (4.5.3)."""
NULL = "urn:ngsi-ld:null"
"""The NGSI-LD Null: the value a notification gives a deleted attribute (4.5.x)."""
_NOT_ATTRIBUTES = frozenset({"id", "type"})
_SIMPLE = re.compile(r"[^,;|()\s]+")
"""A single name, not a type expression (A,B or (A;B)|C)."""


@dataclass(frozen=True, slots=True)
class Selector:
    """One EntitySelector: entities of these types, with this id or matching this pattern."""

    types: TypeExpr
    id: str | None = None
    id_pattern: Pattern | None = None

    def matches(self, entity_id: str, entity_types: list[str]) -> bool:
        if self.id is not None and entity_id != self.id:
            return False
        if self.id_pattern is not None and self.id_pattern.search(entity_id) is None:
            return False
        return any(all(t in entity_types for t in group) for group in self.types)


@dataclass(frozen=True, slots=True)
class Endpoint:
    uri: str
    accept: str = "application/json"
    receiver_info: dict[str, str] = field(default_factory=dict)
    notifier_info: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Subscription:
    """A subscription ready to match changes: expanded names, parsed queries."""

    tenant: str
    id: str
    terms: Terms
    selectors: list[Selector]
    watched: frozenset[str] | None
    triggers: frozenset[str]
    q: QNode | None
    scope_q: ScopeExpr | None
    geo: GeoQuery | None
    geo_test: GeoMatcher | None
    attributes: list[str] | None
    format: str
    sys_attrs: bool
    show_changes: bool
    lang: str | None
    endpoint: Endpoint
    time_interval: float | None
    throttling: float | None
    expires_at: float | None
    """Seconds since 1970, or None when it never expires."""
    is_active: bool
    omit: frozenset[str] = frozenset()
    """notification.omit: attribute IRIs left out of the notified entities."""
    show_id: bool = True
    show_type: bool = True
    datasets: Collection[str | None] | None = None
    """datasetId: the instances to notify (None for the default instance); None: all."""
    notify_terms: Terms | None = None
    """The terms of jsonldContext, when given: notified names are compacted with these."""

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def new_subscription_id() -> str:
    return f"urn:ngsi-ld:Subscription:{uuid4()}"


def validate_subscription(body: Any, terms: Terms, *, now: float) -> dict[str, Any]:
    """The document to keep for a new subscription, after checking all of it."""
    if not isinstance(body, dict):
        raise BadRequestData("A subscription is a JSON object.")
    if body.get("type") != SUBSCRIPTION_TYPE:
        raise BadRequestData('A subscription needs "type": "Subscription".')
    doc = {k: v for k, v in body.items() if k != "@context"}
    if "id" in doc:
        check_uri(doc["id"], "A subscription id")
    else:
        doc["id"] = new_subscription_id()
    check_subscription(doc, terms, now=now)
    return doc


def check_subscription(doc: dict[str, Any], terms: Terms, *, now: float) -> Subscription:
    """Raise BadRequestData for anything wrong in `doc`; the compiled form when all is well."""
    unknown = sorted(set(doc) - _KNOWN)
    if unknown:
        raise BadRequestData(f"A subscription has no member {unknown[0]!r}.")
    for member in READ_ONLY:
        if member in doc:
            raise BadRequestData(f"{member} is reported by the broker and cannot be set.")
    if "entities" not in doc and "watchedAttributes" not in doc and "timeInterval" not in doc:
        raise BadRequestData("A subscription needs entities or watchedAttributes.")
    if "timeInterval" in doc and "watchedAttributes" in doc:
        raise BadRequestData("timeInterval (periodic) and watchedAttributes exclude each other.")
    if "timeInterval" in doc and "throttling" in doc:
        raise BadRequestData("timeInterval (periodic) and throttling exclude each other.")
    expiry = _expiry(doc.get("expiresAt"))
    if expiry is not None and expiry <= now:
        raise BadRequestData("expiresAt must lie in the future.")
    return compile_subscription("", doc, terms)


def compile_subscription(
    tenant: str, doc: dict[str, Any], terms: Terms, notify_terms: Terms | None = None
) -> Subscription:
    """The matching form of a validated document.

    `notify_terms` are those of the document's jsonldContext, when the caller resolved it:
    notifications then use that @context rather than the one the subscription was made with.
    """
    notification = doc.get("notification")
    if not isinstance(notification, dict):
        raise BadRequestData("A subscription needs a notification object.")
    attributes = _names(notification.get("attributes"), "notification.attributes", terms)
    pick = _members(notification.get("pick"), "notification.pick", terms)
    omit = _members(notification.get("omit"), "notification.omit", terms)
    if pick is not None and omit is not None and set(pick) & set(omit):
        raise BadRequestData("notification.pick and notification.omit name the same member.")
    if attributes is not None and (pick is not None or omit is not None):
        raise BadRequestData("notification.attributes cannot be combined with pick or omit.")
    if pick is not None:
        attributes = [name for name in pick if name not in _NOT_ATTRIBUTES]
    fmt = notification.get("format", NORMALIZED)
    if fmt == SIMPLIFIED:
        fmt = KEY_VALUES
    if fmt not in FORMATS:
        raise BadRequestData(
            f"notification.format must be one of {', '.join(FORMATS)} or {SIMPLIFIED}."
        )
    show_changes = _flag(notification.get("showChanges", False), "notification.showChanges")
    if show_changes and fmt != NORMALIZED:
        raise BadRequestData("notification.showChanges needs the normalized format.")
    context = doc.get("jsonldContext")
    if context is not None:
        check_uri(context, "jsonldContext")
    csf = doc.get("csf")
    if csf is not None:
        try:
            parse_q(check_text(csf, "csf"))  # csf has the grammar of q (4.9)
        except BadRequestData as error:
            raise BadRequestData(f"csf is not a valid filter: {error}") from None
    geo = doc.get("geoQ")
    if geo is not None and not isinstance(geo, dict):
        raise BadRequestData("geoQ must be an object.")
    q = doc.get("q")
    scope_q = doc.get("scopeQ")
    lang = doc.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise BadRequestData("lang must be a string.")
    is_active = doc.get("isActive", True)
    if not isinstance(is_active, bool):
        raise BadRequestData("isActive must be true or false.")
    geo_query = parse_geoq(geo, terms) if geo is not None else None
    return Subscription(
        tenant=tenant,
        id=str(doc.get("id", "")),
        terms=terms,
        selectors=[_selector(item, terms) for item in check_list(doc.get("entities"), "entities")],
        watched=_frozen(_names(doc.get("watchedAttributes"), "watchedAttributes", terms)),
        triggers=_triggers(doc.get("notificationTrigger")),
        q=expand_q(parse_q(_query(q, "q")), terms.expand) if q is not None else None,
        scope_q=parse_scope_q(_query(scope_q, "scopeQ")) if scope_q is not None else None,
        geo=geo_query,
        geo_test=GeoMatcher(geo_query) if geo_query is not None else None,
        attributes=attributes,
        format=fmt,
        sys_attrs=_flag(notification.get("sysAttrs", False), "notification.sysAttrs"),
        show_changes=show_changes,
        lang=lang,
        endpoint=_endpoint(notification.get("endpoint")),
        time_interval=_seconds(doc.get("timeInterval"), "timeInterval"),
        throttling=_seconds(doc.get("throttling"), "throttling"),
        expires_at=_expiry(doc.get("expiresAt")),
        is_active=is_active,
        omit=frozenset(omit or ()),
        show_id=("id" in pick) if pick is not None else "id" not in (omit or ()),
        show_type=("type" in pick) if pick is not None else "type" not in (omit or ()),
        datasets=_datasets(doc.get("datasetId")),
        notify_terms=notify_terms,
    )


def merge_fragment(
    stored: StoredSubscription, fragment: Any, terms: Terms, *, now: float
) -> dict[str, Any]:
    """The document after a PATCH: members of `fragment` replace those of the stored one."""
    if not isinstance(fragment, dict) or not fragment:
        raise BadRequestData("A subscription update is a non-empty JSON object.")
    if "id" in fragment and fragment["id"] != stored.id:
        raise BadRequestData("A subscription's id cannot change.")
    if "type" in fragment and fragment["type"] != SUBSCRIPTION_TYPE:
        raise BadRequestData('A subscription\'s type is "Subscription".')
    doc = dict(stored.doc)
    # 5.8.2: each member of the fragment replaces the member of the same name as a whole
    # (a notification fragment is a complete NotificationParams, endpoint included).
    for key, value in fragment.items():
        if key == "@context":
            continue
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    endpoint = _endpoint_of(doc)
    if endpoint is not None and "notification" in fragment:
        endpoint = dict(endpoint)
        _restore_credentials(endpoint, _endpoint_of(stored.doc))
        doc["notification"] = {**doc["notification"], "endpoint": endpoint}
    check_subscription(doc, terms, now=now)
    return doc


def _selector(item: Any, terms: Terms) -> Selector:
    if not isinstance(item, dict):
        raise BadRequestData("entities must be an array of EntitySelector objects.")
    if "type" not in item:
        raise BadRequestData("Each EntitySelector needs a type.")
    types = expand_types(parse_type_expr(check_text(item["type"], "entities[].type")), terms.expand)
    entity_id = item.get("id")
    if entity_id is not None:
        check_uri(entity_id, "entities[].id")
    pattern = item.get("idPattern")
    compiled = None
    if pattern is not None:
        text = check_text(pattern, "entities[].idPattern")
        DEFAULT_LIMITS.check_length(text, "entities[].idPattern")
        compiled = compile_pattern(text, "entities[].idPattern")
    return Selector(types, entity_id, compiled)


def _endpoint(value: Any) -> Endpoint:
    if not isinstance(value, dict):
        raise BadRequestData("notification.endpoint must be an object with a uri.")
    uri = value.get("uri")
    check_uri(uri, "notification.endpoint.uri")
    accept = value.get("accept", "application/json")
    if accept not in ACCEPTS:
        raise BadRequestData(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}.")
    return Endpoint(
        str(uri),
        accept,
        _key_values(value.get("receiverInfo"), "receiverInfo"),
        _key_values(value.get("notifierInfo"), "notifierInfo"),
    )


def _key_values(value: Any, what: str) -> dict[str, str]:
    """receiverInfo / notifierInfo: an array of {key, value} pairs of strings."""
    if value is None:
        return {}
    pairs = check_list(value, f"endpoint.{what}")
    out: dict[str, str] = {}
    for pair in pairs:
        if not (
            isinstance(pair, dict)
            and isinstance(pair.get("key"), str)
            and isinstance(pair.get("value"), str)
        ):
            raise BadRequestData(f"endpoint.{what} must hold {{key, value}} pairs of strings.")
        key, text = pair["key"], pair["value"]
        if what == "receiverInfo" and (
            _HEADER_NAME.fullmatch(key) is None
            or key.lower() in _FRAMING_HEADERS
            or not text.isascii()
            or not text.isprintable()
        ):
            raise BadRequestData(
                f"receiverInfo {key!r} cannot be sent as an HTTP header: give a header name "
                "other than Host, Content-Length, Transfer-Encoding or Connection, and a value "
                "of printable ASCII (percent-encode anything else)."
            )
        out[key] = text
    return out


def is_credential_header(name: str) -> bool:
    """Authorization, Cookie or a Proxy-* header: a receiverInfo key that hands the receiver
    (or a proxy on the way) credentials."""
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or lowered.startswith("proxy-")


def credentials(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The credential headers the receiverInfo of a subscription document sets, as sorted
    (lower-case name, value) pairs."""
    endpoint = _endpoint_of(doc)
    pairs = endpoint.get("receiverInfo") if endpoint is not None else None
    if not isinstance(pairs, list):
        return []
    return sorted(
        (str(pair["key"]).lower(), str(pair.get("value")))
        for pair in pairs
        if isinstance(pair, dict) and is_credential_header(str(pair.get("key")))
    )


def hidden_uri(uri: str) -> str:
    """`uri` with its password, if it has one, replaced by HIDDEN (mqtt://user:***@host/t):
    what may be shown back or logged."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    return _with_password(parts, HIDDEN)


def _with_password(parts: SplitResult, password: str) -> str:
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return parts._replace(netloc=f"{name}:{password}@{host}").geturl()


def _endpoint_of(doc: dict[str, Any]) -> dict[str, Any] | None:
    notification = doc.get("notification")
    endpoint = notification.get("endpoint") if isinstance(notification, dict) else None
    return endpoint if isinstance(endpoint, dict) else None


def hide_credentials(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` as shown back: the endpoint URI's password and the values of credential headers
    in receiverInfo are HIDDEN. Delivery uses the stored document, which keeps them."""
    endpoint = _endpoint_of(doc)
    if endpoint is None:
        return doc
    shown = dict(endpoint)
    if isinstance(shown.get("uri"), str):
        shown["uri"] = hidden_uri(shown["uri"])
    if isinstance(shown.get("receiverInfo"), list):
        shown["receiverInfo"] = [
            {**pair, "value": HIDDEN}
            if isinstance(pair, dict) and is_credential_header(str(pair.get("key")))
            else pair
            for pair in shown["receiverInfo"]
        ]
    return {**doc, "notification": {**doc["notification"], "endpoint": shown}}


def _restore_credentials(endpoint: dict[str, Any], stored: dict[str, Any] | None) -> None:
    """A PATCH that sends back what GET showed (HIDDEN in place of a credential) keeps the
    stored credential rather than setting it to the placeholder."""
    if stored is None:
        return
    uri, old_uri = endpoint.get("uri"), stored.get("uri")
    if isinstance(uri, str) and isinstance(old_uri, str) and uri == hidden_uri(old_uri) != old_uri:
        endpoint["uri"] = old_uri
    pairs, old_pairs = endpoint.get("receiverInfo"), stored.get("receiverInfo")
    if isinstance(pairs, list) and isinstance(old_pairs, list):
        old = {p.get("key"): p.get("value") for p in old_pairs if isinstance(p, dict)}
        endpoint["receiverInfo"] = [
            {**pair, "value": old[pair.get("key")]}
            if isinstance(pair, dict) and pair.get("value") == HIDDEN and pair.get("key") in old
            else pair
            for pair in pairs
        ]


def parse_geoq(value: dict[str, Any], terms: Terms, what: str = "geoQ") -> GeoQuery:
    """A geoQ object (georel, geometry, coordinates, geoproperty) with expanded names."""
    found = parse_geo_query(
        value.get("georel"),
        value.get("geometry"),
        value.get("coordinates"),
        terms.expand(check_text(value.get("geoproperty") or "location", f"{what}.geoproperty")),
    )
    if found is None:
        raise BadRequestData(f"{what} needs georel, geometry and coordinates.")
    return found


def _triggers(value: Any) -> frozenset[str]:
    if value is None:
        return DEFAULT_TRIGGERS
    items = check_list(value, "notificationTrigger")
    unknown = [item for item in items if item not in TRIGGERS]
    if unknown or not items:
        raise BadRequestData(f"notificationTrigger values are {', '.join(sorted(TRIGGERS))}.")
    return frozenset(items)


def _names(value: Any, what: str, terms: Terms) -> list[str] | None:
    if value is None:
        return None
    items = check_list(value, what)
    if not items:
        raise BadRequestData(f"{what} must not be empty.")
    return [terms.expand(check_name(item)) for item in items]


def _members(value: Any, what: str, terms: Terms) -> list[str] | None:
    """pick / omit: a non-empty array of id, type and attribute names (as IRIs)."""
    if value is None:
        return None
    items = check_list(value, what)
    if not items:
        raise BadRequestData(f"{what} must not be empty.")
    return [
        name if name in _NOT_ATTRIBUTES else terms.expand(check_name(name, f"A {what} name"))
        for name in items
    ]


def _datasets(value: Any) -> list[str | None] | None:
    """datasetId: an array of URIs, "@none" standing for the default instance."""
    if value is None:
        return None
    items = check_list(value, "datasetId")
    if not items:
        raise BadRequestData("datasetId must not be empty.")
    return [None if item == "@none" else check_uri(item, "A datasetId") for item in items]


def _query(value: Any, what: str) -> str:
    """q / scopeQ of a subscription; percent-escapes are decoded, as in a query string."""
    return unquote(check_text(value, what))


def _recompacted(doc: dict[str, Any], written: Terms, reader: Terms) -> dict[str, Any]:
    def name(term: Any) -> Any:
        if not isinstance(term, str) or term in _NOT_ATTRIBUTES or not _SIMPLE.fullmatch(term):
            return term
        return reader.compact(written.expand(term))

    def names(value: Any) -> Any:
        return [name(item) for item in value] if isinstance(value, list) else value

    out = dict(doc)
    if isinstance(doc.get("entities"), list):
        out["entities"] = [
            {**item, "type": name(item.get("type"))} if isinstance(item, dict) else item
            for item in doc["entities"]
        ]
    if "watchedAttributes" in doc:
        out["watchedAttributes"] = names(doc["watchedAttributes"])
    if isinstance(doc.get("geoQ"), dict) and "geoproperty" in doc["geoQ"]:
        out["geoQ"] = {**doc["geoQ"], "geoproperty": name(doc["geoQ"]["geoproperty"])}
    if isinstance(doc.get("notification"), dict):
        notification = dict(doc["notification"])
        for key in ("attributes", "pick", "omit"):
            if key in notification:
                notification[key] = names(notification[key])
        out["notification"] = notification
    return out


def _frozen(names: list[str] | None) -> frozenset[str] | None:
    return frozenset(names) if names is not None else None


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequestData(f"{what} must be true or false.")
    return value


def _seconds(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadRequestData(f"{what} must be a positive number of seconds.")
    return float(value)


def render_subscription(
    stored: StoredSubscription, subscription: Subscription, now: float, terms: Terms | None = None
) -> dict[str, Any]:
    """A subscription as GET returns it: the client's document plus the broker's status.

    Given the reader's `terms` (6.3.5), the names in it (entity types, watchedAttributes,
    notification.attributes, pick, omit, geoQ.geoproperty) are compacted with those rather
    than shown as the client wrote them; q, scopeQ and type expressions stay as written.
    """
    doc = hide_credentials(dict(stored.doc))
    if terms is not None and terms.source != subscription.terms.source:
        doc = _recompacted(doc, subscription.terms, terms)
    doc.setdefault("notificationTrigger", sorted(DEFAULT_TRIGGERS))
    if subscription.expired(now):
        doc["status"] = "expired"
    else:
        doc["status"] = "active" if subscription.is_active else "paused"
    notification = dict(doc.get("notification", {}))
    notification.setdefault("format", subscription.format)
    notification.update(stored.status)
    doc["notification"] = notification
    return doc


def _expiry(expires: Any) -> float | None:
    """expiresAt in seconds since 1970, once checked; None when the subscription has none."""
    if expires is None:
        return None
    return text_epoch_ms(check_datetime(expires, "expiresAt")) / 1000
