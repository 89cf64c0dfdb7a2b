#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The bash completion script (tools/completion/w2wesher.bash) in a real bash.

Usage: test_completion.py W2WESHER_BINARY COMPLETION_SCRIPT

Sources the script in `bash --norc`, checks `complete -p`, then drives the
completion function the way readline does (COMP_WORDS/COMP_CWORD) and
compares against the tool's own --help: every subcommand it lists completes,
and so do the options of a command and the second-level verbs.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

BIN = SCRIPT = None


def bash(code):
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", code], capture_output=True, text=True,
                       timeout=60, env={"PATH": os.path.dirname(BIN) + ":/usr/bin:/bin", "HOME": "/nonexistent"})
    if r.returncode != 0:
        raise AssertionError("bash failed (%d): %s" % (r.returncode, r.stderr))
    return r.stdout


def complete(*words):
    """Completions for the command line `w2wesher words...` with the cursor on the last word."""
    quoted = " ".join("'%s'" % w for w in ("w2wesher",) + words)
    out = bash("source '%s'\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_w2wesher\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n"
               % (SCRIPT, quoted, len(words)))
    return [l for l in out.splitlines() if l]


class Completion(unittest.TestCase):
    def test_registered(self):
        out = bash("source '%s'\ncomplete -p w2wesher" % SCRIPT)
        self.assertEqual(out.strip(), "complete -F _w2wesher w2wesher")

    def test_every_command(self):
        helptext = subprocess.run([BIN, "--help"], capture_output=True, text=True, check=True).stdout
        cmds = re.findall(r"^  ([a-z][a-z0-9-]*) ", helptext, re.M)
        for c in ("status", "join-info", "join", "leave", "wg", "config", "genkey"):
            self.assertIn(c, cmds)
        got = complete("")
        for c in cmds:
            self.assertIn(c, got)
        self.assertEqual(sorted(complete("jo")), ["join", "join-info"])
        self.assertEqual(complete("statu"), ["status"])
        # compgen itself, as a user's own completion would call it.
        out = bash("source '%s'\ncompgen -W \"$(_w2wesher_commands w2wesher)\" -- le" % SCRIPT)
        self.assertEqual(out.split(), ["leave"])

    def test_cli_md_lists_every_command(self):
        """docs/cli.md has a section heading naming each subcommand of --help."""
        helptext = subprocess.run([BIN, "--help"], capture_output=True, text=True, check=True).stdout
        cmds = re.findall(r"^  ([a-z][a-z0-9-]*) ", helptext, re.M)
        doc = open(os.path.join(os.path.dirname(os.path.dirname(SCRIPT)), "..", "docs", "cli.md")).read()
        headings = " ".join(re.findall(r"^### (.*)$", doc, re.M))
        missing = [c for c in cmds if "`%s" % c not in headings and "`%s`" % c not in headings]
        self.assertEqual(missing, [], "docs/cli.md has no section for these subcommands")
        for verb in ("wg show|showconf|syncconf", "config check", "config init", "p2p ping", "p2p listen"):
            self.assertIn(verb, headings)

    def test_verbs(self):
        self.assertEqual(sorted(complete("wg", "")), ["show", "showconf", "syncconf"])
        self.assertEqual(sorted(complete("wg", "show")), ["show", "showconf"])
        self.assertEqual(sorted(complete("config", "")), ["check", "init"])
        self.assertEqual(sorted(complete("p2p", "")), ["listen", "ping"])
        self.assertEqual(complete("help", "joi"), ["join", "join-info"])

    def test_options(self):
        got = complete("status", "--")
        for o in ("--json", "--socket", "--config", "--interface", "--help"):
            self.assertIn(o, got)
        self.assertEqual(complete("wg", "syncconf", "wesh0", "--back"), ["--backend"])
        self.assertEqual(sorted(complete("wg", "show", "--backend", "")), ["auto", "kernel", "userspace"])

    def test_files(self):
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "wesh0.conf")
            open(f, "w").close()
            self.assertEqual(complete("status", "--config", os.path.join(d, "wes")), [f])
            self.assertEqual(complete("config", "check", os.path.join(d, "wes")), [f])


if __name__ == "__main__":
    BIN, SCRIPT = sys.argv[1:3]
    unittest.main(argv=sys.argv[:1], verbosity=2)
