"""Builds src/cityos/indicators/data/corridor-countries.json, the strengths report's map.

The countries between Duisburg and Chongqing (longitude -12 to 125, latitude 18 to 65) from
Natural Earth 50m (npm world-atlas 2.0.2, world-countries-50m.topojson; public domain),
decoded from TopoJSON, rounded to 0.1 degree and thinned, so the package ships about 100 kB, not
750 kB.

    python scripts/corridor_basemap.py /work/shared/data/world-countries-50m.topojson
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/cityos/indicators/data/corridor-countries.json"
BOX = (-12.0, 18.0, 125.0, 65.0)


def main(path: str) -> None:
    topo = json.loads(Path(path).read_text("utf-8"))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indices: list[int]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i in indices:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(points[1:] if out else points)
        return out

    countries = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        polygons = geometry.get("arcs") or []
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        rings = []
        for polygon in polygons:
            outer = ring(polygon[0])
            if not any(BOX[0] <= x <= BOX[2] and BOX[1] <= y <= BOX[3] for x, y in outer):
                continue
            thinned: list[list[float]] = []
            for x, y in outer:
                point = [round(x * 10) / 10, round(y * 10) / 10]
                if not thinned or point != thinned[-1]:
                    thinned.append(point)
            if len(thinned) >= 4:
                rings.append([*thinned[::3], thinned[0]] if len(thinned) > 60 else thinned)
        if rings:
            countries.append({"name": geometry["properties"]["name"], "rings": rings})
    OUT.write_text(json.dumps({"countries": countries}, separators=(",", ":")), "utf-8")
    print(f"{len(countries)} countries, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
