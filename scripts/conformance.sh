#!/usr/bin/env bash
# Run the ETSI NGSI-LD conformance suite (Robot Framework) against cityos serve.
#
#   scripts/conformance.sh SUITE_DIR ROBOT_BIN [TEST_FOLDER ...]
#
# EXTRA_CONTEXTS may name a urls.json ({"URL": "file", ...}, files beside it) of further
# remote @contexts that some test data refers to, to register as local copies too.
# SUITE_DIR is a checkout of the public suite (never part of this repository), ROBOT_BIN the
# `robot` of a virtual environment with the suite's requirements.txt installed. Each folder
# runs against a fresh `cityos serve` on an empty data directory, so that one suite's
# leftovers never change another's discovery results. The suite's own @context files are
# registered locally first: cityos never fetches contexts from the network.
# The suite sends no credentials, so each server runs with `--auth off` (on loopback only);
# its notification receiver listens on this machine, so loopback endpoints are allowed
# (`--notify-allow loopback`: refused by default since issue 16).
# The script fails (exit 1) when a server does not start, when it refuses the suite (401 or
# 403), or when no case passes: a run that measured nothing never looks like a result.
# CITYOS names the cityos command to run (default: the checkout's .venv/bin/cityos).
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
  TP/NGSI-LD/CommonBehaviours/CommonResponses
  TP/NGSI-LD/ContextInformation/Subscription/CreateSubscription
  TP/NGSI-LD/ContextInformation/Subscription/DeleteSubscription
  TP/NGSI-LD/ContextInformation/Subscription/QuerySubscriptions
  TP/NGSI-LD/ContextInformation/Subscription/RetrieveSubscription
  TP/NGSI-LD/ContextInformation/Subscription/UpdateSubscription
  TP/NGSI-LD/ContextInformation/Subscription/SubscriptionNotificationBehaviour
  TP/NGSI-LD/ContextInformation/Provision/TemporalEntity
  TP/NGSI-LD/ContextInformation/Provision/TemporalEntityAttributes
  TP/NGSI-LD/ContextInformation/Consumption/TemporalEntity
)
repo=$(cd "$(dirname "$0")/.." && pwd)
cityos=${CITYOS:-$repo/.venv/bin/cityos}
port=${PORT:-1026}
out=${OUT:-$repo/build/conformance}
mkdir -p "$out"
: >"$out/server.log"
base_url=$(sed -n "s/^ngsild_test_suite_context = '\(.*\)\/ngsi-ld-test-suite-compound.jsonld'/\1/p" \
  "$suite/resources/variables.py")
outputs=()
fail() { echo "conformance: $*" >&2; exit 1; }
for folder in "${folders[@]}"; do
  data=$(mktemp -d)
  for name in ngsi-ld-test-suite ngsi-ld-test-suite-compound; do
    "$cityos" context-add "$base_url/$name.jsonld" "$suite/resources/jsonld-contexts/$name.jsonld" \
      --data "$data" >/dev/null
  done
  if [ -n "${EXTRA_CONTEXTS:-}" ]; then
    "$(dirname "$cityos")/python" - "$EXTRA_CONTEXTS" "$data" "$cityos" <<'PY'
import json, subprocess, sys
from pathlib import Path
listing, data, cityos = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
for url, name in json.loads(listing.read_text()).items():
    if url.startswith("http") and (listing.parent / name).exists():
        subprocess.run([cityos, "context-add", url, str(listing.parent / name), "--data", data],
                       check=True, stdout=subprocess.DEVNULL)
PY
  fi
  "$cityos" serve --data "$data" --host 127.0.0.1 --port "$port" --auth off \
    --notify-allow loopback >>"$out/server.log" 2>&1 &
  server=$!
  up=
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/version" >/dev/null && { up=1; break; }
    sleep 0.2
  done
  [ -n "$up" ] || { kill "$server" 2>/dev/null; fail "cityos serve did not start (see $out/server.log)"; }
  answer=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ngsi-ld/v1/types")
  case "$answer" in
    401|403) kill "$server"; fail "cityos serve refuses the suite ($answer on /ngsi-ld/v1/types)";;
  esac
  part="$out/$(echo "$folder" | tr '/' '_').xml"
  (cd "$suite" && "$robot" --output "$part" --log NONE --report NONE --console dotted \
    --variable "url:http://127.0.0.1:$port/ngsi-ld/v1" \
    --variable "temporal_api_url:http://127.0.0.1:$port/ngsi-ld/v1" \
    --variable "notification_server_host:127.0.0.1" \
    --variable "context_source_host:127.0.0.1" \
    --variable "context_server_host:127.0.0.1" \
    --variable "mqtt_broker_host:127.0.0.1" \
    --variable "core_context:https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld" \
    "$folder") || true
  kill "$server"; wait "$server" 2>/dev/null || true
  rm -rf "$data"
  outputs+=("$part")
done
"$(dirname "$robot")/rebot" --output "$out/output.xml" --log "$out/log.html" \
  --report "$out/report.html" --name Conformance "${outputs[@]}" >/dev/null || true
[ -f "$out/output.xml" ] || fail "robot wrote no results"
refused=$(grep -cE '"status": ?40[13][,}]' "$out/server.log" || true)
passed=$("$(dirname "$robot")/python" -c 'import sys; from robot.api import ExecutionResult
print(ExecutionResult(sys.argv[1]).statistics.total.passed)' "$out/output.xml")
echo "results: $out/output.xml, report: $out/report.html (passed: ${passed:-0})"
[ "${passed:-0}" -gt 0 ] || fail "no case passed: the suite measured nothing"
[ "$refused" -eq 0 ] || fail "the server answered 401/403 $refused times (see $out/server.log)"
