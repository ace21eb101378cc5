#!/usr/bin/env bash
# Restarts every node of a swfd cluster, one at a time, without failing calls (issue 18):
#   scripts/rolling-restart.sh --token-file FILE --restart 'COMMAND' ADMIN_URL...
# For each node, followers first and the leader last: if it leads, leadership is moved to another voter
# (POST /cluster/transfer-leader, and the move is confirmed); then COMMAND runs with {id} replaced by the
# node's Raft id and {url} by its admin URL (it must stop the node with SIGTERM, which drains in-flight
# calls, and start it again, e.g. `systemctl restart swfd@{id}` or `kubectl delete pod swfd-$(({id}-1))`);
# then the script waits until the node answers GET /ready (it serves and has caught up with the log) and
# every voter is back in the configuration, before it moves on. It stops at the first node that does not
# come back within --ready-timeout seconds (default 120), leaving the rest of the cluster untouched.
# Options: --order 'ID ID ...' restarts in that order instead (the leader is still moved off each
# node first). Needs curl and jq.
set -euo pipefail

token_file=""
restart=""
order=""
ready_timeout=120
urls=()
while [ $# -gt 0 ]; do
  case "$1" in
    --token-file) token_file="$2"; shift 2 ;;
    --restart) restart="$2"; shift 2 ;;
    --order) order="$2"; shift 2 ;;
    --ready-timeout) ready_timeout="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) urls+=("${1%/}"); shift ;;
  esac
done
[ -n "$token_file" ] && [ -n "$restart" ] && [ ${#urls[@]} -gt 0 ] || {
  echo "usage: $0 --token-file FILE --restart 'COMMAND with {id} and {url}' ADMIN_URL..." >&2
  exit 2
}
token="$(head -n1 "$token_file" | tr -d '[:space:]')"

log() { echo "[rolling-restart $(date -u +%H:%M:%S)] $*" >&2; }
status() { curl -sf --max-time 5 -H "Authorization: Bearer $token" "$1/cluster/status"; }

# Node id of each URL.
declare -A url_of=()
for u in "${urls[@]}"; do
  id="$(status "$u" | jq -r .node_id)" || { log "cannot reach $u"; exit 1; }
  url_of[$id]="$u"
done
any_status() {
  for u in "${urls[@]}"; do
    status "$u" && return 0
  done
  return 1
}
leader() { any_status | jq -r '.leader_id // empty'; }
voters() { any_status | jq -r '.voters | length'; }
want_voters="$(voters)"

if [ -z "$order" ]; then
  l="$(leader)"
  for id in $(printf '%s\n' "${!url_of[@]}" | sort -n); do
    [ "$id" = "$l" ] || order="$order $id"
  done
  [ -n "$l" ] && [ -n "${url_of[$l]:-}" ] && order="$order $l"
fi
log "order:$order (voters: $want_voters)"

wait_until() { # seconds, description, command...
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@"; do
    if [ $SECONDS -ge $end ]; then
      log "gave up waiting for $what after ${limit}s"
      return 1
    fi
    sleep 0.2
  done
}
not_leader() { local l; l="$(leader)"; [ -n "$l" ] && [ "$l" != "$1" ]; }
ready() { curl -sf --max-time 2 "$1/ready" >/dev/null; }
all_voters_ready() {
  [ "$(voters)" = "$want_voters" ] || return 1
  for u in "${urls[@]}"; do ready "$u" || return 1; done
}

for id in $order; do
  u="${url_of[$id]}"
  started=$SECONDS
  # Move leadership off the node; a move that does not hold (the old leader elected again, as an
  # overloaded machine's missed heartbeats can cause) is tried again, up to 5 times.
  moves=0
  while [ "$(leader)" = "$id" ]; do
    moves=$((moves + 1))
    if [ $moves -gt 5 ]; then
      log "leadership does not leave node $id; stopping here"
      exit 1
    fi
    log "node $id leads: moving leadership off it (attempt $moves)"
    answer=$(curl -s --max-time 30 -X POST -H "Authorization: Bearer $token" \
      -H 'content-type: application/json' -d '{}' "$u/cluster/transfer-leader") || true
    case "$answer" in *'"leader_id"'*) ;; *) log "transfer-leader: ${answer:-no answer}" ;; esac
    wait_until 10 "leadership to leave node $id" not_leader "$id" || true
  done
  cmd="${restart//\{id\}/$id}"
  cmd="${cmd//\{url\}/$u}"
  log "restarting node $id: $cmd"
  bash -c "$cmd"
  wait_until "$ready_timeout" "node $id to be ready" ready "$u"
  wait_until "$ready_timeout" "every voter to be ready" all_voters_ready
  log "node $id is back ($((SECONDS - started))s); leader: $(leader)"
done
log "done: every node restarted"
