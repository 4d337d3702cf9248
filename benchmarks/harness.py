"""Measures one contender on one workload in a process of its own, and summarizes repetitions.

    python benchmarks/harness.py '{"contender": "mpksa-v1", "parameters": 100000, "slice": "full",
                                   "clients": 10, "seed": 0, "repeats": 30}'

prints one JSON line: the contender's CPU seconds per party and phase (this process's CPU, all
threads, plus its pool workers' CPU), the bytes each client sends and receives, the error of the
decoded sum against the float64 sum of the float32 updates, and the CPU time of one modular
exponentiation of each kind the contender needs (the exponentiation-count bound). A contender
whose library does not import, or that is not available, answers {"status": "skipped", "reason"}.

"slice" is "full" or "quick" (the contender's own slice for that kind of run: the largest parameter
count it is measured on, larger sizes being scaled) or a parameter count; "repeats" is how many
exponentiations of each kind are timed for the bound (0: no bound); the optional "options" go to the
contender's constructor (MPKSA's: {"variable_time": false} for the constant-time engine).

`peers.py` and `scaling.py` call `measure_in_subprocess`, one process per contender and run.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

CHILD_TIMEOUT_S = 3600


def machine_load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def exponentiation_cpu_s(exponent_bits: int, modulus_bits: int, fixed_base: bool, repeats: int) -> float:
    """Median CPU seconds of one base^e mod m (random odd m of `modulus_bits` bits, random `exponent_bits`-bit e):
    gmpy2.powmod, or a power through the fast implementation's fixed-base table (window for 4096 uses)."""
    import gmpy2

    from mpksa.fast.group import FixedBaseTable, choose_window

    rnd = random.Random(exponent_bits * 65537 + modulus_bits)
    modulus = gmpy2.mpz(rnd.getrandbits(modulus_bits) | (1 << (modulus_bits - 1)) | 1)
    exponents = [rnd.getrandbits(exponent_bits) | (1 << (exponent_bits - 1)) for _ in range(repeats)]
    base = gmpy2.mpz(rnd.randrange(2, int(modulus)))
    if fixed_base:
        table = FixedBaseTable(base, modulus, exponent_bits, choose_window(4096, exponent_bits))
        power = table.power
    else:
        def power(e: int) -> Any:
            return gmpy2.powmod(base, e, modulus)
    times = []
    for e in exponents:
        start = time.process_time()
        power(e)
        times.append(time.process_time() - start)
    return statistics.median(times)


def measure(config: dict[str, Any]) -> dict[str, Any]:
    """One round of one contender, in this process (run it through `measure_in_subprocess`)."""
    import contenders
    from contenders import Meter, Workload

    name, d = config["contender"], config["parameters"]
    head = {"contender": name, "parameters": d, "clients": config["clients"]}
    try:
        contender = contenders.load(name, **config.get("options", {}))
    except ImportError as exc:
        return {**head, "status": "skipped", "reason": f"does not import: {exc}"}
    reason = contender.unavailable()
    if reason:
        return {**head, "status": "skipped", "reason": reason, "trust": contender.trust, "notes": contender.notes}
    limit = {"full": contender.slice_full, "quick": contender.slice_quick}.get(config["slice"], config["slice"])
    measured = d if limit is None else min(d, limit)
    workload = Workload(config["clients"], measured, seed=config["seed"])
    extra = getattr(contender, "extra_cpu", None)
    start = contenders.cpu_seconds(extra)
    contender.setup(workload)
    setup_cpu = contenders.cpu_seconds(extra) - start
    updates = workload.updates()
    meter = Meter(workload.clients, extra)
    load_before, wall = machine_load(), time.perf_counter()
    outcome = contender.round(updates, meter)
    wall, load_after = time.perf_counter() - wall, machine_load()
    float_sum = sum(x.astype("float64") for x in updates)
    error = float(abs(outcome.decoded_sum - float_sum).max()) if workload.parameters else 0.0
    repeats = config["repeats"]
    exps = [{"party": e.party, "what": e.what, "per_unit": e.per_unit, "exponent_bits": e.exponent_bits,
             "modulus_bits": e.modulus_bits, "fixed_base": e.fixed_base,
             "powmod_cpu_s": exponentiation_cpu_s(e.exponent_bits, e.modulus_bits, False, repeats),
             "fixed_base_cpu_s": exponentiation_cpu_s(e.exponent_bits, e.modulus_bits, True, repeats)
             if e.fixed_base else None}
            for e in (contender.exponentiations() if repeats else [])]
    return {**head, "status": "ok", "trust": contender.trust, "notes": contender.notes,
            "measured_parameters": measured, "units": contender.units(d), "measured_units": contender.units(measured),
            "setup_cpu_s": setup_cpu, "round_wall_s": wall,
            "client_phases_cpu_s": meter.client_phases(), "server_phases_cpu_s": dict(meter.server_cpu),
            "bytes_up_per_client": statistics.fmean(meter.bytes_up),
            "bytes_down_per_client": statistics.fmean(meter.bytes_down),
            "max_abs_error": error, "exact_integer_sum": outcome.exact_integer_sum,
            "exponentiations": exps, "load_before": load_before, "load_after": load_after}


def measure_in_subprocess(config: dict[str, Any]) -> dict[str, Any]:
    """`measure` in a fresh Python process; a crash or timeout comes back as status "failed"."""
    head = {"contender": config["contender"], "parameters": config["parameters"], "clients": config["clients"]}
    try:
        proc = subprocess.run([sys.executable, str(HERE / "harness.py"), json.dumps(config)],
                              capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {**head, "status": "failed", "reason": f"timed out after {CHILD_TIMEOUT_S} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {**head, "status": "failed", "reason": f"exit status {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    return json.loads(lines[-1])


def scaled(run: dict[str, Any]) -> dict[str, float]:
    """Per-parameter figures of one run, a measured slice scaled to the full size by units.

    Client figures are per client; server figures per round; both divided by the full parameter count.
    """
    from contenders import DOWNLOAD_PHASES

    factor = run["units"] / run["measured_units"]
    per_param = factor / run["parameters"]
    client = run["client_phases_cpu_s"]
    server = run["server_phases_cpu_s"]
    return {
        "client_cpu_us_per_param": 1e6 * per_param * sum(client.values()),
        "client_upload_cpu_us_per_param": 1e6 * per_param * sum(v for k, v in client.items() if k not in DOWNLOAD_PHASES),
        "server_cpu_us_per_param": 1e6 * per_param * sum(server.values()),
        "bytes_up_per_param": per_param * run["bytes_up_per_client"],
        "bytes_down_per_param": per_param * run["bytes_down_per_client"],
        "round_cpu_s": factor * (run["clients"] * sum(client.values()) + sum(server.values())),
        **{f"client:{k}": 1e6 * per_param * v for k, v in client.items()},
        **{f"server:{k}": 1e6 * per_param * v for k, v in server.items()},
    }


def bound(run: dict[str, Any]) -> dict[str, Any] | None:
    """The exponentiation-count bound, CPU against CPU, per parameter (client: per client).

    plain: every exponentiation priced as one gmpy2.powmod; method: fixed-base ones priced as one
    fixed-base table power (what the contender can do at best with its tables).
    """
    if not run.get("exponentiations"):
        return None
    out: dict[str, Any] = {}
    for party in ("client", "server"):
        exps = [e for e in run["exponentiations"] if e["party"] == party]
        if not exps:
            continue
        plain = sum(e["per_unit"] * e["powmod_cpu_s"] for e in exps)
        method = sum(e["per_unit"] * (e["fixed_base_cpu_s"] if e["fixed_base"] else e["powmod_cpu_s"]) for e in exps)
        per_param = run["units"] / run["parameters"] * 1e6
        out[party] = {"exponentiations_per_unit": sum(e["per_unit"] for e in exps),
                      "plain_bound_us_per_param": plain * per_param, "method_bound_us_per_param": method * per_param}
    return out


def write_results(result: dict[str, Any], out: Path, name: str, plot: Callable[[dict[str, Any], Path], None]) -> None:
    """out/NAME.json and out/NAME.png, NAME suffixed by the run's mode: -quick, -custom, or none (full)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = name if result["mode"] == "full" else f"{name}-{result['mode']}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out / f"{stem}.png")
    print(f"wrote {out / stem}.json and {stem}.png")


if __name__ == "__main__":
    result = measure(json.loads(sys.argv[1]))
    print(json.dumps(result))
