# SPDX-License-Identifier: MIT
"""The package's version: the project's (meson.build `version:`), checked by
tests/test_package.py. `meson install` installs a generated copy of this file
that also names the library directory it installed libw2wesher into."""
from typing import Optional

__version__ = "0.1.0"
LIBDIR: Optional[str] = None
