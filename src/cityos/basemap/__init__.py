"""Vector-tile base maps: built from GeoJSON/TopoJSON into PMTiles archives (see build.py)."""
