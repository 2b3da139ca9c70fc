#!/usr/bin/env bash
# Side-by-side benchmark of moongate against nginx, haproxy, varnish and a
# bare fasthttp proxy (see bench/README.md). `make bench-compare` runs it.
#
#   bench/compare.sh [--no-install] [--profile] [compare flags]
#   bench/compare.sh --quick                       # smoke run, ~2 minutes
#   bench/compare.sh --rounds 3 --duration 10s --layout pinned --results bench/RESULTS.md
#   bench/compare.sh --scale routes,body,conns      # how cost grows with the work (make bench-scale-e2e)
#
# It installs the Debian packages it needs if they are missing (root or
# sudo), builds moongate and the bench programs into bench/out/bin, raises
# the open-files limit and runs bench/compare under a global time limit
# (BENCH_TIMEOUT_MIN, default 45 minutes; compare stops itself then and
# reports what it measured; a hard stop follows 5 minutes later). Ctrl-C
# stops it the same way.
# `bench/out/bin/compare -h` lists the compare flags.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
limit=${BENCH_TIMEOUT_MIN:-45}
install=1
profile=0
scale=0
args=()
for a in "$@"; do
	case $a in
	--no-install) install=0 ;;
	--profile) profile=1; args+=("$a") ;;
	--scale | -scale | --scale=* | -scale=*) scale=1; args+=("$a") ;;
	*) args+=("$a") ;;
	esac
done

# Programs from Debian packages (the scale mode runs moongate alone: wrk
# and taskset are all it needs).
need=()
if ((!scale)); then
	command -v nginx >/dev/null || need+=(nginx)
	command -v haproxy >/dev/null || need+=(haproxy)
	command -v varnishd >/dev/null || need+=(varnish)
	command -v redis-server >/dev/null || need+=(redis-server)
	[ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ] || need+=(libnginx-mod-http-lua)
fi
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
if ((${#need[@]})); then
	if ((install)); then
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		echo "compare.sh: installing ${need[*]}"
		$sudo apt-get update -q
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
	else
		echo "compare.sh: not installed (--no-install): ${need[*]}; contenders needing them are skipped"
	fi
fi

# Our programs: moongate exactly as `make build` builds it.
bin=bench/out/bin
mkdir -p "$bin"
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
ldflags="-X github.com/moongate/moongate/core/gateway.Version=$version"
echo "compare.sh: building moongate $version and the bench programs"
$GO build -trimpath -ldflags "-s -w $ldflags" -o "$bin/moongate" ./cmd/moongate
if ((profile)); then
	$GO build -trimpath -tags pprof -ldflags "$ldflags" -o "$bin/moongate-pprof" ./cmd/moongate
fi
for p in backend bareproxy idleconns compare; do
	$GO build -trimpath -o "$bin/$p" "./bench/$p"
done

# Open files: 10 000 idle (or active) connections need more than the usual 1024.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "compare.sh: open-files limit $(ulimit -n)"

# The command recorded in the report, unless the caller (make) gives one.
case " $* " in
*" --command "* | *" -command "*) ;;
*) args=(-command "bench/compare.sh $*" "${args[@]}") ;;
esac
exec timeout --foreground --kill-after=30s "$((limit + 5))m" "$bin/compare" -timeout "${limit}m" "${args[@]}"
