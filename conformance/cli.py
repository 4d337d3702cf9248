"""`mpksa conformance run` and `mpksa conformance interop` (spec chapter 9)."""

from __future__ import annotations

import argparse
import collections
import difflib
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from mpksa.wire import untrusted
from mpksa.wire.untrusted import NAME_LIMIT
from mpksa.wire.contract import PROTOCOL

from . import cases as vector_cases
from . import report as reports
from .adapters import DEFAULT_TIMEOUT, InProcessSession, Session, load_object, open_session
from .runner import ImplementationReport, Options, exit_code, run

REFERENCE_ADAPTER = "mpksa.ops:REFERENCE"
FAST_ADAPTER = "mpksa.fast:ADAPTER"
# Progress bars only where a run is long enough to wait for.
_PROGRESS_MIN_TESTS = 200


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("conformance", help="check an implementation against the vectors, or run live rounds",
                                   description=f"Conformance runner, protocol {PROTOCOL} (spec chapter 9).")
    commands = parser.add_subparsers(dest="conformance_command", metavar="COMMAND", required=True)
    _add_run(commands)
    _add_list(commands)
    _add_interop(commands)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds greater than 0, got {text!r}")
    return value


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


FILTERS = (("profile", "profile (paper, v1, v2)"), ("op", "operation, or 'transcript'"), ("params", "parameter set"),
           ("file", "vector file, e.g. v1/v1-test-512/enc.json"), ("flag", "flag (tests carrying any of them)"))


def _add_run(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("run", help="run test vectors against implementations",
                            description="Run the test vectors against implementations. With neither --impl nor "
                                        f"--adapter: the reference ({REFERENCE_ADAPTER}) and, when importable, the "
                                        f"demo ({FAST_ADAPTER}). `mpksa conformance list` shows what can be selected.")
    p.add_argument("--impl", action="append", default=[], metavar="COMMAND",
                   help="a command speaking the protocol on stdin/stdout, e.g. "
                        "'python -m mpksa.conformance.reference_server' (repeatable)")
    p.add_argument("--adapter", action="append", default=[], metavar="MODULE:OBJECT",
                   help=f"a Python object with capabilities() and handle(request), e.g. {REFERENCE_ADAPTER} (repeatable)")
    p.add_argument("--vectors", metavar="DIR", help="vector directory (default: the vectors shipped in mpksa.vectors)")
    for name, what in FILTERS:
        p.add_argument(f"--{name}", action="append", metavar=name.upper(),
                       help=f"only this {what}; repeatable or comma-separated")
    p.add_argument("--tc", action="append", metavar="IDS",
                   help="only these tcIds: '7' or '3-9,12' (tcIds are numbered per vector file, so a number selects "
                        "one test per file: add --file for exactly one), or a test id 'v1/v1-test-512/enc#7'")
    p.add_argument("--allow-flag", action="append", metavar="FLAG",
                   help="allowlist for 'acceptable' tests: one with a flag not listed must be rejected "
                        "(default: every flag allowed)")
    p.add_argument("--reject-acceptable", action="store_true", help="empty allowlist: every 'acceptable' test must be rejected")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="per-request timeout, > 0 (default: %(default)g)")
    p.add_argument("--window", type=at_least(1), default=Options.window, metavar="N",
                   help="requests in flight at once, >= 1; 1 for strict request/answer (default: %(default)s)")
    p.add_argument("--max-restarts", type=at_least(0), default=Options.max_restarts, metavar="N",
                   help="restarts after protocol faults before the rest is reported as error (default: %(default)s)")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON (schema/report.schema.json)")
    p.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    p.add_argument("--show", type=at_least(0), default=20, metavar="N", help="failures shown in detail (default: %(default)s)")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bar: auto shows it on a terminal for long runs (default: %(default)s)")
    p.set_defaults(run=run_command)


def _add_list(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("list", help="what the vectors hold: parameter sets, files, operations, flags",
                            description="List what `mpksa conformance run` can select, with test counts.")
    p.add_argument("--vectors", metavar="DIR", help="vector directory (default: the vectors shipped in mpksa.vectors)")
    p.set_defaults(run=list_command)


def _add_interop(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("interop", help="live rounds between a server and client implementations",
                            description="Whole rounds with live randomness, every message carried by the runner; "
                                        "the decrypted aggregate must equal the plaintext sum. IMPL is a command "
                                        "(as for --impl) or adapter:MODULE:OBJECT.")
    p.add_argument("--server", default=f"adapter:{REFERENCE_ADAPTER}", metavar="IMPL",
                   help="implementation playing the server (default: %(default)s)")
    p.add_argument("--clients", nargs="+", default=[f"adapter:{REFERENCE_ADAPTER}"], metavar="IMPL",
                   help="implementations playing the clients, assigned in turn (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="rounds: full, dropout, single-client abort, ... (default: %(default)s)")
    p.add_argument("--num-clients", type=int, default=5, metavar="N", help="registered clients (default: %(default)s)")
    p.add_argument("--dim", type=int, default=100, help="values per update (default: %(default)s)")
    p.add_argument("--params", default="v1-test-512", help="parameter set (default: %(default)s)")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="per-request timeout, > 0 (default: %(default)g)")
    p.add_argument("--json", metavar="PATH", help="write the rounds as JSON (schema/interop-report.schema.json)")
    p.set_defaults(run=interop_command)


# -- run ----------------------------------------------------------------------------------------


def _default_sessions(console: Console, timeout: float) -> list[Session]:
    sessions: list[Session] = [InProcessSession(load_object(REFERENCE_ADAPTER), REFERENCE_ADAPTER, timeout)]
    try:
        sessions.append(InProcessSession(load_object(FAST_ADAPTER), FAST_ADAPTER, timeout))
    except Exception as exc:  # the demo is optional: whatever keeps it from loading, it is left out
        console.print(Text(f"{FAST_ADAPTER} not checked: {untrusted.text(exc)}", style="dim"))
    return sessions


def _sessions(args: argparse.Namespace, console: Console) -> list[Session]:
    if not args.impl and not args.adapter:
        return _default_sessions(console, args.timeout)
    sessions: list[Session] = [open_session(command, args.timeout) for command in args.impl]
    sessions += [InProcessSession(load_object(spec), spec, args.timeout) for spec in args.adapter]
    return sessions


def _selection(args: argparse.Namespace) -> vector_cases.Selection:
    tc_ids, test_ids = vector_cases.parse_tc_filter(args.tc or [])
    return vector_cases.Selection(
        profiles=vector_cases.split_values(args.profile), ops=vector_cases.split_values(args.op),
        parameter_sets=vector_cases.split_values(args.params), files=vector_cases.split_values(args.file),
        flags=vector_cases.split_values(args.flag), tc_ids=tc_ids, test_ids=test_ids)


def _allowed_flags(args: argparse.Namespace) -> frozenset[str] | None:
    if args.reject_acceptable:
        return frozenset()
    return vector_cases.split_values(args.allow_flag) if args.allow_flag else None


class UsageError(Exception):
    """A mistake on the command line, found before anything runs (exit status 2)."""


def _check_output(path: str | None, option: str) -> None:
    """A report path must be writable before the run, not after it (the results would be lost)."""
    if path is None:
        return
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: folder {folder} is not writable")


def _load_vectors(path: str | None, err: Console) -> vector_cases.VectorSet:
    try:
        vectors = vector_cases.load(path)
    except vector_cases.VectorFileError as exc:
        raise UsageError(f"--vectors: {exc}") from None
    for problem in vectors.problems:
        err.print(Text.assemble(("vector problem: ", "bold magenta"), untrusted.text(problem)), soft_wrap=True)
    if not vectors.files:
        raise UsageError(f"no vector files under {untrusted.text(vectors.root)}")
    return vectors


def _check_filters(args: argparse.Namespace, vectors: vector_cases.VectorSet, selection: vector_cases.Selection) -> None:
    """Every filter value must name something in the vectors; a typo lists the valid names."""
    known = vector_cases.names(vectors.cases)
    complaints = []
    for option, values in (("profile", selection.profiles), ("op", selection.ops), ("params", selection.parameter_sets),
                           ("file", selection.files), ("flag", selection.flags), ("tc", selection.test_ids)):
        unknown = sorted(values - known[option])
        if not unknown:
            continue
        hints = [f"{u!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(u, known[option], 1))
                 else repr(u) for u in unknown]
        valid = ", ".join(sorted(known[option])) if len(known[option]) <= 60 else \
            f"{len(known[option])} names, see `mpksa conformance list`"
        complaints.append(f"unknown --{option} {', '.join(hints)}; valid: {valid}")
    if complaints:
        raise UsageError("\n  ".join(complaints))


def _tc_note(selection: vector_cases.Selection, selected: Sequence[vector_cases.Case]) -> str | None:
    """tcIds are numbered per file: say so when a number picked tests from several files."""
    files = {c.file for c in selected if c.tc_id in selection.tc_ids}
    if len(files) < 2:
        return None
    example = next(c.test_id for c in selected if c.tc_id in selection.tc_ids)
    return (f"note: tcIds are numbered per vector file; --tc selected {len(selected)} tests from {len(files)} files. "
            f"For exactly one test add --file (e.g. --file {sorted(files)[0]}) or give a test id such as {example}")


def run_command(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        _check_output(args.json, "--json")
        _check_output(args.junit_xml, "--junit-xml")
        selection = _selection(args)
        vectors = _load_vectors(args.vectors, err)
        _check_filters(args, vectors, selection)
        selected = [c for c in vectors.cases if selection.selects(c)]
        if not selected:
            raise UsageError("no test matches the filters taken together; `mpksa conformance list` shows what "
                             "the vectors hold")
        sessions = _sessions(args, err)
    except UsageError as exc:  # our own words, each value in it already quoted or escaped
        err.print(Text(f"mpksa conformance: {exc}"), soft_wrap=True)
        return 2
    except ValueError as exc:
        err.print(Text(f"mpksa conformance: {untrusted.text(exc)}"), soft_wrap=True)
        return 2
    if note := _tc_note(selection, selected):
        err.print(Text(note, style="yellow"), soft_wrap=True)
    options = Options(timeout=args.timeout, window=args.window, max_restarts=args.max_restarts,
                      allowed_flags=_allowed_flags(args))
    console.print(Text(f"{len(selected)} tests from {len(vectors.files)} files under {untrusted.text(vectors.root)}"))
    results: list[ImplementationReport] = []
    failure: str | None = None
    try:
        for session in sessions:
            results.append(_run_one(session, selected, options, console, args.progress))
            reports.print_summary(console, results[-1], args.show)
    except KeyboardInterrupt:
        failure = "interrupted"
    except Exception as exc:  # a runner bug must not take the results with it
        failure = f"runner error: {type(exc).__name__}: {untrusted.text(exc)}"
    code = 1 if vectors.problems or failure else exit_code(results)
    written = _write_reports(args, results, vectors.root, code, err)
    if failure:
        err.print(Text(f"mpksa conformance: {failure}; reports hold the {len(results)} implementation(s) run so far",
                       style="bold magenta"), soft_wrap=True)
        return code if written else 2
    verdict = Text("all selected tests passed", style="green") if code == 0 else \
        Text("conformance check failed", style="bold red")
    console.print(verdict + Text(f" (exit {code})"))
    return code if written else 2


def _write_reports(args: argparse.Namespace, results: list[ImplementationReport], root: str, code: int,
                   err: Console) -> bool:
    """Write --json and --junit-xml; False (and a message) when one cannot be written."""
    jobs = [(args.json, lambda path: reports.write_json(path, reports.report_json(results, root, _selection_json(args), code))),
            (args.junit_xml, lambda path: reports.write_junit(path, results))]
    ok = True
    for path, write in jobs:
        if path is None:
            continue
        try:
            write(path)
        except OSError as exc:
            err.print(Text(f"mpksa conformance: could not write {path}: {untrusted.text(exc)}"), soft_wrap=True)
            ok = False
    return ok


def _run_one(session: Session, cases: Sequence[vector_cases.Case], options: Options, console: Console,
             mode: str) -> ImplementationReport:
    show = mode == "on" or (mode == "auto" and console.is_terminal and len(cases) >= _PROGRESS_MIN_TESTS)
    if not show:
        return run(session, cases, options)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(escape(untrusted.text(session.label, 40)), total=len(cases))
        advance: Callable[[int], None] = lambda n: bar.advance(task, n)
        return run(session, cases, options, advance)


def _selection_json(args: argparse.Namespace) -> dict[str, list[str]]:
    return {name: sorted(vector_cases.split_values(getattr(args, name)))
            for name in ("profile", "op", "params", "file", "flag", "tc", "allow_flag")}


# -- list ---------------------------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    """Parameter sets, operations, flags and files of the vectors, with test counts (for the filters of run)."""
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        vectors = _load_vectors(args.vectors, err)
    except UsageError as exc:
        err.print(Text(f"mpksa conformance: {exc}"), soft_wrap=True)
        return 2
    cases = vectors.cases
    console.print(Text(f"{len(cases)} tests in {len(vectors.files)} files under {untrusted.text(vectors.root)}"))
    sections = [
        ("parameter sets (--params)", collections.Counter(f"{c.parameter_set}  [{c.profile}]" for c in cases)),
        ("operations (--op; a transcript is one test of op 'transcript')", collections.Counter(c.op for c in cases)),
        ("flags (--flag)", collections.Counter(f for c in cases for f in c.flags)),
        ("files (--file; tcIds are numbered per file)", collections.Counter(c.file for c in cases)),
    ]
    for title, counts in sections:
        console.print(Text(f"\n{title}:", style="bold"))
        width = max((len(name) for name in counts), default=0)
        for name, n in sorted(counts.items()):
            console.print(Text(f"  {untrusted.text(name, NAME_LIMIT):<{width}}  {n:>4} tests"))
    return 1 if vectors.problems else 0


# -- interop ------------------------------------------------------------------------------------


def interop_command(args: argparse.Namespace) -> int:
    from .interop import run_interop

    console = Console(highlight=False)
    if args.num_clients < 2 or args.rounds < 1 or args.dim < 1:
        console.print("mpksa conformance interop: need --num-clients >= 2, --rounds >= 1, --dim >= 1", style="red")
        return 2
    try:
        _check_output(args.json, "--json")
        server = open_session(args.server, args.timeout)
        clients = [open_session(spec, args.timeout) for spec in args.clients]
    except (UsageError, ValueError) as exc:
        console.print(Text(f"mpksa conformance interop: {untrusted.text(exc)}", style="red"), soft_wrap=True)
        return 2
    result = run_interop(server, clients, args.params, args.rounds, args.num_clients, args.dim)
    console.print(Text(untrusted.text(f"interop {args.params}: server {result.server}; clients "
                                      f"{', '.join(result.clients)}")), soft_wrap=True)
    for r in result.rounds:
        verdict = Text("pass", style="green") if r.passed else Text("FAIL", style="bold red")
        dropped = _ids(r.dropped) or "-"
        console.print(Text(f"  round {r.number:<3} {r.kind:<8} |S| = {len(r.online):<3} dropped {dropped:<12} ")
                      + verdict + Text(f" {r.seconds:6.2f} s  {untrusted.text(r.detail)}"), soft_wrap=True)
    if result.problem:
        console.print(Text(untrusted.text(result.problem), style="bold magenta"), soft_wrap=True)
    if args.json:
        reports.write_json(args.json, {"protocol": PROTOCOL, **result.as_json()})
    code = 0 if result.ok else 1
    console.print((Text("every round ended as it must", style="green") if code == 0 else
                   Text("interop failed", style="bold red")) + Text(f" (exit {code})"))
    return code


def _ids(ids: list[int], limit: int = 4) -> str:
    return ",".join(map(str, ids)) if len(ids) <= limit else f"{len(ids)} clients"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m mpksa.conformance.cli run ...` without the mpksa entry point."""
    parser = argparse.ArgumentParser(prog="mpksa")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
