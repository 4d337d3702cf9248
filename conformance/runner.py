"""`mpksa conformance run`: every selected vector against one implementation (spec chapter 9).

Verdicts:
- pass: the answer is what the vector expects;
- fail: the implementation answered wrongly, or broke the protocol (crash, hang,
  garbage, wrong id, out of order) on this test; the reason says which;
- skip: outside the declared capabilities (reported, never counted as passed);
- error: the runner could not judge: the vector itself is malformed, or the test
  was not run because the implementation could no longer be restarted.

A test expects acceptance ("accept": outputs equal, or the recorded error code
of a step with success false) or rejection ("reject": any error, the recorded
code where there is one). `valid` tests expect acceptance, `invalid` ones
rejection, `acceptable` ones acceptance unless the flag allowlist excludes one
of their flags (vectors/README.md).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .adapters import Session
from .cases import Case, Step
from .compare import ABSENT, first_difference
from .protocol import Answer, Capabilities, ImplementationFault

PASS, FAIL, SKIP, ERROR = "pass", "fail", "skip", "error"
VERDICTS = (PASS, FAIL, ERROR, SKIP)
ACCEPT, REJECT = "accept", "reject"
NOT_RUN = "not run: "  # the reason of an error verdict for a test that was never sent


@dataclass(frozen=True)
class Options:
    """Runner settings (the options of `mpksa conformance run`)."""

    timeout: float = 30.0
    window: int = 8              # requests in flight at once; 1 = strict request/answer
    max_restarts: int = 10       # restarts after faults, then the rest is reported as error
    allowed_flags: frozenset[str] | None = None  # None: every flag allowed


@dataclass
class TestResult:
    case: Case
    verdict: str
    reason: str = ""
    path: str | None = None
    expected: Any = None
    got: Any = None
    step: int | None = None
    seconds: float = 0.0


@dataclass
class ImplementationReport:
    label: str
    capabilities: Capabilities | None
    results: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    problem: str | None = None
    restarts: int = 0
    notes: list[str] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    @property
    def ok(self) -> bool:
        """Every selected test that could run passed (skips are reported, not counted)."""
        return self.problem is None and not any(r.verdict in (FAIL, ERROR) for r in self.results)


def expectation(case: Case, allowed_flags: frozenset[str] | None) -> str:
    """ACCEPT or REJECT; `allowed_flags` None allows every flag (vectors/README.md, "acceptable")."""
    if case.result == "valid":
        return ACCEPT
    if case.result == "invalid":
        return REJECT
    return ACCEPT if allowed_flags is None or set(case.flags) <= allowed_flags else REJECT


class Job:
    """One case in progress: which step is next and the time spent so far."""

    def __init__(self, case: Case, mode: str) -> None:
        self.case = case
        self.mode = mode
        self.index = 0
        self.seconds = 0.0

    def request(self) -> dict[str, Any]:
        return self.case.steps[self.index].request

    def restart(self) -> Job:
        return Job(self.case, self.mode)

    def _where(self) -> str:
        if self.case.op == "transcript":
            step = self.case.steps[self.index]
            return f"step {self.index} ({step.op}{', ' + step.actor if step.actor else ''}): "
        return ""

    def _prefix(self) -> str:
        return f"operations[{self.index}]." if self.case.op == "transcript" else ""

    def result(self, verdict: str, reason: str, path: str | None = None, expected: Any = None,
               got: Any = None) -> TestResult:
        step = self.index if self.case.op == "transcript" and verdict != PASS else None
        return TestResult(self.case, verdict, reason if verdict == PASS else self._where() + reason,
                          None if path is None else self._prefix() + path, expected, got, step, self.seconds)

    def fault(self, fault: ImplementationFault) -> TestResult:
        return self.result(FAIL, str(fault))

    def accept(self, answer: Answer, seconds: float) -> TestResult | None:
        """Judge one answer; None when the transcript goes on with its next step."""
        self.seconds += seconds
        step = self.case.steps[self.index]
        done = judge_step(self, step, answer)
        if done is not None:
            return done
        if self.index + 1 < len(self.case.steps):
            self.index += 1
            return None
        return self.result(PASS, "")


def judge_step(job: Job, step: Step, answer: Answer) -> TestResult | None:
    """The verdict this answer settles, or None when the step passed and more steps follow.

    A step with success false must fail with its recorded code, and so ends the
    case (later steps are not run). In reject mode the first error anywhere ends
    the case with a pass (with the recorded code where the step has one).
    """
    if answer.error is not None:
        if not step.success or job.mode == REJECT:
            if step.error_code is not None and answer.code != step.error_code:
                return job.result(FAIL, f"wrong error code: expected {step.error_code}, got {answer.code}",
                                  "error.code", step.error_code, answer.code)
            return job.result(PASS, "")
        return job.result(FAIL, f"expected outputs, got error [{answer.code}]: {answer.error.get('message', '')}",
                          None, {"outputs": step.outputs}, {"error": answer.error})
    if not step.success:
        code = step.error_code or "an error"
        return job.result(FAIL, f"accepted invalid input: expected error {code}, got outputs",
                          None, {"error": code}, {"outputs": answer.outputs})
    if job.mode == REJECT and job.index == len(job.case.steps) - 1:
        flags = ", ".join(job.case.flags) or "none"
        return job.result(FAIL, f"accepted a test that must be rejected (result {job.case.result}, flags {flags} "
                          "not all allowed)", None, {"error": step.error_code or "an error"}, {"outputs": answer.outputs})
    if step.outputs is None:
        return None  # the vector records success without outputs: nothing to compare
    difference = first_difference(step.outputs, answer.outputs, "outputs")
    if difference is None:
        return None
    path, expected, got = difference
    return job.result(FAIL, f"{path} differs", path, None if expected is ABSENT else expected,
                      None if got is ABSENT else got)


Progress = Callable[[int], None]


def run(session: Session, cases: Iterable[Case], options: Options = Options(),
        progress: Progress = lambda done: None) -> ImplementationReport:
    """Start the session, run every case it declares, report the rest as skipped.

    A fault of the runner itself ends the run with the results so far and the
    rest as error, so the reports can still be written.
    """
    started = time.monotonic()
    cases = list(cases)
    try:
        capabilities = session.start()
    except ImplementationFault as fault:
        report = ImplementationReport(session.label, None, problem=f"handshake failed: {fault}")
        report.results = [TestResult(c, ERROR, f"{NOT_RUN}handshake failed: {fault}") for c in cases]
        progress(len(cases))
        session.close()
        return report
    report = ImplementationReport(session.label, capabilities)
    if unknown := capabilities.unknown_names():
        report.notes.append(f"declares names this runner does not know (ignored): {', '.join(unknown)}")
    runnable: list[Job] = []
    settled: dict[int, TestResult] = {}
    for position, case in enumerate(cases):
        if case.problem:
            settled[position] = TestResult(case, ERROR, case.problem)
        elif (missing := capabilities.missing(case.profile, case.parameter_set, case.operations)) is not None:
            settled[position] = TestResult(case, SKIP, missing)
        else:
            runnable.append(Job(case, expectation(case, options.allowed_flags)))
    if cases and not runnable and len(settled) == sum(r.verdict == SKIP for r in settled.values()):
        report.problem = nothing_to_run(capabilities, [r.reason for r in settled.values()])
    progress(len(settled))
    positions = {id(case): k for k, case in enumerate(cases)}
    try:
        for result in _drive(session, runnable, options, report, progress):
            settled[positions[id(result.case)]] = result
    except Exception as exc:  # a runner bug: keep what was judged, say so, let the reports be written
        report.problem = f"runner error, run stopped: {type(exc).__name__}: {exc}"
    finally:
        session.close()
    report.results = [settled.get(k) or TestResult(case, ERROR, f"{NOT_RUN}{report.problem}")
                      for k, case in enumerate(cases)]
    report.seconds = time.monotonic() - started
    return report


def nothing_to_run(capabilities: Capabilities, skip_reasons: list[str]) -> str:
    """Why no selected test could run: what was declared, what the selection needs."""
    if not capabilities.profiles or not capabilities.operations:
        empty = " and ".join(f"no {what}" for what, names in (("profile", capabilities.profiles),
                                                              ("operation", capabilities.operations)) if not names)
        return f"nothing to run: the implementation declares {empty}"
    common = collections.Counter(skip_reasons).most_common(3)
    reasons = "; ".join(f"{n} tests: {reason}" for reason, n in common)
    return f"nothing to run: none of the {len(skip_reasons)} selected tests is within the declared capabilities ({reasons})"


def _drive(session: Session, jobs: list[Job], options: Options, report: ImplementationReport,
           progress: Progress) -> Iterable[TestResult]:
    """Pipeline requests (up to `window` in flight), judge answers in order, restart after faults."""
    todo = collections.deque(jobs)
    in_flight: collections.deque[Job] = collections.deque()
    while todo or in_flight:
        while todo and len(in_flight) < max(1, options.window):
            job = todo.popleft()
            session.submit(job.request())
            in_flight.append(job)
        job = in_flight.popleft()
        try:
            _, answer, seconds = session.receive()
        except ImplementationFault as fault:
            yield job.fault(fault)
            progress(1)
            # Whatever was in flight is re-run from its first step on the fresh process.
            todo.extendleft(other.restart() for other in reversed(in_flight))
            in_flight.clear()
            reason = _restart(session, options, report)
            if reason is not None:
                for left in todo:
                    yield TestResult(left.case, ERROR, f"{NOT_RUN}{reason}")
                progress(len(todo))
                return
            continue
        result = job.accept(answer, seconds)
        if result is None:
            todo.appendleft(job)  # next step of a transcript, sent before anything else
        else:
            yield result
            progress(1)


def _restart(session: Session, options: Options, report: ImplementationReport) -> str | None:
    """Restart after a fault; the reason the rest cannot run, or None."""
    if report.restarts >= options.max_restarts:
        return f"the implementation broke the protocol {report.restarts + 1} times (limit --max-restarts {options.max_restarts})"
    report.restarts += 1
    try:
        session.restart()
    except ImplementationFault as fault:
        return f"restart failed: {fault}"
    return None


def exit_code(reports: Iterable[ImplementationReport]) -> int:
    """0 only when every selected test that was not skipped passed, and at least one did."""
    reports = list(reports)
    if not all(r.ok for r in reports):
        return 1
    return 0 if any(r.count(PASS) for r in reports) else 1
