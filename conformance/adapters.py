"""Sessions with an implementation under test: a subprocess, or a Python adapter in process.

Both kinds offer the same four calls, so the runner and the interop driver are
written once (spec chapter 9, "Transport"):

    start() -> Capabilities      handshake
    submit(request) -> id        queue one operation request (may pipeline)
    receive() -> (id, Answer)    the answer to the oldest unanswered request
    restart() / close()

Any breach of the protocol raises `ImplementationFault` with the reason; the
session is then unusable until `restart()`. Nothing here can block forever:
every wait has the per-request timeout, and one pump thread per child moves all
bytes through non-blocking pipes, so neither a child that stops reading nor a
helper that keeps its stdout open can stall the runner.
"""

from __future__ import annotations

import collections
import importlib
import json
import os
import queue
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from mpksa.wire import untrusted
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
_EOF = object()
MAX_LINE_BYTES = 256 << 20  # one message; the largest answer of the shipped vectors is a few MB
_STDERR_HEAD, _STDERR_TAIL, _STDERR_LINE = 8, 6, 240
_TOO_LONG = object()
_CHUNK = 1 << 16
_DRAIN_READS = 64  # after the child exits: more than any pipe buffer holds


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

    The child runs in a session (and process group) of its own; one `_Pump`
    thread owns the three pipes, so nothing the child or its helpers do can
    block the runner. Killing reaches the whole group, and on Linux also any
    process that escaped it (a daemonized helper) but still holds the write
    end of the child's stdout or stderr.
    """

    restartable = True
    max_line_bytes = MAX_LINE_BYTES

    def __init__(self, command: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.command = command
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("the implementation command is empty")
        self.label = command
        self.timeout = timeout
        self.capabilities = Capabilities("unknown", frozenset(), frozenset(), frozenset())
        self._proc: subprocess.Popen[bytes] | None = None
        self._pump: _Pump | None = None
        self._pending: collections.deque[tuple[int, float]] = collections.deque()
        self._next_id = 1
        self._last_answer = 0.0

    # -- process life --------------------------------------------------------------------

    def start(self) -> Capabilities:
        pipes = [os.pipe() for _ in range(3)]  # (read, write) each; non-inheritable by default
        child_ends = (pipes[0][0], pipes[1][1], pipes[2][1])
        try:
            self._proc = subprocess.Popen(self.argv, stdin=child_ends[0], stdout=child_ends[1],
                                          stderr=child_ends[2], start_new_session=True)
        except (OSError, ValueError) as exc:
            for read, write in pipes:
                os.close(read)
                os.close(write)
            raise ImplementationFault(f"could not start {self.command!r}: {exc}") from None
        for fd in child_ends:
            os.close(fd)
        self._pump = _Pump(self._proc, stdin=pipes[0][1], stdout=pipes[1][0], stderr=pipes[2][0],
                           max_line=self.max_line_bytes)
        self._pending.clear()
        self._pump.write(encode_line(capabilities_request()))
        message = self._next_message(time.monotonic(), "the capabilities request")
        self.capabilities = parse_capabilities(message, wire=True)
        return self.capabilities

    def restart(self) -> Capabilities:
        before = self.capabilities
        self._kill()
        after = self.start()
        if after != before:
            raise ImplementationFault(f"declared different capabilities after a restart: {before.difference(after)}")
        return after

    def close(self) -> None:
        """EOF on stdin asks the child to exit; it gets a short grace period, then is killed."""
        if self._proc is None or self._pump is None:
            return
        self._pump.write(None)
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self._kill()

    def _kill(self) -> None:
        proc, pump, self._proc, self._pump = self._proc, self._pump, None, None
        if proc is None or pump is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group start() created; the leader may be gone already
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass  # unkillable for now (uninterruptible sleep); the pump still lets go of it
        if not pump.stdout_eof.wait(0.2):  # someone outside the group still holds stdout
            _kill_pipe_holders(pump.inodes)
        pump.stop()

    # -- requests --------------------------------------------------------------------------

    def submit(self, request: Json) -> int:
        request_id = self._next_id
        self._next_id += 1
        self._pending.append((request_id, time.monotonic()))
        if self._pump is not None:
            self._pump.write(encode_line(request_message(request_id, request)))
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
        if self._pump is None:
            raise ImplementationFault(f"the implementation is not running (waiting for {waiting_for})")
        while True:
            left = self.timeout - (time.monotonic() - started)
            try:
                item = self._pump.lines.get(timeout=max(left, 0.0))
            except queue.Empty:
                raise ImplementationFault(f"no answer to {waiting_for} within {self.timeout:g} s (hang)") from None
            if item is _EOF:
                raise ImplementationFault(self._exit_reason(waiting_for))
            if item is _TOO_LONG:
                raise ImplementationFault(f"wrote a line longer than {self.max_line_bytes} bytes while the runner waited "
                                          f"for {waiting_for}")
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
        stderr = self._pump.stderr_excerpt(settle=0.1) if self._pump is not None else ""
        return f"{status} before answering {waiting_for} (crash)" + (f"; stderr: {stderr}" if stderr else "")


class _Pump:
    """The only thread that touches a child's pipes: writes stdin, splits stdout into lines, keeps stderr.

    Everything goes through one selector, so no pipe can block it. Once the child
    has exited it reads what is left in the pipes and reports EOF, even when a
    helper still holds stdout open; it closes every pipe itself when it ends.
    """

    def __init__(self, proc: subprocess.Popen[bytes], *, stdin: int, stdout: int, stderr: int, max_line: int) -> None:
        self.proc = proc
        self.max_line = max_line
        self.lines: queue.Queue[object] = queue.Queue()
        self.stdout_eof = threading.Event()  # stdout read to its end: no process holds it any more
        self.inodes = {os.fstat(fd).st_ino for fd in (stdout, stderr)}
        self._fds: dict[str, int | None] = {"stdin": stdin, "stdout": stdout, "stderr": stderr}
        self._buffers = {"stdout": bytearray(), "stderr": bytearray()}
        self._writes: collections.deque[bytes | None] = collections.deque()
        self._pending = b""
        self._lock = threading.Lock()
        self._stderr_head: list[str] = []
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self._stderr_lines = 0
        self._wake_read, self._wake_write = os.pipe()
        for fd in (stdin, stdout, stderr, self._wake_read, self._wake_write):
            os.set_blocking(fd, False)
        self._stopping = False
        self._exit_fd = _process_fd(proc.pid)
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"mpksa-pump-{proc.pid}")
        self._thread.start()

    # -- called from the runner's thread ----------------------------------------------------

    def write(self, data: bytes | None) -> None:
        """Queue bytes for stdin; None closes stdin once everything before it is written."""
        with self._lock:
            self._writes.append(data)
        self._wake()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self._thread.join(timeout=2)
        if not self._thread.is_alive():
            _close(self._wake_write)

    def stderr_excerpt(self, settle: float = 0.0) -> str:
        """The first and the last lines of stderr (where the real error usually is), each of bounded length."""
        time.sleep(settle)  # let the last lines of a crashing child arrive
        with self._lock:
            head, tail, total = list(self._stderr_head), list(self._stderr_tail), self._stderr_lines
        omitted = total - len(head) - len(tail)
        return " | ".join(head + ([f"... {omitted} more lines ..."] if omitted > 0 else []) + tail)

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"x")
        except OSError:
            pass  # the pump has ended, or a wake-up is already pending

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        selector = self._selector
        selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        selector.register(self._fds["stdout"], selectors.EVENT_READ, "stdout")  # type: ignore[arg-type]
        selector.register(self._fds["stderr"], selectors.EVENT_READ, "stderr")  # type: ignore[arg-type]
        if self._exit_fd is not None:
            selector.register(self._exit_fd, selectors.EVENT_READ, "exited")
        try:
            while not self._stopping:
                self._want_writes()
                events = selector.select(timeout=None if self._exit_fd is not None else 0.1)
                exited = self._exit_fd is None and self.proc.poll() is not None
                for key, _ in events:
                    if key.data == "wake":
                        _drain(self._wake_read)
                    elif key.data == "stdin":
                        self._write_some()
                    elif key.data == "exited":
                        exited = True
                    else:
                        self._read(key.data)
                if exited:
                    # What the child wrote is in the pipes now; a helper holding them open adds nothing.
                    for name in ("stdout", "stderr"):
                        for _ in range(_DRAIN_READS):
                            if not self._read(name):
                                break
                    break
        finally:
            for name in ("stdin", "stdout", "stderr"):
                self._close(name)
            for fd in (self._wake_read, self._exit_fd):
                if fd is not None:
                    _close(fd)
            selector.close()

    def _want_writes(self) -> None:
        """Register stdin for writing while bytes are pending; close it when the queue says so."""
        while not self._pending and self._fds["stdin"] is not None:
            with self._lock:
                if not self._writes:
                    return
                data = self._writes.popleft()
            if data is None:
                self._close("stdin")
                return
            self._pending = data
            self._selector.register(self._fds["stdin"], selectors.EVENT_WRITE, "stdin")

    def _write_some(self) -> None:
        fd = self._fds["stdin"]
        if fd is None:
            return
        try:
            written = os.write(fd, self._pending[:_CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the child closed stdin or is gone; the reader reports what happened
            self._close("stdin")
            return
        self._pending = self._pending[written:]
        if not self._pending:
            self._selector.unregister(fd)

    def _read(self, name: str) -> bool:
        """One read from stdout or stderr; False when nothing more is there now."""
        fd = self._fds.get(name)
        if fd is None:
            return False
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            if name == "stdout":
                self.stdout_eof.set()
            self._close(name)
            return False
        buffer = self._buffers[name]
        start = len(buffer)
        buffer += chunk
        while (end := buffer.find(b"\n", start)) >= 0:
            self._line(name, bytes(buffer[:end + 1]))
            del buffer[:end + 1]
            start = 0
        limit = self.max_line if name == "stdout" else _STDERR_LINE
        if len(buffer) > limit:  # an endless line: report it (stdout) or keep its start (stderr)
            self._line(name, None if name == "stdout" else bytes(buffer))
            buffer.clear()
        return True

    def _line(self, name: str, line: bytes | None) -> None:
        if name == "stdout":
            self.lines.put(_TOO_LONG if line is None else line)
            return
        text = (line or b"").decode("utf-8", "replace").strip()
        if not text:
            return
        if len(text) > _STDERR_LINE:
            text = text[:_STDERR_LINE] + "..."
        with self._lock:
            self._stderr_lines += 1
            if len(self._stderr_head) < _STDERR_HEAD:
                self._stderr_head.append(text)
            else:
                self._stderr_tail.append(text)

    def _close(self, name: str) -> None:
        fd = self._fds[name]
        if fd is None:
            return
        self._fds[name] = None
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass
        _close(fd)
        if name == "stdin":
            self._pending = b""
            return
        buffer = self._buffers[name]
        if buffer:
            self._line(name, bytes(buffer))
            buffer.clear()
        if name == "stdout":
            self.lines.put(_EOF)


def _process_fd(pid: int) -> int | None:
    """A descriptor that becomes readable when the process exits (Linux 5.3+), else None (then: polling)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _kill_pipe_holders(inodes: set[int]) -> None:
    """Kill processes other than this one that hold the write end of the child's stdout or stderr (Linux).

    Only a process started by the implementation can hold that end: it is how a
    daemonized helper that left the process group is found.
    """
    targets = {f"pipe:[{inode}]" for inode in inodes}
    me = os.getpid()
    try:
        entries = [e for e in os.scandir("/proc") if e.name.isdigit() and int(e.name) != me]
    except OSError:
        return
    for entry in entries:
        try:
            for fd in os.scandir(f"{entry.path}/fd"):
                if os.readlink(fd.path) in targets and _opened_for_writing(f"{entry.path}/fdinfo/{fd.name}"):
                    os.kill(int(entry.name), signal.SIGKILL)
                    break
        except OSError:
            continue  # gone, or not ours to look at


def _opened_for_writing(fdinfo: str) -> bool:
    with open(fdinfo, encoding="ascii") as info:
        for line in info:
            if line.startswith("flags:"):
                return int(line.split()[1], 8) & os.O_ACCMODE == os.O_WRONLY
    return False


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
        self.capabilities = parse_capabilities(_json_round_trip(message, "capabilities()"), wire=False)
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
        answer = parse_answer(_json_round_trip(message, "handle()"), expected_id=None)
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
            raise ImplementationFault(f"{what} raised {type(value).__name__}: {untrusted.text(value)}")
        return value


def _json_round_trip(message: object, what: str) -> object:
    """What an adapter returned, as the JSON a subprocess would have sent (same types, same rules)."""
    try:
        return json.loads(encode_line(message))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ImplementationFault(f"{what} returned something that is not JSON: {untrusted.text(exc)}") from None
    except Exception as exc:  # an object whose conversion itself fails
        raise ImplementationFault(f"{what} returned an object that cannot be written as JSON: "
                                  f"{type(exc).__name__}") from None


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
