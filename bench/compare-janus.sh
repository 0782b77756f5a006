#!/bin/sh
# Zumzi and Janus side by side on this machine (docs/benchmarks.md, "Side by
# side with Janus on this machine"): zumzi-bench scenario A, 1 publisher ->
# N subscribers, against
#   zumzi    the zumzi-server next to zumzi-bench (started by the bench),
#   janus    Debian's Janus 1.1.2 VideoRoom, default config (bench/janus/),
#   janus-l1 the same with `event_loops = 1`,
# in interleaved rounds (the order rotates every round), each run with a
# fresh server. Prints every run and the medians per target; the JSON of
# every run and the bench's output are kept in the output directory.
#
#   bench/compare-janus.sh [-b BUILD_DIR] [-r ROUNDS] [-n N] [-s SECONDS]
#                          [--decode] [--decode-only] [-o OUT_DIR]
#
# Defaults: build/, 3 rounds, N=16, 10 s windows, --no-decode bots only;
# --decode adds a run with decoding bots per target and round,
# --decode-only runs only those. Janus: apt-get install -y janus (a
# benchmark-only dependency, not in tools/setup). Needs root: every run is
# in its own private network namespace (bench/janus/netns.sh; Janus's ICE
# on 127.0.0.2 there), nothing leaves 127.0.0.0/8. Ctrl-C stops the run
# and the Janus it started.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
rounds=3
n=16
seconds=10
modes="nodecode"
out=""

die() { echo "compare-janus.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        -b) build=$2; shift 2 ;;
        -r) rounds=$2; shift 2 ;;
        -n) n=$2; shift 2 ;;
        -s) seconds=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        --decode) modes="nodecode decode"; shift ;;
        --decode-only) modes="decode"; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

bench=$build/bench/zumzi-bench
[ -x "$bench" ] || die "no $bench (meson setup $build && ninja -C $build)"
[ -x "$build/server/zumzi-server" ] || die "no $build/server/zumzi-server"
command -v janus >/dev/null 2>&1 || die "no janus (apt-get install -y janus)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the table"
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/compare-janus-XXXXXX")
mkdir -p "$out"

# bench-janus.sh stops its Janus however a run ends; a Janus left over
# by a killed run is found by its private directory and stopped here.
cleanup() {
    for d in "${TMPDIR:-/tmp}"/zumzi-janus-*; do
        [ -f "$d/janus.pid" ] && [ "$(stat -c %U "$d")" = "$(id -un)" ] &&
            [ "$(cat "$d/janus.started-by" 2>/dev/null)" = "$$" ] &&
            "$here/janus/run-janus.sh" stop "$d"
    done
    return 0
}
export ZUMZI_JANUS_OWNER=$$
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# One run: target, mode, round. Writes $out/<round>-<target>-<mode>.json,
# .log and .load (1-minute load average at the start).
run() {
    target=$1 mode=$2 round=$3
    name=$round-$target-$mode
    flags="--scenario a --min-n $n --max-n $n --seconds $seconds --json $out/$name.json"
    [ "$mode" = nodecode ] && flags="$flags --no-decode"
    cut -d' ' -f1 /proc/loadavg >"$out/$name.load"
    echo "== round $round: $target ($mode) $(date -u +%H:%M:%S) load $(cat "$out/$name.load")"
    # Every run in its own private network namespace (bench/janus/netns.sh):
    # Janus needs it for ICE on 127.0.0.2, Zumzi gets the same conditions.
    case "$target" in
        zumzi)
            # shellcheck disable=SC2086
            "$here/janus/netns.sh" "$bench" $flags >"$out/$name.log" 2>&1 ||
                echo "   (exit $?, see $out/$name.log)"
            ;;
        janus|janus-l1)
            loops=""
            [ "$target" = janus-l1 ] && loops="--event-loops 1"
            # shellcheck disable=SC2086
            "$here/janus/bench-janus.sh" $loops --keep-log "$out/$name.janus.log" "$bench" $flags \
                >"$out/$name.log" 2>&1 || echo "   (exit $?, see $out/$name.log)"
            ;;
    esac
    grep -E "^  A N=" "$out/$name.log" || true
}

targets="zumzi janus janus-l1"
r=1
while [ $r -le "$rounds" ]; do
    # Rotate: round 1 zumzi first, round 2 janus first, ...
    order=$(echo $targets | awk -v k=$(( (r - 1) % 3 )) '{ for (i = 0; i < NF; i++) printf "%s ", $((i + k) % NF + 1) }')
    for mode in $modes; do
        for t in $order; do
            run "$t" "$mode" "$r"
        done
    done
    r=$((r + 1))
done

python3 - "$out" <<'PY' | tee "$out/summary.txt"
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(path)[:-5]
    rnd, rest = name.split("-", 1)
    target, mode = rest.rsplit("-", 1)
    with open(path) as f:
        d = json.load(f)
    steps = [s for s in d.get("steps", []) if s["scenario"] == "A"]
    if not steps:
        continue
    s = steps[-1]
    load = open(os.path.join(out, name + ".load")).read().strip()
    rows.append(dict(round=int(rnd), target=target, mode=mode, load=float(load), n=s["n"],
                     ms=s["server_cpu_ms_per_stream_s"], srv=s["server_cpu_percent"],
                     bench=s["bench_cpu_percent"], oth=s["other_cpu_percent"],
                     rx=100 * s["min_received_ratio"], ok=s["ok"],
                     ftf=s["first_frame_ms_median"], ftf95=s["first_frame_ms_p95"],
                     sdp=s.get("sdp_ms_median", -1), conn=s.get("connected_ms_median", -1),
                     pkt=s.get("first_packet_ms_median", -1),
                     mbn=s["server_rss_kb_per_n"] / 1024.0, thrn=s["server_threads_per_n"],
                     ctx=s["server_ctx_switches_per_s"]))
order = {"zumzi": 0, "janus": 1, "janus-l1": 2}
rows.sort(key=lambda r: (r["mode"], r["round"], order.get(r["target"], 9)))
hdr = "%-9s %-8s %5s %5s %4s %8s %7s %6s %5s %7s %6s %6s %6s %6s %8s" % (
    "mode", "target", "round", "load", "N", "ms/st-s", "srvCPU%", "bench%", "oth%", "minRx%",
    "ftf50", "ftf95", "MB/N", "thr/N", "ctxsw/s")
print("Every run:")
print(hdr)
for r in rows:
    print("%-9s %-8s %5d %5.1f %4d %8.2f %7.0f %6.0f %5.0f %7.1f %6.0f %6.0f %6.2f %6.1f %8.0f%s" % (
        r["mode"], r["target"], r["round"], r["load"], r["n"], r["ms"], r["srv"], r["bench"],
        r["oth"], r["rx"], r["ftf"], r["ftf95"], r["mbn"], r["thrn"], r["ctx"],
        "" if r["ok"] else "  <95%"))
print("\nMedians per target (runs; ms/st-s min-max):")
print("%-9s %-8s %4s %8s %13s %7s %5s %6s %6s %6s %8s" % (
    "mode", "target", "runs", "ms/st-s", "range", "srvCPU%", "oth%", "ftf50", "MB/N", "thr/N", "ctxsw/s"))
for mode in sorted({r["mode"] for r in rows}):
    for target in sorted({r["target"] for r in rows}, key=lambda t: order.get(t, 9)):
        rs = [r for r in rows if r["mode"] == mode and r["target"] == target]
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs)
        print("%-9s %-8s %4d %8.2f %6.2f-%-6.2f %7.0f %5.0f %6.0f %6.2f %6.1f %8.0f" % (
            mode, target, len(rs), med("ms"), min(r["ms"] for r in rs), max(r["ms"] for r in rs),
            med("srv"), med("oth"), med("ftf"), med("mbn"), med("thrn"), med("ctx")))
print("\nJoin to (medians of the runs' medians, ms): subscribe SDP, connected, first video packet")
print("out of the bots' jitterbuffer, first decoded frame (decode runs):")
for mode in sorted({r["mode"] for r in rows}):
    for target in sorted({r["target"] for r in rows}, key=lambda t: order.get(t, 9)):
        rs = [r for r in rows if r["mode"] == mode and r["target"] == target]
        if rs:
            med = lambda k: statistics.median(r[k] for r in rs)
            print("%-9s %-8s sdp %4.0f  connected %4.0f  packet %4.0f  frame %4.0f" % (
                mode, target, med("sdp"), med("conn"), med("pkt"), med("ftf")))
print("\nms/st-s: server CPU ms per forwarded stream-second (2N streams: video and audio);")
print("oth%: everything else on the machine during the window, % of one core; load: 1-min")
print("load average at the start of the run. Output and JSON of every run: " + out)
PY
