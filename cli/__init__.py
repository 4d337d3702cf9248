"""mpksa.cli: the `mpksa` command line, one subcommand per part of the package.

It sits above every part it offers (the reference's `round`, `spec`, `vectors`, `conformance`,
`demo`) and imports each explicitly; nothing below imports it. The demo's subcommand loads PyTorch
only when it runs, so the command line works without the `demo` extra.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable

from mpksa import __version__
from mpksa.conformance import cli as conformance_cli
from mpksa.demo import cli as demo_cli
from mpksa.encoding import Encoding
from mpksa.errors import MpksaError
from mpksa.params import parameter_set
from mpksa.round import Client, run_round, setup
from mpksa.spec import tool as spec_tool
from mpksa.vectors import cli as vectors_cli


def count(low: int, high: int = 2**32 - 1) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high], refused with a message that names the rule."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} must lie in [{low}, {high}]")
        return value
    return parse


def _round(args: argparse.Namespace) -> int:
    params = parameter_set(args.params)
    encoding = Encoding(max_clients=args.clients)
    server_key, keys = setup(params, encoding, args.dim, range(args.clients))
    data = random.Random(args.seed)
    clients = [Client(i, keys[i], [data.uniform(-1, 1) for _ in range(args.dim)]) for i in range(args.clients)]
    result = run_round(params, encoding, server_key, clients, range(args.clients), model=b"W")
    print(f"parameter set {params.name}: |S| = {args.clients}, {args.dim} values, {len(result.segment_sums)} segments")
    for t in range(min(args.dim, 5)):
        print(f"  coordinate {t}: decrypted {result.weighted_sums[t]:>9}   plaintext {result.expected_sums[t]:>9}")
    print("decrypted sum equals plaintext sum:", result.correct)
    return 0 if result.correct else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpksa", description="Multi-private-key secure aggregation: spec, reference, vectors, conformance.")
    parser.add_argument("--version", action="version", version=f"mpksa {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    rnd = commands.add_parser("round", help="run one round (any profile) and compare the decrypted sum with the plaintext sum")
    rnd.add_argument("--params", default="v2-rsa2048", help="parameter set (default: %(default)s)")
    rnd.add_argument("--clients", type=count(1, 1000), default=10, help="number of clients (default: %(default)s)")
    rnd.add_argument("--dim", type=count(1, 10**7), default=1000, help="number of parameters (default: %(default)s)")
    rnd.add_argument("--seed", type=int, default=0, help="seed of the plaintext data, not of any key (default: %(default)s)")
    rnd.set_defaults(run=_round)
    for module in (spec_tool, vectors_cli, conformance_cli, demo_cli):
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except MpksaError as exc:
        print(f"mpksa: error [{exc.code}]: {exc}", file=sys.stderr)
        return 2

