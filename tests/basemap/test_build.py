"""`cityos basemap build` and the packaged maps: archives whose tiles decode back to the
features that went in."""

from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

import mapbox_vector_tile
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from typer.testing import CliRunner

from cityos.basemap import packaged
from cityos.basemap.build import LayerSpec
from cityos.cli import app


def features_by_zoom(path: Path) -> dict[int, dict[str, dict[str, set[int]]]]:
    """zoom → layer → geometry type → the feature ids found in any tile of that zoom."""
    found: dict[int, dict[str, dict[str, set[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(set))
    )
    with path.open("rb") as file:
        for (z, _x, _y), data in all_tiles(MmapSource(file)):
            for layer, content in mapbox_vector_tile.decode(gzip.decompress(data)).items():
                for feature in content["features"]:
                    kind = feature["geometry"]["type"].removeprefix("Multi")
                    found[z][layer][kind].add(feature["id"])
    return found


def test_the_cli_builds_the_shared_layers_into_tiles_that_decode_back(tmp_path: Path) -> None:
    out = tmp_path / "city.pmtiles"
    result = CliRunner().invoke(
        app,
        [
            *("basemap", "build", str(out)),
            f"districts={packaged.DISTRICTS}:5-9",
            f"rivers={packaged.RIVERS}:5-8",
            f"transit={packaged.RAIL}:10-11",
            f"lakes={packaged.WORLD}#lakes:0-2",
            "--attribution",
            "© OpenStreetMap contributors",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tiles" in result.output
    found = features_by_zoom(out)
    assert set(found) == {0, 1, 2, *range(5, 12)}  # no layer at zooms 3 and 4
    assert len(found[9]["districts"]["Polygon"]) == 38
    assert "districts" not in found[10]
    assert len(found[8]["rivers"]["LineString"]) == 5
    assert "rivers" not in found[9]
    assert len(found[11]["transit"]["LineString"]) == 10
    assert len(found[11]["transit"]["Point"]) == 242
    assert len(found[2]["lakes"]["Polygon"]) > 250  # of 275: the smallest vanish at low zoom
    with out.open("rb") as file:
        reader = Reader(MmapSource(file))
        metadata = reader.metadata()
        header = reader.header()
    assert metadata["attribution"] == "© OpenStreetMap contributors"
    assert {layer["id"] for layer in metadata["vector_layers"]} == {
        "districts",
        "rivers",
        "transit",
        "lakes",
    }
    assert (header["min_zoom"], header["max_zoom"]) == (0, 11)


def test_the_demo_city_map_holds_every_line_station_and_district(tmp_path: Path) -> None:
    out = tmp_path / "chongqing.pmtiles"
    report = packaged.build_packaged("chongqing", out)
    assert report.features == {
        "districts": 38,
        "places": 38,
        "rivers": 5,
        "transit_lines": 10,
        "transit_stations": 242,
    }
    found = features_by_zoom(out)
    top = packaged.CITY_MAX_ZOOM
    assert len(found[top]["transit_lines"]["LineString"]) == 10
    assert len(found[top]["transit_stations"]["Point"]) == 242
    assert len(found[top]["districts"]["Polygon"]) == 38
    assert len(found[7]["places"]["Point"]) == 38
    # the Natural Earth rivers stop where they stop being honest
    assert max(z for z in found if "rivers" in found[z]) == packaged.RIVERS_MAX_ZOOM
    with out.open("rb") as file:
        tile = Reader(MmapSource(file)).get(12, 3260, 1695)  # central Chongqing, Yuzhong
    assert tile is not None
    layers = mapbox_vector_tile.decode(gzip.decompress(tile))
    colours = {f["properties"]["colour"] for f in layers["transit_lines"]["features"]}
    assert "#e4002b" in colours  # line 1 in its official red
    names = {f["properties"]["name"] for f in layers["transit_stations"]["features"]}
    assert "Jiaochangkou" in names


@pytest.mark.parametrize(
    "text",
    ["nolayer.geojson", "a=b.geojson:9-3", "a=b.geojson:0-30", "=b.geojson", "a b=c.geojson"],
)
def test_bad_layer_specs_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        LayerSpec.parse(text)


def test_a_build_past_its_tile_bound_stops(tmp_path: Path) -> None:
    out = tmp_path / "x.pmtiles"
    command = ["basemap", "build", str(out), f"d={packaged.DISTRICTS}:0-12", "--max-tiles", "100"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert "more than 100 tiles" in result.output
    assert not out.exists()


def test_the_shipped_world_map_holds_what_its_sources_build(tmp_path: Path) -> None:
    fresh = tmp_path / "world.pmtiles"
    packaged.build_packaged("world", fresh)
    shipped = packaged.PREBUILT["world"]
    assert features_by_zoom(shipped) == features_by_zoom(fresh)
    with shipped.open("rb") as a, fresh.open("rb") as b:
        assert Reader(MmapSource(a)).metadata() == Reader(MmapSource(b)).metadata()


def test_packaged_builds_the_city_map_once_for_serve(tmp_path: Path) -> None:
    first = CliRunner().invoke(app, ["basemap", "packaged", "--data", str(tmp_path)])
    assert first.exit_code == 0, first.output
    built = tmp_path / "basemap" / "chongqing.pmtiles"
    assert built.is_file()
    stamp = built.stat().st_mtime_ns
    again = CliRunner().invoke(app, ["basemap", "packaged", "--data", str(tmp_path)])
    assert again.exit_code == 0
    assert built.stat().st_mtime_ns == stamp  # kept: its sources did not change
    assert "world" in again.output
