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
PMTILES=4.5.0  # reads the base map archive by HTTP range requests
PROTOMAPS_LEAFLET=5.1.0  # draws its vector tiles on canvas in Leaflet (bundles pmtiles)

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/src/cityos/web/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

npm install --no-save --no-audit --no-fund --ignore-scripts --prefix "$tmp" \
  "leaflet@$LEAFLET" \
  "leaflet.markercluster@$MARKERCLUSTER" \
  "echarts@$ECHARTS" \
  "topojson-client@$TOPOJSON_CLIENT" \
  "swagger-ui-dist@$SWAGGER_UI" \
  "pmtiles@$PMTILES" \
  "protomaps-leaflet@$PROTOMAPS_LEAFLET"

mods="$tmp/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor"/{leaflet,leaflet.markercluster,echarts,topojson-client,swagger-ui,pmtiles,protomaps-leaflet}

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

# The IIFE builds (globals `pmtiles` and `protomapsL`): no eval, no worker, no font or
# sprite fetched (the dashboard passes its own paint and label rules, see web/js/maps.js).
cp "$mods/pmtiles/dist/pmtiles.js" "$vendor/pmtiles/"
# The npm package ships no licence file: its package.json says BSD-3-Clause, this is the
# repository's (protomaps/PMTiles LICENSE).
cat > "$vendor/pmtiles/LICENSE" <<'LICENSE'
Copyright 2021 Protomaps LLC

Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the following disclaimer in the documentation and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
LICENSE

cp "$mods/protomaps-leaflet/dist/protomaps-leaflet.js" "$mods/protomaps-leaflet/LICENSE" \
   "$vendor/protomaps-leaflet/"
# The bundle includes these packages: their licences travel with it.
for bundled in @mapbox/point-geometry @mapbox/vector-tile color2k fflate pbf potpack \
               quickselect rbush; do
  licence="$(ls "$mods/$bundled" | grep -i -E '^licen[cs]e' | head -1)"
  version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$mods/$bundled/package.json")"
  printf '== %s %s ==\n\n' "$bundled" "$version"
  cat "$mods/$bundled/$licence"
  printf '\n'
done > "$vendor/protomaps-leaflet/THIRD-PARTY-LICENSES"

cat > "$vendor/VERSIONS" <<VERSIONS
leaflet $LEAFLET
leaflet.markercluster $MARKERCLUSTER
echarts $ECHARTS
topojson-client $TOPOJSON_CLIENT
swagger-ui-dist $SWAGGER_UI Apache-2.0
pmtiles $PMTILES BSD-3-Clause
protomaps-leaflet $PROTOMAPS_LEAFLET BSD-3-Clause
VERSIONS
echo "vendored into $vendor:"
find "$vendor" -type f | sed "s|$vendor/|  |" | sort
