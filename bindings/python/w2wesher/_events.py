# SPDX-License-Identifier: MIT
"""Event fan-out shared by Node and P2PHost: callbacks, async iteration and
waiting for one matching event. Events arrive as Python objects copied inside
the library's callback and are dispatched from the asyncio loop."""
import asyncio
import collections

from ._native import ffi, text


@ffi.callback("void(void *, int, const char *)")
def log_cb(ud, level, msg):
    """The w2w_log_fn of Node and P2PHost (ud: their handle): the line goes to
    obj._log_fn from the asyncio loop, outside the library (a call back into
    the library from inside a log callback would get -EBUSY)."""
    obj = ffi.from_handle(ud)
    try:
        if obj._log_fn:
            obj._loop._dispatch(obj._log_fn, level, text(msg))
    except BaseException as e:
        obj._loop._report(e, "log")


class EventSource:
    def _events_init(self, loop, on_event):
        self._loop = loop
        self._callbacks = [on_event] if on_event else []
        self._queues = []
        self._waiters = []
        self._closed = False

    def add_callback(self, fn):
        """fn(event) for every event, called from the asyncio loop (or at once in blocking mode)."""
        self._callbacks.append(fn)

    def remove_callback(self, fn):
        self._callbacks.remove(fn)

    def _deliver(self, ev):
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

    def expect(self, pred):
        """A future for the first event from now on with pred(event) true:
        registered at once, so call it before the call that causes the event."""
        fut = self._loop.aio.create_future()
        self._waiters.append((pred, fut))
        return fut

    async def wait_for(self, pred, timeout=None, fut=None):
        """Waits for the first event (from now on, or since expect() made fut) with pred(event) true."""
        fut = fut or self.expect(pred)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not fut]

    def events(self):
        """An async iterator over the events from now on (ends when the object is closed)."""
        return _EventIter(self)

    def __aiter__(self):
        return self.events()

    def _events_close(self):
        self._closed = True
        for q in self._queues:
            if q.wakeup is not None and not q.wakeup.done():
                q.wakeup.set_result(None)
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()


class _Queue(collections.deque):
    wakeup = None


class _EventIter:
    def __init__(self, src):
        self._src = src
        self._q = _Queue()
        src._queues.append(self._q)

    def __aiter__(self):
        return self

    async def __anext__(self):
        while not self._q:
            if self._src._closed:
                self._detach()
                raise StopAsyncIteration
            self._q.wakeup = self._src._loop.aio.create_future()
            try:
                await self._q.wakeup
            finally:
                self._q.wakeup = None
        return self._q.popleft()

    def _detach(self):
        if self._q in self._src._queues:
            self._src._queues.remove(self._q)

    async def aclose(self):
        self._detach()
