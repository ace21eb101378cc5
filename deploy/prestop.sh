#!/bin/sh
# The StatefulSet's preStop hook: when this pod is being scaled away (its ordinal is at or past the
# StatefulSet's desired replicas, e.g. swfd-4 and swfd-3 after `kubectl scale statefulset swfd
# --replicas=3`), it removes its own node from the Raft configuration before the pod stops, so the
# cluster's majority is counted over the members that remain. A pod that stops for any other reason
# (a rolling update, an eviction, a node drain) stays a member and comes back with its data.
# It never takes the cluster below SWFD_MIN_VOTERS voters (default 3), and it retries while another
# membership change is under way (pods scaled away together leave one after the other).
# The desired replica count comes from the Kubernetes API (GET .../statefulsets/NAME/scale with the
# pod's service account; NAME is SWFD_STATEFULSET, default the pod name without its ordinal), or from
# SWFD_DESIRED_REPLICAS when set (for tests). The admin API is reached at SWFD_ADMIN_URL (default
# http://127.0.0.1:7952) with the token of SWFD_ADMIN_TOKEN_FILE.
set -eu
bin="${SWFD_BIN:-/usr/local/bin/swfd}"
admin="${SWFD_ADMIN_URL:-http://127.0.0.1:7952}"
log() { echo "swfd-prestop: $*" >&2; }
ordinal="${HOSTNAME##*-}"
case "$ordinal" in ''|*[!0-9]*) log "no ordinal in $HOSTNAME: nothing to do"; exit 0 ;; esac
node_id="${SWFD_NODE_ID:-$((ordinal + 1))}"

replicas="${SWFD_DESIRED_REPLICAS:-}"
if [ -z "$replicas" ]; then
  sa=/var/run/secrets/kubernetes.io/serviceaccount
  name="${SWFD_STATEFULSET:-${HOSTNAME%-*}}"
  replicas=$(curl -sf --max-time 5 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \
    "https://kubernetes.default.svc/apis/apps/v1/namespaces/$(cat "$sa/namespace")/statefulsets/$name/scale" |
    tr -d ' \n' | sed -n 's/.*"spec":{"replicas":\([0-9]*\).*/\1/p') || true
fi
case "$replicas" in
  ''|*[!0-9]*) log "desired replicas unknown: staying a member"; exit 0 ;;
esac
if [ "$ordinal" -lt "$replicas" ]; then
  log "pod $HOSTNAME stays (desired replicas $replicas): not leaving the cluster"
  exit 0
fi

min="${SWFD_MIN_VOTERS:-3}"
tries=0
while :; do
  tries=$((tries + 1))
  status=$("$bin" admin --endpoint "$admin" status 2>/dev/null) || status=""
  voters=$(printf '%s' "$status" | tr -d ' \n' | sed -n 's/.*"voters":\[\([0-9,]*\)\].*/\1/p')
  if [ -n "$status" ]; then
    case ",$voters," in
      *",$node_id,"*) ;;
      *) log "node $node_id is no longer a voter: done"; exit 0 ;;
    esac
    count=$(printf '%s' "$voters" | tr ',' '\n' | grep -c .)
    if [ "$count" -le "$min" ]; then
      log "the cluster has $count voters: not going below $min, staying a member"
      exit 0
    fi
    if "$bin" admin --endpoint "$admin" remove --node-id "$node_id" >/dev/null 2>&1; then
      log "node $node_id left the cluster (desired replicas $replicas)"
      exit 0
    fi
  fi
  [ "$tries" -lt "${SWFD_PRESTOP_TRIES:-50}" ] || { log "could not leave the cluster; giving up"; exit 1; }
  sleep 0.5
done
