"""Reference values as NGSI-LD `KeyPerformanceIndicator` entities (FIWARE Smart Data Model
dataModel.KeyPerformanceIndicator), so the entity, history and subscription APIs work on them.

Smart Data Model attributes used: name, description, kpiValue, category, calculationPeriod
(from/to, the value's year), calculationMethod, calculationFormula, organization and
areaServed (the city), source (the citation), dataProvider. The model has no attribute for
the indicator's id, unit or population basis, so cityos adds `indicator`, `unit`,
`populationBasis`, `area`, `bound`, `yearText`, `quality`, `provenance` (published or
live), `note`, `factRow` (the row of city-facts.csv), and the source as {title, publisher,
published, url}.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from cityos.context.broker import Broker, utc_now
from cityos.context.jsonld import core_terms
from cityos.context.normalize import parse_batch
from cityos.domains.base import CityView

from .catalogue import Catalogue, catalogue
from .reference import PUBLISHED, ReferenceValue, Source

ENTITY_TYPE = "KeyPerformanceIndicator"
PROVIDER = "cityos reference values"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def entity_id(value: ReferenceValue) -> str:
    """One entity per city, indicator, basis, year and source: sources that disagree on one
    year are two entities (a short digest of the source keeps the id readable)."""
    year = value.year if value.year is not None else "undated"
    parts = (value.city, value.indicator, value.basis, str(year))
    cited = hashlib.sha256(repr((value.source, value.value)).encode()).hexdigest()[:8]
    return f"urn:ngsi-ld:{ENTITY_TYPE}:cityos:" + ":".join(_slug(p) for p in parts) + f":{cited}"


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def to_entity(value: ReferenceValue, known: Catalogue | None = None) -> dict[str, Any]:
    """A normalized NGSI-LD entity (short names under the core @context)."""
    indicator = (known or catalogue())[value.indicator]
    entity: dict[str, Any] = {
        "id": entity_id(value),
        "type": ENTITY_TYPE,
        "name": _prop(f"{indicator.name}: {value.city} ({value.basis})"),
        "description": _prop(indicator.definition),
        "indicator": _prop(value.indicator),
        "kpiValue": _prop(value.value),
        "unit": _prop(value.unit),
        "populationBasis": _prop(value.basis),
        "category": _prop(["quantitative"]),
        "calculationMethod": _prop("manual"),
        "calculationFormula": _prop(indicator.formula),
        "organization": _prop(value.city),
        "areaServed": _prop(value.city),
        "source": _prop(
            {
                "title": value.source.title,
                "publisher": value.source.publisher,
                "published": value.source.published,
                "url": value.source.url,
            }
        ),
        "dataProvider": _prop(PROVIDER),
        "provenance": _prop(value.provenance),
    }
    for name, text in (
        ("area", value.area),
        ("bound", value.bound),
        ("yearText", value.year_text),
        ("quality", value.quality),
    ):
        if text:
            entity[name] = _prop(text)
    if value.year is not None:
        entity["calculationPeriod"] = _prop(
            {"from": f"{value.year}-01-01", "to": f"{value.year}-12-31"}
        )
    if value.note:
        entity["note"] = _prop(value.note)
    if value.fact is not None:
        entity["factRow"] = _prop(value.fact)
    return entity


def from_entity(entity: dict[str, Any]) -> ReferenceValue | None:
    """The reference value of a keyValues entity; None for a KPI that is not one (another
    application's KeyPerformanceIndicator without cityos's attributes)."""
    kpi, indicator, city = entity.get("kpiValue"), entity.get("indicator"), entity.get("areaServed")
    if not isinstance(kpi, int | float) or isinstance(kpi, bool):
        return None
    if not isinstance(indicator, str) or not city:
        return None
    period = entity.get("calculationPeriod")
    start = period.get("from") if isinstance(period, dict) else None
    year = int(start[:4]) if isinstance(start, str) and start[:4].isdigit() else None
    cited = entity.get("source")
    if isinstance(cited, dict):
        source = Source(
            *(str(cited.get(k) or "") for k in ("title", "publisher", "published", "url"))
        )
    else:
        source = Source(str(cited or ""))
    return ReferenceValue(
        city=str(city).lower(),
        indicator=indicator,
        value=float(kpi),
        unit=str(entity.get("unit", "")),
        year=year,
        basis=str(entity.get("populationBasis", "")),
        source=source,
        note=str(entity.get("note", "")),
        area=str(entity.get("area", "")),
        bound=str(entity.get("bound", "")),
        year_text=str(entity.get("yearText", "")),
        quality=str(entity.get("quality", "")),
        provenance=str(entity.get("provenance", PUBLISHED)),
        fact=fact if isinstance(fact := entity.get("factRow"), int) else None,
    )


def load_values(broker: Broker, values: Sequence[ReferenceValue], tenant: str = "") -> list[str]:
    """Upsert the values as entities through the broker; returns the problems (one per
    entity the broker refused)."""
    core = core_terms()
    bodies = [to_entity(v) for v in values]
    items = parse_batch(bodies, lambda _: core, utc_now())
    result, _ = broker.batch_upsert(tenant, items)
    return [f"{failure.entity_id}: {failure.error.detail}" for failure in result.errors]


def stored_values(city: CityView) -> list[ReferenceValue]:
    """The reference values the broker holds as KeyPerformanceIndicator entities."""
    found = (from_entity(e) for e in city.entities(ENTITY_TYPE))
    return [v for v in found if v is not None]
