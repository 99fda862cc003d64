"""Rule documents: what parses, and every validation error naming its member."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.context.jsonld import ContextResolver
from cityos.governance.model import Priority
from cityos.rules.model import (
    Deviates,
    Holds,
    Notify,
    OpenCase,
    RuleError,
    SetAttribute,
    compile_rule,
    compile_rules,
    load_documents,
)

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NGSI = "https://uri.etsi.org/ngsi-ld/"
RESOLVER = ContextResolver()

FULL = """
rules:
  - id: machine-overheat
    description: Spindle temperature above 90 °C for five minutes
    type: Machine
    where: {georel: within, geometry: Polygon,
            coordinates: [[[106, 29], [107, 29], [107, 30], [106, 30], [106, 29]]]}
    when:
      q: temperature>90;status=="running"
      for: 5m
    cooldown: 30m
    then:
      - case: {category: machine-fault, priority: high, description: "Overheating on {id}"}
      - set: {attribute: alarm, value: overheating}
      - notify: {uri: "http://127.0.0.1:9000/hook", severity: high}
  - id: vibration
    "@context": {vib: "https://example.org/vibration"}
    type: Machine
    when:
      deviates: {attribute: vib, window: 1h, zscore: 3, min_samples: 20}
    then: [{notify: {}}]
"""


def test_a_full_rule_file() -> None:
    overheat, vibration = compile_rules(load_documents(FULL), RESOLVER)
    assert overheat.types == ((VOCAB + "Machine",),)
    assert (overheat.hold_s, overheat.cooldown_s) == (300.0, 1800.0)
    assert isinstance(overheat.when, Holds)
    assert overheat.when.attrs == {VOCAB + "temperature", NGSI + "status"}
    assert overheat.geo is not None and overheat.geo.georel == "within"
    assert overheat.watched == {
        VOCAB + "temperature",
        NGSI + "status",
        "https://uri.etsi.org/ngsi-ld/location",
    }
    case, setter, notify = overheat.actions
    assert case == OpenCase("machine-fault", Priority.HIGH, "Overheating on {id}")
    assert setter == SetAttribute(VOCAB + "alarm", "overheating")
    assert notify == Notify("http://127.0.0.1:9000/hook", "high", "rule", None, None)
    assert overheat.subject == VOCAB + "temperature"
    assert vibration.when == Deviates("https://example.org/vibration", 3600.0, 3.0, 20)
    assert vibration.hold_s == 0.0


@pytest.mark.parametrize(
    ("text", "duration"),
    [("30s", 30.0), ("5m", 300.0), ("1.5h", 5400.0), ("2d", 172800.0), ("250ms", 0.25), (7, 7.0)],
)
def test_durations(text: Any, duration: float) -> None:
    rule = compile_rule(_rule(when={"q": "a>1", "for": text}), RESOLVER)
    assert rule.hold_s == duration


def _rule(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "r1",
        "type": "Machine",
        "when": {"q": "temperature>90"},
        "then": [{"case": {"category": "fault"}}],
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


CASE = {"category": "fault"}


@pytest.mark.parametrize(
    ("changes", "member"),
    [
        ({"id": None}, "id"),
        ({"id": "has space"}, "id"),
        ({"id": "x" * 101}, "id"),
        ({"colour": "red"}, "rule.colour"),
        ({"type": None}, "type"),
        ({"type": "A;;B"}, "type"),
        ({"description": 5}, "description"),
        ({"@context": "http://example.org/unknown.jsonld"}, "@context"),
        ({"where": "downtown"}, "where"),
        ({"where": {"georel": "within", "geometry": "Polygon"}}, "where"),
        ({"where": {"georel": "inside", "geometry": "Point", "coordinates": [1, 2]}}, "where"),
        ({"when": None}, "when"),
        ({"when": {"q": "a>1", "deviates": {"attribute": "a"}}}, "when"),
        ({"when": {"for": "5m"}}, "when"),
        ({"when": {"q": "a>>1"}}, "when.q"),
        ({"when": {"q": "a>1", "for": "soon"}}, "when.for"),
        ({"when": {"q": "a>1", "for": -1}}, "when.for"),
        ({"when": {"q": "a>1", "for": True}}, "when.for"),
        ({"when": {"q": "a>1", "until": 3}}, "when.until"),
        ({"when": {"deviates": 3}}, "when.deviates"),
        ({"when": {"deviates": {}}}, "when.deviates.attribute"),
        ({"when": {"deviates": {"attribute": "a b"}}}, "when.deviates.attribute"),
        ({"when": {"deviates": {"attribute": "a", "window": 0}}}, "when.deviates.window"),
        ({"when": {"deviates": {"attribute": "a", "zscore": -1}}}, "when.deviates.zscore"),
        ({"when": {"deviates": {"attribute": "a", "min_samples": 1}}}, "when.deviates.min_samples"),
        (
            {"when": {"deviates": {"attribute": "a", "min_samples": 2.5}}},
            "when.deviates.min_samples",
        ),
        ({"when": {"deviates": {"attribute": "a", "size": 2}}}, "when.deviates.size"),
        ({"cooldown": "later"}, "cooldown"),
        ({"then": None}, "then"),
        ({"then": []}, "then"),
        ({"then": [{"case": CASE, "set": {}}]}, "then[0]"),
        ({"then": ["case"]}, "then[0]"),
        ({"then": [{"email": {}}]}, "then[0].email"),
        ({"then": [{"case": "fault"}]}, "then[0].case"),
        ({"then": [{"case": {}}]}, "then[0].case.category"),
        ({"then": [{"case": {**CASE, "priority": "asap"}}]}, "then[0].case.priority"),
        ({"then": [{"case": {**CASE, "description": "{name}"}}]}, "then[0].case.description"),
        (
            {"then": [{"case": {**CASE, "description": "{id.__class__}"}}]},
            "then[0].case.description",
        ),
        ({"then": [{"case": {**CASE, "description": "{"}}]}, "then[0].case.description"),
        ({"then": [{"case": {**CASE, "owner": "x"}}]}, "then[0].case.owner"),
        ({"then": [{"set": {"value": 1}}]}, "then[0].set.attribute"),
        ({"then": [{"set": {"attribute": "alarm"}}]}, "then[0].set.value"),
        ({"then": [{"notify": {"uri": "not a uri"}}]}, "then[0].notify.uri"),
        ({"then": [{"notify": {"severity": "dire"}}]}, "then[0].notify.severity"),
        ({"then": [{"notify": {"category": ""}}]}, "then[0].notify.category"),
    ],
)
def test_validation_names_the_member(changes: dict[str, Any], member: str) -> None:
    with pytest.raises(RuleError) as raised:
        compile_rule(_rule(**changes), RESOLVER)
    assert raised.value.member == member
    assert raised.value.problem()["member"] == member
    assert raised.value.status == 400


def test_errors_in_a_list_say_which_rule() -> None:
    with pytest.raises(RuleError) as raised:
        compile_rules([_rule(), _rule(id="r2", cooldown="x")], RESOLVER)
    assert raised.value.member == "rules[1].cooldown"
    with pytest.raises(RuleError) as raised:
        compile_rules([_rule(), _rule()], RESOLVER)
    assert raised.value.member == "rules"


@pytest.mark.parametrize(
    "text", ["rules: []", "rules: [{}]\nmore: 1", "- just\n- a list", "a: [unclosed"]
)
def test_bad_files(text: str) -> None:
    with pytest.raises(RuleError if "rules" in text else Exception) as raised:
        compile_rules(load_documents(text), RESOLVER)
    assert getattr(raised.value, "status", 400) == 400


def test_yaml_dates_are_not_json() -> None:
    with pytest.raises(RuleError) as raised:
        compile_rule(_rule(description={1, 2}), RESOLVER)
    assert raised.value.member == "rule"
