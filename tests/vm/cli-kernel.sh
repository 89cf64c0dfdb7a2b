#!/bin/bash
# SPDX-License-Identifier: MIT
# The public API and CLI on kernel WireGuard (inside the VM): `w2wesher wg
# syncconf` ends with the device Debian's `wg syncconf` makes from the same
# file, `w2wesher wg showconf` prints what `wg showconf` prints; then a second
# file changes one endpoint, removes a peer and adds one. 77 without WireGuard.
set -u
W=${1:?usage: cli-kernel.sh path/to/w2wesher}
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
modprobe wireguard 2>/dev/null || { echo "# no wireguard module: skip"; exit 77; }
export WG_COLOR_MODE=never
D=$(mktemp -d)
umask 077

# showconf text -> canonical form (peers sorted, allowed IPs sorted, no ListenPort)
norm() {
    python3 - "$1" <<'PY'
import sys
peers, cur, iface = [], None, []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line == "[Interface]":
        continue
    if line == "[Peer]":
        cur = []
        peers.append(cur)
        continue
    k, _, v = line.partition("=")
    k, v = k.strip(), v.strip()
    if k == "ListenPort":
        continue
    if k == "AllowedIPs":
        v = ", ".join(sorted(x.strip() for x in v.split(",")))
    (iface if cur is None else cur).append(k + " = " + v)
print("\n".join(iface))
for p in sorted(peers):
    print("[Peer]\n" + "\n".join(sorted(p)))
PY
}

ip link add wgk0 type wireguard && ip link add wgk1 type wireguard || exit 1
priv=$(wg genkey)
for i in 1 2 3 4; do k[$i]=$(wg genkey | wg pubkey); done
psk=$(wg genpsk)
conf() { # $1 = file, $2 = port, $3 = variant
    {
        printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' "$priv" "$2"
        printf '\n[Peer]\nPublicKey = %s\nEndpoint = 10.1.1.1:51820\nAllowedIPs = 10.9.0.2/32, fd00::2/128\nPersistentKeepalive = 25\n' "${k[1]}"
        if [ "$3" = 1 ]; then
            printf '\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nEndpoint = [2001:db8::1]:51820\nAllowedIPs = 10.9.0.3/32\n' "${k[2]}" "$psk"
            printf '\n[Peer]\nPublicKey = %s\nEndpoint = 10.1.1.3:51820\nAllowedIPs = 10.9.0.4/32\n' "${k[3]}"
        else
            printf '\n[Peer]\nPublicKey = %s\nEndpoint = 10.1.1.99:4000\nAllowedIPs = 10.9.0.4/32\n' "${k[3]}"
            printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.9.0.5/32, 10.9.1.0/24\n' "${k[4]}"
        fi
    } > "$1"
}

for v in 1 2; do
    conf "$D/a$v.conf" 51000 $v
    conf "$D/b$v.conf" 51001 $v
    "$W" wg syncconf wgk0 "$D/a$v.conf" --backend kernel && ok "w2wesher wg syncconf (file $v)" \
        || bad "w2wesher wg syncconf (file $v)"
    wg syncconf wgk1 "$D/b$v.conf" || bad "wg syncconf (file $v)"
    wg showconf wgk0 > "$D/wg0.txt"
    wg showconf wgk1 > "$D/wg1.txt"
    "$W" wg showconf wgk0 > "$D/w0.txt" || bad "w2wesher wg showconf"
    if diff <(norm "$D/wg0.txt") <(norm "$D/wg1.txt") >/dev/null; then
        ok "device equals what wg syncconf makes of the same file ($v)"
    else
        bad "device differs from wg syncconf's ($v)"; diff <(norm "$D/wg0.txt") <(norm "$D/wg1.txt")
    fi
    diff "$D/wg0.txt" "$D/w0.txt" >/dev/null && ok "w2wesher wg showconf == wg showconf ($v)" \
        || { bad "showconf differs ($v)"; diff "$D/wg0.txt" "$D/w0.txt"; }
done
"$W" wg show wgk0 | sed 's/^/# /'
rm -rf "$D"
exit $fail
