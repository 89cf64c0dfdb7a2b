#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Meson's entry to the pytest files: run.py TEST_FILE [pytest args].
Exits 77 (SKIP) when python3-cffi or python3-pytest is missing, or when every
test of the file was skipped (see conftest.py)."""
import os
import sys

if os.environ.get("W2W_SKIP"):
    print(f"SKIP: {os.environ['W2W_SKIP']}")
    sys.exit(77)
try:
    import cffi  # noqa: F401
    import pytest
except ImportError as e:
    print(f"SKIP: {e} (apt-get install python3-cffi python3-pytest)")
    sys.exit(77)

sys.dont_write_bytecode = True
sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider",
                      "--rootdir", os.path.dirname(os.path.abspath(__file__))] + sys.argv[1:]))
