"""`mpksa vectors generate [--out DIR]`, `verify [--dir DIR]` and `export [--out PATH]` (spec ch. 8)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _generate(args: argparse.Namespace) -> int:
    from .generate import default_dir, generate

    out = Path(args.out) if args.out else default_dir()
    start = time.perf_counter()
    written = generate(out)
    vectors = [p for p in written if p.count("/") == 2]
    print(f"wrote {len(vectors)} vector files, {len(written) - len(vectors)} schema/manifest files "
          f"({sum(len(t) for t in written.values()) / 1e6:.1f} MB) to {out} in {time.perf_counter() - start:.1f} s")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from mpksa.wire import untrusted
    from .verify import verify

    start = time.perf_counter()
    report = verify(args.dir)
    for problem in report.problems:  # a file from elsewhere may carry escapes: one escaped line each
        print(f"FAIL {untrusted.text(problem)}", file=sys.stderr)
    where = args.dir or "the shipped vectors (mpksa.vectors)"
    status = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"verified {report.files} files, {report.tests} tests, {report.requests} requests re-run in {where}: "
          f"{status} ({time.perf_counter() - start:.1f} s)")
    return 0 if report.ok else 1


def _export(args: argparse.Namespace) -> int:
    from .export import export

    target, count = export(Path(args.out))
    print(f"wrote {target} ({count} files, {target.stat().st_size / 1e6:.1f} MB): manifest, schemas, vectors, "
          "README.md and SHA256SUMS, every file checked against the manifest")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("vectors", help="generate or verify the JSON test vectors")
    commands = parser.add_subparsers(dest="vectors_command", metavar="ACTION", required=True)
    gen = commands.add_parser("generate", help="write every vector file, the schemas and the manifest")
    gen.add_argument("--out", help="output folder (default: the vectors/ folder of the source tree)")
    gen.set_defaults(run=_generate)
    ver = commands.add_parser("verify", help="check the vectors against their schemas, the reference and the manifest")
    ver.add_argument("--dir", help="vectors folder to check (default: the shipped package data)")
    ver.set_defaults(run=_verify)
    exp = commands.add_parser("export", help="write the shipped vectors as one standalone .tar.gz (no Python needed to use it)")
    exp.add_argument("--out", default=".", help="archive file, or folder for mpksa-vectors-<version>.tar.gz (default: %(default)s)")
    exp.set_defaults(run=_export)
