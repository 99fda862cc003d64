"""A session of the PyPI `ngsildclient` library against a running cityos, unchanged.

Run with the Python of a separate virtual environment that has ngsildclient installed (it
pins an old httpx, so it cannot share cityos's environment): `python THIS_FILE PORT`.
Prints one line per step and exits non-zero at the first broken expectation.
"""

import sys

from ngsildclient import Client, Entity

port = int(sys.argv[1])
client = Client(hostname="127.0.0.1", port=port)
assert client.is_connected(), "is_connected() failed"
print("connected")

station = Entity("AirQualityObserved", "Chongqing:Jiefangbei")
station.prop("pm25", 35.5, unitcode="GQ", observedat="2026-11-28T08:00:00Z")
station.gprop("location", (29.5587, 106.577))
station.rel("refDistrict", "urn:ngsi-ld:District:Yuzhong")
client.create(station)
print("created", station.id)

got = client.get(station.id)
assert got["pm25"]["value"] == 35.5, got.to_dict()
assert got["refDistrict"]["object"] == "urn:ngsi-ld:District:Yuzhong", got.to_dict()
print("retrieved")

others = []
for n, pm25 in enumerate((12.0, 80.0, 55.0)):
    other = Entity("AirQualityObserved", f"Chongqing:Station{n}")
    other.prop("pm25", pm25)
    others.append(other)
client.upsert(*others)
print("upserted", len(others))

found = client.query(type="AirQualityObserved", q="pm25>50")
assert sorted(e.id for e in found) == [
    "urn:ngsi-ld:AirQualityObserved:Chongqing:Station1",
    "urn:ngsi-ld:AirQualityObserved:Chongqing:Station2",
], [e.id for e in found]
print("queried", len(found))

assert client.count(type="AirQualityObserved") == 4
print("counted")

got["pm25"]["value"] = 40.0
client.update(got)
assert client.get(station.id)["pm25"]["value"] == 40.0
print("updated")

client.delete(station)
assert not client.exists(station.id)
print("deleted")
client.close()
print("ok")
