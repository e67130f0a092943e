#!/bin/sh
# Kubernetes StatefulSet wrapper, baked into the image as /app/bin/statefulset-env.sh:
# derives this pod's Raft identity from its stable name, then execs its arguments.
#
#   pod enigma-2  ->  ENIGMA_RAFT_NODE_ID=3 (ordinal + 1)
#   ENIGMA_RAFT_PEERS=1=enigma-0.<svc>.<ns>.svc.<domain>:<port>,2=enigma-1...,3=enigma-2...
#
# Inputs (env): ENIGMA_PEER_SERVICE (headless Service name, required), ENIGMA_CLUSTER_SIZE
# (initial members = replicas, required), POD_NAMESPACE (downward API; default "default"),
# ENIGMA_CLUSTER_DOMAIN (default cluster.local), ENIGMA_RAFT_PORT (default 9000), POD_NAME or
# HOSTNAME. A node id or peer list already set in the environment is kept.
set -eu

fail() {
  echo "statefulset-env: $*" >&2
  exit 2
}

pod="${POD_NAME:-${HOSTNAME:-$(hostname)}}"
ordinal="${pod##*-}"
set_name="${pod%-*}"
case "$ordinal" in
  '' | *[!0-9]*) fail "cannot take a StatefulSet ordinal from pod name '$pod' (expected NAME-ORDINAL)" ;;
esac
[ "$set_name" != "$pod" ] && [ -n "$set_name" ] || fail "pod name '$pod' is not NAME-ORDINAL"
service="${ENIGMA_PEER_SERVICE:-}"
[ -n "$service" ] || fail "ENIGMA_PEER_SERVICE (the headless Service name) is not set"
size="${ENIGMA_CLUSTER_SIZE:-}"
case "$size" in
  '' | *[!0-9]* | 0) fail "ENIGMA_CLUSTER_SIZE must be the initial member count (the StatefulSet replicas)" ;;
esac
namespace="${POD_NAMESPACE:-default}"
domain="${ENIGMA_CLUSTER_DOMAIN:-cluster.local}"
port="${ENIGMA_RAFT_PORT:-9000}"

if [ -z "${ENIGMA_RAFT_NODE_ID:-}" ]; then
  ENIGMA_RAFT_NODE_ID=$((ordinal + 1))
fi
if [ -z "${ENIGMA_RAFT_PEERS:-}" ]; then
  peers=""
  i=0
  while [ "$i" -lt "$size" ]; do
    peers="${peers:+$peers,}$((i + 1))=${set_name}-${i}.${service}.${namespace}.svc.${domain}:${port}"
    i=$((i + 1))
  done
  ENIGMA_RAFT_PEERS="$peers"
fi
if [ "$ordinal" -ge "$size" ]; then
  echo "statefulset-env: $pod is beyond the $size initial members; it must be added with the admin API" >&2
fi
export ENIGMA_RAFT_NODE_ID ENIGMA_RAFT_PEERS
[ "$#" -gt 0 ] || fail "no command to run"
exec "$@"
