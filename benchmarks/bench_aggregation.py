"""Benchmark of one v1 aggregation round: fast implementation, reference, and the exponentiation bound.

    python benchmarks/bench_aggregation.py --quick   # d = 2,000 (seconds): results/bench_aggregation-quick.json
    python benchmarks/bench_aggregation.py           # d = 10k, 40k, 1M: results/bench_aggregation.json

For each model size d (parameters) on v1-rsa2048-short it runs a full round with N clients:
every client quantizes, packs (Eq. (2)) and encrypts (Enc), the server challenges (ChelGen),
every client responds (ResGen), the server aggregates (Agg), decrypts (Dec) and unpacks.

- fast: `mpksa.fast` on its variable-time engine (fixed-base tables, processes over segments), all N
  clients; `bench_v2.py` measures its constant-time default engine too.
- reference: `mpksa` itself; client work measured on client 0 (its cost does not depend on which
  client runs it), server work on the N ciphertexts. Its ciphertext must equal the fast one's for
  the same randomness. Above --reference-max parameters the reference is extrapolated linearly in
  the number of segments from the largest measured size (said so in the output).
- bound: the number of modular exponentiations the construction needs, times the measured CPU time
  of one exponentiation. Counted from review C.4/C.5: per segment and client, Enc needs 4
  (beta^r1, g^r2, g^r1, pk_S^r2; the factor (1 + m*n) is a multiplication, not a power of (1 + n))
  and ResGen 1 (R^sk); per segment the server's Dec needs 1 ((T * d^-1)^alpha). ChelGen and Agg
  only multiply. Two prices: `plain` prices every exponentiation as one gmpy2.powmod (256-bit
  exponent, 4096-bit n^2); `method` prices Enc's four fixed-base powers as one power through a
  fixed-base table each (what the fast implementation does), ResGen and Dec as one powmod.

Every ratio compares CPU seconds with CPU seconds: the fast implementation's CPU includes its
worker processes' (`worker_cpu_seconds`), the bound is one process's CPU per exponentiation.
Wall-clock seconds are recorded too, but a wall-clock ratio over several worker processes against
a one-core bound says nothing about the work done, so none is reported. Ratios fast/bound (target
<= 1.3) and reference/fast (target >= 10) are reported as measured. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gmpy2
import numpy as np

from mpksa import fast
from mpksa.encoding import Encoding
from mpksa.fast.group import FixedBaseTable, choose_window, default_workers, shutdown_pool, worker_cpu_seconds
from mpksa.params import parameter_set
from mpksa.randomness import SYSTEM_RANDOM, ReplayRandom, exponent

PHASES = ("encode", "Enc", "ResGen", "ChelGen", "Agg", "Dec", "decode")
CLIENT_PHASES = ("encode", "Enc", "ResGen")      # per client
SERVER_PHASES = ("ChelGen", "Agg", "Dec", "decode")
EXPONENTIATIONS = {"Enc": 4, "ResGen": 1, "Dec": 1}  # per segment (and per client for client phases)


class Clock:
    """Adds wall-clock and CPU seconds (this process + the fast pool's workers) of a block to a phase."""

    def __init__(self) -> None:
        self.wall = dict.fromkeys(PHASES, 0.0)
        self.cpu = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time() + worker_cpu_seconds()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - wall
            self.cpu[name] += time.process_time() + worker_cpu_seconds() - cpu


def measure_powmod(n2: int, bits: int, repeats: int = 60) -> dict[str, float]:
    """Median CPU seconds of one gmpy2.powmod (random unit base, random `bits`-bit exponent, mod n^2),
    of one modular multiplication, and of one fixed-base power with the window Enc uses."""
    rnd = random.Random(1)
    n2m = gmpy2.mpz(n2)
    bases = [gmpy2.mpz(rnd.randrange(2, n2)) for _ in range(repeats)]
    exps = [rnd.getrandbits(bits) | (1 << (bits - 1)) for _ in range(repeats)]
    times = []
    for b, e in zip(bases, exps):
        start = time.process_time()
        gmpy2.powmod(b, e, n2m)
        times.append(time.process_time() - start)
    start = time.process_time()
    acc = bases[0]
    for b in bases * 20:
        acc = acc * b % n2m
    mulmod = (time.process_time() - start) / (20 * repeats)
    window = choose_window(4096, bits)
    table = FixedBaseTable(bases[0], n2, bits, window)
    fixed = []
    for e in exps:
        start = time.process_time()
        table.power(e)
        fixed.append(time.process_time() - start)
    return {"powmod_s": statistics.median(times), "mulmod_s": mulmod, "fixed_base_s": statistics.median(fixed),
            "fixed_base_window": window}


def fast_round(engine: fast.FastV1, enc: Encoding, updates: list[np.ndarray], weights: list[int],
               draws: list[tuple[list[int], list[int]]]) -> dict[str, Any]:
    """One round by the fast implementation; seconds per phase summed over clients, and the outputs."""
    group = engine.params
    alpha = exponent(group.exponent_bound, SYSTEM_RANDOM)
    beta = engine.sys_gen(alpha)
    sks = [exponent(group.exponent_bound, SYSTEM_RANDOM) for _ in updates]
    pk_s = engine.agg_pk_gen([(i, engine.key_gen(sk)) for i, sk in enumerate(sks)])
    clock = Clock()
    quantized, segments, ciphertexts = [], [], []
    first_enc = 0.0
    for x, w, (r1, r2) in zip(updates, weights, draws):
        with clock.phase("encode"):
            q = fast.quantize(x, enc)
            m = fast.encode(q, w, enc, group.modulus_bits)
        with clock.phase("Enc"):
            ciphertexts.append(engine.enc(beta, pk_s, m, ReplayRandom([r for pair in zip(r1, r2) for r in pair])))
        first_enc = first_enc or clock.wall["Enc"]
        quantized.append(q)
        segments.append(m)
    with clock.phase("ChelGen"):
        challenge = engine.chel_gen(ciphertexts)
    with clock.phase("ResGen"):
        responses = [engine.res_gen(challenge, sk) for sk in sks]
    with clock.phase("Agg"):
        aggregate = engine.agg(ciphertexts, responses)
    with clock.phase("Dec"):
        sums = engine.dec(alpha, aggregate)
    with clock.phase("decode"):
        weighted, weight_sum = fast.decode(sums, enc, len(updates), len(updates[0]), group.modulus_bits)
    expected = sum(np.int64(w) * q for w, q in zip(weights, quantized))
    exact = bool(np.array_equal(weighted, expected) and weight_sum == sum(weights))
    return {"wall": clock.wall, "cpu": clock.cpu, "first_client_enc_s": first_enc, "exact": exact,
            "keys": (alpha, beta, sks, pk_s), "segments": segments, "ciphertexts": ciphertexts,
            "challenge": challenge}


def reference_round(params: Any, ref_enc: Encoding, updates: list[np.ndarray], weights: list[int],
                    draws: list[tuple[list[int], list[int]]], fast_out: dict[str, Any]) -> dict[str, Any]:
    """The reference on the same keys and randomness: client 0's work, then the server's on all N."""
    from mpksa import agg, chelgen, dec, encoding, enc, resgen
    from mpksa.messages import ServerKey

    alpha, beta, sks, pk_s = fast_out["keys"]
    clock = Clock()
    with clock.phase("encode"):
        q = encoding.quantize(updates[0].tolist(), ref_enc)
        m = encoding.encode_v1(q, weights[0], ref_enc, params.modulus_bits)
    r1, r2 = draws[0]
    with clock.phase("Enc"):
        c0 = enc.enc_v1(params, beta, pk_s, m, ReplayRandom([r for pair in zip(r1, r2) for r in pair]))
    fast_c0 = fast_out["ciphertexts"][0]
    same = m == fast_out["segments"][0] and c0 == fast_c0
    cts = [c0] + fast_out["ciphertexts"][1:]
    with clock.phase("ChelGen"):
        challenge = chelgen.chel_gen(params, cts)
    same = same and list(challenge) == fast_out["challenge"]
    with clock.phase("ResGen"):
        t0 = resgen.res_gen(params, challenge, sks[0])
    # The other clients' responses are not timed (same cost as client 0's): computed by the fast path.
    engine = fast.FastV1(params, variable_time=True)
    responses = [t0] + [tuple(engine.res_gen(list(challenge), sk)) for sk in sks[1:]]
    with clock.phase("Agg"):
        aggregate = agg.agg(params, cts, responses)
    with clock.phase("Dec"):
        sums = dec.dec_v1(params, ServerKey((alpha,), (beta,)), aggregate)
    with clock.phase("decode"):
        weighted, weight_sum = encoding.decode_v1(sums, ref_enc, len(updates), len(updates[0]), params.modulus_bits)
    return {"wall": clock.wall, "cpu": clock.cpu, "same_ciphertext_as_fast": bool(same), "weight_sum": weight_sum}


def totals(seconds: dict[str, float], clients: int, per_client_measured: bool) -> dict[str, float]:
    """Client time per client (encode + Enc + ResGen) and server time per round."""
    divide = 1 if per_client_measured else clients
    client = {p: seconds[p] / divide for p in CLIENT_PHASES}
    return {"encode": client["encode"], "Enc": client["Enc"], "ResGen": client["ResGen"],
            "client": sum(client.values()), "server": sum(seconds[p] for p in SERVER_PHASES),
            "Dec": seconds["Dec"]}


def bounds(u: int, powmod_s: float, enc_power_s: float) -> dict[str, float]:
    """CPU seconds of the exponentiations alone: Enc's priced at `enc_power_s` each, the rest at `powmod_s`."""
    enc = EXPONENTIATIONS["Enc"] * u * enc_power_s
    resgen = EXPONENTIATIONS["ResGen"] * u * powmod_s
    dec = EXPONENTIATIONS["Dec"] * u * powmod_s
    return {"Enc": enc, "ResGen": resgen, "client": enc + resgen, "server": dec, "Dec": dec}


def run(args: argparse.Namespace) -> dict[str, Any]:
    params = parameter_set(args.params)
    workers = args.workers or default_workers()
    engine = fast.FastV1(params, workers=workers, clients_hint=args.clients, variable_time=True)
    enc = Encoding(args.frac_bits, args.clip, args.weight_max, args.clients)
    k = enc.slots_per_segment(params.modulus_bits)
    load_before = os.getloadavg()
    micro = measure_powmod(params.n2, params.exponent_bits)
    print(f"{args.params}: |n^2| = {params.n2.bit_length()} bits, {params.exponent_bits}-bit exponents; "
          f"b = {enc.slot_bits} bits per slot, k = {k} slots per segment; {args.clients} clients; "
          f"{workers} worker processes on {os.cpu_count()} cores")
    print(f"one gmpy2.powmod: {1e3 * micro['powmod_s']:.3f} ms; one mulmod: {1e6 * micro['mulmod_s']:.2f} us; "
          f"one fixed-base power (window {micro['fixed_base_window']}): {1e3 * micro['fixed_base_s']:.3f} ms")
    rows, measured_ref = [], None
    for d in args.sizes:
        u = enc.segment_count(d, params.modulus_bits)
        rng = np.random.default_rng(d)
        updates = [rng.normal(0.0, 0.05, d) for _ in range(args.clients)]
        weights = [int(rng.integers(1, args.weight_max + 1)) for _ in range(args.clients)]
        draws = [([exponent(params.exponent_bound, SYSTEM_RANDOM) for _ in range(u)],
                  [exponent(params.exponent_bound, SYSTEM_RANDOM) for _ in range(u)])
                 for _ in range(args.clients)]
        print(f"d = {d}: {u} segments per client ... fast", end="", flush=True)
        f_out = fast_round(engine, enc, updates, weights, draws)
        fast_t = {clock: totals(f_out[clock], args.clients, per_client_measured=False) for clock in ("wall", "cpu")}
        if d <= args.reference_max:
            print(" ... reference", end="", flush=True)
            r_out = reference_round(params, enc, updates, weights, draws, f_out)
            ref_t = {clock: totals(r_out[clock], args.clients, per_client_measured=True) for clock in ("wall", "cpu")}
            measured_ref = (u, ref_t, d)
            ref_note = "measured"
            same = r_out["same_ciphertext_as_fast"]
        elif measured_ref is not None:
            base_u, base_t, base_d = measured_ref
            ref_t = {clock: {key: value * u / base_u for key, value in base_t[clock].items()} for clock in base_t}
            ref_note = f"extrapolated from the measured d = {base_d} run ({base_u} segments), linear in segments"
            same = None
        else:
            ref_t, ref_note, same = None, "not measured (raise --reference-max)", None
        print(" done")
        bound = bounds(u, micro["powmod_s"], micro["powmod_s"])
        method_bound = bounds(u, micro["powmod_s"], micro["fixed_base_s"])
        row = {"parameters": d, "segments_per_client": u, "clients": args.clients,
               "fast": fast_t["wall"], "fast_cpu": fast_t["cpu"],
               "fast_first_client_enc_s": f_out["first_client_enc_s"], "fast_exact": f_out["exact"],
               "reference": None if ref_t is None else ref_t["wall"],
               "reference_cpu": None if ref_t is None else ref_t["cpu"],
               "reference_note": ref_note, "reference_same_ciphertext": same,
               "bound": bound, "method_bound": method_bound,
               "fast_cpu_over_bound": {key: fast_t["cpu"][key] / bound[key] for key in bound},
               "fast_cpu_over_method_bound": {key: fast_t["cpu"][key] / method_bound[key] for key in bound},
               "reference_cpu_over_fast_cpu": None if ref_t is None else
               {key: ref_t["cpu"][key] / fast_t["cpu"][key] for key in fast_t["cpu"]}}
        rows.append(row)
    return {"benchmark": "bench_aggregation", "parameter_set": args.params, "clients": args.clients,
            "encoding": {"frac_bits": enc.frac_bits, "clip": enc.clip, "weight_max": enc.weight_max,
                         "max_clients": enc.max_clients, "slot_bits": enc.slot_bits, "slots_per_segment": k},
            "workers": workers, "cpu_count": os.cpu_count(), "machine": platform.platform(),
            "python": sys.version.split()[0], "gmpy2": gmpy2.version(), "micro": micro,
            "exponentiations_per_segment": EXPONENTIATIONS, "rows": rows,
            "load_average_before_after": [load_before, os.getloadavg()],
            "targets": {"fast_cpu_over_bound": "<= 1.3", "reference_cpu_over_fast_cpu": ">= 10"}}


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"v1 aggregation, {result['parameter_set']}, {result['clients']} clients, "
                        f"{result['workers']} worker processes; client work per client, server work per round; "
                        "CPU seconds (workers included), wall-clock seconds in brackets")
    for column in ("d", "u", "work", "fast CPU s", "fast CPU us/param", "reference CPU s", "ref CPU us/param",
                   "bound s (plain)", "bound s (method)", "fast/plain bound", "fast/method bound", "ref/fast"):
        table.add_column(column, justify="right")
    for row in result["rows"]:
        d = row["parameters"]
        for key, label in (("Enc", "Enc (client)"), ("ResGen", "ResGen (client)"),
                           ("client", "client: encode+Enc+ResGen"), ("Dec", "Dec (server)"),
                           ("server", "server: ChelGen+Agg+Dec+decode")):
            f, fc = row["fast"][key], row["fast_cpu"][key]
            r = row["reference"][key] if row["reference"] else None
            rc = row["reference_cpu"][key] if row["reference_cpu"] else None
            mark = "" if row["reference_note"] == "measured" else "*"
            table.add_row(
                f"{d:,}", str(row["segments_per_client"]), label, f"{fc:.3f} [{f:.3f}]", f"{1e6 * fc / d:.2f}",
                "-" if r is None else f"{rc:.3f} [{r:.3f}]{mark}", "-" if r is None else f"{1e6 * rc / d:.2f}",
                f"{row['bound'][key]:.3f}", f"{row['method_bound'][key]:.3f}",
                f"{fc / row['bound'][key]:.2f}", f"{fc / row['method_bound'][key]:.2f}",
                "-" if r is None else f"{rc / fc:.1f}")
    console = Console(width=220)
    console.print(table)
    micro = result["micro"]
    console.print(f"plain bound = exponentiations x {1e3 * micro['powmod_s']:.3f} ms CPU (one gmpy2.powmod, 256-bit "
                  f"exponent, 4096-bit modulus); per segment: Enc 4, ResGen 1 per client, Dec 1. Method bound: Enc's 4 "
                  f"at one fixed-base power each (window {micro['fixed_base_window']}: "
                  f"{1e3 * micro['fixed_base_s']:.3f} ms CPU).")
    before, after = result["load_average_before_after"]
    console.print(f"load average (1 min) before/after: {before[0]:.2f}/{after[0]:.2f} on {result['cpu_count']} cores "
                  "(other processes compete for the same cores: wall-clock times include that, CPU times less so; "
                  "every ratio is CPU against CPU)")
    for row in result["rows"]:
        if row["reference_note"] != "measured":
            console.print(f"* d = {row['parameters']:,}: reference {row['reference_note']}")
        console.print(f"d = {row['parameters']:,}: decrypted sum exact (fast): {row['fast_exact']}; "
                      f"reference ciphertext identical to fast: {row['reference_same_ciphertext']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="d = 2,000 only, reference measured there")
    parser.add_argument("--sizes", default=None, help="comma-separated parameter counts (default: 10000,40000,1000000)")
    parser.add_argument("--clients", type=int, default=10, help="clients N (default: %(default)s, the paper's)")
    parser.add_argument("--params", default="v1-rsa2048-short", help="v1 parameter set (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--reference-max", type=int, default=None,
                        help="largest size the reference is measured at; above, extrapolated (default: 40000)")
    parser.add_argument("--frac-bits", type=int, default=20)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--weight-max", type=int, default=180, help="largest |D_i| (default: %(default)s, digits/10)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"),
                        help="folder of bench_aggregation.json (default: benchmarks/results)")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in (args.sizes or ("2000" if args.quick else "10000,40000,1000000")).split(",") if s.strip()]
    if args.reference_max is None:
        args.reference_max = 2000 if args.quick else 40000
    try:
        result = run(args)
    finally:
        shutdown_pool()
    print_table(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("bench_aggregation-quick.json" if args.quick else "bench_aggregation.json")
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
