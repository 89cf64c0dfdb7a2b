# SPDX-License-Identifier: MIT
"""Overlay addresses as the nodes choose them (include/w2wesher/ipam.h,
docs/api.md "IPAM"): the same code the mesh engine runs, so the answers are
the nodes'.

    first = ipam.candidates("10.42.0.0/16", peer_id, 3)       # the first three it would try
    claims = [Claim(other_id, "10.42.7.9", claimed_ms=1700000000000)]
    addr, at = ipam.pick("10.42.0.0/16", peer_id, claims, now_ms=...)
    owner = ipam.winner(claims, "10.42.7.9")                  # the Claim that holds it
"""
import dataclasses
import time
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from ._native import check, ffi, lib


@dataclasses.dataclass(frozen=True)
class Claim:
    """peer_id's claim on address, first made at claimed_ms (Unix ms; 0: pinned)."""
    peer_id: str
    address: str
    claimed_ms: int = 0


def _out() -> Any:
    return ffi.new("char[]", lib.W2W_IP_TEXT_MAX)


def candidate(network_range: str, peer_id: str, i: int) -> str:
    """The i-th candidate (0 first) of the node peer_id in network_range."""
    out = _out()
    n = check(lib.w2w_ipam_candidate(out, lib.W2W_IP_TEXT_MAX, network_range.encode(), peer_id.encode(), i),
              f"ipam candidate {network_range} {peer_id}")
    return str(ffi.string(out, n).decode())


def candidates(network_range: str, peer_id: str, count: int) -> List[str]:
    """The first count candidates, in the order the node tries them."""
    return [candidate(network_range, peer_id, i) for i in range(count)]


class _Claims:
    """A struct w2w_ipam_claims filled from Claim objects (freed on exit)."""

    def __init__(self, claims: Iterable[Claim]) -> None:
        out = ffi.new("struct w2w_ipam_claims **")
        check(lib.w2w_ipam_claims_new(out))
        self.ptr = out[0]
        try:
            for c in claims:
                check(lib.w2w_ipam_claims_add(self.ptr, c.peer_id.encode(), c.address.encode(), c.claimed_ms),
                      f"ipam claim {c.address} by {c.peer_id}")
        except BaseException:
            lib.w2w_ipam_claims_free(self.ptr)
            raise

    def __enter__(self) -> Any:
        return self.ptr

    def __exit__(self, *exc: object) -> None:
        lib.w2w_ipam_claims_free(self.ptr)


def winner(claims: Sequence[Claim], address: str) -> Optional[Claim]:
    """The conflict rule: of the claims on address, the one that holds it (the
    oldest; on equal times the lower binary peer ID); None when nobody claims it."""
    with _Claims(claims) as c:
        r = int(lib.w2w_ipam_winner(c, address.encode()))
    if r == -2:  # -ENOENT
        return None
    return claims[check(r, f"ipam winner {address}")]


def pick(network_range: str, peer_id: str, claims: Iterable[Claim] = (), *, current: Optional[str] = None,
         current_ms: int = 0, now_ms: Optional[int] = None) -> Tuple[str, int]:
    """Which address the node peer_id holds given the others' claims (its own in
    claims are ignored), and since when: (address, claimed_ms). current: the
    address it holds, claimed at current_ms, kept unless a claim on it wins;
    else its first free candidate, claimed at now_ms (default: now).
    LimitError when the range is full."""
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    out = _out()
    at = ffi.new("uint64_t *")
    with _Claims(claims) as c:
        n = check(lib.w2w_ipam_pick(out, lib.W2W_IP_TEXT_MAX, at, network_range.encode(), peer_id.encode(), c,
                                    current.encode() if current is not None else ffi.NULL, current_ms, now_ms),
                  f"ipam pick {network_range} {peer_id}")
    return str(ffi.string(out, n).decode()), int(at[0])
