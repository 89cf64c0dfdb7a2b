#!/bin/bash
# SPDX-License-Identifier: MIT
# Kernel WireGuard under the update sequence of a key rotation, as the engine
# emits it (docs/mesh.md "Key rotation"), applied with Debian's wg(8) inside
# the VM: what the design relies on, checked on the kernel module (the e2e
# tests check it on wireguard-go):
#   - a peer pre-configured with only the next key (no endpoint, no allowed
#     IPs, no keepalive) answers the switched node's handshake;
#   - after the private key changes, packets of the old session still arrive
#     (b -> a keeps flowing until b moves);
#   - keepalive 0 -> N after the switch starts the new key's handshake at once;
#   - moving the allowed IPs and removing the old key in one update keeps
#     traffic flowing both ways.
# Runs inside the VM (vmrun.py); 77 without kernel WireGuard.
set -u
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

modprobe wireguard 2>/dev/null || { echo "# no wireguard module: skip"; exit 77; }
command -v wg >/dev/null || { echo "# no wg(8): skip"; exit 77; }
PING=ping
command -v ping >/dev/null || PING="busybox ping"
export WG_COLOR_MODE=never

ip netns add wa && ip netns add wb || exit 1
ip link add va netns wa type veth peer name vb netns wb || exit 1
ip -n wa addr add 192.168.77.1/24 dev va && ip -n wa link set va up && ip -n wa link set lo up
ip -n wb addr add 192.168.77.2/24 dev vb && ip -n wb link set vb up && ip -n wb link set lo up

k=$(mktemp -d)
for n in a1 a2 b; do wg genkey >"$k/$n"; wg pubkey <"$k/$n" >"$k/$n.pub"; done
A1=$(cat "$k/a1.pub") A2=$(cat "$k/a2.pub") B=$(cat "$k/b.pub")
for n in a b; do
    ip -n w$n link add wg0 type wireguard || { bad "wireguard device"; exit 1; }
done
ip netns exec wa wg set wg0 private-key "$k/a1" listen-port 51820 peer "$B" endpoint 192.168.77.2:51821 \
    allowed-ips 10.99.0.2/32
ip netns exec wb wg set wg0 private-key "$k/b" listen-port 51821 peer "$A1" endpoint 192.168.77.1:51820 \
    allowed-ips 10.99.0.1/32
ip -n wa addr add 10.99.0.1/24 dev wg0 && ip -n wa link set wg0 up
ip -n wb addr add 10.99.0.2/24 dev wg0 && ip -n wb link set wg0 up

ping_ok() { ip netns exec "$1" $PING -c 1 -W 3 "$2" >/dev/null 2>&1; }
ping_ok wa 10.99.0.2 && ping_ok wb 10.99.0.1 && ok "a <-> b with a's first key" || bad "first key"

# 2. b pre-configures a's next key: no endpoint, no allowed IPs, no keepalive
ip netns exec wb wg set wg0 peer "$A2" persistent-keepalive 0 || bad "pre-configure"

# 3. a switches its private key, every peer's keepalive 0 in the same update:
# with no traffic, nothing starts a handshake yet
ip netns exec wa wg set wg0 private-key "$k/a2" peer "$B" persistent-keepalive 0 || bad "switch"
sleep 0.5
hs=$(ip netns exec wb wg show wg0 latest-handshakes | awk -v k="$A2" '$1 == k {print $2}')
[ "${hs:-0}" -eq 0 ] && ok "no handshake with the next key before the kick" || bad "a handshake came early"

# 4. the kick: keepalive 0 -> N starts the new key's handshake at once
ip netns exec wa wg set wg0 peer "$B" persistent-keepalive 25 || bad "kick"
hs=0
for _ in $(seq 1 30); do
    hs=$(ip netns exec wb wg show wg0 latest-handshakes | awk -v k="$A2" '$1 == k {print $2}')
    [ "${hs:-0}" -gt 0 ] && break
    sleep 0.1
done
[ "${hs:-0}" -gt 0 ] && ok "the kick made a handshake with the pre-configured next key" \
    || bad "no handshake with the next key within 3 s"

# b -> a on the old session still arrives (b has not moved; the reply cannot)
rx_before=$(ip netns exec wa wg show wg0 transfer | awk '{print $2}')
ip netns exec wb $PING -c 2 -i 0.2 -W 1 10.99.0.1 >/dev/null 2>&1
rx_after=$(ip netns exec wa wg show wg0 transfer | awk '{print $2}')
[ "$rx_after" -gt "$rx_before" ] && ok "old session still received after the switch ($rx_before -> $rx_after)" \
    || bad "nothing received on the old session after the switch"

# 5. b moves the allowed IPs and removes the old key in one update
ip netns exec wb wg set wg0 peer "$A2" allowed-ips 10.99.0.1/32 persistent-keepalive 25 peer "$A1" remove \
    || bad "move"
ping_ok wa 10.99.0.2 && ping_ok wb 10.99.0.1 && ok "a <-> b with a's new key" || bad "ping after the move"
got=$(ip netns exec wb wg show wg0 peers)
[ "$got" = "$A2" ] && ok "b lists exactly a's new key" || bad "b's peers: '$got'"
rm -rf "$k"
ip netns exec wb wg show wg0 | sed 's/^/# /'
exit $fail
