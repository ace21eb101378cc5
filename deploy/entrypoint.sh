#!/bin/sh
# Container entrypoint. In a StatefulSet, the pod's ordinal gives the node id (swfd-0 is node 1), and
# SWFD_PEERS (the initial members: a headless Service's pod DNS names, e.g.
# "swfd-0.swfd-peers,swfd-1.swfd-peers,swfd-2.swfd-peers", each optionally HOST:GRPC_PORT) gives
# --initial-members. A pod past the initial members (after `kubectl scale statefulset swfd
# --replicas=5`: swfd-3, swfd-4) joins the running cluster instead: --join through the initial members'
# admin endpoints (SWFD_JOIN_ENDPOINTS, default http://PEER_HOST:${SWFD_ADMIN_PORT:-7952} for each
# peer), advertising ${HOSTNAME}.<the peers' domain>:${SWFD_GRPC_PORT:-7951} as its gRPC address
# (SWFD_GRPC_ADVERTISE_ADDR overrides it); it is added as a learner and promoted to voter once caught
# up. A restarted pod finds its data and never re-initialises (a joined one asks again, which changes
# nothing). Without SWFD_PEERS it runs as configured by its flags and SWFD_* variables.
# SWFD_BIN (default /usr/local/bin/swfd) is the binary run.
set -eu
if [ -z "${SWFD_NODE_ID:-}" ]; then
  ordinal="${HOSTNAME##*-}"
  case "$ordinal" in
    ''|*[!0-9]*) ordinal=0 ;;
  esac
  SWFD_NODE_ID=$((ordinal + 1))
  export SWFD_NODE_ID
fi
if [ -n "${SWFD_PEERS:-}" ] && [ -z "${SWFD_INITIAL_MEMBERS:-}" ] && [ -z "${SWFD_JOIN:-}" ]; then
  members=""
  joins=""
  domain=""
  i=1
  for peer in $(echo "$SWFD_PEERS" | tr ',' ' '); do
    case "$peer" in
      *:*) host="${peer%:*}"; addr="$peer" ;;
      *) host="$peer"; addr="${peer}:${SWFD_GRPC_PORT:-7951}" ;;
    esac
    members="${members}${members:+,}${i}=${addr}"
    joins="${joins}${joins:+,}http://${host}:${SWFD_ADMIN_PORT:-7952}"
    [ -n "$domain" ] || case "$host" in *.*) domain="${host#*.}" ;; esac
    i=$((i + 1))
  done
  if [ "$SWFD_NODE_ID" -lt "$i" ]; then
    SWFD_INITIAL_MEMBERS="$members"
    export SWFD_INITIAL_MEMBERS
  else
    SWFD_JOIN="${SWFD_JOIN_ENDPOINTS:-$joins}"
    export SWFD_JOIN
    if [ -z "${SWFD_GRPC_ADVERTISE_ADDR:-}" ]; then
      SWFD_GRPC_ADVERTISE_ADDR="${HOSTNAME}${domain:+.}${domain}:${SWFD_GRPC_PORT:-7951}"
      export SWFD_GRPC_ADVERTISE_ADDR
    fi
  fi
fi
exec "${SWFD_BIN:-/usr/local/bin/swfd}" "$@"
