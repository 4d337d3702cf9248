"""Sessions with an implementation under test: a subprocess, or a Python adapter in process.

Both kinds offer the same four calls, so the runner and the interop driver are
written once (spec chapter 9, "Transport"):

    start() -> Capabilities      handshake
    submit(request) -> id        queue one operation request (may pipeline)
    receive() -> (id, Answer)    the answer to the oldest unanswered request
    restart() / close()

Any breach of the protocol raises `ImplementationFault` with the reason; the
session is then unusable until `restart()`. Nothing here can block forever:
every wait has the per-request timeout, and writes go through a thread so a
child that stops reading cannot stall the runner.
"""

from __future__ import annotations

import collections
import importlib
import json
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from mpksa.wire.codec import Json

from .protocol import (
    Answer,
    Capabilities,
    ImplementationFault,
    capabilities_request,
    parse_answer,
    parse_capabilities,
    parse_line,
    request_message,
)

ADAPTER_PREFIX = "adapter:"
DEFAULT_TIMEOUT = 30.0
_STDERR_LINES = 12
_EOF = object()


class Session(Protocol):
    label: str
    capabilities: Capabilities
    restartable: bool

    def start(self) -> Capabilities: ...

    def submit(self, request: Json) -> int: ...

    def receive(self) -> tuple[int, Answer, float]: ...

    def outstanding(self) -> int: ...

    def restart(self) -> Capabilities: ...

    def close(self) -> None: ...


def encode_line(message: Json) -> bytes:
    """One message as one line; NaN and infinities never travel as bare JSON numbers."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


class SubprocessSession:
    """An implementation as a child process speaking JSON lines on stdin/stdout.

    stderr is drained and its last lines kept, to explain a crash. The child
    runs in its own process group, so a hung child and whatever it spawned are
    killed together.
    """

    restartable = True

    def __init__(self, command: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.command = command
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("the implementation command is empty")
        self.label = command
        self.timeout = timeout
        self.capabilities = Capabilities("unknown", frozenset(), frozenset(), frozenset())
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[object] = queue.Queue()
        self._writes: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self._pending: collections.deque[tuple[int, float]] = collections.deque()
        self._next_id = 1
        self._last_answer = 0.0

    # -- process life --------------------------------------------------------------------

    def start(self) -> Capabilities:
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise ImplementationFault(f"could not start {self.command!r}: {exc}") from None
        self._lines, self._writes = queue.Queue(), queue.Queue()
        self._stderr.clear()
        self._pending.clear()
        proc = self._proc
        threading.Thread(target=self._read_stdout, args=(proc, self._lines), daemon=True).start()
        threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True).start()
        threading.Thread(target=self._write_stdin, args=(proc, self._writes), daemon=True).start()
        self._writes.put(encode_line(capabilities_request()))
        message = self._next_message(time.monotonic(), "the capabilities request")
        self.capabilities = parse_capabilities(message, wire=True)
        return self.capabilities

    def restart(self) -> Capabilities:
        before = self.capabilities
        self._kill()
        after = self.start()
        if after != before:
            raise ImplementationFault("declared different capabilities after a restart")
        return after

    def close(self) -> None:
        """EOF on stdin asks the child to exit; it gets a short grace period, then is killed."""
        if self._proc is None:
            return
        self._writes.put(None)
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._writes.put(None)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group we created in start()
            except (ProcessLookupError, PermissionError):
                proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    # -- threads ---------------------------------------------------------------------------

    @staticmethod
    def _read_stdout(proc: subprocess.Popen[bytes], lines: queue.Queue[object]) -> None:
        assert proc.stdout is not None
        try:
            for raw in iter(proc.stdout.readline, b""):
                lines.put(raw)
        except (OSError, ValueError):
            pass
        lines.put(_EOF)

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        try:
            for raw in iter(proc.stderr.readline, b""):
                self._stderr.append(raw.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass

    @staticmethod
    def _write_stdin(proc: subprocess.Popen[bytes], writes: queue.Queue[bytes | None]) -> None:
        assert proc.stdin is not None
        while (data := writes.get()) is not None:
            try:
                proc.stdin.write(data)
                proc.stdin.flush()
            except (OSError, ValueError):
                return  # the child is gone; the reader reports it
        try:
            proc.stdin.close()
        except OSError:
            pass

    # -- requests --------------------------------------------------------------------------

    def submit(self, request: Json) -> int:
        request_id = self._next_id
        self._next_id += 1
        self._pending.append((request_id, time.monotonic()))
        self._writes.put(encode_line(request_message(request_id, request)))
        return request_id

    def outstanding(self) -> int:
        return len(self._pending)

    def receive(self) -> tuple[int, Answer, float]:
        """The answer to the oldest unanswered request, and the seconds it took."""
        request_id, sent = self._pending[0]
        started = max(sent, self._last_answer)
        message = self._next_message(started, f"request id {request_id}")
        answer = parse_answer(message, expected_id=request_id)
        self._pending.popleft()
        self._last_answer = time.monotonic()
        return request_id, answer, self._last_answer - started

    def _next_message(self, started: float, waiting_for: str) -> object:
        while True:
            left = self.timeout - (time.monotonic() - started)
            try:
                item = self._lines.get(timeout=max(left, 0.0))
            except queue.Empty:
                raise ImplementationFault(f"no answer to {waiting_for} within {self.timeout:g} s (hang)") from None
            if item is _EOF:
                raise ImplementationFault(self._exit_reason(waiting_for))
            assert isinstance(item, bytes)
            line = item.decode("utf-8", "replace")
            if line.strip():  # blank lines carry nothing; tolerate them
                return parse_line(line)

    def _exit_reason(self, waiting_for: str) -> str:
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        status = "closed stdout" if code is None else f"exited with status {code}"
        time.sleep(0.05)  # let the stderr thread catch the last lines
        tail = " | ".join(list(self._stderr)[-3:])
        return f"{status} before answering {waiting_for} (crash)" + (f"; stderr: {tail}" if tail else "")


class InProcessSession:
    """A Python object with capabilities() and handle(request), e.g. `mpksa.ops:REFERENCE`.

    Requests and answers go through a JSON round trip, so an adapter is held to
    the same wire types as a subprocess. Calls run on one worker thread so a
    hang is caught by the timeout; a hung adapter cannot be stopped, so the
    session ends there (`restartable` becomes False).
    """

    def __init__(self, target: object, label: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.target = target
        self.label = label
        self.timeout = timeout
        self.restartable = True
        self.capabilities = Capabilities("unknown", frozenset(), frozenset(), frozenset())
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()
        self._next_id = 1
        self._worker = _Worker()

    def start(self) -> Capabilities:
        message = self._call(lambda: self.target.capabilities(), "capabilities()")  # type: ignore[attr-defined]
        self.capabilities = parse_capabilities(message, wire=False)
        return self.capabilities

    def restart(self) -> Capabilities:
        if not self.restartable:
            raise ImplementationFault("an in-process adapter that hung cannot be restarted; run it with --impl")
        self._pending.clear()
        return self.capabilities

    def close(self) -> None:
        self._worker.stop()

    def submit(self, request: Json) -> int:
        request_id = self._next_id
        self._next_id += 1
        self._pending.append((request_id, encode_line(request)))
        return request_id

    def outstanding(self) -> int:
        return len(self._pending)

    def receive(self) -> tuple[int, Answer, float]:
        request_id, line = self._pending[0]
        started = time.monotonic()
        request = json.loads(line)
        message = self._call(lambda: self.target.handle(request), f"handle() of request id {request_id}")  # type: ignore[attr-defined]
        try:
            message = json.loads(encode_line(message))
        except (TypeError, ValueError, RecursionError) as exc:
            raise ImplementationFault(f"handle() returned something that is not JSON: {exc}") from None
        answer = parse_answer(message, expected_id=None)
        self._pending.popleft()
        return request_id, answer, time.monotonic() - started

    def _call(self, work: Callable[[], Any], what: str) -> Any:
        if not self.restartable:
            raise ImplementationFault("the adapter hung earlier; its session has ended")
        try:
            ok, value = self._worker.call(work, self.timeout)
        except queue.Empty:
            self.restartable = False
            raise ImplementationFault(f"{what} did not return within {self.timeout:g} s (hang)") from None
        if not ok:  # an adapter bug of any kind is a verdict, never a runner crash
            raise ImplementationFault(f"{what} raised {type(value).__name__}: {value}")
        return value


class _Worker:
    """One daemon thread running adapter calls: a call that never returns cannot keep the runner alive."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        self._results: queue.Queue[tuple[bool, Any]] = queue.Queue()
        threading.Thread(target=self._loop, daemon=True, name="mpksa-adapter").start()

    def _loop(self) -> None:
        while (work := self._jobs.get()) is not None:
            try:
                self._results.put((True, work()))
            except BaseException as exc:  # SystemExit from an adapter too: it must not kill the worker
                self._results.put((False, exc))

    def call(self, work: Callable[[], Any], timeout: float) -> tuple[bool, Any]:
        """(True, value) or (False, exception); queue.Empty after `timeout` seconds."""
        self._jobs.put(work)
        return self._results.get(timeout=timeout)

    def stop(self) -> None:
        self._jobs.put(None)


def load_object(spec: str) -> object:
    """`module:object` (dots allowed in object) to the object; ImportError/AttributeError as ValueError."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"adapter {spec!r} must look like 'package.module:object'")
    try:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load adapter {spec!r}: {exc}") from None
    for method in ("capabilities", "handle"):
        if not callable(getattr(target, method, None)):
            raise ValueError(f"adapter {spec!r} has no method {method}()")
    return target


def open_session(spec: str, timeout: float = DEFAULT_TIMEOUT) -> Session:
    """`adapter:module:object` for an in-process adapter, anything else a command line."""
    if spec.startswith(ADAPTER_PREFIX):
        target_spec = spec[len(ADAPTER_PREFIX):]
        return InProcessSession(load_object(target_spec), target_spec, timeout)
    return SubprocessSession(spec, timeout)
