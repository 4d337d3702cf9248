"""Cost of the hardening (spec 5.13, 5.14) on profile v1: proofs per client and round, bytes and CPU.

    python benchmarks/bench_hardening.py [--params v1-rsa2048-short] [--clients 10] [--dim 1000]
                                         [--repeats 20] [--json benchmarks/results/bench_hardening.json]

Counted from spec 5.14, per client and round, with u segments and |S| clients: u proofs made and
sent (one per announced g^{r_ij2}), and |S|*u + |S| + 1 proofs checked by the reference (every
announced g^{r_kj2}, its own included, every announced key, and beta; a client may keep the last
|S| + 1 from one round to the next, and skip its own u).

Measured, in CPU seconds of this process (time.process_time), one run:
- micro: one proof made and one checked, by the reference (`mpksa.proofs`) and by the fast
  implementation (`mpksa.fast`), next to the plain client's work per segment (reference Enc of one
  segment and ResGen of one segment);
- round: one whole round through the reference's `run_round`, plain (`Hardening()`) and hardened
  (`HARDENED`), on the same updates, and their ratio;
- per client: the hardened client's extra work estimated from the micro timings and the counts.

Bytes per client and round: upload (E_ij1, E_ij2, T_ij: 4 elements per segment, plus u proofs when
hardened) and download (R: one element per segment; hardened, also the announced g^{r_kj2} with
their proofs and the announced keys with theirs). Ratios are what to compare across machines;
absolute times on a shared machine are noise. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mpksa import HARDENED, Client, Encoding, Hardening, run_round, setup
from mpksa.enc import enc_v1
from mpksa.fast import FastV1
from mpksa.guard import RerunGuard
from mpksa.messages import Statement
from mpksa.params import PROOF_CHALLENGE_BITS, V1Params, parameter_set, proof_nonce_bits, proof_response_bound
from mpksa.proofs import prove, verify
from mpksa.randomness import SeededRandom, exponent
from mpksa.resgen import res_gen
from mpksa.wire.codec import nbytes

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "bench_hardening.json"


def cpu_median(action: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of `action` over `repeats` runs."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return statistics.median(times)


def micro(params: V1Params, repeats: int) -> dict[str, float]:
    """CPU seconds of one proof made and checked (reference, fast) and of one plain segment's client work."""
    rng = SeededRandom(b"bench hardening micro")
    g, n2 = params.g, params.n2
    x = exponent(params.exponent_bound, rng)
    y = pow(g, x, n2)
    statement = Statement("g^r2", 1, 0, 7, tuple(range(10)))
    proof = prove(params, x, y, statement, rng)
    fast = FastV1(params, workers=1)
    k = exponent(1 << proof_nonce_bits(params), rng)
    _, fast_proof = fast.prove(statement, x, k)
    beta, pk_s = pow(g, exponent(params.exponent_bound, rng), n2), pow(g, exponent(params.exponent_bound, rng), n2)
    draws = [exponent(params.exponent_bound, rng) for _ in range(2)]
    segment = [1 << (params.modulus_bits - 2)]
    return {
        "prove_reference_s": cpu_median(lambda: prove(params, x, y, statement, rng), repeats),
        "verify_reference_s": cpu_median(lambda: verify(params, y, proof, statement, "y"), repeats),
        "prove_fast_s": cpu_median(lambda: fast.prove(statement, x, k), repeats),
        "verify_fast_s": cpu_median(lambda: fast.check_proof(statement, y, fast_proof), repeats),
        "enc_segment_reference_s": cpu_median(
            lambda: enc_v1(params, beta, pk_s, segment, SeededRandom(b"enc")), repeats),
        "res_gen_segment_reference_s": cpu_median(lambda: res_gen(params, [beta], draws[0]), repeats),
    }


def rounds(params: V1Params, clients: int, dim: int) -> dict[str, float]:
    """CPU seconds of one reference round, plain and hardened, on the same updates."""
    encoding = Encoding(max_clients=clients)
    updates = {i: [((7 * i + 3 * t) % 301 - 150) / 128 for t in range(dim)] for i in range(clients)}
    out = {}
    for name, hardening in (("plain", Hardening()), ("hardened", HARDENED)):
        key, keys = setup(params, encoding, dim, range(clients), SeededRandom(b"bench keys"), hardening=hardening)
        members = [Client(i, keys[i], updates[i], guard=RerunGuard()) for i in range(clients)]
        start = time.process_time()
        result = run_round(params, encoding, key, members, range(clients), hardening=hardening,
                           rng=SeededRandom(b"bench round"))
        out[f"{name}_s"] = time.process_time() - start
        assert result.correct, f"the {name} round must decrypt the plaintext sum"
    out["ratio"] = out["hardened_s"] / out["plain_s"]
    return out


def sizes(params: V1Params, clients: int, u: int) -> dict[str, int]:
    """Bytes per client and round, plain and hardened (spec 6.1, 6.6)."""
    element = nbytes(params.n2)
    proof = PROOF_CHALLENGE_BITS // 8 + nbytes(proof_response_bound(params))
    return {
        "element_bytes": element, "proof_bytes": proof,
        "upload_plain": 4 * u * element, "upload_hardened": 4 * u * element + u * proof,
        "download_plain": u * element,
        "download_hardened": u * element + clients * u * (element + proof) + clients * (element + proof) + proof,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    params = parameter_set(args.params)
    assert isinstance(params, V1Params)
    encoding = Encoding(max_clients=args.clients)
    u = encoding.segment_count(args.dim, params.modulus_bits)
    m = micro(params, args.repeats)
    r = rounds(params, args.clients, args.dim)
    made, checked = u, args.clients * u + args.clients + 1
    plain_client = u * (m["enc_segment_reference_s"] + m["res_gen_segment_reference_s"])
    extra = made * m["prove_reference_s"] + checked * m["verify_reference_s"]
    result = {
        "benchmark": "hardening", "params": args.params, "clients": args.clients, "dim": args.dim, "segments": u,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "per_client_round": {
            "proofs_made": made, "proofs_checked": checked, **sizes(params, args.clients, u),
            "cpu_plain_s": plain_client, "cpu_extra_s": extra, "ratio_hardened_over_plain": (plain_client + extra) / plain_client,
        },
        "micro": m,
        "round": r,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="v1-rsa2048-short")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", default=str(DEFAULT_OUT), help="where to write the result (default: %(default)s)")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=1, sort_keys=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(text + "\n", encoding="ascii")
    c, mi, ro = result["per_client_round"], result["micro"], result["round"]
    print(f"{args.params}, |S| = {args.clients}, d = {args.dim}: u = {result['segments']} segments")
    print(f"per client and round: {c['proofs_made']} proofs made ({c['proof_bytes']} bytes each), "
          f"{c['proofs_checked']} checked; upload {c['upload_plain']} -> {c['upload_hardened']} bytes, "
          f"download {c['download_plain']} -> {c['download_hardened']} bytes")
    print(f"one proof: made {1e3 * mi['prove_reference_s']:.2f} ms (fast {1e3 * mi['prove_fast_s']:.2f}), "
          f"checked {1e3 * mi['verify_reference_s']:.2f} ms (fast {1e3 * mi['verify_fast_s']:.2f}); "
          f"plain client work per segment {1e3 * (mi['enc_segment_reference_s'] + mi['res_gen_segment_reference_s']):.2f} ms")
    print(f"client CPU per round, estimated: {c['ratio_hardened_over_plain']:.1f}x the plain client's; "
          f"whole reference round measured: {ro['hardened_s']:.2f} s / {ro['plain_s']:.2f} s = {ro['ratio']:.1f}x")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
