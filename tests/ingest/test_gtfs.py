"""GTFS import: the three real feeds load whole, a broken feed loads what it can and names
each problem with its file and row, an unreadable one fails."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityos.cli import app
from cityos.context.broker import Broker
from cityos.domains.base import CityView
from cityos.ingest.gtfs import GtfsError, Problem, import_gtfs, read_feed
from tests.data import real_file
from tests.stores import StoreFactory


def _import(stores: StoreFactory, name: str) -> tuple[dict[str, int], CityView]:
    store = stores("store")
    broker = Broker(store)
    report = import_gtfs(real_file(name), broker)
    assert report.problems == [] and report.rejected == []
    return report.counts, CityView(broker)


def _stop_times(city: CityView) -> int:
    return sum(len(trip.get("stopTimes", [])) for trip in city.entities("GtfsTrip"))


def _shape_points(city: CityView) -> int:
    return sum(len(s["location"]["coordinates"]) for s in city.entities("GtfsShape"))


def test_warsaw_wkd(store_factory: StoreFactory) -> None:
    counts, city = _import(store_factory, "warsaw-wkd-gtfs.zip")
    assert counts == {
        "GtfsAgency": 1,
        "GtfsStop": 29,
        "GtfsRoute": 3,
        "GtfsShape": 22,
        "GtfsService": 1,
        "GtfsCalendarRule": 1,
        "GtfsTrip": 206,
    }
    assert city.count("GtfsTrip") == 206
    assert _stop_times(city) == 2331
    assert _shape_points(city) == 2328
    trip = city.entities("GtfsTrip", q='shortName=="2351"')
    assert trip and trip[0]["hasRoute"].startswith("urn:ngsi-ld:GtfsRoute:warsaw-wkd:")
    first = trip[0]["stopTimes"][0]
    assert first["departureTime"] == "04:41:00" and first["stopSequence"] == 0


def test_cairns(store_factory: StoreFactory) -> None:
    counts, city = _import(store_factory, "cairns-gtfs.zip")
    assert counts == {
        "GtfsAgency": 1,
        "GtfsStop": 416,
        "GtfsRoute": 22,
        "GtfsShape": 54,
        "GtfsService": 4,
        "GtfsCalendarRule": 4,
        "GtfsCalendarDateRule": 9,
        "GtfsTrip": 1339,
    }
    assert _stop_times(city) == 37_790
    assert _shape_points(city) == 22_784


def test_nyc_subway(store_factory: StoreFactory) -> None:
    """273 rows in stops.txt: 182 platforms (GtfsStop) in 91 stations (GtfsStation)."""
    counts, city = _import(store_factory, "nyc-subway-gtfs.zip")
    assert counts == {
        "GtfsAgency": 1,
        "GtfsStation": 91,
        "GtfsStop": 182,
        "GtfsRoute": 2,
        "GtfsShape": 13,
        "GtfsService": 3,
        "GtfsCalendarRule": 3,
        "GtfsCalendarDateRule": 4,
        "GtfsTrip": 1990,
    }
    assert _stop_times(city) == 86_150
    platform = city.entities("GtfsStop", limit=1)[0]
    assert platform["hasParentStation"].startswith("urn:ngsi-ld:GtfsStation:nyc-subway:")


BROKEN = {
    # no agency.txt at all
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "A,Alpha,52.0,21.0\n"
    "B,Beta,abc,21.1\n"  # row 2: bad coordinates
    "C,Gamma,95.0,21.2\n"  # row 3: latitude out of range
    "D,Delta,52.1,21.3\n",
    "routes.txt": "route_id,route_short_name,route_type\nR1,1,3\n",
    "trips.txt": "route_id,service_id,trip_id,shape_id\n"
    "R1,WK,T1,SH1\n"
    "R9,WK,T2,\n"  # row 2: unknown route
    "R1,WK,T3,SH2\n",  # row 3: shape SH2 has one point
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,A,1\n"
    "T1,08:05:00,08:05:00,D,2\n"
    "T1,08:09:00,08:09:00,X,3\n"  # row 3: unknown stop
    "T1,08:01:00,08:01:00,A,4\n"  # row 4: time goes backwards
    "T3,09:00:00,09:00:00,A,1\n"
    "T3,09:10:00,09:10:00,D,2\n",
    "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
    "SH1,52.0,21.0,1\n"
    "SH1,52.1,21.3,2\n"
    "SH2,52.0,21.0,1\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    "start_date,end_date\nWK,1,1,1,1,1,0,0,20250101,20251231\n",
    "calendar_dates.txt": "service_id,date\nWK,20250501\n",  # exception_type missing
}


def _broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken-gtfs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in BROKEN.items():
            archive.writestr(name, text)
    return path


def test_broken_feed_reports_each_problem_with_file_and_row(
    tmp_path: Path, store_factory: StoreFactory
) -> None:
    path = _broken(tmp_path)
    store = store_factory("store")
    report = import_gtfs(path, Broker(store), prefix="broken")
    found = {(p.file, p.row): p.message for p in report.problems}
    assert ("agency.txt", None) in found and "missing" in found[("agency.txt", None)]
    assert "bad coordinates" in found[("stops.txt", 2)]
    assert "bad coordinates" in found[("stops.txt", 3)]
    assert "unknown route_id 'R9'" in found[("trips.txt", 2)]
    assert "shape 'SH2' has 1 point" in found[("shapes.txt", None)]
    assert "unknown or unusable shape_id 'SH2'" in found[("trips.txt", 3)]
    assert "unknown stop_id 'X'" in found[("stop_times.txt", 3)]
    assert "time goes backwards" in found[("stop_times.txt", 4)]
    assert "exception_type" in found[("calendar_dates.txt", None)]
    assert str(Problem("stops.txt", 2, "x")) == "stops.txt row 2: x"
    # what is sound still loads
    assert report.counts == {
        "GtfsStop": 2,
        "GtfsRoute": 1,
        "GtfsShape": 1,
        "GtfsService": 1,
        "GtfsCalendarRule": 1,
        "GtfsTrip": 2,
    }
    trip = CityView(Broker(store)).entities(
        "GtfsTrip", q='hasShape=="urn:ngsi-ld:GtfsShape:broken:SH1"'
    )
    assert [s["stopSequence"] for s in trip[0]["stopTimes"]] == [1, 2]
    store.close()


def test_unreadable_feed(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-feed.zip"
    bad.write_text("hello")
    with pytest.raises(GtfsError):
        read_feed(bad)
    with pytest.raises(GtfsError):
        read_feed(tmp_path / "missing.zip")


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    ok = runner.invoke(app, ["import", "gtfs", str(_broken(tmp_path)), "--data", data])
    assert ok.exit_code == 0, ok.output
    assert "stops.txt row 2" in ok.output
    loaded = runner.invoke(
        app,
        [
            "import",
            "gtfs",
            str(real_file("warsaw-wkd-gtfs.zip")),
            "--data",
            data,
            "--tenant",
            "waw",
        ],
    )
    assert loaded.exit_code == 0 and "GtfsTrip: 206" in loaded.output
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"\x00\x01")
    failed = runner.invoke(app, ["import", "gtfs", str(bad), "--data", data])
    assert failed.exit_code == 1
