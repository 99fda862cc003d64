#!/usr/bin/env bash
# Run the ETSI NGSI-LD conformance suite (Robot Framework) against a fresh `cityos serve`.
#
#   scripts/conformance.sh SUITE_DIR ROBOT_BIN [TEST_FOLDER ...]
#
# SUITE_DIR is a checkout of the public suite (not part of this repository), ROBOT_BIN the
# `robot` of a virtual environment with the suite's requirements.txt installed. The suite's
# own @context files are registered locally first: cityos never fetches contexts.
set -euo pipefail
suite=$(realpath "$1"); robot=$(realpath "$2"); shift 2
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(
  TP/NGSI-LD/ContextInformation/Provision/Entities
  TP/NGSI-LD/ContextInformation/Provision/EntityAttributes
  TP/NGSI-LD/ContextInformation/Provision/BatchEntities
  TP/NGSI-LD/ContextInformation/Consumption/Entity
  TP/NGSI-LD/ContextInformation/Consumption/Discovery
  TP/NGSI-LD/jsonldContext
  TP/NGSI-LD/CommonBehaviours/Tenancy
)
repo=$(cd "$(dirname "$0")/.." && pwd)
cityos="$repo/.venv/bin/cityos"
port=${PORT:-1026}
data=$(mktemp -d)
out=${OUT:-$repo/build/conformance}
mkdir -p "$out"
owner_url=$(sed -n "s/^ngsild_test_suite_context = '\(.*\)\/ngsi-ld-test-suite-compound.jsonld'/\1/p" "$suite/resources/variables.py")
for name in ngsi-ld-test-suite ngsi-ld-test-suite-compound; do
  "$cityos" context-add "$owner_url/$name.jsonld" "$suite/resources/jsonld-contexts/$name.jsonld" --data "$data" >/dev/null
done
"$cityos" serve --data "$data" --port "$port" >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/version" >/dev/null && break; sleep 0.2; done
cd "$suite"
"$robot" --outputdir "$out" --loglevel INFO --console dotted \
  --variable "url:http://127.0.0.1:$port/ngsi-ld/v1" \
  --variable "temporal_api_url:http://127.0.0.1:$port/ngsi-ld/v1" \
  --variable "notification_server_host:127.0.0.1" \
  --variable "context_source_host:127.0.0.1" \
  --variable "context_server_host:127.0.0.1" \
  --variable "mqtt_broker_host:127.0.0.1" \
  --variable "core_context:https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld" \
  "${folders[@]}" || true
echo "report: $out/report.html"
