#!/bin/bash
# SPDX-License-Identifier: MIT
# Two network namespaces joined by veth, a kernel WireGuard device in each,
# created and configured only through the library (test_kernel_wg node-*);
# IPv4 and IPv6 pings across the tunnel, a removed peer stops them, re-adding
# it restores them. Runs inside the VM (vmrun.py); 77 without kernel WireGuard.
set -u
T=${1:?usage: netns-ping.sh path/to/test_kernel_wg}
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

modprobe wireguard 2>/dev/null || { echo "# no wireguard module: skip"; exit 77; }
PING=ping
command -v ping >/dev/null || PING="busybox ping"

ip netns add wa && ip netns add wb || exit 1
ip link add va netns wa type veth peer name vb netns wb || exit 1
ip -n wa addr add 192.168.77.1/24 dev va && ip -n wa link set va up && ip -n wa link set lo up
ip -n wb addr add 192.168.77.2/24 dev vb && ip -n wb link set vb up && ip -n wb link set lo up

pa=$(ip netns exec wa "$T" node-init wg0 10.99.0.1/24 fd99::1/64 51820) || { bad "node-init a"; exit 1; }
pb=$(ip netns exec wb "$T" node-init wg0 10.99.0.2/24 fd99::2/64 51821) || { bad "node-init b"; exit 1; }
ip netns exec wa "$T" node-peer wg0 "$pb" 192.168.77.2:51821 10.99.0.2/32,fd99::2/128 || bad "peer a->b"
ip netns exec wb "$T" node-peer wg0 "$pa" 192.168.77.1:51820 10.99.0.1/32,fd99::1/128 || bad "peer b->a"

ping_ok() { ip netns exec "$1" $PING -c 1 -W 3 "$2" >/dev/null 2>&1; }
ping_ok wa 10.99.0.2 && ok "IPv4 a -> b over WireGuard" || bad "IPv4 a -> b"
ping_ok wb 10.99.0.1 && ok "IPv4 b -> a" || bad "IPv4 b -> a"
ping_ok wa fd99::2 && ok "IPv6 a -> b" || bad "IPv6 a -> b"
ping_ok wb fd99::1 && ok "IPv6 b -> a" || bad "IPv6 b -> a"

# Debian's wg(8) as an independent reader of what the library set.
b64() { python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$1"; }
pb64=$(b64 "$pb")
want="$pb64	10.99.0.2/32 fd99::2/128"
got=$(ip netns exec wa wg show wg0 allowed-ips)
[ "$got" = "$want" ] && ok "wg show allowed-ips matches" || bad "wg show allowed-ips: '$got' != '$want'"

# Endpoint change: b gets a second address, a is pointed at it.
ip -n wb addr add 192.168.77.3/24 dev vb
ip netns exec wa "$T" node-peer wg0 "$pb" 192.168.77.3:51821 10.99.0.2/32,fd99::2/128 || bad "endpoint change"
got=$(ip netns exec wa wg show wg0 endpoints)
[ "$got" = "$pb64	192.168.77.3:51821" ] && ok "wg show endpoints shows the new endpoint" \
    || bad "endpoints: '$got'"
ping_ok wa 10.99.0.2 && ok "ping over the new endpoint" || bad "ping after endpoint change"

ip netns exec wa "$T" node-del wg0 "$pb" || bad "remove peer"
ip netns exec wa $PING -c 1 -W 1 10.99.0.2 >/dev/null 2>&1 && bad "ping still works after REMOVE_ME" \
    || ok "peer removed: ping stops"
got=$(ip netns exec wa wg show wg0 peers)
[ -z "$got" ] && ok "wg show lists no peer" || bad "peers left: '$got'"
ip netns exec wa "$T" node-peer wg0 "$pb" 192.168.77.2:51821 10.99.0.2/32,fd99::2/128 || bad "re-add"
ping_ok wa 10.99.0.2 && ok "peer re-added: ping works again" || bad "ping after re-add"

WG_COLOR_MODE=never ip netns exec wa wg show wg0 | sed 's/^/# /'
exit $fail
