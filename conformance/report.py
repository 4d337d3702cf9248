"""Reports of a conformance run: terminal summary (rich), JSON (schema/report.schema.json), JUnit XML."""

from __future__ import annotations

import collections
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mpksa.wire import untrusted
from mpksa.wire.untrusted import NAME_LIMIT, TEXT_LIMIT
from mpksa.wire.contract import PROTOCOL

from .compare import show_pair
from .protocol import Capabilities
from .runner import ERROR, FAIL, NOT_RUN, PASS, SKIP, VERDICTS, ImplementationReport, TestResult

_STYLE = {PASS: "green", FAIL: "bold red", ERROR: "bold magenta", SKIP: "yellow"}


def _runner_version() -> str:
    from mpksa import __version__

    return f"mpksa {__version__}"


# -- terminal --------------------------------------------------------------------------------


def print_summary(console: Console, report: ImplementationReport, show_failures: int = 20) -> None:
    """One row per (profile, operation): counts and time; then the first failures in detail.

    Everything the implementation controls (its name, messages, stderr) is shown
    as plain, escaped, bounded text: never as markup, never raw.
    """
    caps = report.capabilities
    title = Text(untrusted.text(report.label, NAME_LIMIT))
    if caps and caps.name != report.label:
        title.append(f"  ({untrusted.text(caps.name, NAME_LIMIT)})", style="dim")
    table = Table(title=title, title_justify="left", show_footer=True)
    rows: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    seconds: dict[tuple[str, str], float] = collections.defaultdict(float)
    for r in report.results:
        key = (r.case.profile, r.case.op)
        rows[key][r.verdict] += 1
        seconds[key] += r.seconds
    totals = collections.Counter(r.verdict for r in report.results)
    table.add_column("profile", footer="total")
    table.add_column("operation")
    for verdict in VERDICTS:
        table.add_column(verdict, justify="right", footer=_count(verdict, totals[verdict]))
    table.add_column("seconds", justify="right", footer=f"{report.seconds:.2f}")
    # Rows where every test was skipped say nothing the skip lines below do not; keep the table short.
    shown = {key: counts for key, counts in rows.items() if set(counts) != {SKIP}} or rows
    for (profile, op), counts in sorted(shown.items()):
        table.add_row(Text(untrusted.text(profile, NAME_LIMIT)), Text(untrusted.text(op, NAME_LIMIT)),
                      *(_count(v, counts[v]) for v in VERDICTS), f"{seconds[(profile, op)]:.2f}")
    console.print(table)
    if len(shown) < len(rows):
        console.print(f"  ({len(rows) - len(shown)} rows where every test was skipped are not shown)")
    if report.problem:
        console.print(Text(f"  {untrusted.text(report.problem)}", style=_STYLE[ERROR]), soft_wrap=True)
    for note in report.notes:
        console.print(Text(f"  note: {untrusted.text(note)}", style=_STYLE[SKIP]), soft_wrap=True)
    if report.restarts:
        console.print(f"  restarted the implementation {report.restarts} time(s) after protocol faults")
    _print_skips(console, report.results)
    _print_failures(console, report.results, show_failures)


def _count(verdict: str, n: int) -> Text:
    return Text(str(n), style=_STYLE[verdict] if n else "dim")


def _print_skips(console: Console, results: Sequence[TestResult]) -> None:
    """Skip reasons with counts; all 'operation ... not declared' reasons merge into one line."""
    reasons: collections.Counter[str] = collections.Counter()
    undeclared: set[str] = set()
    for r in results:
        if r.verdict != SKIP:
            continue
        if r.reason.startswith("operation") and r.reason.endswith(" not declared"):
            undeclared.update(r.reason.split(" ", 1)[1].removesuffix(" not declared").split(", "))
            reasons["operations"] += 1
        else:
            reasons[r.reason] += 1
    for reason, n in reasons.most_common():
        text = f"need undeclared operations {', '.join(sorted(undeclared))}" if reason == "operations" else reason
        console.print(Text(f"  skipped {n}: {untrusted.text(text)}", style=_STYLE[SKIP]), soft_wrap=True)


def _print_failures(console: Console, results: Sequence[TestResult], limit: int) -> None:
    """Failures one by one; tests that were not run at all, one line per reason (a failed handshake: one line)."""
    not_run: collections.Counter[str] = collections.Counter(
        r.reason for r in results if r.verdict == ERROR and r.reason.startswith(NOT_RUN))
    bad = [r for r in results if r.verdict == FAIL or (r.verdict == ERROR and r.reason not in not_run)]
    for r in bad[:limit]:
        header = f"  {r.verdict.upper()} {r.case.test_id} [{r.case.op}] {r.case.comment}"
        console.print(Text(untrusted.text(header, TEXT_LIMIT), style=_STYLE[r.verdict]), soft_wrap=True)
        console.print(Text(f"      {untrusted.text(r.reason)}"), soft_wrap=True)
        if r.path is not None or r.expected is not None or r.got is not None:
            expected, got = show_pair(r.expected, r.got)
            where = "" if r.path is None else f"{untrusted.text(r.path, NAME_LIMIT)} = "
            console.print(Text(f"      expected {where}{untrusted.text(expected)}"), soft_wrap=True)
            console.print(Text(f"      got      {where}{untrusted.text(got)}"), soft_wrap=True)
    if len(bad) > limit:
        console.print(f"  ... and {len(bad) - limit} more (see --json or --junit-xml, or raise --show)")
    for reason, n in not_run.most_common():
        console.print(Text(f"  ERROR {n} test{'s' if n > 1 else ''} {untrusted.text(reason)}", style=_STYLE[ERROR]),
                      soft_wrap=True)


# -- JSON --------------------------------------------------------------------------------------


def result_json(r: TestResult) -> dict[str, Any]:
    c = r.case
    name = lambda value: untrusted.text(value, NAME_LIMIT)  # noqa: E731
    return {"id": name(c.test_id), "file": name(c.file), "tcId": c.tc_id, "op": name(c.op), "profile": name(c.profile),
            "parameterSet": name(c.parameter_set), "family": name(c.family), "flags": [name(f) for f in c.flags],
            "result": name(c.result), "comment": name(c.comment), "verdict": r.verdict,
            "reason": untrusted.text(r.reason), "step": r.step, "path": None if r.path is None else name(r.path),
            "expected": untrusted.json_value(r.expected), "got": untrusted.json_value(r.got),
            "seconds": round(r.seconds, 6)}


def capabilities_json(caps: Capabilities) -> dict[str, Any]:
    shown = untrusted.json_value(caps.as_json())
    return {"name": untrusted.text(caps.name, NAME_LIMIT), "profiles": shown["profiles"],
            "parameterSets": shown["parameterSets"], "operations": shown["operations"]}


def report_json(reports: Sequence[ImplementationReport], vectors_root: str, selection: dict[str, Any],
                exit_code: int) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL,
        "runner": _runner_version(),
        "vectors": untrusted.text(vectors_root),
        "selection": untrusted.json_value(selection),
        "exitCode": exit_code,
        "implementations": [{
            "label": untrusted.text(rep.label),
            "capabilities": capabilities_json(rep.capabilities) if rep.capabilities else None,
            "problem": None if rep.problem is None else untrusted.text(rep.problem),
            "notes": [untrusted.text(note) for note in rep.notes],
            "restarts": rep.restarts,
            "seconds": round(rep.seconds, 6),
            "summary": {v: rep.count(v) for v in VERDICTS},
            "tests": [result_json(r) for r in rep.results],
        } for rep in reports],
    }


def write_json(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, indent=1, default=repr) + "\n", encoding="utf-8")


# -- JUnit XML ---------------------------------------------------------------------------------


def junit_xml(reports: Sequence[ImplementationReport]) -> ET.ElementTree:
    """One <testsuite> per implementation and vector file, one <testcase> per test.

    Follows the common JUnit schema (testsuites/testsuite/testcase with
    failure, error and skipped children), as read by CI systems.
    """
    root = ET.Element("testsuites", name="mpksa-conformance")
    totals = collections.Counter[str]()
    for rep in reports:
        by_file: dict[str, list[TestResult]] = collections.defaultdict(list)
        for r in rep.results:
            by_file[r.case.file].append(r)
        for file, results in by_file.items():
            suite = ET.SubElement(root, "testsuite", name=untrusted.text(f"{rep.label} :: {file}"))
            counts = collections.Counter(r.verdict for r in results)
            suite.set("tests", str(len(results)))
            suite.set("failures", str(counts[FAIL]))
            suite.set("errors", str(counts[ERROR]))
            suite.set("skipped", str(counts[SKIP]))
            suite.set("time", f"{sum(r.seconds for r in results):.6f}")
            totals.update(counts)
            totals["tests"] += len(results)
            for r in results:
                _testcase(suite, rep.label, r)
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals[FAIL]))
    root.set("errors", str(totals[ERROR]))
    root.set("skipped", str(totals[SKIP]))
    return ET.ElementTree(root)


def _testcase(suite: ET.Element, label: str, r: TestResult) -> None:
    c = r.case
    name = untrusted.text(f"tcId {c.tc_id} {c.op}: {c.comment}".strip(), TEXT_LIMIT)
    case = ET.SubElement(suite, "testcase", classname=untrusted.text(f"{c.profile}.{c.parameter_set}.{c.family}"),
                         name=name, time=f"{r.seconds:.6f}")
    reason = untrusted.text(r.reason)
    where = "" if r.path is None else f"{untrusted.text(r.path, NAME_LIMIT)} = "
    detail = reason
    if r.expected is not None or r.got is not None:
        expected, got = show_pair(r.expected, r.got)
        detail += f"\nexpected {where}{untrusted.text(expected)}\ngot      {where}{untrusted.text(got)}"
    if r.verdict == FAIL:
        ET.SubElement(case, "failure", message=reason, type="mismatch").text = detail
    elif r.verdict == ERROR:
        ET.SubElement(case, "error", message=reason, type="not-judged").text = detail
    elif r.verdict == SKIP:
        ET.SubElement(case, "skipped", message=reason)


def write_junit(path: str, reports: Sequence[ImplementationReport]) -> None:
    tree = junit_xml(reports)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
