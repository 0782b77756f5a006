#!/bin/sh
# One zumzi-bench run against a fresh Janus (bench/janus/run-janus.sh), in
# a private network namespace (bench/janus/netns.sh) unless already in one:
#
#   bench/janus/bench-janus.sh [--event-loops N] [--keep-log FILE] ZUMZI_BENCH [ARGS...]
#
# e.g. bench/janus/bench-janus.sh --event-loops 1 build/bench/zumzi-bench \
#          --min-n 16 --max-n 16 --seconds 10 --no-decode
# adds --janus URL --server-pid PID --ice-address 127.0.0.2 to the bench's
# arguments, and stops Janus (and removes its directory) however the run
# ends; --keep-log copies Janus's log to FILE first.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if ! ip -o addr show to 127.0.0.2 | grep -qv '^[0-9]*: lo '; then
    exec "$here/netns.sh" "$0" "$@"
fi

loops=""
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --event-loops) loops="--event-loops $2"; shift 2 ;;
        --keep-log) keep=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: bench-janus.sh [--event-loops N] [--keep-log FILE] ZUMZI_BENCH [ARGS...]" >&2; exit 2; }
bench=$1
shift

# shellcheck disable=SC2086
info=$("$here/run-janus.sh" start $loops)
url=${info%% *}
rest=${info#* }
pid=${rest%% *}
dir=${rest#* }
stop() {
    if [ -n "$keep" ]; then cp "$dir/janus.log" "$keep" 2>/dev/null || true; fi
    "$here/run-janus.sh" stop "$dir" || true
}
trap stop EXIT
trap 'exit 130' INT TERM
"$bench" "$@" --janus "$url" --server-pid "$pid" --ice-address 127.0.0.2
