#!/bin/sh
# Runs a command in a private network namespace made for the Janus
# comparison (needs root, or CAP_SYS_ADMIN + CAP_NET_ADMIN):
#
#   bench/janus/netns.sh COMMAND [ARGS...]
#
# Why: Janus 1.1.2 never gathers ICE candidates on a loopback interface
# (it skips IFF_LOOPBACK interfaces, whatever ice_enforce_list says; it then
# falls back to every other interface). So the namespace gets `lo` up plus
# a veth pair zb0/zb1 whose zb0 holds 127.0.0.2/32: Janus gathers on
# 127.0.0.2 (ice_enforce_list = "127.0.0.2"), the bots too
# (zumzi-bench --ice-address 127.0.0.2), and every packet is still locally
# delivered through the loopback path (127.0.0.0/8 is local). The namespace
# has no route anywhere else; it and the veth pair vanish with the command.
# The host's interfaces and routes are not touched.
set -eu
[ $# -ge 1 ] || { echo "usage: netns.sh COMMAND [ARGS...]" >&2; exit 2; }
exec unshare --net sh -c '
    set -e
    ip link set lo up
    ip link add zb0 type veth peer name zb1
    ip addr add 127.0.0.2/32 dev zb0
    ip link set zb0 up
    ip link set zb1 up
    exec "$@"' netns.sh "$@"
