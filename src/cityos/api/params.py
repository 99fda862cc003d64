"""Query parameters (and the body of POST /entityOperations/query) into queries and views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cityos.context.errors import BadRequestData, InvalidRequest, TooManyResults
from cityos.context.geo import parse_geo_query
from cityos.context.jsonld import Terms
from cityos.context.normalize import check_name, check_text, check_uri
from cityos.context.pattern import compile_pattern
from cityos.context.query import expand_q, expand_types, parse_q, parse_scope_q, parse_type_expr
from cityos.context.render import CONCISE, FORMATS, KEY_VALUES, NORMALIZED, View
from cityos.store.base import EntityQuery

from .http import Settings

ENTITY_MEMBERS = ("id", "type")
SELECTORS = ("type", "id", "idPattern", "attrs", "q", "georel", "scopeQ", "pick")
"""Parameters that say which entities a query wants; a query needs one of them."""
OPTIONS = frozenset(
    {
        "keyValues",
        "concise",
        "normalized",
        "sysAttrs",
        "noOverwrite",
        "replace",
        "update",
        "temporalValues",
        "aggregatedValues",
        "simplified",
    }
)


def names(text: str | None, what: str, most: int | None = None) -> list[str] | None:
    """A comma-separated list of names, or None when the parameter is absent; at most `most`
    of them (BadRequestData past that: each becomes a condition of the store's query)."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise BadRequestData(f"{what} has an empty name in {text!r}.")
    if most is not None and len(items) > most:
        raise BadRequestData(
            f"{what} names {len(items)} items, more than the {most} one query may name "
            "(cityos serve --max-query-names)."
        )
    return items


def options(params: Mapping[str, str]) -> set[str]:
    found = set(names(params.get("options"), "options") or [])
    unknown = found - OPTIONS
    if unknown:
        raise InvalidRequest(f"Unknown options: {', '.join(sorted(unknown))}.")
    return found


def view_from(params: Mapping[str, str], terms: Terms, settings: Settings) -> View:
    """How to render entities: format, sysAttrs, attrs/pick/omit, lang."""
    opts = options(params)
    fmt = params.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise InvalidRequest(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    if fmt is None:
        fmt = (
            KEY_VALUES
            if opts & {"keyValues", "simplified"}
            else (CONCISE if "concise" in opts else NORMALIZED)
        )
    attrs = names(params.get("attrs"), "attrs", settings.max_names)
    if params.get("pick") is not None and params.get("omit") is not None:
        raise BadRequestData("pick and omit cannot be used together.")
    if attrs is not None and (params.get("pick") is not None or params.get("omit") is not None):
        raise BadRequestData("attrs cannot be combined with pick or omit: use pick alone.")
    plain = View(
        format=fmt,
        sys_attrs="sysAttrs" in opts,
        lang=params.get("lang"),
        datasets=_datasets(params.get("datasetId")),
    )
    if params.get("pick") is not None:
        return _projected(plain, params["pick"], terms, picking=True)
    if params.get("omit") is not None:
        return _projected(plain, params["omit"], terms, picking=False)
    kept = None if attrs is None else {terms.expand(check_name(n)) for n in attrs}
    return replace(plain, attrs=kept)


def _datasets(text: str | None) -> set[str | None] | None:
    found = names(text, "datasetId")
    return None if found is None else {None if d == "@none" else d for d in found}


def _projected(plain: View, text: str, terms: Terms, *, picking: bool) -> View:
    """A view from pick or omit, whose `rel{...}` parts project the linked entities (4.5.23)."""
    members = split_projection(text)
    linked = {
        terms.expand(name): _projected(plain, nested, terms, picking=picking)
        for name, nested in members
        if nested is not None
    }
    chosen = {name for name, _ in members}
    attrs = {terms.expand(n) for n in chosen if n not in ENTITY_MEMBERS}
    return replace(
        plain,
        attrs=attrs if picking else None,
        omit=set() if picking else attrs,
        show_id=("id" in chosen) == picking,
        show_type=("type" in chosen) == picking,
        linked=linked,
    )


def split_projection(text: str) -> list[tuple[str, str | None]]:
    """`id,rel{a,b{c}}` → [("id", None), ("rel", "a,b{c}")], checking names and braces."""
    members: list[tuple[str, str | None]] = []
    depth, start, name = 0, 0, ""
    for index, char in enumerate(text + ","):
        if char == "{":
            if depth == 0:
                name, start = text[start:index], index + 1
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise BadRequestData(f"pick/omit {text!r} closes a brace it never opened.")
        elif char == "," and depth == 0:
            if name:
                members.append(
                    (check_name(name.strip(), "A pick or omit name"), text[start : index - 1])
                )
                if not members[-1][1]:
                    raise BadRequestData(f"pick/omit {text!r} has empty braces.")
            else:
                members.append((check_name(text[start:index].strip(), "A pick or omit name"), None))
            name, start = "", index + 1
        elif depth == 0 and name:
            raise BadRequestData(f"pick/omit {text!r} has text after a closing brace.")
    if depth != 0:
        raise BadRequestData(f"pick/omit {text!r} leaves a brace open.")
    return members


def join_from(params: Mapping[str, str], view: View) -> tuple[str | None, int]:
    """`join` (inline or flat) and `joinLevel` (1 when not given) of linked-entity retrieval.

    A nested pick or omit (`rel{...}`) needs a join at least as deep as it nests.
    """
    join = params.get("join")
    if join not in (None, "inline", "flat", "@none"):
        raise BadRequestData(f"join must be inline, flat or @none, not {join!r}.")
    level_text = params.get("joinLevel")
    if level_text is not None and (join in (None, "@none") or not level_text.isdigit()):
        raise BadRequestData("joinLevel is a positive integer, and needs join=inline or flat.")
    level = int(level_text) if level_text is not None else 1
    if level < 1:
        raise BadRequestData("joinLevel must be at least 1.")
    join = None if join == "@none" else join
    depth = _nesting(view)
    if depth and (join is None or depth > level):
        raise BadRequestData(
            f"pick/omit reaches {depth} linked level(s): that needs join and joinLevel >= {depth}."
        )
    return join, level


def _nesting(view: View) -> int:
    return 1 + max(map(_nesting, view.linked.values())) if view.linked else 0


def page(params: Mapping[str, str], settings: Settings) -> tuple[int, int, bool]:
    """limit, offset and count, checked against the broker's maximum page size."""
    limit = _integer(params.get("limit"), "limit", settings.default_limit)
    offset = _integer(params.get("offset"), "offset", 0)
    if limit > settings.max_limit:
        raise TooManyResults(
            f"limit {limit} is above the maximum of {settings.max_limit} entities per page "
            "(cityos serve --max-page-size)."
        )
    count = params.get("count")
    if count not in (None, "true", "false"):
        raise BadRequestData(f"count must be true or false, not {count!r}.")
    if limit == 0 and count != "true":
        raise BadRequestData("limit=0 is only allowed together with count=true.")
    return limit, offset, count == "true"


def _integer(text: str | None, what: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or len(text) > 9:
        raise BadRequestData(f"{what} must be an integer from 0 to 999999999, not {text!r}.")
    return int(text)


def entity_query(params: Mapping[str, Any], terms: Terms, settings: Settings) -> EntityQuery:
    """An EntityQuery from GET /entities parameters; it must select something (or be local)."""
    if params.get("local") != "true" and all(params.get(k) is None for k in SELECTORS):
        raise BadRequestData(
            "Say what to query: give at least one of type, id, idPattern, attrs, q, georel "
            "or scopeQ."
        )
    limit, offset, count = page(params, settings)
    query = EntityQuery(limit=limit, offset=offset, count=count)
    ids = names(params.get("id"), "id", settings.max_names)
    if ids is not None:
        query.ids = [check_uri(i, "An entity id") for i in ids]
    pattern = params.get("idPattern")
    if pattern is not None:
        query.id_pattern = check_pattern(pattern, settings)
    if params.get("type") is not None:
        query.types = expand_types(parse_type_expr(params["type"]), terms.expand)
    attrs = names(params.get("attrs"), "attrs", settings.max_names)
    if attrs is not None:
        query.attrs = [terms.expand(check_name(a)) for a in attrs]
    if params.get("q") is not None:
        query.q = expand_q(parse_q(params["q"], settings.query_limits), terms.expand)
    if params.get("scopeQ") is not None:
        query.scope_q = parse_scope_q(params["scopeQ"], settings.query_limits)
    query.geo = parse_geo_query(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        terms.expand(params.get("geoproperty") or "location"),
    )
    return query


def query_from_body(
    body: Any, terms: Terms, params: Mapping[str, str], settings: Settings
) -> EntityQuery:
    """An EntityQuery from the Query object of POST /entityOperations/query."""
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise BadRequestData('The body must be a Query object: {"type": "Query", ...}.')
    flat: dict[str, Any] = {k: v for k, v in params.items() if k in ("limit", "offset", "count")}
    selectors = body.get("entities")
    if selectors is not None:
        if not isinstance(selectors, list) or not all(isinstance(s, dict) for s in selectors):
            raise BadRequestData("entities must be an array of EntitySelector objects.")
        if len(selectors) == 1:
            for key in ("type", "id", "idPattern"):
                if key in selectors[0]:
                    flat[key] = check_text(selectors[0][key], f"entities[].{key}")
        elif any("idPattern" in s for s in selectors):
            raise BadRequestData("idPattern needs an entity selector of its own.")
        else:
            for key in ("type", "id"):
                found = [check_text(s[key], f"entities[].{key}") for s in selectors if key in s]
                if found:
                    flat[key] = ",".join(dict.fromkeys(found))
    if "attrs" in body:
        value = body["attrs"]
        items = value if isinstance(value, list) else [value]
        flat["attrs"] = ",".join(check_text(item, "attrs") for item in items)
    for key in ("q", "scopeQ"):
        if key in body:
            flat[key] = check_text(body[key], key)
    geo_q = body.get("geoQ")
    if geo_q is not None:
        if not isinstance(geo_q, dict):
            raise BadRequestData("geoQ must be an object.")
        flat["georel"] = geo_q.get("georel")
        flat["geometry"] = geo_q.get("geometry")
        coordinates = geo_q.get("coordinates")
        flat["coordinates"] = coordinates
        if geo_q.get("geoproperty") is not None:
            flat["geoproperty"] = check_text(geo_q["geoproperty"], "geoQ.geoproperty")
    return entity_query(flat, terms, settings)


def check_pattern(pattern: str, settings: Settings) -> str:
    """An idPattern RE2 accepts, no longer than a q may be (TooComplexQuery, 403)."""
    settings.query_limits.check_length(pattern, "idPattern")
    compile_pattern(pattern, "idPattern")
    return pattern
