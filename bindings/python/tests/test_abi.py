# SPDX-License-Identifier: MIT
"""The hand-written CDEF (w2wesher/_native.py) against the real headers, so a
header change the bindings miss fails here instead of corrupting memory:

- every function the CDEF declares has the C type the headers give it (the
  headers preprocessed by the C compiler, W2W_ABI_HEADERS, parsed by cffi);
- every struct it declares has the size and field offsets the C compiler
  gives it (tests/abi/abi_probe.c, W2W_ABI_PROBE), and the headers' fields;
- every constant it declares has the headers' value.
Both files are built by meson (bindings/meson.build)."""
import json
import os
import re
import subprocess

import pytest
from cffi import FFI

from w2wesher import _native
from w2wesher._native import CDEF, ffi, lib

PROBE = os.environ.get("W2W_ABI_PROBE")
HEADERS = os.environ.get("W2W_ABI_HEADERS")
pytestmark = pytest.mark.skipif(not (PROBE and HEADERS), reason="W2W_ABI_PROBE/W2W_ABI_HEADERS not set (run by meson)")


@pytest.fixture(scope="module")
def probe():
    return json.loads(subprocess.run([PROBE], capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="module")
def headers():
    """The public headers as cffi reads them, bound to the same library."""
    with open(HEADERS) as f:
        text = f.read()
    hffi = FFI()
    hffi.cdef(text)
    return hffi, hffi.dlopen(_native.LIB_PATH)


def cdef_structs():
    return re.findall(r"^struct (w2w_\w+) \{", CDEF, re.M)


def cdef_constants():
    """Every enumerator and #define the CDEF declares, as cffi parsed it."""
    return sorted(n for n in dir(lib) if n.startswith("W2W_"))


def test_functions_match_headers(headers):
    hffi, hlib = headers
    assert len(_native.DECLARED) > 100
    for name in _native.DECLARED:
        assert hasattr(hlib, name), f"{name}: declared in the CDEF, not in the headers"
        ours = ffi.typeof(getattr(lib, name)).cname
        theirs = hffi.typeof(getattr(hlib, name)).cname
        assert ours == theirs, f"{name}: CDEF says {ours}, the headers {theirs}"


def test_structs_match_compiler(probe, headers):
    hffi, _ = headers
    structs = cdef_structs()
    assert structs, "no struct found in the CDEF"
    for s in structs:
        assert s in probe["sizeof"], f"struct {s}: add it to tests/abi/abi_probe.c"
        assert ffi.sizeof(f"struct {s}") == probe["sizeof"][s], s
        fields = ffi.typeof(f"struct {s}").fields
        compiled = sorted(k.split(".", 1)[1] for k in probe["offsetof"] if k.startswith(s + "."))
        assert sorted(n for n, _ in fields) == compiled, f"struct {s}: fields differ from abi_probe.c"
        for name, field in fields:
            assert field.offset == probe["offsetof"][f"{s}.{name}"], f"{s}.{name}"
        theirs = [(n, f.type.cname) for n, f in hffi.typeof(f"struct {s}").fields]
        assert [(n, f.type.cname) for n, f in fields] == theirs, f"struct {s}: CDEF fields differ from the header"


def test_constants_match(probe, headers):
    _, hlib = headers
    names = cdef_constants()
    assert "W2W_LOOP_OPS_VERSION" in names and "W2W_EPARSE" in names
    for name in names:
        assert name in probe["const"], f"{name}: add it to tests/abi/abi_probe.c"
        assert getattr(lib, name) == probe["const"][name], name
        if hasattr(hlib, name):  # enum constants (macros are gone after the preprocessor)
            assert getattr(hlib, name) == probe["const"][name], name


def test_probe_covers_only_real_names(probe):
    """The probe is itself C: a name there that the CDEF lacks means the CDEF
    dropped something the headers still have."""
    missing = set(probe["const"]) - set(cdef_constants())
    assert not missing, f"constants in the headers but not in the CDEF: {sorted(missing)}"


def _header_text():
    with open(HEADERS) as f:
        return f.read()


def test_cdef_declares_every_header_function():
    """Completeness, the other way round: a function the headers export that
    the CDEF lacks is a binding that was forgotten (fails here, not silently)."""
    typedefs = set(re.findall(r"\(\s*\*\s*(w2w_\w+)\s*\)", _header_text()))
    theirs = set(re.findall(r"\b(w2w_\w+)\s*\(", _header_text())) - typedefs
    missing = sorted(theirs - set(_native.DECLARED))
    assert not missing, f"functions in the headers but not in the CDEF: {missing}"


def test_cdef_declares_every_header_enum_constant(headers):
    """Every enumerator of the headers (macros are checked through the probe)
    is in the CDEF with the same value."""
    _, hlib = headers
    theirs = set(re.findall(r"\b(W2W_[A-Z0-9_]+)\s*=", _header_text()))
    assert "W2W_ADMISSION_TEXT_MAX" in theirs
    missing = sorted(theirs - set(cdef_constants()))
    assert not missing, f"enum constants in the headers but not in the CDEF: {missing}"
    for name in theirs:
        assert getattr(lib, name) == getattr(hlib, name), name
