#!/usr/bin/env bash
# Memory of N idle keep-alive connections to moongate, alone, the way the
# idle scenario of `make bench-compare` measures it (bench/compare,
# measureIdle): moongate pinned to one core with GOMAXPROCS=1 in front of
# bench/backend, bench/idleconns on the other core opens N connections
# with one request answered on each, and moongate's RSS is read before,
# 2 s after the last one was answered, and 10 s later.
#
#   bench/idle-rss.sh [N] ["extra [server] lines", e.g. "reduce_memory = true"]
#
# MOONGATE=path runs another moongate binary (default: built from this
# tree into bench/out/bin). With a binary built with -tags pprof, the
# heap's top entries are printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
EXTRA=${2:-}
BIN=bench/out/bin
mkdir -p "$BIN"
go build -o "$BIN/backend" ./bench/backend
go build -o "$BIN/idleconns" ./bench/idleconns
if [ -z "${MOONGATE:-}" ]; then
	go build -o "$BIN/moongate" ./cmd/moongate
	MOONGATE=$BIN/moongate
fi

dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND=127.0.0.1:$(port)
LISTEN=127.0.0.1:$(port)
PPROF=127.0.0.1:$(port)
cat >"$dir/moongate.toml" <<EOF
[server]
listen = "$LISTEN"
idle_timeout = "300s"
shutdown_timeout = "2s"
$EXTRA
[admin]
listen = ""
[log]
level = "warn"
[[upstreams]]
name = "origin"
targets = [{ url = "http://$BACKEND" }]
[[routes]]
name = "all"
paths = ["/"]
upstream = "origin"
EOF

taskset -c 0 "$BIN/backend" -listen "$BACKEND" &
pids+=($!)
GOMAXPROCS=1 MOONGATE_PPROF=$PPROF taskset -c 1 "$MOONGATE" run -c "$dir/moongate.toml" &
gw=$!
pids+=($gw)
for _ in $(seq 100); do
	curl -fs -o /dev/null "http://$LISTEN/100" && break
	sleep 0.1
done
sleep 0.5
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$gw/status"; }
before=$(rss)

mkfifo "$dir/in"
sleep 600 >"$dir/in" &
pids+=($!)
taskset -c 0 "$BIN/idleconns" -addr "$LISTEN" -n "$N" -path /100 <"$dir/in" >"$dir/out" &
pids+=($!)
for _ in $(seq 3000); do
	grep -q '^open' "$dir/out" 2>/dev/null && break
	sleep 0.1
done
grep -q '^open' "$dir/out" || { echo "idleconns did not open $N connections" >&2; exit 1; }
sleep 2
idle=$(rss)
sleep 10
later=$(rss)
echo "moongate ($MOONGATE${EXTRA:+, $EXTRA}): $N idle connections: RSS $before MB before, $idle MB 2 s after, $later MB 12 s after;" \
	"$(awk -v a="$before" -v b="$idle" -v n="$N" 'BEGIN {printf "%.1f KB per connection", (b-a)*1024/n}')"
if curl -fs "http://$PPROF/debug/pprof/heap" -o "$dir/heap.pb.gz"; then
	go tool pprof -top -sample_index=inuse_space "$dir/heap.pb.gz" 2>/dev/null | sed -n '5,14p'
fi
