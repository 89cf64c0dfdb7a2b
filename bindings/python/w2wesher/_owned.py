# SPDX-License-Identifier: MIT
"""Ownership of a native handle, shared by the wrapper classes: close() frees
it once with the class's w2w_*_free (named in _FREE), and so does garbage
collection. Loop-bound handles (Node, P2PHost, wg.Device) are freed from the
loop, never from inside one of its callbacks, and never after the loop."""
from typing import TYPE_CHECKING, Any, TypeVar

from ._native import StateError, lib

if TYPE_CHECKING:
    from .loop import Loop

T = TypeVar("T")


class _Handle:
    _FREE = ""  # the lib function that frees the handle, e.g. "w2w_config_free"
    _WHAT = "handle"  # for the error once closed: "the <_WHAT> is closed"
    _ptr: Any = None

    @property
    def ptr(self) -> Any:
        """The native pointer; StateError (W2W_ESTATE) once closed."""
        if self._ptr is None:
            raise StateError(lib.W2W_ESTATE, f"the {self._WHAT} is closed")
        return self._ptr


class Owned(_Handle):
    """A handle not bound to a loop (w2wesher.Config, wg.Config); a context manager."""

    def close(self) -> None:
        if self._ptr is not None:
            getattr(lib, self._FREE)(self._ptr)
            self._ptr = None

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


class LoopOwned(_Handle):
    """A handle on a Loop; an async context manager."""

    _loop: "Loop"

    def _after_free(self) -> None:
        """After the free (from the loop): what else the object lets go of."""

    def close(self) -> None:
        if self._ptr is None:
            return

        def free() -> None:
            if self._ptr is not None:
                getattr(lib, self._FREE)(self._ptr)
                self._ptr = None
            self._after_free()
        self._loop._defer(free)

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._ptr is not None and self._loop._ptr is not None:
                getattr(lib, self._FREE)(self._ptr)
                self._ptr = None
        except Exception:
            pass
