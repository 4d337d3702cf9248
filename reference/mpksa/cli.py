"""The `mpksa` command line."""

from __future__ import annotations

import argparse
import importlib
import random
import sys

from . import __version__


def _round(args: argparse.Namespace) -> int:
    from .encoding import Encoding
    from .params import parameter_set
    from .round import Client, run_round, setup

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


# Each module defines add_parser(subparsers), registering its subcommand with set_defaults(run=...).
_SUBCOMMAND_MODULES = ("mpksa.spec_tool", "mpksa.vectors.cli", "mpksa.conformance.cli", "mpksa.demo.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpksa", description="Multi-private-key secure aggregation: spec, reference, vectors, conformance.")
    parser.add_argument("--version", action="version", version=f"mpksa {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    rnd = commands.add_parser("round", help="run one v1 round and compare the decrypted sum with the plaintext sum")
    rnd.add_argument("--params", default="v1-rsa2048-short", help="parameter set (default: %(default)s)")
    rnd.add_argument("--clients", type=int, default=10, help="number of clients (default: %(default)s)")
    rnd.add_argument("--dim", type=int, default=1000, help="number of parameters (default: %(default)s)")
    rnd.add_argument("--seed", type=int, default=0, help="seed of the plaintext data, not of any key (default: %(default)s)")
    rnd.set_defaults(run=_round)
    for module_name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the package is not installed
            raise
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import MpksaError

    try:
        return args.run(args)
    except MpksaError as exc:
        print(f"mpksa: error [{exc.code}]: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
