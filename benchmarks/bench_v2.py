"""Profile v2 against v1 on the fast implementation, both engines, and the issue-11 targets, in one run.

    python benchmarks/bench_v2.py --quick   # seconds: results/bench_v2-quick.json
    python benchmarks/bench_v2.py           # about 10 to 20 minutes on 2 cores: results/bench_v2.json

Other sizes or engines write results/bench_v2-custom.json. Every figure is measured in this run;
CPU seconds include the fast implementation's pool workers. No timing is asserted anywhere.

1. Engine options, one process, serial: the CPU time of one power with a 288-bit exponent (r_i)
   or a 292-bit one (R for |S| = 10) mod the 4096-bit n^2 of v2-rsa2048: `gmpy2.powmod`,
   `gmpy2.powmod_sec` (the constant-time engine), four powmod_sec of 72-bit exponents over stored
   powers (the constant-time alternative), the comb over t = 2..6 stored powers (the variable-time
   engine uses t = 4 for r_i and 5 for R), and full fixed-base tables of window 4, 6 and 8 (build
   time, memory per base and for the u bases of the big round); and one base derivation.
2. The one-time base derivation for the big round's dimension, cold, into a fresh cache folder:
   the bases (both engines need them), then the stored powers (the variable-time engine), then a
   warm load (read, digest, spot check), each with its CPU (this process and the pool's workers)
   and wall seconds.
3. Targets at --d parameters (default 50,000), 10 clients: one round of v1 and of v2 on each
   engine, each in a process of its own (`harness.py`), with the base cache warm: bytes up and down
   per client per parameter (float32 FedAvg sends 4), client CPU per parameter (per client),
   server CPU per parameter (per round).
4. The big round: --round-d parameters (default 1,000,000) with 10 clients, all simulated one after
   another in one process, plus the server, on each engine with the base cache warm: wall seconds
   of the round, measured, never extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gmpy2

import harness
from contenders import Workload
from peers import machine, versions

from mpksa import fast
from mpksa.fast.bases import SegmentBases, derive_base
from mpksa.fast.group import (
    FixedBaseTable,
    comb_columns,
    comb_power,
    default_workers,
    shutdown_pool,
    stored_powers,
    worker_cpu_seconds,
)
from mpksa.params import MAX_CLIENT_BITS, parameter_set

RESULTS = Path(__file__).resolve().parent / "results"
V1, V2 = "mpksa-v1", "mpksa-v2"
ENGINES = {"constant-time": False, "variable-time": True}
FULL = {"d": 50_000, "round_d": 1_000_000, "clients": 10, "repeats": 100}
QUICK = {"d": 500, "round_d": 3_000, "clients": 10, "repeats": 4}
FLOAT32_BYTES = 4
ISSUE_ROUND_D = 1_000_000


def cpu() -> float:
    return time.process_time() + worker_cpu_seconds()


def per_call(function: Any, arguments: list[Any]) -> float:
    """Mean CPU seconds of one call of function(argument) over the arguments, in this process."""
    start = time.process_time()
    for argument in arguments:
        function(argument)
    return (time.process_time() - start) / len(arguments)


def engine_options(repeats: int, segments: int) -> dict[str, Any]:
    """Section 1: CPU ms of one power of a segment base, by method (v2-rsa2048)."""
    params = parameter_set("v2-rsa2048")
    n2, mask_bits = gmpy2.mpz(params.n2), params.mask_bits
    h = gmpy2.mpz(derive_base(params.n, 1))
    rng = random.Random(11)
    masks = [rng.getrandbits(mask_bits) | 1 << (mask_bits - 1) for _ in range(repeats)]
    sums = [rng.getrandbits(mask_bits + 4) | 1 << (mask_bits + 3) for _ in range(repeats)]  # R for |S| = 10
    out: dict[str, Any] = {"exponent_bits": {"r_i": mask_bits, "R": mask_bits + 4}, "modulus_bits": 2 * params.modulus_bits,
                           "repeats": repeats, "ms": {}}
    ms = out["ms"]
    ms["powmod r_i"] = 1e3 * per_call(lambda e: gmpy2.powmod(h, e, n2), masks)
    for bits in (256, 320, 321):  # powmod_sec works in whole 64-bit limbs: 257 to 320 bits cost the same
        exponents = [rng.getrandbits(bits) | 1 << (bits - 1) for _ in range(repeats)]
        ms[f"powmod_sec, a {bits}-bit exponent"] = 1e3 * per_call(lambda e: gmpy2.powmod_sec(h, e, n2), exponents)
    ms["powmod_sec r_i (constant-time engine, client)"] = 1e3 * per_call(lambda e: gmpy2.powmod_sec(h, e, n2), masks)
    ms["powmod_sec R (constant-time engine, server, with the inversion of h_j)"] = 1e3 * per_call(
        lambda e: gmpy2.powmod_sec(gmpy2.invert(h, n2), e, n2), sums)
    chunk = -(-mask_bits // 4)
    four = stored_powers(h, chunk, 4, n2)
    ms["4 powmod_sec of 72-bit chunks over 4 stored powers (constant time)"] = 1e3 * per_call(
        lambda e: [gmpy2.powmod_sec(four[k], (e >> (chunk * k)) & ((1 << chunk) - 1), n2) for k in range(4)], masks)
    for rows in range(2, 7):
        spacing = -(-mask_bits // rows)
        powers = stored_powers(h, spacing, rows, n2)
        ms[f"comb r_i over {rows} stored powers ({rows * 0.5:g} KiB per base)"] = (
            1e3 * per_call(lambda e: comb_power(powers, comb_columns(e, spacing, rows), rows, n2), masks))
    spacing = -(-mask_bits // 4)
    powers = stored_powers(h, spacing, -(-(mask_bits + MAX_CLIENT_BITS) // spacing), n2)

    def server_comb(e: int) -> Any:
        rows = -(-e.bit_length() // spacing)
        return gmpy2.invert(comb_power(powers, comb_columns(e, spacing, rows), rows, n2), n2)

    ms["comb R over 5 stored powers, then one inversion (variable-time engine, server)"] = 1e3 * per_call(server_comb, sums)
    out["full_tables"] = []
    for window in (4, 6, 8):
        start = time.process_time()
        table = FixedBaseTable(h, n2, mask_bits, window)
        build = time.process_time() - start
        entries = len(table.rows) * (1 << window)
        out["full_tables"].append({
            "window": window, "build_ms": 1e3 * build, "power_ms": 1e3 * per_call(table.power, masks),
            "mib_per_base": entries * 512 / 2**20, "gib_for_round_bases": entries * 512 * segments / 2**30,
            "round_bases": segments})
    ms["one base derivation h_j = x^(2n) mod n^2"] = 1e3 * per_call(
        lambda j: derive_base(params.n, j), list(range(2, 2 + max(2, repeats // 10))))
    return out


def derivation(cache: Path, segments: int, workers: int) -> dict[str, Any]:
    """Section 2: the one-time cost for `segments` bases of v2-rsa2048, cold, then a warm load."""
    params = parameter_set("v2-rsa2048")
    engine = fast.FastV2(params, workers=workers, variable_time=True, bases=SegmentBases(params.n, cache))
    out: dict[str, Any] = {"parameter_set": params.name, "segments": segments, "workers": workers}
    for step, call in (("bases (both engines)", lambda b: b.bases(segments, workers)),
                       ("stored powers (variable-time engine)",
                        lambda b: b.stored_powers(segments, engine.spacing, engine.rows, workers))):
        start_cpu, start_wall = cpu(), time.perf_counter()
        call(engine.bases)
        out[step] = {"cpu_s": cpu() - start_cpu, "wall_s": time.perf_counter() - start_wall}
    out["cold"] = engine.bases.derived == segments  # False when --cache-dir already held the bases
    warm = SegmentBases(params.n, cache)
    start_cpu, start_wall = cpu(), time.perf_counter()
    warm.stored_powers(segments, engine.spacing, engine.rows, workers)
    out["warm load (read, digest, spot check)"] = {"cpu_s": cpu() - start_cpu, "wall_s": time.perf_counter() - start_wall,
                                                   "derived": warm.derived, "loaded": warm.loaded}
    out["files_mib"] = {p.name: p.stat().st_size / 2**20 for p in sorted(cache.iterdir())}
    shutdown_pool()
    return out


def one_round(contender: str, engine: str, d: int, clients: int) -> dict[str, Any]:
    """Sections 3 and 4: one round in a process of its own; per-parameter figures and the wall time."""
    run = harness.measure_in_subprocess({"contender": contender, "parameters": d, "slice": "full", "clients": clients,
                                         "seed": 0, "repeats": 0, "options": {"variable_time": ENGINES[engine]}})
    row: dict[str, Any] = {"contender": contender, "engine": engine, "parameters": d, "clients": clients,
                           "status": run["status"]}
    if run["status"] != "ok":
        row["reason"] = run.get("reason")
        return row
    figures = harness.scaled(run)
    row.update({key: figures[key] for key in ("client_cpu_us_per_param", "server_cpu_us_per_param", "bytes_up_per_param",
                                              "bytes_down_per_param", "round_cpu_s")})
    row.update({"round_wall_s": run["round_wall_s"], "setup_cpu_s": run["setup_cpu_s"],
                "exact_integer_sum": run["exact_integer_sum"], "max_abs_error": run["max_abs_error"],
                "client_phases_cpu_s": run["client_phases_cpu_s"], "server_phases_cpu_s": run["server_phases_cpu_s"],
                "load_before": run["load_before"], "load_after": run["load_after"]})
    print(f"  {contender} {engine} d = {d:,}: round {run['round_wall_s']:.1f} s wall, "
          f"{figures['round_cpu_s']:.1f} s CPU, exact {run['exact_integer_sum']}", flush=True)
    return row


def targets(rows: list[dict[str, Any]], big: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue-11 targets as ratios of this run's figures, for every pairing of engines."""
    by = {(r["contender"], r["engine"]): r for r in rows if r["status"] == "ok"}
    out = []

    def add(target: str, measure: str, ratio: float | None, test: str, met: bool | None, note: str) -> None:
        out.append({"target": target, "measure": measure, "ratio": ratio, "test": test, "met": met, "note": note})

    for engine in ENGINES:
        for contender in (V1, V2):
            row = by.get((contender, engine))
            if row is None:
                continue
            up, down = row["bytes_up_per_param"] / FLOAT32_BYTES, row["bytes_down_per_param"] / FLOAT32_BYTES
            if contender == V2:
                add("bytes up per client per parameter <= 2.1x float32 FedAvg", f"{contender} {engine}", up,
                    "ratio <= 2.1", up <= 2.1, f"d = {row['parameters']:,}")
            else:
                add("bytes up per client per parameter against float32 FedAvg (v1, for comparison)",
                    f"{contender} {engine}", up, "none", None, f"d = {row['parameters']:,}")
            add("bytes down per client per parameter against float32 FedAvg (reported)", f"{contender} {engine}", down,
                "none", None, "pk_S, the challenge and the sealed float32 model")
    for v2_engine in ENGINES:
        for v1_engine in ENGINES:
            a, b = by.get((V2, v2_engine)), by.get((V1, v1_engine))
            if a is None or b is None:
                continue
            pairing = f"v2 {v2_engine} / v1 {v1_engine}"
            client = a["client_cpu_us_per_param"] / b["client_cpu_us_per_param"]
            server = a["server_cpu_us_per_param"] / b["server_cpu_us_per_param"]
            add("client CPU per parameter at most 0.5x v1's fast implementation", pairing, client, "ratio <= 0.5",
                client <= 0.5, f"d = {a['parameters']:,}")
            add("server CPU per parameter at most v1's", pairing, server, "ratio <= 1", server <= 1,
                f"d = {a['parameters']:,}")
    for row in big:
        if row["status"] != "ok":
            add("a round of 10 clients and the server in under 60 s wall, base cache warm", f"v2 {row['engine']}",
                None, "wall <= 60 s", None, f"did not run: {row.get('reason')}")
            continue
        at_size = row["parameters"] == ISSUE_ROUND_D and row["clients"] == 10
        add(f"a {row['parameters']:,}-parameter round of {row['clients']} clients one after another and the server in "
            "under 60 s wall, base cache warm", f"v2 {row['engine']}", row["round_wall_s"], "wall <= 60 s",
            row["round_wall_s"] <= 60 and bool(row["exact_integer_sum"]) if at_size else None,
            f"measured; load average {row['load_before']} before, {row['load_after']} after"
            + ("" if at_size else f"; the target is for {ISSUE_ROUND_D:,} parameters and 10 clients"))
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    started, load_before = time.time(), harness.machine_load()
    params = parameter_set("v2-rsa2048")
    encoding = Workload(args.clients, args.round_d).encoding
    segments = encoding.segment_count(args.round_d, params.modulus_bits)
    result: dict[str, Any] = {
        "benchmark": "bench_v2", "command": " ".join(["python", "benchmarks/bench_v2.py", *args.argv]),
        "mode": args.mode, "machine": machine(), "versions": versions(), "load_average_before": load_before,
        "workload": {"clients": args.clients, "targets_parameters": args.d, "round_parameters": args.round_d,
                     "updates": "float32 uniform in [-1, 1]", "frac_bits": 16, "clip": 1.0, "weight": 1,
                     "parameter_sets": {"v1": "v1-rsa2048-short", "v2": "v2-rsa2048"}, "engines": args.engines},
    }
    print("1. engine options", flush=True)
    result["engine_options"] = engine_options(args.repeats, segments)
    with tempfile.TemporaryDirectory(prefix="mpksa-bench-v2-") as temporary:
        cache = Path(args.cache_dir or temporary)
        os.environ["MPKSA_CACHE_DIR"] = str(cache)  # the measured processes use this cache
        print(f"2. one-time base derivation for u = {segments:,} segments (d = {args.round_d:,}) into {cache}", flush=True)
        result["derivation"] = derivation(cache, segments, default_workers())
        print(f"3. targets at d = {args.d:,}", flush=True)
        rows = [one_round(contender, engine, args.d, args.clients) for engine in args.engines for contender in (V1, V2)]
        print(f"4. the big round, d = {args.round_d:,}", flush=True)
        big = [one_round(V2, engine, args.round_d, args.clients) for engine in args.engines]
    result.update({"rounds": rows, "big_round": big, "targets": targets(rows, big),
                   "load_average_after": harness.machine_load(), "duration_s": round(time.time() - started, 1)})
    return result


def print_summary(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    options = result["engine_options"]
    table = Table(title=f"one power mod n^2 ({options['modulus_bits']} bits), CPU ms, mean of {options['repeats']}")
    table.add_column("method")
    table.add_column("ms", justify="right")
    for method, value in options["ms"].items():
        table.add_row(method, f"{value:.3f}")
    for t in options["full_tables"]:
        table.add_row(f"full table, window {t['window']}: build {t['build_ms']:.0f} ms, {t['mib_per_base']:.2f} MiB per base, "
                      f"{t['gib_for_round_bases']:.1f} GiB for {t['round_bases']:,} bases", f"{t['power_ms']:.3f}")
    console.print(table)
    console.print({k: v for k, v in result["derivation"].items()})
    rounds = Table(title="one round, CPU us per parameter (client: per client; server: per round)")
    for column in ("profile", "engine", "d", "client us/p", "server us/p", "B up/p", "B down/p", "round CPU s",
                   "round wall s", "exact"):
        rounds.add_column(column, justify="right")
    for row in result["rounds"] + result["big_round"]:
        if row["status"] != "ok":
            rounds.add_row(row["contender"], row["engine"], f"{row['parameters']:,}", row["status"], "", "", "", "", "",
                           str(row.get("reason", ""))[:40])
            continue
        rounds.add_row(row["contender"], row["engine"], f"{row['parameters']:,}", f"{row['client_cpu_us_per_param']:.3g}",
                       f"{row['server_cpu_us_per_param']:.3g}", f"{row['bytes_up_per_param']:.3g}",
                       f"{row['bytes_down_per_param']:.3g}", f"{row['round_cpu_s']:.1f}", f"{row['round_wall_s']:.1f}",
                       str(row["exact_integer_sum"]))
    console.print(rounds)
    for t in result["targets"]:
        verdict = "reported" if t["met"] is None else ("met" if t["met"] else "NOT met")
        ratio = "-" if t["ratio"] is None else f"{t['ratio']:.3g}"
        console.print(f"{t['measure']}: {t['target']}: {ratio} ({t['test']}): {verdict} [{t['note']}]")
    console.print(f"load average before/after: {result['load_average_before']} / {result['load_average_after']} on "
                  f"{result['machine']['usable_cpus']} usable CPUs; {result['duration_s']} s")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK}")
    parser.add_argument("--d", type=int, help=f"parameters of the target rounds (default {FULL['d']:,})")
    parser.add_argument("--round-d", type=int, help=f"parameters of the big round (default {FULL['round_d']:,})")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of: %(default)s")
    parser.add_argument("--cache-dir", type=Path, help="keep the derived bases there (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    args.argv = argv
    sizes = QUICK if args.quick else FULL
    args.d = args.d or sizes["d"]
    args.round_d = args.round_d or sizes["round_d"]
    args.repeats = sizes["repeats"]
    args.engines = args.engines.split(",")
    unknown = [e for e in args.engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engines {unknown}; known: {', '.join(ENGINES)}")
    default = (args.d, args.round_d, args.clients, args.engines) == (sizes["d"], sizes["round_d"], 10, list(ENGINES))
    args.mode = ("quick" if args.quick else "full") if default else "custom"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args)
    print_summary(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / ("bench_v2.json" if result["mode"] == "full" else f"bench_v2-{result['mode']}.json")
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0 if all(r["status"] == "ok" and r["exact_integer_sum"] for r in result["rounds"] + result["big_round"]) else 1


if __name__ == "__main__":
    sys.exit(main())
