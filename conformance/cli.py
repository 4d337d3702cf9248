"""`mpksa conformance run` and `mpksa conformance interop` (spec chapter 9)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape

from . import cases as vector_cases
from .adapters import DEFAULT_TIMEOUT, InProcessSession, Session, load_object, open_session
from mpksa.wire.contract import PROTOCOL
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
    _add_interop(commands)


def _add_run(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("run", help="run test vectors against implementations",
                            description="Run the test vectors against implementations. With neither --impl nor "
                                        f"--adapter: the reference ({REFERENCE_ADAPTER}) and, when importable, the "
                                        f"demo ({FAST_ADAPTER}).")
    p.add_argument("--impl", action="append", default=[], metavar="COMMAND",
                   help="a command speaking the protocol on stdin/stdout, e.g. "
                        "'python -m mpksa.conformance.reference_server' (repeatable)")
    p.add_argument("--adapter", action="append", default=[], metavar="MODULE:OBJECT",
                   help=f"a Python object with capabilities() and handle(request), e.g. {REFERENCE_ADAPTER} (repeatable)")
    p.add_argument("--vectors", metavar="DIR", help="vector directory (default: the vectors shipped in mpksa.vectors)")
    for name, what in (("profile", "profile (paper, v1, v2)"), ("op", "operation, or 'transcript'"),
                       ("params", "parameter set"), ("flag", "flag (tests carrying any of them)")):
        p.add_argument(f"--{name}", action="append", metavar=name.upper(), help=f"only this {what}; repeatable or comma-separated")
    p.add_argument("--tc", action="append", metavar="IDS", help="only these tcIds: '7', '3-9,12', or a test id 'v1/v1-test-512/enc#7'")
    p.add_argument("--allow-flag", action="append", metavar="FLAG",
                   help="allowlist for 'acceptable' tests: one with a flag not listed must be rejected "
                        "(default: every flag allowed)")
    p.add_argument("--reject-acceptable", action="store_true", help="empty allowlist: every 'acceptable' test must be rejected")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="per-request timeout (default: %(default)g)")
    p.add_argument("--window", type=int, default=Options.window, metavar="N",
                   help="requests in flight at once; 1 for strict request/answer (default: %(default)s)")
    p.add_argument("--max-restarts", type=int, default=Options.max_restarts, metavar="N",
                   help="restarts after protocol faults before the rest is reported as error (default: %(default)s)")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON (schema/report.schema.json)")
    p.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    p.add_argument("--show", type=int, default=20, metavar="N", help="failures shown in detail (default: %(default)s)")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bar: auto shows it on a terminal for long runs (default: %(default)s)")
    p.set_defaults(run=run_command)


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
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="per-request timeout (default: %(default)g)")
    p.add_argument("--json", metavar="PATH", help="write the rounds as JSON (schema/interop-report.schema.json)")
    p.set_defaults(run=interop_command)


# -- run ----------------------------------------------------------------------------------------


def _default_sessions(console: Console, timeout: float) -> list[Session]:
    sessions: list[Session] = [InProcessSession(load_object(REFERENCE_ADAPTER), REFERENCE_ADAPTER, timeout)]
    try:
        sessions.append(InProcessSession(load_object(FAST_ADAPTER), FAST_ADAPTER, timeout))
    except Exception as exc:  # the demo is optional: whatever keeps it from loading, it is left out
        console.print(f"[dim]{FAST_ADAPTER} not checked: {exc}[/dim]")
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
        parameter_sets=vector_cases.split_values(args.params), flags=vector_cases.split_values(args.flag),
        tc_ids=tc_ids, test_ids=test_ids)


def _allowed_flags(args: argparse.Namespace) -> frozenset[str] | None:
    if args.reject_acceptable:
        return frozenset()
    return vector_cases.split_values(args.allow_flag) if args.allow_flag else None


def run_command(args: argparse.Namespace) -> int:
    from . import report as reports

    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        selection = _selection(args)
    except ValueError as exc:
        err.print(f"mpksa conformance: bad --tc value: {exc}")
        return 2
    vectors = vector_cases.load(args.vectors)
    for problem in vectors.problems:
        err.print(f"[bold magenta]vector problem:[/bold magenta] {problem}")
    if not vectors.files:
        err.print(f"mpksa conformance: no vector files under {vectors.root}")
        return 2
    selected = [c for c in vectors.cases if selection.selects(c)]
    if not selected:
        err.print("mpksa conformance: no test matches the filters")
        return 2
    try:
        sessions = _sessions(args, err)
    except ValueError as exc:
        err.print(f"mpksa conformance: {exc}")
        return 2
    options = Options(timeout=args.timeout, window=args.window, max_restarts=args.max_restarts,
                      allowed_flags=_allowed_flags(args))
    console.print(f"{len(selected)} tests from {len(vectors.files)} files under {vectors.root}")
    results: list[ImplementationReport] = []
    for session in sessions:
        results.append(_run_one(session, selected, options, console, args.progress))
        reports.print_summary(console, results[-1], args.show)
    code = 1 if vectors.problems else exit_code(results)
    if args.json:
        reports.write_json(args.json, reports.report_json(results, vectors.root, _selection_json(args), code))
    if args.junit_xml:
        reports.write_junit(args.junit_xml, results)
    verdict = "[green]all selected tests passed[/green]" if code == 0 else "[bold red]conformance check failed[/bold red]"
    console.print(f"{verdict} (exit {code})")
    return code


def _run_one(session: Session, cases: Sequence[vector_cases.Case], options: Options, console: Console,
             mode: str) -> ImplementationReport:
    show = mode == "on" or (mode == "auto" and console.is_terminal and len(cases) >= _PROGRESS_MIN_TESTS)
    if not show:
        return run(session, cases, options)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(session.label[:40], total=len(cases))
        advance: Callable[[int], None] = lambda n: bar.advance(task, n)
        return run(session, cases, options, advance)


def _selection_json(args: argparse.Namespace) -> dict[str, list[str]]:
    return {name: sorted(vector_cases.split_values(getattr(args, name)))
            for name in ("profile", "op", "params", "flag", "tc", "allow_flag")}


# -- interop ------------------------------------------------------------------------------------


def interop_command(args: argparse.Namespace) -> int:
    from . import report as reports
    from .interop import run_interop

    console = Console(highlight=False)
    if args.num_clients < 2 or args.rounds < 1 or args.dim < 1:
        console.print("mpksa conformance interop: need --num-clients >= 2, --rounds >= 1, --dim >= 1", style="red")
        return 2
    try:
        server = open_session(args.server, args.timeout)
        clients = [open_session(spec, args.timeout) for spec in args.clients]
    except ValueError as exc:
        console.print(f"mpksa conformance interop: {exc}", style="red")
        return 2
    result = run_interop(server, clients, args.params, args.rounds, args.num_clients, args.dim)
    console.print(f"interop {args.params}: server {result.server}; clients {', '.join(result.clients)}",
                  soft_wrap=True)
    for r in result.rounds:
        verdict = "[green]pass[/green]" if r.passed else "[bold red]FAIL[/bold red]"
        dropped = _ids(r.dropped) or "-"
        console.print(f"  round {r.number:<3} {r.kind:<8} |S| = {len(r.online):<3} dropped {dropped:<12} {verdict} "
                      f"{r.seconds:6.2f} s  {escape(r.detail)}", soft_wrap=True)
    if result.problem:
        console.print(f"[bold magenta]{result.problem}[/bold magenta]")
    if args.json:
        reports.write_json(args.json, {"protocol": PROTOCOL, **result.as_json()})
    code = 0 if result.ok else 1
    console.print(("[green]every round ended as it must[/green]" if code == 0 else "[bold red]interop failed[/bold red]")
                  + f" (exit {code})")
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
