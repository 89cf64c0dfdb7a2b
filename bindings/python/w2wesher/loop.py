# SPDX-License-Identifier: MIT
"""The event-loop contract (include/w2wesher/loop.h) on asyncio.

Loop() uses the push contract: the library calls back when its interest in an
fd changes (-> loop.add_reader/add_writer/remove_*) and when its earliest
timer changes (-> loop.call_at); the ready fds and due timers go back in
through w2w_loop_process(). Loop.blocking() is the pull/batteries style for
code without asyncio: run(timeout) drives w2w_loop_run().
"""
import asyncio
import errno
import weakref
from typing import Any, Callable, Iterable, List, Optional, Protocol, Set, Tuple

from ._native import StateError, W2wError, check, error, ffi, lib


class _Closable(Protocol):
    def close(self) -> None: ...


def _watch_cb(ud: Any, fd: int, events: int) -> None:
    loop = ffi.from_handle(ud)
    try:
        loop._watch(fd, events)
    except BaseException as e:  # never let an exception unwind through C
        loop._report(e, "watch")


def _deadline_cb(ud: Any, when_us: int) -> None:
    loop = ffi.from_handle(ud)
    try:
        loop._set_deadline(when_us)
    except BaseException as e:
        loop._report(e, "set_deadline")


_watch_c = ffi.callback("void(void *, int, int)")(_watch_cb)
_deadline_c = ffi.callback("void(void *, int64_t)")(_deadline_cb)

_defaults: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Loop]" = weakref.WeakKeyDictionary()


class Loop:
    """A struct w2w_loop. Library objects (Node, P2PHost, wg.Device) are
    created on a Loop and must be closed before it; Loop.close() closes those
    still open. `async with Loop() as loop:` closes it on exit.

    asyncio mode (the default) needs a running asyncio loop, or one passed as
    aio_loop. Event callbacks of objects on this Loop run from the asyncio
    loop (call_soon) right after the library returned, so they may call any
    method, including close(). Loop.default() is one shared Loop per asyncio
    loop, used by objects created without one.
    """

    def __init__(self, aio_loop: Optional[asyncio.AbstractEventLoop] = None, *, _blocking: bool = False) -> None:
        self._ptr: Any = None
        self._blocking = _blocking
        self._aio: Optional[asyncio.AbstractEventLoop] = None if _blocking else (
            aio_loop or asyncio.get_running_loop())
        self._handle = ffi.new_handle(self)
        self._readers: Set[int] = set()
        self._writers: Set[int] = set()
        self._timer: Optional[asyncio.TimerHandle] = None
        self._processing = False
        self._deferred: List[Callable[[], None]] = []
        self._objects: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self.errors: List[BaseException] = []  # exceptions raised by callbacks in blocking mode
        if _blocking:
            self._ops = ffi.NULL
        else:
            self._ops = ffi.new("struct w2w_loop_ops *")
            self._ops.version = lib.W2W_LOOP_OPS_VERSION
            self._ops.ud = self._handle
            self._ops.watch = _watch_c
            self._ops.set_deadline = _deadline_c
        out = ffi.new("struct w2w_loop **")
        check(lib.w2w_loop_new(out, self._ops), "loop new")
        self._ptr = out[0]

    @classmethod
    def blocking(cls) -> "Loop":
        """A loop without asyncio (pull mode): drive it with run()."""
        return cls(_blocking=True)

    @classmethod
    def default(cls) -> "Loop":
        """The Loop of the running asyncio loop, made on first use and shared."""
        aio = asyncio.get_running_loop()
        loop = _defaults.get(aio)
        if loop is None or loop._ptr is None:
            loop = cls(aio)
            _defaults[aio] = loop
        return loop

    @property
    def aio(self) -> Optional[asyncio.AbstractEventLoop]:
        """The asyncio loop (None in blocking mode)."""
        return self._aio

    @property
    def asyncio_loop(self) -> asyncio.AbstractEventLoop:
        if self._aio is None:
            raise StateError(lib.W2W_ESTATE, "a blocking Loop has no asyncio loop")
        return self._aio

    @property
    def ptr(self) -> Any:
        if self._ptr is None:
            raise StateError(lib.W2W_ESTATE, "the loop is closed")
        return self._ptr

    # ---- push contract -> asyncio ----
    def _watch(self, fd: int, events: int) -> None:
        aio = self.asyncio_loop
        if events & lib.W2W_IO_READ:
            if fd not in self._readers:
                aio.add_reader(fd, self._ready, fd, lib.W2W_IO_READ)
                self._readers.add(fd)
        elif fd in self._readers:
            aio.remove_reader(fd)
            self._readers.discard(fd)
        if events & lib.W2W_IO_WRITE:
            if fd not in self._writers:
                aio.add_writer(fd, self._ready, fd, lib.W2W_IO_WRITE)
                self._writers.add(fd)
        elif fd in self._writers:
            aio.remove_writer(fd)
            self._writers.discard(fd)

    def _set_deadline(self, when_us: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when_us < 0:
            return
        aio = self.asyncio_loop
        # Absolute w2w_now_us() time -> the asyncio clock (both monotonic, other origins).
        delay = max(0.0, (when_us - lib.w2w_now_us()) / 1e6)
        self._timer = aio.call_at(aio.time() + delay, self._due)

    def _due(self) -> None:
        self._timer = None
        self.process()

    def _ready(self, fd: int, events: int) -> None:
        self.process(((fd, events),))

    def process(self, ready: Iterable[Tuple[int, int]] = ()) -> None:
        """w2w_loop_process(): handles the ready (fd, W2W_IO_*) pairs and runs due timers."""
        if self._ptr is None:
            return
        pairs = list(ready)
        w = ffi.new("struct w2w_watch[]", max(len(pairs), 1))
        for i, (fd, ev) in enumerate(pairs):
            w[i].fd = fd
            w[i].events = ev
        self._processing = True
        try:
            r = int(lib.w2w_loop_process(self._ptr, w, len(pairs)))
        finally:
            self._processing = False
        check(r, "w2w_loop_process")

    def _report(self, exc: BaseException, where: str) -> None:
        if self._aio is not None:
            self._aio.call_exception_handler({"message": f"w2wesher {where} callback failed", "exception": exc})
        else:
            self.errors.append(exc)

    def _dispatch(self, fn: Callable[..., Any], *args: Any) -> None:
        """Runs a user callback outside the library: call_soon with asyncio, at once otherwise."""
        if self._aio is not None:
            self._aio.call_soon(self._call_user, fn, args)
        else:
            self._call_user(fn, args)

    def _call_user(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as e:
            self._report(e, "event")

    def _defer(self, fn: Callable[[], None]) -> None:
        """Runs fn now, or after w2w_loop_process() returns when inside it."""
        if not self._processing:
            fn()
        elif self._aio is not None:
            self._aio.call_soon(fn)
        else:
            self._deferred.append(fn)

    # ---- pull / batteries ----
    def run(self, timeout: Optional[float] = None) -> bool:
        """Blocking mode: w2w_loop_run() until break_() or timeout seconds (None: no
        limit). True when broken, False on timeout. Event callbacks run inside
        the library here, as in C: calls that would re-enter (Node.stop(), ...)
        raise W2wOSError(-EBUSY); break_() and act after run() returns. close() is
        deferred until run() returns."""
        if not self._blocking:
            raise StateError(lib.W2W_ESTATE, "run() is for Loop.blocking(); asyncio drives this loop")
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        self._processing = True
        try:
            r = int(lib.w2w_loop_run(self.ptr, ms))
        finally:
            self._processing = False
        while self._deferred:
            self._deferred.pop(0)()
        check(r, "w2w_loop_run")
        if self.errors:
            raise self.errors.pop(0)
        return r == 1

    def break_(self) -> None:
        lib.w2w_loop_break(self.ptr)

    def watches(self) -> List[Tuple[int, int]]:
        """The (fd, W2W_IO_*) pairs the library wants watched (pull mode)."""
        n = int(lib.w2w_loop_get_watches(self.ptr, ffi.NULL, 0))
        w = ffi.new("struct w2w_watch[]", max(n, 1))
        n = min(n, int(lib.w2w_loop_get_watches(self.ptr, w, n)))
        return [(int(w[i].fd), int(w[i].events)) for i in range(n)]

    def timeout(self) -> int:
        """Milliseconds until the next deadline (poll()'s timeout), -1 for none."""
        return int(lib.w2w_loop_timeout(self.ptr))

    @staticmethod
    def now_us() -> int:
        return int(lib.w2w_now_us())

    # ---- life cycle ----
    def _register(self, obj: _Closable) -> None:
        self._objects.add(obj)

    def close(self) -> None:
        """Closes the objects still on this loop, then frees the loop."""
        if self._ptr is None:
            return
        if self._processing:
            raise error(-errno.EBUSY, "Loop.close() from inside an event callback")
        for obj in list(self._objects):
            obj.close()
        if self._aio is not None:
            for fd in list(self._readers):
                self._aio.remove_reader(fd)
            for fd in list(self._writers):
                self._aio.remove_writer(fd)
        self._readers.clear()
        self._writers.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lib.w2w_loop_free(self._ptr)
        self._ptr = None

    def __enter__(self) -> "Loop":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Loop":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


__all__ = ["Loop", "W2wError"]
