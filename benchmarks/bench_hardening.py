"""Cost of the hardening (spec 5.13, 5.14) on profiles v1 and v2, in one run: proofs per client and
round, bytes and CPU.

    python benchmarks/bench_hardening.py [--params v1-rsa2048-short v2-rsa2048] [--clients 10]
                                         [--dim 1000] [--repeats 20] [--json benchmarks/results/bench_hardening.json]

Counted per client and round, with u data segments and |S| clients, from the messages of the
measured hardened round: the proofs a client makes and sends (one per announced g^{r_ij2}: u in
v1, one per segment; 1 in v2, the carrier's), and the proofs the reference checks, |S| times that
plus |S| + 1 (every announced value, its own included, every announced key, and beta; a client may
keep the last |S| + 1 from one round to the next, and skip its own).

Measured, in CPU seconds of this process (time.process_time), one run, every parameter set in the
same process on the same updates:
- micro: one proof made and one checked by the reference (`mpksa.proofs`), and on v1 by the fast
  implementation (`mpksa.fast`, v1 only), next to the plain client's own work for the round: its
  Enc of all u segments (through the profile) and its ResGen of the round's challenge;
- round: one whole round through the reference's `run_round`, plain (`Hardening()`) and hardened
  (`HARDENED`), on the same updates, and their ratio;
- per client: the hardened client's extra work estimated from the micro timings and the counts.

Bytes per client and round, from the round's own messages: upload (the ciphertext's elements and
the response; hardened, plus the proofs) and download (the challenge; hardened, also every announced
g^{r_kj2} with its proof, the announced keys with theirs, and beta's proof). `comparison` divides
each later parameter set's figures by the first's. Ratios are what to compare across machines;
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
from mpksa.fast import FastV1
from mpksa.findings.common import Recorder
from mpksa.guard import RerunGuard
from mpksa.messages import ServerKey, Statement
from mpksa.params import PROOF_CHALLENGE_BITS, V1Params, parameter_set, proof_nonce_bits, proof_response_bound
from mpksa.profiles import profile_of
from mpksa.proofs import prove, verify
from mpksa.randomness import SeededRandom, exponent
from mpksa.resgen import res_gen
from mpksa.round import RoundResult
from mpksa.wire.codec import nbytes

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_PARAMS = ("v1-rsa2048-short", "v2-rsa2048")


def cpu_median(action: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of `action` over `repeats` runs."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return statistics.median(times)


def micro(params: V1Params, u: int, repeats: int) -> dict[str, float | None]:
    """CPU seconds of one proof made and checked (reference; fast on v1), and of one plain client's Enc
    of u segments and ResGen of its challenge (one element per E_2 pair). Run before the rounds: its
    first Enc derives and caches v2's segment bases, a one-time cost per dimension (spec 10.3)."""
    rng = SeededRandom(b"bench hardening micro")
    g, n2 = params.g, params.n2
    x = exponent(params.exponent_bound, rng)
    y = pow(g, x, n2)
    statement = Statement("g^r2", 1, 0, 7, tuple(range(10)))
    proof = prove(params, x, y, statement, rng)
    key = ServerKey((), (pow(g, exponent(params.exponent_bound, rng), n2),))
    pk_s = pow(g, exponent(params.exponent_bound, rng), n2)
    segments = [(1 << (params.modulus_bits - 2)) + j for j in range(u)]
    profile = profile_of(params)
    width = len(profile.enc(params, key, pk_s, segments, SeededRandom(b"warm")).e2)
    out: dict[str, float | None] = {
        "prove_reference_s": cpu_median(lambda: prove(params, x, y, statement, rng), repeats),
        "verify_reference_s": cpu_median(lambda: verify(params, y, proof, statement, "y"), repeats),
        "prove_fast_s": None, "verify_fast_s": None,
        "enc_client_reference_s": cpu_median(
            lambda: profile.enc(params, key, pk_s, segments, SeededRandom(b"enc")), repeats),
        "res_gen_client_reference_s": cpu_median(lambda: res_gen(params, [pk_s] * width, x), repeats),
    }
    if params.profile == "v1":
        fast = FastV1(params, workers=1)
        k = exponent(1 << proof_nonce_bits(params), rng)
        _, fast_proof = fast.prove(statement, x, k)
        out["prove_fast_s"] = cpu_median(lambda: fast.prove(statement, x, k), repeats)
        out["verify_fast_s"] = cpu_median(lambda: fast.check_proof(statement, y, fast_proof), repeats)
    return out


def rounds(params: V1Params, clients: int, dim: int) -> tuple[dict[str, float], RoundResult, Recorder]:
    """CPU seconds of one reference round, plain and hardened, on the same updates; the hardened
    round's result and its messages."""
    encoding = Encoding(max_clients=clients)
    updates = {i: [((7 * i + 3 * t) % 301 - 150) / 128 for t in range(dim)] for i in range(clients)}
    out = {}
    for name, hardening in (("plain", Hardening()), ("hardened", HARDENED)):
        key, keys = setup(params, encoding, dim, range(clients), SeededRandom(b"bench keys"), hardening=hardening)
        members = [Client(i, keys[i], updates[i], guard=RerunGuard()) for i in range(clients)]
        network = Recorder()
        start = time.process_time()
        result = run_round(params, encoding, key, members, range(clients), hardening=hardening, network=network,
                           rng=SeededRandom(b"bench round"))
        out[f"{name}_s"] = time.process_time() - start
        assert result.correct, f"the {name} round must decrypt the plaintext sum"
    out["ratio"] = out["hardened_s"] / out["plain_s"]
    return out, result, network


def sizes(params: V1Params, clients: int, result: RoundResult, network: Recorder) -> dict[str, int]:
    """Proofs and bytes per client and round (client 0's messages of the hardened round; spec 6.1, 6.6)."""
    element = nbytes(params.n2)
    proof = PROOF_CHALLENGE_BITS // 8 + nbytes(proof_response_bound(params))
    upload, made = result.ciphertexts[0], len(network.received["proof g^r2"][0])
    up = (len(upload.e1) + 2 * len(upload.e2) + len(result.responses[0])) * element
    down = len(result.challenge) * element
    return {
        "proofs_made": made, "proofs_checked": clients * made + clients + 1,
        "element_bytes": element, "proof_bytes": proof,
        "upload_plain": up, "upload_hardened": up + made * proof,
        "download_plain": down,
        "download_hardened": down + clients * made * (element + proof) + clients * (element + proof) + proof,
    }


def measure(name: str, clients: int, dim: int, repeats: int) -> dict[str, Any]:
    params = parameter_set(name)
    assert isinstance(params, V1Params), f"{name}: the hardening benchmark covers v1 and v2"
    u = Encoding(max_clients=clients).segment_count(dim, params.modulus_bits)
    m = micro(params, u, repeats)
    r, result, network = rounds(params, clients, dim)
    counts = sizes(params, clients, result, network)
    plain_client = m["enc_client_reference_s"] + m["res_gen_client_reference_s"]  # type: ignore[operator]
    extra = counts["proofs_made"] * m["prove_reference_s"] + counts["proofs_checked"] * m["verify_reference_s"]
    return {
        "profile": params.profile, "segments": u,
        "per_client_round": {**counts, "cpu_plain_s": plain_client, "cpu_extra_s": extra,
                             "ratio_hardened_over_plain": (plain_client + extra) / plain_client},
        "micro": m, "round": r,
    }


def compare(first: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    """other / first for the figures that differ between profiles."""
    a, b = first["per_client_round"], other["per_client_round"]
    return {
        "proofs_made": b["proofs_made"] / a["proofs_made"],
        "proofs_checked": b["proofs_checked"] / a["proofs_checked"],
        "proof_bytes_up": b["proofs_made"] * b["proof_bytes"] / (a["proofs_made"] * a["proof_bytes"]),
        "upload_hardened": b["upload_hardened"] / a["upload_hardened"],
        "download_hardened": b["download_hardened"] / a["download_hardened"],
        "cpu_extra": b["cpu_extra_s"] / a["cpu_extra_s"],
        "round_hardened": other["round"]["hardened_s"] / first["round"]["hardened_s"],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    results = {name: measure(name, args.clients, args.dim, args.repeats) for name in args.params}
    first = args.params[0]
    return {
        "benchmark": "hardening", "params": list(args.params), "clients": args.clients, "dim": args.dim,
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "results": results,
        "comparison": {f"{name} / {first}": compare(results[first], results[name]) for name in args.params[1:]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the insecure test sets, 3 clients, d = 200, 2 repeats (seconds; writes bench_hardening-quick.json)")
    parser.add_argument("--params", nargs="+", default=list(DEFAULT_PARAMS))
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=str(RESULTS), help="folder for the JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.params, args.clients, args.dim, args.repeats = ["v1-test-512", "v2-test-512"], 3, 200, 2
    custom = not args.quick and (args.params, args.clients, args.dim, args.repeats) != (list(DEFAULT_PARAMS), 10, 1000, 20)
    name = "bench_hardening-quick.json" if args.quick else "bench_hardening-custom.json" if custom else "bench_hardening.json"
    if not Path(args.out).is_dir():
        parser.error(f"--out {args.out!r} is not an existing folder")
    result = run(args)
    text = json.dumps(result, indent=1, sort_keys=True)
    (Path(args.out) / name).write_text(text + "\n", encoding="ascii")
    print(f"|S| = {args.clients}, d = {args.dim}")
    for name, res in result["results"].items():
        c, mi, ro = res["per_client_round"], res["micro"], res["round"]
        fast = "" if mi["prove_fast_s"] is None else \
            f" (fast {1e3 * mi['prove_fast_s']:.2f} / {1e3 * mi['verify_fast_s']:.2f})"
        print(f"{name}: u = {res['segments']} segments; per client and round: {c['proofs_made']} proofs made "
              f"({c['proof_bytes']} bytes each), {c['proofs_checked']} checked; upload {c['upload_plain']} -> "
              f"{c['upload_hardened']} bytes, download {c['download_plain']} -> {c['download_hardened']} bytes")
        print(f"  one proof made / checked {1e3 * mi['prove_reference_s']:.2f} / {1e3 * mi['verify_reference_s']:.2f} ms"
              f"{fast}; plain client Enc + ResGen {1e3 * c['cpu_plain_s']:.1f} ms, hardening adds "
              f"{1e3 * c['cpu_extra_s']:.1f} ms: {c['ratio_hardened_over_plain']:.1f}x; whole reference round "
              f"{ro['hardened_s']:.2f} s / {ro['plain_s']:.2f} s = {ro['ratio']:.1f}x")
    for pair, ratios in result["comparison"].items():
        print(f"{pair}: " + ", ".join(f"{k} {v:.3g}x" for k, v in ratios.items()))
    print(f"wrote {str(Path(args.out) / name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
