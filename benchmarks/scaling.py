"""Time per round against the model size d and against the number of clients, with fitted slopes.

    python benchmarks/scaling.py --quick    # tiny sizes (seconds): results/scaling-quick.{json,png}
    python benchmarks/scaling.py            # d = 10k..1M at 10 clients, 2..100 clients at d = 10k

Every point is one round of one contender in a process of its own (`harness.py`), measured in
full (no slice: a scaled slice would only show the line it was scaled along). The time per round
is CPU seconds of all parties (every client plus the server, pool workers included); the slope is
the least-squares fit of log(time) against log(d) or log(clients). With more clients the slots
widen (2^b > clients * 2V), so slightly fewer fit a ciphertext. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import harness
from peers import machine, versions

RESULTS = Path(__file__).resolve().parent / "results"
CONTENDERS = ("mpksa-v1", "packed-paillier-fixed-base", "tenseal-ckks", "plaintext-float32")
# Largest d measured per contender in the d sweep (memory: CKKS keeps ~10 kB per parameter in flight).
MAX_PARAMETERS = {"tenseal-ckks": 300_000}
FULL = {"sizes": (10_000, 30_000, 100_000, 300_000, 1_000_000), "clients": (2, 5, 10, 20, 50, 100),
        "base_clients": 10, "base_size": 10_000}
QUICK = {"sizes": (300, 1_000), "clients": (2, 5), "base_clients": 5, "base_size": 300}


def fit_slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y against log x (None with fewer than two points)."""
    if len(xs) < 2:
        return None
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = args.plan
    points = sorted({(d, plan["base_clients"]) for d in plan["sizes"]} | {(plan["base_size"], n) for n in plan["clients"]})
    started, load_before = time.time(), harness.machine_load()
    measured: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for rep in range(args.repetitions):
        for d, n in points:
            for name in args.contenders:
                if d > MAX_PARAMETERS.get(name, d):
                    continue
                config = {"contender": name, "parameters": d, "slice": d, "clients": n, "seed": args.seed + d,
                          "repeats": 0}
                out = harness.measure_in_subprocess(config)
                print(f"rep {rep + 1}/{args.repetitions} d = {d:,} clients = {n} {name}: {out['status']}", flush=True)
                measured.setdefault((name, d, n), []).append(out)
    series = []
    for name in args.contenders:
        for axis, fixed, values in (("parameters", plan["base_clients"], plan["sizes"]),
                                    ("clients", plan["base_size"], plan["clients"])):
            rows = []
            for v in values:
                d, n = (v, fixed) if axis == "parameters" else (fixed, v)
                runs = [r for r in measured.get((name, d, n), []) if r["status"] == "ok"]
                if runs:
                    rows.append(point(d, n, runs))
            skipped = [r for key, rs in measured.items() if key[0] == name for r in rs if r["status"] != "ok"]
            series.append({
                "contender": name, "axis": axis, "fixed": fixed, "points": rows,
                "status": "ok" if rows else (skipped[0]["status"] if skipped else "not measured"),
                "reason": None if rows else (skipped[0].get("reason") if skipped else "no point in range"),
                "slope_round_cpu": fit_slope([p[axis] for p in rows], [p["round_cpu_s"] for p in rows]),
                "slope_server_cpu": fit_slope([p[axis] for p in rows], [p["server_cpu_s"] for p in rows]),
            })
    return {"benchmark": "scaling", "command": " ".join(["python", "benchmarks/scaling.py", *args.argv]),
            "mode": args.mode, "plan": {k: list(v) if isinstance(v, tuple) else v
                                                                for k, v in plan.items()},
            "max_parameters": MAX_PARAMETERS, "repetitions": args.repetitions,
            "time_per_round": "CPU seconds of every client plus the server (pool workers included), median",
            "machine": machine(), "versions": versions(), "load_average_before": load_before,
            "load_average_after": harness.machine_load(), "duration_s": round(time.time() - started, 1),
            "series": series}


def point(d: int, n: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    client = [sum(r["client_phases_cpu_s"].values()) for r in runs]
    server = [sum(r["server_phases_cpu_s"].values()) for r in runs]
    return {"parameters": d, "clients": n,
            "round_cpu_s": statistics.median(n * c + s for c, s in zip(client, server)),
            "client_cpu_s": statistics.median(client), "server_cpu_s": statistics.median(server),
            "round_wall_s": statistics.median(r["round_wall_s"] for r in runs),
            "load_before": runs[0]["load_before"], "load_after": runs[-1]["load_after"]}


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    for panel, axis in zip(axes, ("parameters", "clients")):
        for s in result["series"]:
            if s["axis"] != axis or not s["points"]:
                continue
            xs = [p[axis] for p in s["points"]]
            slope = "" if s["slope_round_cpu"] is None else f", slope {s['slope_round_cpu']:.2f}"
            panel.plot(xs, [p["round_cpu_s"] for p in s["points"]], marker="o", label=f"{s['contender']}{slope}")
        fixed = next(s["fixed"] for s in result["series"] if s["axis"] == axis)
        ticks = result["plan"]["sizes" if axis == "parameters" else "clients"]
        panel.set_xscale("log")
        panel.set_yscale("log")
        panel.set_xticks(ticks, [f"{t:,}" for t in ticks])
        panel.minorticks_off()
        panel.set_xlabel("parameters d" if axis == "parameters" else "clients")
        panel.set_ylabel("CPU s per round (all clients + server)")
        panel.set_title(f"{'against d' if axis == 'parameters' else 'against clients'} "
                        f"({'clients' if axis == 'parameters' else 'd'} = {fixed:,})")
        panel.grid(True, which="both", alpha=0.3)
        panel.legend(fontsize=8)
    fig.suptitle(f"time per round, log-log least-squares slopes ({result['mode']} run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and client counts")
    parser.add_argument("--contenders", help=f"comma-separated (default: {','.join(CONTENDERS)})")
    parser.add_argument("--sizes", help="comma-separated d of the d sweep (default: 10000,...,1000000)")
    parser.add_argument("--clients", help="comma-separated client counts of the clients sweep (default: 2,...,100)")
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and PNG (default: %(default)s)")
    args = parser.parse_args(argv)
    args.argv = argv
    args.contenders = args.contenders.split(",") if args.contenders else list(CONTENDERS)
    args.plan = dict(QUICK if args.quick else FULL)
    if args.sizes:
        args.plan["sizes"] = tuple(int(v) for v in args.sizes.split(","))
    if args.clients:
        args.plan["clients"] = tuple(int(v) for v in args.clients.split(","))
    full = args.contenders == list(CONTENDERS) and args.repetitions == 1 and args.plan == FULL
    args.mode = "quick" if args.quick else ("full" if full else "custom")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args)
    for s in result["series"]:
        slope = "-" if s["slope_round_cpu"] is None else f"{s['slope_round_cpu']:.2f}"
        print(f"{s['contender']} against {s['axis']}: {len(s['points'])} points, slope {slope}"
              + (f" ({s['status']}: {s['reason']})" if s["status"] != "ok" else ""))
    harness.write_results(result, args.out, "scaling", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
