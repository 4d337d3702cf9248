"""MPKSA on Flower's simulation engine against plaintext FedAvg and Flower's SecAgg+, in one run.

    python benchmarks/bench_flower.py --quick   # 4 clients, 2,000 parameters: results/bench_flower-quick.json
    python benchmarks/bench_flower.py           # 100 clients, 100,000 parameters: results/bench_flower.json
                                                # (other sizes or options: results/bench_flower-custom.json)

The issue-12 target: 100 simulated clients with a 100,000-parameter model complete a `v2` round on
this machine. One run of Flower's simulation engine (Ray) carries every method, one after the
other, over the same synthetic clients (`mpksa.flower.synthetic`: each update recomputable, so the
decrypted sum is checked against the plaintext sum): plaintext FedAvg (Flower's default fit
workflow), MPKSA (`MpksaWorkflow` and `mpksa_mod` on the fast implementation, constant-time engine)
and SecAgg+ (`SecAggPlusWorkflow` and `secaggplus_mod`, every client sharing with every other,
threshold one half). Reported per method: seconds per fit round on the server's clock (all
clients' work included), bytes per client and round in each direction (Flower's protobuf messages
counted at the grid), and the peak memory of the whole process tree while the method ran: this
process, Ray's daemons and its worker processes, polled from /proc every `--poll` seconds. RSS
summed over processes counts shared pages once per process that maps them (Ray's object store
among them); PSS divides each shared page among its processes, so its sum is the tree's real
footprint. Both are reported.

Before the run, the server's fast implementation derives the `v2` segment bases h_1..h_u (kept on
disk, spec 10.3); their one-time cost is reported apart and not in any round. No timing is
asserted anywhere; absolute times on a shared machine are noise, ratios within one run are what
to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

for key, value in {"FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1", "RAY_USAGE_STATS_ENABLED": "0",
                   "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}.items():
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from mpksa.flower import synthetic  # noqa: E402
from mpksa.flower.compare import compare, synthetic_strategy  # noqa: E402
from mpksa.flower.profiles import stage_profile  # noqa: E402
from mpksa.flower.workflow import DEFAULT_ENCODING  # noqa: E402
from mpksa.params import parameter_set  # noqa: E402

MPKSA, PARAMS = "v2", "v2-rsa2048"
PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeMemory:
    """Polls /proc for this process and all its descendants: the sums of their RSS and PSS."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (monotonic time, RSS sum, PSS sum) in bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def sample(self) -> tuple[float, int, int]:
        rss = pss = 0
        for pid in tree(os.getpid()):
            rss += _rss(pid)
            pss += _pss(pid)
        return time.monotonic(), rss, pss

    def peak(self, start: float = 0.0, end: float = float("inf")) -> dict[str, int]:
        window = [s for s in self.samples if start <= s[0] <= end] or self.samples
        return {"peak_rss_tree_bytes": max(s[1] for s in window), "peak_pss_tree_bytes": max(s[2] for s in window)}


def tree(root: int) -> list[int]:
    """root and every process below it, from the parent ids in /proc/<pid>/stat."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    params = {MPKSA: args.params or PARAMS}
    methods = ["plaintext", MPKSA, "secagg+"]
    profile = stage_profile(MPKSA, params[MPKSA], None)
    segments = profile.segment_count(DEFAULT_ENCODING, args.dim)
    start = time.perf_counter()
    profile.engine.prepare(segments)  # the bases h_1..h_u, derived or loaded from disk
    bases_seconds = time.perf_counter() - start

    ends: dict[str, float] = {}
    progress: list[dict[str, Any]] = []

    def on_round(method: str, server_round: int, seconds: float, up: float, down: float) -> None:
        ends[method] = time.monotonic()
        progress.append({"method": method, "round": server_round, "seconds": seconds})
        print(f"{method}: round {server_round} took {seconds:.2f} s, {up / 1e6:.3f} MB up and "
              f"{down / 1e6:.3f} MB down per client", file=sys.stderr, flush=True)

    cpus = os.cpu_count() or 1
    with TreeMemory(args.poll) as memory:
        begun = time.monotonic()
        start = time.perf_counter()
        runs = compare(methods, lambda router: synthetic.client_app([router]), synthetic_strategy(args.clients, args.dim),
                       clients=args.clients, rounds=args.rounds, engine=args.engine, params=params,
                       allow_insecure=parameter_set(params[MPKSA]).insecure, hardened=args.hardened, seed=1,
                       backend_config={"client_resources": {"num_cpus": 1}, "init_args": {"num_cpus": cpus}},
                       on_round=on_round)
        total = time.perf_counter() - start
    rows = {}
    previous = begun
    for method in methods:
        m = runs[method]
        row: dict[str, Any] = {"seconds_per_round": m.seconds, "bytes_up_per_client": m.up,
                               "bytes_down_per_client": m.down, "model_moved": m.moved}
        row |= memory.peak(previous, ends[method])
        previous = ends[method]
        if m.workflow is not None:
            row["mpksa_rounds"] = [check(rec) for rec in m.workflow.rounds]
        rows[method] = row
    mean = {method: float(np.mean(rows[method]["seconds_per_round"])) for method in methods}
    up = {method: float(np.mean(rows[method]["bytes_up_per_client"])) for method in methods}
    return {
        "mode": "quick" if args.quick else "full",
        "machine": {"cpus": cpus, "platform": platform.platform(), "python": platform.python_version()},
        "job": {"clients": args.clients, "parameters": args.dim, "rounds": args.rounds, "engine": args.engine,
                "mpksa_profile": MPKSA, "mpksa_params": params[MPKSA], "hardened": args.hardened, "segments": segments,
                "encoding": {"frac_bits": DEFAULT_ENCODING.frac_bits, "clip": DEFAULT_ENCODING.clip,
                             "weight_max": DEFAULT_ENCODING.weight_max, "max_clients": DEFAULT_ENCODING.max_clients},
                "secagg+": {"num_shares": 1.0, "reconstruction_threshold": 0.5}},
        "methods": rows,
        "ratios": {f"{MPKSA}_over_plaintext_seconds": mean[MPKSA] / mean["plaintext"],
                   f"{MPKSA}_over_secagg+_seconds": mean[MPKSA] / mean["secagg+"],
                   f"{MPKSA}_over_plaintext_bytes_up": up[MPKSA] / up["plaintext"],
                   f"{MPKSA}_over_secagg+_bytes_up": up[MPKSA] / up["secagg+"]},
        "memory": memory.peak() | {"samples": len(memory.samples), "interval_s": args.poll},
        "bases_seconds": bases_seconds,
        "total_seconds": total,
        "progress": progress,
    }


def check(record: Any) -> dict[str, Any]:
    """One MPKSA round: its outcome, attempts, stage seconds, and whether it decrypted the exact sum."""
    final = record.final
    row = {"round": record.server_round, "outcome": record.outcome, "attempts": len(record.attempts),
           "clients": len(final.online), "stage_seconds": dict(final.seconds)}
    if record.outcome == "aggregated":
        totals, weight_sum = synthetic.expected_sums(record.start, final.online, record.server_round, final.number,
                                                     DEFAULT_ENCODING)
        row["exact"] = [int(x) for x in final.weighted_sums] == totals and final.weight_sum == weight_sum
    return row


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.getLogger("flwr").setLevel(logging.WARNING)  # each round's line below says what the INFO lines would
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 clients, 2,000 parameters, the insecure test set")
    parser.add_argument("--clients", type=int, default=None, help="simulated clients (default: 100)")
    parser.add_argument("--dim", type=int, default=None, help="model parameters (default: 100,000)")
    parser.add_argument("--rounds", type=int, default=1, help="fit rounds per method (default: %(default)s)")
    parser.add_argument("--params", default=None, help=f"the v2 parameter set (default: {PARAMS}; quick: v2-test-512)")
    parser.add_argument("--hardened", action="store_true", help="MPKSA runs the hardening (spec 5.13, 5.14)")
    parser.add_argument("--engine", default="simulation", choices=("simulation", "local"),
                        help="Flower's simulation engine (Ray), or the nodes in this process (default: %(default)s)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between memory samples (default: %(default)s)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"),
                        help="folder of bench_flower.json (default: benchmarks/results)")
    args = parser.parse_args(argv)
    args.clients = args.clients or (4 if args.quick else 100)
    args.dim = args.dim or (2000 if args.quick else 100_000)
    if args.quick and args.params is None:
        args.params = "v2-test-512"
    result = run(args)
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    full = (args.clients, args.dim, args.rounds, args.params, args.engine, args.hardened) == \
        (100, 100_000, 1, None, "simulation", False)
    path = out / ("bench_flower-quick.json" if args.quick else "bench_flower.json" if full else "bench_flower-custom.json")
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("job", "ratios", "memory", "bases_seconds", "total_seconds")}, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
