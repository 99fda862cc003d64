"""The entity as cityos holds it: expanded names, every attribute a list of instances.

An `Entity` is what the broker validates, the store persists and the renderer shapes into
the representation a client asked for. All names in it (types, attributes, sub-attributes)
are full IRIs; compacting them back to a client's short names happens only on output.

An attribute instance is a plain dict. Its reserved keys (`INSTANCE_KEYS`) are NGSI-LD
members such as ``type``, ``value``, ``object``, ``datasetId`` or ``observedAt``; every other
key is an expanded IRI naming a sub-attribute, whose value is again an instance dict. IRIs
always contain ``:``, so they can never clash with a reserved key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Instance = dict[str, Any]
"""One instance of an attribute (or of a sub-attribute)."""

PROPERTY = "Property"
RELATIONSHIP = "Relationship"
GEO_PROPERTY = "GeoProperty"
LANGUAGE_PROPERTY = "LanguageProperty"
VOCAB_PROPERTY = "VocabProperty"
LIST_PROPERTY = "ListProperty"
LIST_RELATIONSHIP = "ListRelationship"
JSON_PROPERTY = "JsonProperty"

VALUE_KEY_BY_TYPE: dict[str, str] = {
    PROPERTY: "value",
    RELATIONSHIP: "object",
    GEO_PROPERTY: "value",
    LANGUAGE_PROPERTY: "languageMap",
    VOCAB_PROPERTY: "vocab",
    LIST_PROPERTY: "valueList",
    LIST_RELATIONSHIP: "objectList",
    JSON_PROPERTY: "json",
}
"""Which member carries the value of each attribute type."""

ATTRIBUTE_TYPES = frozenset(VALUE_KEY_BY_TYPE)

INSTANCE_KEYS = frozenset(
    {
        "type",
        "value",
        "object",
        "languageMap",
        "vocab",
        "valueList",
        "objectList",
        "json",
        "objectType",
        "datasetId",
        "observedAt",
        "unitCode",
        "createdAt",
        "modifiedAt",
        "deletedAt",
        "instanceId",
        "lang",
        "previousValue",
    }
)
"""Members of an attribute instance that are not sub-attributes."""

SCOPE = "https://uri.etsi.org/ngsi-ld/scope"
"""The expanded name of an entity's scope, which is a member, not an attribute."""

NGSI_LD_NULL = "urn:ngsi-ld:null"
"""The value that deletes an attribute in a merge or update (ETSI GS CIM 009, 4.5.x)."""


def is_deletion(inst: Instance) -> bool:
    """Whether an instance in an update says "delete me" rather than giving a value."""
    value = inst.get(VALUE_KEY_BY_TYPE.get(inst.get("type", ""), "value"))
    return value == NGSI_LD_NULL or value == {"@none": NGSI_LD_NULL} or value == [NGSI_LD_NULL]


SYSTEM_KEYS = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId"})
"""Members the broker sets; clients cannot write them and see them only with sysAttrs."""

ENTITY_KEYS = frozenset({"id", "type", "scope", "createdAt", "modifiedAt", "deletedAt", "@context"})
"""Members of an entity that are not attributes."""


@dataclass(slots=True)
class Entity:
    """One entity of the city model, with expanded names."""

    id: str
    types: list[str]
    attrs: dict[str, list[Instance]] = field(default_factory=dict)
    scope: list[str] | None = None
    created_at: str = ""
    modified_at: str = ""

    def instance(self, attr: str, dataset_id: str | None = None) -> Instance | None:
        """The instance of `attr` with `dataset_id` (None: the default instance)."""
        for inst in self.attrs.get(attr, ()):
            if inst.get("datasetId") == dataset_id:
                return inst
        return None


@dataclass(slots=True)
class EntityChange:
    """One entity as a committed write left it: what it was and what it is now.

    `before` is None for a creation, `after` None for a deletion. The store produces these
    from the rows it replaced, so they describe exactly what was committed.
    """

    entity_id: str
    before: Entity | None
    after: Entity | None
    seq: int = 0
    """Its place in the store's change log (0 when the store keeps none)."""

    def changed_instances(self) -> list[tuple[str, Instance]]:
        """(attribute, instance) pairs of `after` that differ from their `before` version."""
        if self.after is None:
            return []
        changed: list[tuple[str, Instance]] = []
        for attr, instances in self.after.attrs.items():
            for inst in instances:
                old = self.before.instance(attr, inst.get("datasetId")) if self.before else None
                if old != inst:
                    changed.append((attr, inst))
        return changed

    def changed_attrs(self) -> set[str]:
        """Attributes added, changed or removed by this write."""
        before = self.before.attrs if self.before else {}
        after = self.after.attrs if self.after else {}
        return {a for a in before.keys() | after.keys() if before.get(a) != after.get(a)}
