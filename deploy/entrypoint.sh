#!/bin/sh
# Container entrypoint. In a StatefulSet, the pod's ordinal gives the node id (swfd-0 is node 1), and
# SWFD_PEERS (a headless Service's pod DNS names, e.g. "swfd-0.swfd-peers,swfd-1.swfd-peers,...")
# gives --initial-members; a restarted pod finds its data and never re-initialises. Without SWFD_PEERS
# it runs as configured by its flags and SWFD_* variables.
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
  i=1
  for peer in $(echo "$SWFD_PEERS" | tr ',' ' '); do
    members="${members}${members:+,}${i}=${peer}:${SWFD_GRPC_PORT:-7951}"
    i=$((i + 1))
  done
  SWFD_INITIAL_MEMBERS="$members"
  export SWFD_INITIAL_MEMBERS
fi
exec /usr/local/bin/swfd "$@"
