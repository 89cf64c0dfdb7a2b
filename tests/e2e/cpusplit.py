# SPDX-License-Identifier: MIT
"""A fair measurement of a daemon under a local attack (issue 15 item 2).

On a test machine the attacker's loop runs on the same CPUs as the daemon and
takes CPU time from it, which a real attacker (on another machine) cannot: the
"shared" figures then measure the scheduler as much as the daemon. confine()
splits the CPUs: the attacker gets the last CPU; the daemon (every thread),
the test process and what it starts (the legitimate pinger) get the others.
The kernel still does the attacker's TCP work (SYN, accept queue, RST) partly
on the daemon's CPU, as it would on a real server.

With fewer than 2 usable CPUs there is nothing to split: confine() says so
and the measurement is the shared one."""
import contextlib
import os


def cpus():
    return sorted(os.sched_getaffinity(0))


def available():
    return len(cpus()) >= 2


def pin(pid, cpuset):
    """Every thread of pid (a daemon may have helper threads)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    for t in tids:
        try:
            os.sched_setaffinity(t, cpuset)
        except OSError:
            pass  # a thread that just ended


class Split:
    """attacker_preexec: pass as preexec_fn to the attacker's Popen."""

    def __init__(self, ours, theirs):
        self.ours, self.theirs = set(ours), set(theirs)

    def attacker_preexec(self):
        if self.theirs:
            os.sched_setaffinity(0, self.theirs)

    def describe(self):
        if not self.theirs:
            return "shared CPUs"
        return f"attacker on CPU {sorted(self.theirs)}, daemon and pinger on CPU {sorted(self.ours)}"


@contextlib.contextmanager
def confine(daemon_pids, enabled=True):
    """Within the block, the daemons and this process (and so the pingers it
    starts) run on every CPU but the last; Split.attacker_preexec puts the
    attacker on the last one. enabled=False (or one CPU): a no-op Split whose
    attacker shares every CPU, for the "shared" figures."""
    all_cpus = cpus()
    if not enabled or len(all_cpus) < 2:
        yield Split(all_cpus, ())
        return
    ours, theirs = set(all_cpus[:-1]), {all_cpus[-1]}
    before = {pid: os.sched_getaffinity(pid) for pid in daemon_pids}
    me = os.sched_getaffinity(0)
    try:
        for pid in daemon_pids:
            pin(pid, ours)
        os.sched_setaffinity(0, ours)
        yield Split(ours, theirs)
    finally:
        os.sched_setaffinity(0, me)
        for pid, cs in before.items():
            pin(pid, cs)


def stats(samples):
    """median, p95 (nearest rank) and max of a list of seconds, in ms."""
    s = sorted(samples)
    if not s:
        return {"median": 0, "p95": 0, "max": 0}
    med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
    p95 = s[min(len(s) - 1, max(0, -(-95 * len(s) // 100) - 1))]
    return {"median": round(med * 1000, 1), "p95": round(p95 * 1000, 1), "max": round(s[-1] * 1000, 1)}
