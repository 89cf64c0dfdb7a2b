# SPDX-License-Identifier: MIT
"""Event fan-out shared by Node and P2PHost: callbacks, async iteration and
waiting for one matching event; log lines to the `logging` module. Events
arrive as Python objects copied inside the library's callback and are
dispatched from the asyncio loop."""
import asyncio
import collections
import logging
from typing import TYPE_CHECKING, Any, Callable, Deque, Generic, List, Optional, Tuple, TypeVar

from ._native import ffi, text

if TYPE_CHECKING:
    from .loop import Loop

E = TypeVar("E")
LogFn = Callable[[int, str], None]

# The package's logger: library log lines and (at DEBUG) events go there
# unless a log= callback is given. Children: w2wesher.node, w2wesher.p2p, w2wesher.wg.
logger = logging.getLogger("w2wesher")

# syslog levels (W2W_LOG_*) <-> logging levels
_TO_LOGGING = {3: logging.ERROR, 4: logging.WARNING, 5: logging.INFO, 6: logging.INFO, 7: logging.DEBUG}


def logging_level(w2w_level: int) -> int:
    """The logging level of a W2W_LOG_* level."""
    return _TO_LOGGING.get(w2w_level, logging.ERROR if w2w_level < 3 else logging.DEBUG)


def w2w_level_for(log: logging.Logger) -> int:
    """The most verbose W2W_LOG_* level a logger would emit (no point asking
    the library for lines the logger drops)."""
    eff = log.getEffectiveLevel()
    for w2w in (7, 6, 4, 3):
        if _TO_LOGGING[w2w] >= eff:
            return w2w
    return 3


def _log_cb(ud: Any, level: int, msg: Any) -> None:
    """The w2w_log_fn of Node, P2PHost and WgDevice (ud: their handle): the
    line goes to obj._log_fn from the asyncio loop, outside the library (a
    call back into the library from inside a log callback would get -EBUSY)."""
    obj = ffi.from_handle(ud)
    try:
        if obj._log_fn:
            obj._loop._dispatch(obj._log_fn, level, text(msg))
    except BaseException as e:
        obj._loop._report(e, "log")


log_cb = ffi.callback("void(void *, int, const char *)")(_log_cb)


def logger_sink(log: logging.Logger) -> LogFn:
    """A log= callback that hands library lines to a logging.Logger."""
    def sink(level: int, message: str) -> None:
        log.log(logging_level(level), "%s", message)
    return sink


class _Queue(Deque[E]):
    wakeup: "Optional[asyncio.Future[None]]" = None


class EventSource(Generic[E]):
    _loop: "Loop"

    def _events_init(self, loop: "Loop", on_event: Optional[Callable[[E], Any]]) -> None:
        self._loop = loop
        self._callbacks: List[Callable[[E], Any]] = [on_event] if on_event else []
        self._queues: List[_Queue[E]] = []
        self._waiters: List[Tuple[Callable[[E], bool], "asyncio.Future[E]"]] = []
        self._closed = False

    def add_callback(self, fn: Callable[[E], Any]) -> None:
        """fn(event) for every event, called from the asyncio loop (or at once in blocking mode)."""
        self._callbacks.append(fn)

    def remove_callback(self, fn: Callable[[E], Any]) -> None:
        self._callbacks.remove(fn)

    def _deliver(self, ev: E) -> None:
        """Inside the library's callback: hand ev to everyone, outside the library."""
        for fn in self._callbacks:
            self._loop._dispatch(fn, ev)
        for q in self._queues:
            q.append(ev)
            if q.wakeup is not None and not q.wakeup.done():
                q.wakeup.set_result(None)
        for w in list(self._waiters):
            pred, fut = w
            if fut.done():
                self._waiters.remove(w)
            elif pred(ev):
                fut.set_result(ev)
                self._waiters.remove(w)

    def expect(self, pred: Callable[[E], bool]) -> "asyncio.Future[E]":
        """A future for the first event from now on with pred(event) true:
        registered at once, so call it before the call that causes the event."""
        fut: "asyncio.Future[E]" = self._loop.asyncio_loop.create_future()
        self._waiters.append((pred, fut))
        return fut

    async def wait_for(self, pred: Callable[[E], bool], timeout: Optional[float] = None,
                       fut: "Optional[asyncio.Future[E]]" = None) -> E:
        """Waits for the first event (from now on, or since expect() made fut) with pred(event) true."""
        fut = fut or self.expect(pred)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not fut]

    def events(self) -> "EventIter[E]":
        """An async iterator over the events from now on (ends when the object is closed)."""
        return EventIter(self)

    def __aiter__(self) -> "EventIter[E]":
        return self.events()

    def _events_close(self) -> None:
        self._closed = True
        for q in self._queues:
            if q.wakeup is not None and not q.wakeup.done():
                q.wakeup.set_result(None)
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()


class EventIter(Generic[E]):
    """`async for ev in obj.events()`: every event from its creation on."""

    def __init__(self, src: EventSource[E]) -> None:
        self._src = src
        self._q: _Queue[E] = _Queue()
        src._queues.append(self._q)

    def __aiter__(self) -> "EventIter[E]":
        return self

    async def __anext__(self) -> E:
        while not self._q:
            if self._src._closed:
                self._detach()
                raise StopAsyncIteration
            self._q.wakeup = self._src._loop.asyncio_loop.create_future()
            try:
                await self._q.wakeup
            finally:
                self._q.wakeup = None
        return self._q.popleft()

    def _detach(self) -> None:
        if self._q in self._src._queues:
            self._src._queues.remove(self._q)

    async def aclose(self) -> None:
        self._detach()


__all__ = ["EventIter", "EventSource", "LogFn", "log_cb", "logger", "logger_sink", "logging_level",
           "w2w_level_for"]
