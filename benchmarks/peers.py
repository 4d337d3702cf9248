"""MPKSA against the systems a user would pick instead, side by side, in one run.

    python benchmarks/peers.py --quick      # a small run (about a minute): results/peers-quick.json
    python benchmarks/peers.py              # d = 10k, 100k, 1M, 3 repetitions: results/peers.json

Other choices of sizes, contenders or repetitions write results/peers-custom.json.

Workload for every contender: one round, 10 clients, float32 updates uniform in [-1, 1]; the
same fixed point (frac_bits 16, clip 1.0) wherever integers are needed. Each (contender, size,
repetition) runs in a process of its own; repetitions interleave the contenders (rotated order),
and medians are reported. A contender too slow for the full size runs on a slice of the parameters
and is scaled linearly by its ciphertext units ("scaled_from" names the slice). A contender that
does not import or is not available is listed as skipped with the reason.

Reported per contender and size: client CPU us per parameter (everything one client does in the
round), server CPU us per parameter (per round), bytes up and down per client per parameter
(lengths of the serialized objects), the largest error of the decoded sum against the float sum,
and the trust model; for MPKSA and the Paillier variants, the exponentiation-count bound (CPU vs
CPU); and the issue-13 targets as ratios from this run. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import harness
from contenders import CONTENDERS

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (300,)
RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = Path(__file__).resolve().parent / "schema" / "peers.schema.json"
PHE = "phe-paillier"
PACKED_FIXED = "packed-paillier-fixed-base"
CKKS = "tenseal-ckks"


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("mpksa", "gmpy2", "numpy", "phe", "tenseal", "pycryptodome", "matplotlib"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    try:
        out["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                           cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0))}


def run(args: argparse.Namespace) -> dict[str, Any]:
    names = args.contenders
    started, load_before = time.time(), harness.machine_load()
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {(n, d): [] for n in names for d in args.sizes}
    for rep in range(args.repetitions):
        order = names[rep % len(names):] + names[:rep % len(names)]  # rotate: no contender always first
        for d in args.sizes:
            for name in order:
                config = {"contender": name, "parameters": d, "clients": args.clients, "seed": args.seed + d,
                          "slice": args.slice.get(name, "quick" if args.quick else "full"), "repeats": args.repeats}
                out = harness.measure_in_subprocess(config)
                print(f"rep {rep + 1}/{args.repetitions} d = {d:,} {name}: {out['status']}"
                      + (f" ({out['reason'][:120]})" if out["status"] != "ok" else ""), flush=True)
                runs[(name, d)].append(out)
    rows = [summarize(name, d, runs[(name, d)]) for d in args.sizes for name in names]
    return {
        "benchmark": "peers",
        "command": " ".join(["python", "benchmarks/peers.py", *args.argv]),
        "mode": args.mode,
        "workload": {"clients": args.clients, "parameters": list(args.sizes), "updates": "float32 uniform in [-1, 1]",
                     "frac_bits": 16, "clip": 1.0, "weight": 1, "repetitions": args.repetitions, "seed": args.seed},
        "machine": machine(), "versions": versions(),
        "load_average_before": load_before, "load_average_after": harness.machine_load(),
        "duration_s": round(time.time() - started, 1),
        "contenders": contender_list(names, runs),
        "results": rows,
        "targets": targets(rows, args.sizes),
    }


def contender_list(names: list[str], runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        every = [r for (n, _), rs in runs.items() if n == name for r in rs]
        ok = [r for r in every if r["status"] == "ok"]
        first = ok[0] if ok else every[0]
        status = "ok" if ok else first["status"]
        out.append({"name": name, "status": status, "reason": None if ok else first.get("reason"),
                    "trust": first.get("trust"), "notes": first.get("notes")})
    return out


def summarize(name: str, d: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repetitions that ran; every run's raw figures are kept."""
    ok = [r for r in runs if r["status"] == "ok"]
    row: dict[str, Any] = {"contender": name, "parameters": d, "status": "ok" if ok else runs[0]["status"],
                           "reason": None if ok else runs[0].get("reason"), "repetitions": len(ok)}
    if not ok:
        return row
    # A repetition that failed while others ran is kept in sight, not dropped.
    row["failed_repetitions"] = [r["reason"] for r in runs if r["status"] == "failed"]
    per_run = [harness.scaled(r) for r in ok]
    measured = ok[0]["measured_parameters"]
    row["scaled_from"] = measured if measured < d else None
    for key in ("client_cpu_us_per_param", "client_upload_cpu_us_per_param", "server_cpu_us_per_param",
                "bytes_up_per_param", "bytes_down_per_param", "round_cpu_s"):
        row[key] = statistics.median(p[key] for p in per_run)
    row["client_phases_us_per_param"] = {k.split(":", 1)[1]: statistics.median(p.get(k, 0.0) for p in per_run)
                                         for k in per_run[0] if k.startswith("client:")}
    row["server_phases_us_per_param"] = {k.split(":", 1)[1]: statistics.median(p.get(k, 0.0) for p in per_run)
                                         for k in per_run[0] if k.startswith("server:")}
    row["max_abs_error"] = max(r["max_abs_error"] for r in ok)
    exact = [r["exact_integer_sum"] for r in ok]
    row["exact_integer_sum"] = None if exact[0] is None else all(exact)
    bounds = [harness.bound(r) for r in ok]
    row["bound"] = None if bounds[0] is None else {
        party: {key: statistics.median(b[party][key] for b in bounds) for key in bounds[0][party]} for party in bounds[0]}
    for party, b in (row["bound"] or {}).items():
        for kind in ("plain", "method"):
            b[f"measured_over_{kind}_bound"] = row[f"{party}_cpu_us_per_param"] / b[f"{kind}_bound_us_per_param"]
    row["setup_cpu_s"] = statistics.median(r["setup_cpu_s"] for r in ok)
    row["runs"] = [{"round_wall_s": r["round_wall_s"], "round_cpu_s": p["round_cpu_s"],
                    "client_cpu_us_per_param": p["client_cpu_us_per_param"],
                    "server_cpu_us_per_param": p["server_cpu_us_per_param"],
                    "load_before": r["load_before"], "load_after": r["load_after"]} for r, p in zip(ok, per_run)]
    return row


def targets(rows: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    """The issue-13 targets as ratios of this run's medians, for v1 and (once it exists) v2."""
    by = {(r["contender"], r["parameters"]): r for r in rows if r["status"] == "ok"}
    out = []

    def add(target: str, ours: str, peer: str, d: int, key: str, ratio_of: str, test: str,
            check: Callable[[float], bool]) -> None:
        a, b = by.get((ours, d)), by.get((peer, d))
        entry = {"target": target, "contender": ours, "peer": peer, "parameters": d, "measure": key,
                 "test": test, "ratio": None, "met": None, "note": None}
        if a is None or b is None:
            missing = [n for n, r in ((ours, a), (peer, b)) if r is None]
            entry["note"] = f"not measured: {', '.join(missing)} did not run (see contenders)"
        else:
            entry["ratio"] = b[key] / a[key] if ratio_of == "peer/ours" else a[key] / b[key]
            entry["met"] = check(entry["ratio"])
        out.append(entry)

    for d in sizes:
        for ours in ("mpksa-v1", "mpksa-v2", "mpksa-v1-ct", "mpksa-v2-ct"):
            add("client CPU per parameter at least 300x less than phe", ours, PHE, d,
                "client_cpu_us_per_param", "peer/ours", "ratio >= 300", lambda r: r >= 300)
            add("bytes up per parameter within 5% of packed Paillier", ours, PACKED_FIXED, d,
                "bytes_up_per_param", "ours/peer", "|ratio - 1| <= 0.05", lambda r: abs(r - 1) <= 0.05)
            add("bytes up per parameter at least 10x fewer than CKKS", ours, CKKS, d,
                "bytes_up_per_param", "peer/ours", "ratio >= 10", lambda r: r >= 10)
            add("client CPU per parameter within 3x of packed Paillier with a fixed-base table", ours, PACKED_FIXED, d,
                "client_cpu_us_per_param", "ours/peer", "ratio <= 3", lambda r: r <= 3)
            add("client CPU per parameter within 3x of packed Paillier with a fixed-base table (upload work only)",
                ours, PACKED_FIXED, d, "client_upload_cpu_us_per_param", "ours/peer", "ratio <= 3", lambda r: r <= 3)
    return out


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table(title=f"one round, {result['workload']['clients']} clients; CPU us per parameter "
                        "(client: per client, server: per round); medians of "
                        f"{result['workload']['repetitions']} repetitions")
    for column in ("contender", "d", "client us/p", "server us/p", "B up/p", "B down/p", "max |error|",
                   "client/bound", "scaled from"):
        table.add_column(column, justify="right")
    for row in result["results"]:
        if row["status"] != "ok":
            table.add_row(row["contender"], f"{row['parameters']:,}", row["status"], "", "", "", "", "",
                          (row["reason"] or "")[:40])
            continue
        b = row["bound"]["client"]["measured_over_plain_bound"] if row["bound"] and "client" in row["bound"] else None
        table.add_row(row["contender"], f"{row['parameters']:,}", f"{row['client_cpu_us_per_param']:.3g}",
                      f"{row['server_cpu_us_per_param']:.3g}", f"{row['bytes_up_per_param']:.3g}",
                      f"{row['bytes_down_per_param']:.3g}", f"{row['max_abs_error']:.2g}",
                      "-" if b is None else f"{b:.2f}", f"{row['scaled_from']:,}" if row["scaled_from"] else "-")
    console.print(table)
    for t in result["targets"]:
        verdict = "n/a" if t["met"] is None else ("met" if t["met"] else "NOT met")
        ratio = "-" if t["ratio"] is None else f"{t['ratio']:.3g}"
        console.print(f"d = {t['parameters']:,} {t['contender']} vs {t['peer']}: {t['target']}: "
                      f"ratio {ratio} ({t['test']}): {verdict}" + (f" [{t['note']}]" if t["note"] else ""))
    for c in result["contenders"]:
        console.print(f"{c['name']}: {c['status']}" + (f" ({c['reason']})" if c["reason"] else "")
                      + (f"; trust: {c['trust']}" if c["trust"] else ""))
    console.print(f"load average before/after: {result['load_average_before']} / {result['load_average_after']} "
                  f"on {result['machine']['usable_cpus']} usable CPUs; {result['duration_s']} s")


def plot(result: dict[str, Any], path: Path) -> None:
    """Client CPU and bytes up per parameter, per contender, at each size (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["results"] if r["status"] == "ok"]
    names = list(dict.fromkeys(r["contender"] for r in rows))
    sizes = result["workload"]["parameters"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    width = 0.8 / max(1, len(sizes))
    for panel, (key, label) in zip(axes, (("client_cpu_us_per_param", "client CPU us / parameter"),
                                          ("server_cpu_us_per_param", "server CPU us / parameter"),
                                          ("bytes_up_per_param", "bytes up / parameter / client"))):
        for s, d in enumerate(sizes):
            values = [next((r[key] for r in rows if r["contender"] == n and r["parameters"] == d), 0.0) for n in names]
            panel.bar([i + s * width for i in range(len(names))], values, width, label=f"d = {d:,}")
        panel.set_yscale("log")
        panel.set_xticks([i + width * (len(sizes) - 1) / 2 for i in range(len(names))], names, rotation=35, ha="right")
        panel.set_title(label)
    axes[0].legend()
    fig.suptitle(f"{result['workload']['clients']} clients, one round ({result['mode']} run); "
                 "sliced contenders scaled linearly")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def validate(result: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(result, json.loads(SCHEMA.read_text()))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, 1 repetition, small slices")
    parser.add_argument("--sizes", help="comma-separated parameter counts (default: 10000,100000,1000000)")
    parser.add_argument("--contenders", help=f"comma-separated subset of: {', '.join(CONTENDERS)}")
    parser.add_argument("--repetitions", type=int, help="default 3 (1 with --quick)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slice", action="append", default=[], metavar="NAME=N",
                        help="measure NAME on at most N parameters and scale (overrides its default slice)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and PNG (default: %(default)s)")
    args = parser.parse_args(argv)
    args.argv = argv
    args.sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else FULL_SIZES)
    args.contenders = args.contenders.split(",") if args.contenders else list(CONTENDERS)
    unknown = [n for n in args.contenders if n not in CONTENDERS]
    if unknown:
        parser.error(f"unknown contenders {unknown}; known: {', '.join(CONTENDERS)}")
    args.repetitions = args.repetitions or (1 if args.quick else 3)
    args.repeats = 8 if args.quick else 30  # exponentiations timed for the bound
    args.slice = {name: int(n) for name, _, n in (s.partition("=") for s in args.slice)}
    full = (args.sizes == list(FULL_SIZES) and args.contenders == list(CONTENDERS) and args.repetitions == 3
            and args.clients == 10 and not args.slice)
    args.mode = "quick" if args.quick else ("full" if full else "custom")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args)
    validate(result)
    print_table(result)
    harness.write_results(result, args.out, "peers", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
