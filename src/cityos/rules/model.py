"""Rule documents: parsing (YAML or JSON) and validation into the compiled `Rule`.

A rule is kept as its author wrote it (short names, its own @context) so that it reads
back the same; `compile_rule` expands names with that @context and parses q and the geo
restriction once, the way subscriptions are compiled. Every error names the member at
fault (`rules[1].when.for`), so a long YAML file is quick to fix.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from cityos.context.errors import BadRequestData, NgsiError
from cityos.context.geo import GeoMatcher, GeoQuery
from cityos.context.jsonld import ContextResolver, Terms
from cityos.context.normalize import check_name, check_nesting, check_text, check_uri
from cityos.context.query import (
    And,
    Comparison,
    Or,
    QNode,
    TypeExpr,
    expand_q,
    expand_types,
    parse_q,
    parse_type_expr,
)
from cityos.events.subscription import parse_geoq
from cityos.governance.model import Priority

RULE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
PLACEHOLDERS = frozenset({"id", "type", "rule", "value"})
SEVERITIES = ("informational", "low", "medium", "high", "critical")
"""The severities of the FIWARE Smart Data Models `Alert`."""

_RULE_KEYS = frozenset(
    {"id", "description", "type", "where", "when", "cooldown", "then", "@context"}
)
_WHEN_KEYS = frozenset({"q", "for", "deviates"})
_DEVIATES_KEYS = frozenset({"attribute", "window", "zscore", "min_samples"})
_CASE_KEYS = frozenset({"category", "priority", "description"})
_SET_KEYS = frozenset({"attribute", "value"})
_NOTIFY_KEYS = frozenset({"uri", "severity", "category", "subCategory", "description"})


class RuleError(BadRequestData):
    """A rule document is wrong; `member` says where."""

    def __init__(self, member: str, detail: str) -> None:
        super().__init__(f"{member}: {detail}", member=member)
        self.member = member


@dataclass(frozen=True, slots=True)
class Holds:
    """`when.q`: the condition is the NGSI-LD query holding on the entity."""

    q: QNode
    attrs: frozenset[str]
    """The attribute IRIs q names: only a change to one of them can change its verdict."""


@dataclass(frozen=True, slots=True)
class Deviates:
    """`when.deviates`: |z| of a new value against the values of the last `window_s`."""

    attribute: str
    window_s: float
    zscore: float
    min_samples: int


@dataclass(frozen=True, slots=True)
class OpenCase:
    category: str
    priority: Priority
    description: str | None


@dataclass(frozen=True, slots=True)
class SetAttribute:
    attribute: str
    """Its IRI."""
    value: Any


@dataclass(frozen=True, slots=True)
class Notify:
    """Upsert an `Alert`; with `uri`, also subscribe that endpoint to the rule's Alerts."""

    uri: str | None
    severity: str
    category: str
    sub_category: str | None
    description: str | None


Action = OpenCase | SetAttribute | Notify


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule ready to evaluate: expanded names, parsed queries and durations in seconds."""

    id: str
    description: str | None
    types: TypeExpr
    geo: GeoQuery | None
    geo_test: GeoMatcher | None
    when: Holds | Deviates
    hold_s: float
    cooldown_s: float
    actions: tuple[Action, ...]
    terms: Terms
    doc: dict[str, Any]
    """The document as written (what GET returns)."""

    @property
    def watched(self) -> frozenset[str]:
        """Attributes whose change calls for a new evaluation."""
        attrs = self.when.attrs if isinstance(self.when, Holds) else {self.when.attribute}
        return frozenset(attrs) | ({self.geo.geoproperty} if self.geo is not None else set())

    @property
    def subject(self) -> str | None:
        """The attribute `{value}` stands for: the deviating one, or the first q names."""
        if isinstance(self.when, Deviates):
            return self.when.attribute
        return _first_attr(self.when.q)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without aliases: `*a` repeats a node without copying it, so a small text
    can stand for an exponentially large document (a "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise BadRequestData("Rules cannot use YAML aliases (*name); write the value out.")
        return super().compose_node(parent, index)


def load_documents(text: str | bytes) -> list[dict[str, Any]]:
    """The rule documents of a YAML (or JSON) text: one rule or `{rules: [...]}`."""
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as error:
        raise BadRequestData(f"The rules are not valid YAML: {error}") from None
    except RecursionError:
        raise BadRequestData("The rules nest too deeply to be read.") from None
    return rule_documents(data)


def rule_documents(data: Any) -> list[dict[str, Any]]:
    """One rule or `{rules: [...]}` as a list of rule documents (still unchecked)."""
    check_nesting(data, "A rule document")
    if isinstance(data, dict) and "rules" in data:
        if set(data) - {"rules"}:
            raise RuleError("rules", "a rule list has no other member than rules.")
        if not isinstance(data["rules"], list) or not data["rules"]:
            raise RuleError("rules", "must be a non-empty list of rules.")
        return list(data["rules"])
    if isinstance(data, dict):
        return [data]
    raise BadRequestData("Send one rule (an object) or {rules: [...]}.")


def compile_rules(docs: list[Any], resolver: ContextResolver) -> list[Rule]:
    """Each document compiled; errors are named `rules[i].member` when there are several."""
    rules = []
    for index, doc in enumerate(docs):
        rules.append(compile_rule(doc, resolver, f"rules[{index}]." if len(docs) > 1 else ""))
    ids = [rule.id for rule in rules]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup is not None:
        raise RuleError("rules", f"the id {dup!r} is given twice.")
    return rules


@contextmanager
def _at(member: str) -> Iterator[None]:
    """Name `member` in any NGSI-LD error raised by the block."""
    try:
        yield
    except RuleError:
        raise
    except NgsiError as error:
        raise RuleError(member, error.detail) from None


def compile_rule(doc: Any, resolver: ContextResolver, prefix: str = "") -> Rule:
    """Check every member of one rule document and compile it."""
    if not isinstance(doc, dict):
        raise RuleError(prefix.rstrip(".") or "rule", "a rule is an object.")
    _known(doc, _RULE_KEYS, prefix.rstrip(".") or "rule")
    try:
        doc = orjson.loads(orjson.dumps(doc))  # plain JSON from here on (YAML has dates…)
    except TypeError as error:
        raise RuleError(prefix.rstrip(".") or "rule", f"not JSON data: {error}") from None
    rule_id = doc.get("id")
    if not isinstance(rule_id, str) or RULE_ID.fullmatch(rule_id) is None:
        raise RuleError(f"{prefix}id", "1 to 100 of A-Z a-z 0-9 _ . : - are needed.")
    with _at(f"{prefix}@context"):
        terms = resolver.resolve(doc.get("@context"))
    description = doc.get("description")
    if description is not None:
        with _at(f"{prefix}description"):
            check_text(description, "description")
    if "type" not in doc:
        raise RuleError(f"{prefix}type", "a rule needs the entity type it watches.")
    with _at(f"{prefix}type"):
        types = expand_types(parse_type_expr(check_text(doc["type"], "type")), terms.expand)
    geo = None
    if doc.get("where") is not None:
        if not isinstance(doc["where"], dict):
            raise RuleError(f"{prefix}where", "must be an object (georel, geometry, coordinates).")
        with _at(f"{prefix}where"):
            geo = parse_geoq(doc["where"], terms, "where")
    when, hold_s = _when(doc.get("when"), terms, f"{prefix}when")
    cooldown_s = _duration(doc.get("cooldown", 0), f"{prefix}cooldown")
    actions = _actions(doc.get("then"), terms, f"{prefix}then")
    return Rule(
        rule_id,
        description,
        types,
        geo,
        GeoMatcher(geo) if geo is not None else None,
        when,
        hold_s,
        cooldown_s,
        actions,
        terms,
        doc,
    )


def _known(doc: dict[str, Any], keys: frozenset[str], member: str) -> None:
    unknown = sorted(str(k) for k in set(doc) - keys)
    if unknown:
        raise RuleError(f"{member}.{unknown[0]}", f"unknown member; use {', '.join(sorted(keys))}.")


def _when(value: Any, terms: Terms, member: str) -> tuple[Holds | Deviates, float]:
    if not isinstance(value, dict):
        raise RuleError(member, "a rule needs when: {q: …} or when: {deviates: …}.")
    _known(value, _WHEN_KEYS, member)
    hold_s = _duration(value.get("for", 0), f"{member}.for")
    if ("q" in value) == ("deviates" in value):
        raise RuleError(member, "give exactly one of q and deviates.")
    if "q" in value:
        with _at(f"{member}.q"):
            q = expand_q(parse_q(check_text(value["q"], "q")), terms.expand)
        return Holds(q, frozenset(_attrs(q))), hold_s
    return _deviates(value["deviates"], terms, f"{member}.deviates"), hold_s


def _deviates(value: Any, terms: Terms, member: str) -> Deviates:
    if not isinstance(value, dict):
        raise RuleError(member, "must be an object {attribute, window, zscore, min_samples}.")
    _known(value, _DEVIATES_KEYS, member)
    if "attribute" not in value:
        raise RuleError(f"{member}.attribute", "the attribute to watch is needed.")
    with _at(f"{member}.attribute"):
        attribute = terms.expand(check_name(value["attribute"]))
    window_s = _duration(value.get("window", "1h"), f"{member}.window")
    if window_s <= 0:
        raise RuleError(f"{member}.window", "must be longer than 0.")
    zscore = value.get("zscore", 3)
    if isinstance(zscore, bool) or not isinstance(zscore, int | float) or zscore <= 0:
        raise RuleError(f"{member}.zscore", "must be a positive number.")
    samples = value.get("min_samples", 10)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise RuleError(f"{member}.min_samples", "must be a whole number of at least 2.")
    return Deviates(attribute, window_s, float(zscore), samples)


def _actions(value: Any, terms: Terms, member: str) -> tuple[Action, ...]:
    if not isinstance(value, list) or not value:
        raise RuleError(member, "a rule needs a non-empty list of actions.")
    actions: list[Action] = []
    for index, item in enumerate(value):
        at = f"{member}[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise RuleError(at, "each action is one of {case: …}, {set: …}, {notify: …}.")
        (kind, body), *_ = item.items()
        if not isinstance(body, dict):
            raise RuleError(f"{at}.{kind}", "must be an object.")
        if kind == "case":
            actions.append(_case(body, f"{at}.case"))
        elif kind == "set":
            actions.append(_set(body, terms, f"{at}.set"))
        elif kind == "notify":
            actions.append(_notify(body, f"{at}.notify"))
        else:
            raise RuleError(f"{at}.{kind}", "unknown action; use case, set or notify.")
    return tuple(actions)


def _case(body: dict[str, Any], member: str) -> OpenCase:
    _known(body, _CASE_KEYS, member)
    category = body.get("category")
    if not isinstance(category, str) or not category.strip():
        raise RuleError(f"{member}.category", "the case category is needed.")
    priority = body.get("priority", Priority.NORMAL.value)
    if priority not in {p.value for p in Priority}:
        choices = ", ".join(p.value for p in Priority)
        raise RuleError(f"{member}.priority", f"must be one of {choices}.")
    return OpenCase(category, Priority(priority), _template(body, member))


def _set(body: dict[str, Any], terms: Terms, member: str) -> SetAttribute:
    _known(body, _SET_KEYS, member)
    with _at(f"{member}.attribute"):
        attribute = terms.expand(check_name(body.get("attribute")))
    if body.get("value") is None:
        raise RuleError(f"{member}.value", "the value to set is needed (null is not one).")
    return SetAttribute(attribute, body["value"])


def _notify(body: dict[str, Any], member: str) -> Notify:
    _known(body, _NOTIFY_KEYS, member)
    uri = body.get("uri")
    if uri is not None:
        with _at(f"{member}.uri"):
            check_uri(uri, "uri")
    severity = body.get("severity", "medium")
    if severity not in SEVERITIES:
        raise RuleError(f"{member}.severity", f"must be one of {', '.join(SEVERITIES)}.")
    category = body.get("category", "rule")
    sub_category = body.get("subCategory")
    for key, text in (("category", category), ("subCategory", sub_category)):
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise RuleError(f"{member}.{key}", "must be a non-empty string.")
    return Notify(uri, severity, category, sub_category, _template(body, member))


def _template(body: dict[str, Any], member: str) -> str | None:
    """A description with `{id}`, `{type}`, `{rule}` and `{value}` placeholders only."""
    text = body.get("description")
    if text is None:
        return None
    if not isinstance(text, str):
        raise RuleError(f"{member}.description", "must be a string.")
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as error:
        raise RuleError(f"{member}.description", f"bad placeholder: {error}.") from None
    bad = [name for name in names if name not in PLACEHOLDERS]
    if bad:
        allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
        raise RuleError(f"{member}.description", f"{{{bad[0]}}} is not one of {allowed}.")
    return text


def _duration(value: Any, member: str) -> float:
    """`30s`, `5m`, `1.5h`, `2d`, `250ms` or a number of seconds."""
    if isinstance(value, bool):
        raise RuleError(member, "must be a duration such as 30s, 5m, 1h or 2d.")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise RuleError(member, f"must be a duration such as 30s, 5m, 1h or 2d, not {value!r}.")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds < 0:
        raise RuleError(member, "must not be negative.")
    return seconds


def _attrs(node: QNode) -> Iterator[str]:
    if isinstance(node, Comparison):
        yield node.path.attr
        return
    assert isinstance(node, And | Or)
    for item in node.items:
        yield from _attrs(item)


def _first_attr(node: QNode) -> str | None:
    return next(_attrs(node), None)


def render_template(template: str, values: dict[str, str]) -> str:
    """A checked description template with its placeholders filled in."""
    return template.format_map(values)
