"""From a client's JSON to a valid `Entity`: every rule of the NGSI-LD data model checked once.

Input may be normalized or concise (ETSI GS CIM 009, 4.5); both end in the same expanded
form. Anything invalid raises `BadRequestData` naming the offending member, before anything
is written, so a rejected request never leaves half an entity behind.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cityos.context.entity import (
    ATTRIBUTE_TYPES,
    ENTITY_KEYS,
    GEO_PROPERTY,
    INSTANCE_KEYS,
    JSON_PROPERTY,
    LANGUAGE_PROPERTY,
    LIST_PROPERTY,
    LIST_RELATIONSHIP,
    NGSI_LD_NULL,
    PROPERTY,
    RELATIONSHIP,
    SYSTEM_KEYS,
    VALUE_KEY_BY_TYPE,
    VOCAB_PROPERTY,
    Entity,
    Instance,
    is_deletion,
)
from cityos.context.errors import BadRequestData, NgsiError
from cityos.context.geo import validate_geometry
from cityos.context.jsonld import NGSI_LD_NS, Terms

GEOJSON_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
GEO_ATTRIBUTES = frozenset(
    NGSI_LD_NS + name for name in ("location", "observationSpace", "operationSpace")
)
"""Attributes the core context reserves for geometry: they must be GeoProperties."""

RESERVED_IRIS = frozenset(
    NGSI_LD_NS + name
    for name in (
        "scope",
        "createdAt",
        "modifiedAt",
        "deletedAt",
        "observedAt",
        "datasetId",
        "unitCode",
        "instanceId",
        "hasValue",
        "hasObject",
    )
)
"""Expanded names of NGSI-LD members, which a context must not turn into attribute names."""

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_NAME = re.compile(r"^[^\s<>\"'=;()\[\]{}|,\\\x00-\x1f\x7f]+$")
_SCOPE = re.compile(r"^/[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$")
_MAX_DEPTH = 8
_MAX_VALUE_DEPTH = 64


_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters that render as blank; in an id they only deceive."""


def _visible(char: str) -> bool:
    category = unicodedata.category(char)
    return (
        category[0] not in "CZ"
        and category != "Mn"
        and char not in _INVISIBLE
        and (ord(char) & 0xFFFE) != 0xFFFE
    )


def is_uri(value: object) -> bool:
    """A URI without controls, format or invisible characters (ids must be readable)."""
    return (
        isinstance(value, str)
        and _URI.match(value) is not None
        and (value.isascii() or all(_visible(c) for c in value))
    )


def check_uri(value: object, what: str) -> str:
    if not is_uri(value):
        raise BadRequestData(f"{what} must be a URI, not {value!r}.")
    assert isinstance(value, str)
    return value


def check_name(name: object, what: str = "Attribute name") -> str:
    if not isinstance(name, str) or not name or _NAME.match(name) is None:
        raise BadRequestData(f"{what} {name!r} is not a valid NGSI-LD name.")
    return name


def check_attribute_name(name: object) -> str:
    """An attribute or sub-attribute name: valid, and not a core member or keyword."""
    check_name(name)
    assert isinstance(name, str)
    if name.startswith("@") or name in INSTANCE_KEYS or name in ("id", "type"):
        raise BadRequestData(f"{name!r} is reserved by NGSI-LD and cannot name an attribute.")
    return name


def check_text(value: Any, what: str) -> str:
    """A member that must be a JSON string."""
    if not isinstance(value, str):
        raise BadRequestData(f"{what} must be a string.")
    return value


MAX_NESTING = 100
"""How deep a request's JSON may nest: room for an entity, 8 levels of sub-attributes and a
value 64 levels deep, and far below where encoding it again (orjson stops at 255) or
walking it recursively would fail."""


def check_nesting(value: Any, what: str = "The body", limit: int = MAX_NESTING) -> Any:
    """`value` itself, once it is known to nest no deeper than `limit` arrays and objects."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return value
    raise BadRequestData(f"{what} nests arrays and objects deeper than {limit} levels.")


def check_list(value: Any, what: str) -> list[Any]:
    """A member that must be a JSON array; absent (None) reads as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequestData(f"{what} must be an array.")
    return value


def check_datetime(value: object, what: str) -> str:
    """An ISO 8601 date-time with a time zone, as NGSI-LD requires for observedAt and friends."""
    if isinstance(value, str) and "T" in value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and value.endswith("Z"):
            return value
    raise BadRequestData(f"{what} must be an ISO 8601 date-time in UTC ending in Z, not {value!r}.")


def parse_entity(body: object, terms: Terms, now: str, *, partial: bool = False) -> Entity:
    """Validate and expand one entity from a request body.

    `partial` accepts a fragment (as in append or merge) that may leave out id and type.
    """
    if not isinstance(body, dict):
        raise BadRequestData("An entity must be a JSON object.")
    entity_id = body.get("id", body.get("@id"))
    if not (partial and entity_id is None):
        check_uri(entity_id, "The entity id")
    raw_type = body.get("type", body.get("@type"))
    types = [] if partial and raw_type is None else parse_types(raw_type, terms)
    entity = Entity(id=entity_id or "", types=types, created_at=now, modified_at=now)
    if "scope" in body:
        entity.scope = parse_scope(body["scope"])
    entity.attrs = parse_attributes(
        {k: v for k, v in body.items() if k not in ENTITY_KEYS and k not in ("@id", "@type")},
        terms,
        now,
    )
    if not partial:
        for iri, instances in entity.attrs.items():
            if any(_has_deletion(inst) for inst in instances):
                raise BadRequestData(
                    f"Attribute {terms.compact(iri)!r} is null ({NGSI_LD_NULL}): nothing to create."
                )
    return entity


def _has_deletion(inst: Instance) -> bool:
    return is_deletion(inst) or any(
        _has_deletion(member) for key, member in inst.items() if ":" in key
    )


BatchItem = tuple[str, Entity | NgsiError]
"""One entry of a batch: the entity id as sent, and the parsed entity or why it failed."""


def parse_batch(
    bodies: list[dict[str, Any]],
    terms_for: Callable[[dict[str, Any]], Terms],
    now: str,
    *,
    partial: bool = False,
) -> list[BatchItem]:
    """Each entity of a batch parsed on its own, so that one bad entity fails alone."""
    items: list[BatchItem] = []
    for raw in bodies:
        entity_id = str(raw.get("id", ""))
        try:
            if "id" not in raw and "@id" not in raw:
                raise BadRequestData("Every entity of a batch needs an id.")
            items.append((entity_id, parse_entity(raw, terms_for(raw), now, partial=partial)))
        except NgsiError as error:
            items.append((entity_id, error))
    return items


def parse_types(value: object, terms: Terms) -> list[str]:
    names = value if isinstance(value, list) else [value]
    if not names or value is None:
        raise BadRequestData("An entity needs a type.")
    types: list[str] = []
    for name in names:
        check_name(name, "Entity type")
        assert isinstance(name, str)
        if ":" not in name and not (name[0].isalpha() or name[0] == "_"):
            raise BadRequestData(f"Entity type {name!r} must start with a letter.")
        iri = terms.expand(name)
        if iri not in types:
            types.append(iri)
    return types


def parse_scope(value: object) -> list[str] | None:
    if value is None:
        return None
    scopes = value if isinstance(value, list) else [value]
    for scope in scopes:
        if not isinstance(scope, str) or _SCOPE.match(scope) is None:
            raise BadRequestData(f"Scope {scope!r} is not valid: scopes look like /City/District.")
    return list(dict.fromkeys(scopes))


def parse_attributes(members: dict[str, Any], terms: Terms, now: str) -> dict[str, list[Instance]]:
    """Attributes by expanded name, each a list of instances with distinct datasetIds."""
    attrs: dict[str, list[Instance]] = {}
    for name, raw in members.items():
        check_attribute_name(name)
        iri = terms.expand(name)
        if iri in RESERVED_IRIS:
            raise BadRequestData(f"{name!r} names the NGSI-LD member {iri}, not an attribute.")
        attrs[iri] = parse_instances(name, iri, raw, terms, now)
    return attrs


def parse_instances(name: str, iri: str, raw: object, terms: Terms, now: str) -> list[Instance]:
    """One attribute's instances; an array of attribute objects is a multi-attribute."""
    items = raw if _is_instance_array(raw) else [raw]
    assert isinstance(items, list)
    instances: list[Instance] = []
    seen: set[str | None] = set()
    for item in items:
        inst = parse_instance(name, item, terms, now)
        dataset = inst.get("datasetId")
        if dataset in seen:
            which = f"datasetId {dataset}" if dataset else "the default instance (no datasetId)"
            raise BadRequestData(f"Attribute {name!r} has {which} more than once.")
        seen.add(dataset)
        if iri in GEO_ATTRIBUTES and inst["type"] != GEO_PROPERTY:
            raise BadRequestData(f"Attribute {name!r} is reserved for a GeoProperty.")
        instances.append(inst)
    return instances


def _is_instance_array(raw: object) -> bool:
    return (
        isinstance(raw, list)
        and bool(raw)
        and all(isinstance(item, dict) and _declared_type(item) is not None for item in raw)
    )


def _declared_type(raw: dict[str, Any]) -> str | None:
    """The attribute type an object declares or implies, or None for a plain JSON value."""
    declared = raw.get("type")
    if isinstance(declared, str):
        short = declared.removeprefix(NGSI_LD_NS)
        if short in ATTRIBUTE_TYPES:
            return short
        if declared in GEOJSON_TYPES and "coordinates" in raw:
            return GEO_PROPERTY
        return None
    for attr_type, key in VALUE_KEY_BY_TYPE.items():
        if key in raw:
            if attr_type == PROPERTY and _is_geojson(raw["value"]):
                return GEO_PROPERTY
            return attr_type
    return None


def _is_geojson(value: object) -> bool:
    return isinstance(value, dict) and value.get("type") in GEOJSON_TYPES and "coordinates" in value


def parse_instance(name: str, raw: object, terms: Terms, now: str, depth: int = 0) -> Instance:
    """One attribute (or sub-attribute) instance, normalized and validated."""
    if depth > _MAX_DEPTH:
        raise BadRequestData(f"Attribute {name!r} nests sub-attributes too deeply.")
    if raw is None:
        raise BadRequestData(f"Attribute {name!r} has no value (null is not a value).")
    if isinstance(raw, dict) and "type" in raw and not isinstance(raw["type"], str):
        raise BadRequestData(f"The type of attribute {name!r} must be a string.")
    if not isinstance(raw, dict) or (_declared_type(raw) is None and "type" not in raw):
        return {
            "type": PROPERTY,
            "value": _check_value(name, PROPERTY, raw, terms),
            "createdAt": now,
            "modifiedAt": now,
        }
    attr_type = _declared_type(raw)
    if attr_type is None:
        raise BadRequestData(
            f"Attribute {name!r} has an unknown type {raw['type']!r}; a JSON object whose "
            'own member is called type must be wrapped as {"value": ...}.'
        )
    if attr_type == GEO_PROPERTY and raw.get("type") in GEOJSON_TYPES:
        raw = {"type": GEO_PROPERTY, "value": raw}
    value_key = VALUE_KEY_BY_TYPE[attr_type]
    if value_key not in raw or raw[value_key] is None:
        raise BadRequestData(f"{attr_type} {name!r} needs a non-null {value_key!r} member.")
    inst: Instance = {
        "type": attr_type,
        value_key: _check_value(name, attr_type, raw[value_key], terms),
    }
    for key, member in raw.items():
        if key in ("type", value_key) or key in SYSTEM_KEYS:
            continue
        if key == "datasetId":
            if member != "@none":
                inst[key] = check_uri(member, f"The datasetId of {name!r}")
        elif key == "observedAt":
            inst[key] = check_datetime(member, f"observedAt of {name!r}")
        elif key == "unitCode":
            if attr_type not in (PROPERTY, LIST_PROPERTY):
                raise BadRequestData(f"A {attr_type} ({name!r}) has no unitCode.")
            if not isinstance(member, str) or not member:
                raise BadRequestData(f"unitCode of {name!r} must be a non-empty string.")
            inst[key] = member
        elif key == "objectType" and attr_type in (RELATIONSHIP, LIST_RELATIONSHIP):
            inst[key] = (
                [terms.expand(t) for t in member]
                if isinstance(member, list)
                else (terms.expand(check_name(member, "objectType")))
            )
        elif key in INSTANCE_KEYS:
            raise BadRequestData(f"{attr_type} {name!r} cannot have a {key!r} member.")
        else:
            check_attribute_name(key)
            inst[terms.expand(key)] = parse_instance(key, member, terms, now, depth + 1)
    inst["createdAt"] = now
    inst["modifiedAt"] = now
    return inst


def _has_null(value: Any, *, allow: bool = False, depth: int = 0) -> bool:
    """Whether a value holds JSON null (unless `allow`); refuses values nested too deeply."""
    if depth > _MAX_VALUE_DEPTH:
        raise BadRequestData(f"A value nests deeper than {_MAX_VALUE_DEPTH} levels.")
    if value is None:
        return not allow
    if isinstance(value, dict):
        return any(_has_null(v, allow=allow, depth=depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v, allow=allow, depth=depth + 1) for v in value)
    return False


def _check_value(name: str, attr_type: str, value: Any, terms: Terms) -> Any:
    if value in (NGSI_LD_NULL, {"@none": NGSI_LD_NULL}, [NGSI_LD_NULL]):
        return value  # a deletion marker, refused on create by parse_entity
    if _has_null(value, allow=attr_type == JSON_PROPERTY):
        raise BadRequestData(f"The value of {name!r} contains null, which NGSI-LD does not allow.")
    if attr_type == GEO_PROPERTY:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise BadRequestData(f"GeoProperty {name!r} is not GeoJSON.") from None
        return validate_geometry(value, what=f"GeoProperty {name!r}")
    if attr_type == RELATIONSHIP:
        targets = value if isinstance(value, list) else [value]
        for target in targets:
            check_uri(target, f"The object of Relationship {name!r}")
        return value
    if attr_type == LIST_RELATIONSHIP:
        if not isinstance(value, list):
            raise BadRequestData(f"objectList of {name!r} must be an array.")
        return [
            {
                "object": check_uri(
                    item.get("object") if isinstance(item, dict) else item, f"An object in {name!r}"
                )
            }
            for item in value
        ]
    if attr_type == LANGUAGE_PROPERTY:
        if not isinstance(value, dict) or not value:
            raise BadRequestData(f"languageMap of {name!r} must be a non-empty object.")
        for lang, text in value.items():
            texts = text if isinstance(text, list) else [text]
            if not isinstance(lang, str) or not lang or not all(isinstance(t, str) for t in texts):
                raise BadRequestData(f"languageMap of {name!r} maps language tags to strings.")
        return value
    if attr_type == VOCAB_PROPERTY:
        words = value if isinstance(value, list) else [value]
        expanded = [terms.expand(check_name(w, f"A vocab term of {name!r}")) for w in words]
        return expanded if isinstance(value, list) else expanded[0]
    if attr_type == LIST_PROPERTY and not isinstance(value, list):
        raise BadRequestData(f"valueList of {name!r} must be an array.")
    return value
