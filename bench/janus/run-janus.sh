#!/bin/sh
# Starts Debian's Janus 1.1.2 (`apt-get install janus`) for zumzi-bench on
# 127.0.0.1 only, with a private configuration directory; never reads
# /etc/janus and starts no system service. Run it inside bench/janus/netns.sh
# (ICE on 127.0.0.2, see there), e.g.
#
#   bench/janus/netns.sh sh -c 'set -- $(bench/janus/run-janus.sh start);
#       build/bench/zumzi-bench --janus $1 --server-pid $2 --ice-address 127.0.0.2 ...;
#       bench/janus/run-janus.sh stop $3'
#
#   run-janus.sh start [--event-loops N]   prints "URL PID DIR" once Janus answers
#   run-janus.sh stop DIR                  stops that Janus and removes DIR
#
# DIR (a fresh temporary directory) holds the three .jcfg files made from
# the templates next to this script, plugins/ and transports/ with a
# symlink to the videoroom plugin and the HTTP transport only, Janus's log
# (janus.log) and its pid (janus.pid). The HTTP port is a free one picked
# here. Without --event-loops Janus runs with its default (one event loop
# thread per handle); --event-loops 1 sets `event_loops = 1` in janus.jcfg.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
janus_bin=${JANUS:-janus}
lib=${JANUS_LIB:-/usr/lib/x86_64-linux-gnu/janus}

die() { echo "run-janus.sh: $*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    loops=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --event-loops) [ $# -ge 2 ] || die "--event-loops needs a number"; loops=$2; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    case "$loops" in
        ""|*[!0-9]*) [ -z "$loops" ] || die "--event-loops must be a number" ;;
    esac
    command -v "$janus_bin" >/dev/null 2>&1 || die "no janus binary (apt-get install -y janus)"
    ip -o addr show to 127.0.0.2 | grep -qv '^[0-9]*: lo ' ||
        die "127.0.0.2 is not on a non-loopback interface here: run me inside bench/janus/netns.sh"
    [ -f "$lib/plugins/libjanus_videoroom.so" ] || die "no $lib/plugins/libjanus_videoroom.so"
    [ -f "$lib/transports/libjanus_http.so" ] || die "no $lib/transports/libjanus_http.so"

    dir=$(mktemp -d "${TMPDIR:-/tmp}/zumzi-janus-XXXXXX")
    mkdir "$dir/plugins" "$dir/transports" "$dir/empty"
    ln -s "$lib/plugins/libjanus_videoroom.so" "$dir/plugins/"
    ln -s "$lib/transports/libjanus_http.so" "$dir/transports/"
    port=$(free_port)
    if [ -n "$loops" ]; then line="event_loops = $loops"; else line="# event_loops: default"; fi
    sed -e "s|@DIR@|$dir|g" -e "s|@EVENT_LOOPS_LINE@|$line|" "$here/janus.jcfg.in" >"$dir/janus.jcfg"
    sed -e "s|@PORT@|$port|" "$here/janus.transport.http.jcfg.in" >"$dir/janus.transport.http.jcfg"
    cp "$here/janus.plugin.videoroom.jcfg" "$dir/"

    # -N: no stdout logging, the log goes to janus.log; -o: no colours.
    "$janus_bin" -C "$dir/janus.jcfg" -F "$dir" -L "$dir/janus.log" -N -o \
        </dev/null >"$dir/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/janus.pid"
    # Who asked (compare-janus.sh sets it): lets it clean up only its own.
    [ -z "${ZUMZI_JANUS_OWNER:-}" ] || echo "$ZUMZI_JANUS_OWNER" >"$dir/janus.started-by"
    url="http://127.0.0.1:$port/janus"
    i=0
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -20 "$dir/janus.log" "$dir/stdout.log" >&2 || true
            rm -rf "$dir"
            die "janus exited"
        fi
        if curl -sf -o /dev/null "$url/info"; then
            break
        fi
        i=$((i + 1))
        if [ $i -ge 150 ]; then
            stop "$dir"
            die "janus did not answer on $url in 15 s"
        fi
        sleep 0.1
    done
    echo "$url $pid $dir"
}

stop() {
    dir=${1:-}
    [ -n "$dir" ] && [ -f "$dir/janus.pid" ] || die "stop: no janus.pid in '$dir'"
    pid=$(cat "$dir/janus.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) die "usage: run-janus.sh start [--event-loops N] | stop DIR" ;;
esac
