# SPDX-License-Identifier: MIT
"""pytest setup for the bindings: import the package from this checkout; find
the library (W2W_LIB) and the CLI (W2W_CLI) of a build directory; a run in
which every test was skipped exits 77 so meson reports SKIP, not OK."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))


if not os.environ.get("W2W_LIB"):
    # Fixed names, not "any build*": a sanitizer build cannot be loaded into a plain python.
    for d in ("build", "build-py", "build-test"):
        lib = os.path.join(ROOT, d, "lib", "core", "libw2wesher.so")
        if os.path.exists(lib):
            os.environ["W2W_LIB"] = lib
            break
if not os.environ.get("W2W_CLI"):
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.environ.get("W2W_LIB", ""))))
    cli = os.path.join(build, "tools", "w2wesher")
    if os.path.exists(cli):
        os.environ["W2W_CLI"] = cli


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    stats = reporter.stats
    ran = sum(len(stats.get(k, [])) for k in ("passed", "failed", "error", "xfailed", "xpassed"))
    if ran == 0 and stats.get("skipped"):
        session.exitstatus = 77
