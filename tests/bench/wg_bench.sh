#!/bin/sh
# Runs bench_wg in a scratch network namespace (its wireguard-go devices and
# UAPI sockets are removed with it). Exit 77 without root, TUN, wireguard-go or wg.
# Usage: wg_bench.sh BENCH_WG N [N...]
set -u
bin=$1
shift
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
	{ echo "SKIP: needs root, /dev/net/tun, wireguard-go and wg"; exit 77; }
ns=w2wbench$$
ip netns add "$ns" || exit 1
trap 'ip netns del "$ns" 2>/dev/null' EXIT INT TERM
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" "$bin" "$@"
