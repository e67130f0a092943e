#!/usr/bin/env bash
# A real S3 server for tests, without Docker: Ceph's RADOS Gateway from Debian's packages
# (ceph-mon, ceph-osd, radosgw): one mon, one memstore OSD (RAM), one radosgw, all on 127.0.0.1,
# cephx off. Adapted from ../shared/tools/ceph-rgw.sh for parallel use: the directory and every
# port are parameters, so it never collides with another instance on the same host.
#
#   ceph-rgw.sh start DIR RGW_PORT MON_V2_PORT MON_V1_PORT   prints "ready" and the keys
#   ceph-rgw.sh stop DIR                                     kills by the PIDs recorded in DIR
#
# Exit 3 when the Ceph binaries are missing (tests skip with that reason; CI installs them).
# It never installs packages itself. Memstore size: RGW_MEMSTORE_BYTES (default 1 GiB).
# Users: main 0555b35654ad1656d804 / h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==
set -euo pipefail
cmd="${1:-}"; D="${2:-}"
[ -n "$D" ] || { echo "usage: ceph-rgw.sh start DIR RGW_PORT MON_V2_PORT MON_V1_PORT | stop DIR" >&2; exit 2; }

stop() {
  [ -d "$D/run" ] || return 0
  [ -f "$D/run/loop.pid" ] && kill "$(cat "$D/run/loop.pid")" 2>/dev/null || true
  local pids=""
  for n in rgw osd.0 mon.a; do
    [ -f "$D/run/$n.pid" ] || continue
    p="$(cat "$D/run/$n.pid")"; kill "$p" 2>/dev/null && pids+=" $p"
  done
  for _ in $(seq 40); do   # wait (up to 20 s) until they are gone, then SIGKILL
    alive=""; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break; sleep 0.5
  done
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  rm -f "$D"/run/*.pid
}

case "$cmd" in
start)
  PORT="$3"; MONV2="$4"; MONV1="$5"
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$b" >/dev/null || { echo "missing $b (apt-get install ceph-mon ceph-osd radosgw)" >&2; exit 3; }
  done
  stop; rm -rf "$D"; mkdir -p "$D"/{run,log,mon.a,osd0,rgw}
  FSID="$(cat /proc/sys/kernel/random/uuid)"
  cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MONV2,v1:127.0.0.1:$MONV1]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
osd crush chooseleaf type = 0
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
mon data = $D/mon.\$id
osd data = $D/osd\$id
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-1073741824}
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
rgw crypt require ssl = false
CONF
  C=(-c "$D/ceph.conf")
  cd "$D"
  ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool keyring --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$MONV2,v1:127.0.0.1:$MONV1]" --fsid "$FSID" monmap >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap monmap --keyring keyring
  ceph-mon "${C[@]}" -i a
  OSDU="$(cat /proc/sys/kernel/random/uuid)"
  OSDID=""
  for _ in $(seq 30); do   # the mon needs a moment before it answers
    OSDID="$(timeout 10 ceph "${C[@]}" osd new "$OSDU" 2>/dev/null)" && break; sleep 0.5
  done
  [ -n "$OSDID" ] || { echo "ceph-mon did not come up" >&2; stop; exit 1; }
  ceph-osd "${C[@]}" -i "$OSDID" --mkfs --osd-uuid "$OSDU" >/dev/null 2>&1
  ceph-osd "${C[@]}" -i "$OSDID" >/dev/null 2>&1
  timeout 30 ceph "${C[@]}" osd set-nearfull-ratio 0.97 >/dev/null 2>&1
  timeout 30 ceph "${C[@]}" osd set-backfillfull-ratio 0.98 >/dev/null 2>&1
  timeout 30 ceph "${C[@]}" osd set-full-ratio 0.99 >/dev/null 2>&1
  (
    trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
    while true; do
      radosgw "${C[@]}" -n client.rgw.a -f >>"$D/log/rgw.out" 2>&1 &
      child=$!; echo "$child" > "$D/run/rgw.pid"
      wait "$child" || true
      echo "crash $(date +%T)" >> "$D/crashes"
      sleep 1
    done
  ) </dev/null >/dev/null 2>&1 &
  echo $! > "$D/run/loop.pid"
  up=""
  for _ in $(seq 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { up=1; break; }; sleep 0.5
  done
  [ -n "$up" ] || { echo "radosgw did not listen on $PORT; see $D/log" >&2; stop; exit 1; }
  radosgw-admin "${C[@]}" user create --uid=testid --display-name="M. Tester" --email=tester@example.com \
    --access-key=0555b35654ad1656d804 --secret='h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==' >/dev/null 2>&1
  : > "$D/crashes"
  echo "ready 127.0.0.1:$PORT" ;;
stop)
  stop; n=0; [ -f "$D/crashes" ] && n=$(wc -l < "$D/crashes"); echo "rgw crashes during this run: $n" ;;
*) echo "usage: ceph-rgw.sh start DIR RGW_PORT MON_V2_PORT MON_V1_PORT | stop DIR" >&2; exit 2 ;;
esac
