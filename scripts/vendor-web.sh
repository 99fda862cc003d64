#!/usr/bin/env bash
# Copy the dashboard's third-party libraries from npm into src/cityos/web/vendor/.
#
# The dashboard must work with no network at run time, so the libraries are vendored
# (and committed). Versions are pinned here; run this script again after changing one.
# Only the distribution files the dashboard loads are kept, with each package's licence.
set -euo pipefail

LEAFLET=1.9.4
MARKERCLUSTER=1.5.3
ECHARTS=6.1.0
TOPOJSON_CLIENT=3.1.0
SWAGGER_UI=5.35.0  # the API browser at /docs

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/src/cityos/web/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

npm install --no-save --no-audit --no-fund --ignore-scripts --prefix "$tmp" \
  "leaflet@$LEAFLET" \
  "leaflet.markercluster@$MARKERCLUSTER" \
  "echarts@$ECHARTS" \
  "topojson-client@$TOPOJSON_CLIENT" \
  "swagger-ui-dist@$SWAGGER_UI"

mods="$tmp/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor"/{leaflet,leaflet.markercluster,echarts,topojson-client,swagger-ui}

cp "$mods/leaflet/dist/leaflet.js" "$mods/leaflet/dist/leaflet.css" "$vendor/leaflet/"
cp -r "$mods/leaflet/dist/images" "$vendor/leaflet/"
cp "$mods/leaflet/LICENSE" "$vendor/leaflet/LICENSE"

cp "$mods/leaflet.markercluster/dist/leaflet.markercluster.js" \
   "$mods/leaflet.markercluster/dist/MarkerCluster.css" \
   "$mods/leaflet.markercluster/dist/MarkerCluster.Default.css" \
   "$vendor/leaflet.markercluster/"
cp "$mods/leaflet.markercluster/MIT-LICENCE.txt" "$vendor/leaflet.markercluster/LICENSE"

cp "$mods/echarts/dist/echarts.min.js" "$vendor/echarts/"
cp "$mods/echarts/LICENSE" "$vendor/echarts/LICENSE"
[ -f "$mods/echarts/NOTICE" ] && cp "$mods/echarts/NOTICE" "$vendor/echarts/NOTICE"

cp "$mods/topojson-client/dist/topojson-client.min.js" "$vendor/topojson-client/"
cp "$mods/topojson-client/LICENSE" "$vendor/topojson-client/LICENSE"

cp "$mods/swagger-ui-dist/swagger-ui-bundle.js" "$mods/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt" \
   "$mods/swagger-ui-dist/swagger-ui.css" "$mods/swagger-ui-dist/LICENSE" \
   "$mods/swagger-ui-dist/NOTICE" "$vendor/swagger-ui/"

cat > "$vendor/VERSIONS" <<VERSIONS
leaflet $LEAFLET
leaflet.markercluster $MARKERCLUSTER
echarts $ECHARTS
topojson-client $TOPOJSON_CLIENT
swagger-ui-dist $SWAGGER_UI Apache-2.0
VERSIONS
echo "vendored into $vendor:"
find "$vendor" -type f | sed "s|$vendor/|  |" | sort
