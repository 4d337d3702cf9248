"""The fast implementation (`v1` and `v2`, both engines) against the reference, through the JSON wire contract.

Every operation is run on seeded random rounds by both `mpksa.ops.handle` (the oracle) and
`mpksa.fast:ADAPTER` (constant time) or `mpksa.fast:VARIABLE_TIME_ADAPTER`; answers must be
identical, outputs and error codes alike. Bad inputs come from fixed lists of mutations and from a
seeded random mutation of every field. Every shipped `v1` and `v2` vector runs through the fast
adapters; `v2`'s base cache is checked cold, warm and damaged; and the default engine is shown to
hand no secret exponent to a variable-time power.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import gmpy2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpksa import ops
from mpksa import fast
from mpksa.conformance import cases as vector_cases
from mpksa.conformance.adapters import InProcessSession, open_session
from mpksa.conformance.interop import run_interop
from mpksa.conformance.runner import PASS, run
from mpksa.encoding import Encoding
from mpksa.errors import ParameterError
from mpksa.params import parameter_set, proof_nonce_bits
from mpksa.fast import ADAPTER, VARIABLE_TIME_ADAPTER
from mpksa.fast.encoding import pack, unpack, vectorized
from mpksa.fast.group import FixedBaseTable, choose_window, comb_columns, comb_power, run_chunked, powers
from mpksa.randomness import SYSTEM_RANDOM, RecordingRandom, exponent
from mpksa.wire.codec import Codec, Json, nbytes, to_hex
from mpksa.wire.contract import encoding_to_json, params_to_json

ALL_OPS = sorted(ops.OPERATIONS)


def reference_answer(request: Json) -> Json:
    """The reference's answer; its handler never raises on bad input, so raising fails the test."""
    try:
        return ops.handle(copy.deepcopy(request))
    except Exception as exc:  # noqa: BLE001 - a crash of the reference is a bug, named here
        pytest.fail(f"the reference raised {type(exc).__name__} on {request['op']}: {exc}")


def assert_same(request: Json, adapter: Any = ADAPTER) -> Json:
    """Same answer as the reference: equal outputs, or errors with the same code."""
    expected = reference_answer(request)
    got = adapter.handle(copy.deepcopy(request))
    json.dumps(got)  # answers are plain JSON
    if "error" in expected:
        assert "error" in got and got["error"]["code"] == expected["error"]["code"], (request["op"], expected, got)
    else:
        assert got == expected, request["op"]
    return got


class Round:
    """A seeded v1 or v2 round, every request recorded with the reference's answer."""

    def __init__(self, params_name: str, seed: int, clients: int, dim: int, encoding: Encoding,
                 adapter: Any = ADAPTER) -> None:
        self.rnd = random.Random(seed)
        self.params = parameter_set(params_name)
        self.codec = Codec(self.params)
        self.base = {"profile": self.params.profile, "params": params_to_json(self.params),
                     "encoding": encoding_to_json(encoding)}
        self.requests: list[Json] = []
        self.clients, self.dim, self.encoding, self.adapter = clients, dim, encoding, adapter
        self.v2 = self.params.profile == "v2"

    def exponent(self) -> str:
        return self.codec.exponent(self.rnd.randrange(1, self.params.exponent_bound))

    def call(self, op: str, inputs: Json) -> Json:
        request = {"op": op, **self.base, "inputs": inputs}
        self.requests.append(request)
        answer = assert_same(request, self.adapter)
        assert "outputs" in answer, (op, answer)
        return answer["outputs"]

    def nonce(self) -> str:
        bits = proof_nonce_bits(self.params)
        return to_hex(self.rnd.randrange(1, 1 << bits), 1 << bits)

    def harden(self, alpha: str, beta: str, sk: str, pk_s: str, challenge: list[str], ids: list[int]) -> None:
        """The hardening's operations (spec 5.14) on this round's values: proofs of alpha, of sk_1 and of an
        r2 of segment 0, each checked; the element checks of beta, pk_S and R."""
        statements = [{"kind": "server key", "client_id": 0, "index": 0, "round": 0, "online": []},
                      {"kind": "key", "client_id": ids[0], "index": 0, "round": 0, "online": []},
                      {"kind": "g^r2", "client_id": ids[0], "index": 0, "round": 3, "online": sorted(ids)}]
        for statement, x in zip(statements, (alpha, sk, self.exponent())):
            proven = self.call("Prove", {"statement": statement, "x": x, "k": self.nonce()})
            self.call("CheckProof", {"statement": statement, **proven})
        for element in (beta, pk_s, *challenge):
            self.call("CheckElement", {"element": element})

    def run(self) -> Json:
        alpha = self.exponent()
        beta = self.call("SysGen", {"alphas": [alpha]})["betas"]
        sks = [self.exponent() for _ in range(self.clients)]
        pks = [self.call("KeyGen", {"sk": sk})["pk"] for sk in sks]
        ids = self.rnd.sample(range(1000), self.clients)
        pk_s = self.call("AggPKGen", {"public_keys": [{"id": i, "pk": pk} for i, pk in zip(ids, pks)]})["pk_s"]
        nonce = self.rnd.randbytes(12).hex()
        sealed = self.call("SE", {"pk_i": pks[0], "alpha": alpha, "model": self.rnd.randbytes(40).hex(),
                                  "round": 3, "client_id": ids[0], "nonce": nonce})["sealed"]
        self.call("DSE", {"beta": beta[0], "sk": sks[0], "sealed": sealed, "round": 3, "client_id": ids[0]})
        clip = self.encoding.clip
        ciphertexts, weights = [], []
        for i in range(self.clients):
            self.call("CheckPkS", {"pk_s": pk_s, "pk_i": pks[i], "announced": pks})
            values = [self.rnd.uniform(-1.5 * clip, 1.5 * clip) for _ in range(self.dim)]
            quantized = self.call("Quantize", {"values": values})["quantized"]
            weights.append(self.rnd.randint(1, self.encoding.weight_max))
            segments = self.call("Encode", {"quantized": quantized, "weight": weights[-1]})["segments"]
            carriers = 1 if self.v2 else len(segments)  # v2: one mask exponent r and the carrier's r1, r2
            r1 = [self.exponent() for _ in range(carriers)]
            r2 = [self.exponent() for _ in range(carriers)]
            mask = {"r": self.codec.mask(self.rnd.randrange(1, self.params.mask_bound))} if self.v2 else {}
            ciphertexts.append(self.call("Enc", {"betas": beta, "pk_s": pk_s, "segments": segments,
                                                 "r1": r1, "r2": r2, **mask})["ciphertext"])
        challenge = self.call("ChelGen", {"ciphertexts": ciphertexts})["challenge"]
        announced = [[a for a, _ in c["e2"]] for c in ciphertexts]
        self.call("CheckChallenge", {"challenge": challenge, "announced": announced, "own": announced[0]})
        self.harden(alpha, beta[0], sks[0], pk_s, challenge, ids)
        responses = [self.call("ResGen", {"challenge": challenge, "sk": sk})["response"] for sk in sks]
        aggregate = self.call("Agg", {"ciphertexts": ciphertexts, "responses": responses})
        clients = {"clients": self.clients} if self.v2 else {}
        sums = self.call("Dec", {"alphas": [alpha], **aggregate, **clients})["sums"]
        decoded = self.call("Decode", {"sums": sums, "clients": self.clients, "dim": self.dim})
        assert decoded["weight_sum"] == sum(weights)
        k = self.encoding.slots_per_segment(self.params.modulus_bits)
        a = [format(1 << (self.encoding.slot_bits * t), "x") for t in range(min(k, 4))]
        total = sums[0]
        self.call("Recover", {"a": a, "bound": self.clients * 2 * self.encoding.value_bound, "total": total})
        return decoded


def random_encoding(rnd: random.Random) -> Encoding:
    return Encoding(frac_bits=rnd.choice([2, 8, 12, 16, 20]), clip=rnd.choice([0.5, 1.0, 3.0]),
                    weight_max=rnd.choice([1, 7, 180]), max_clients=rnd.choice([5, 10, 16]))


@pytest.mark.parametrize("seed", range(6))
def test_rounds_match_reference_v1_test_512(seed: int) -> None:
    rnd = random.Random(seed)
    encoding = random_encoding(rnd)
    k = encoding.slots_per_segment(511)
    # 0 values, a short last segment, and an exact multiple of k slots.
    dim = [0, 1, k - 1, 3 * k - 1, rnd.randint(2, 120), rnd.randint(2, 120)][seed]
    Round("v1-test-512", seed, rnd.randint(2, 5), dim, encoding, [ADAPTER, VARIABLE_TIME_ADAPTER][seed % 2]).run()


def test_round_matches_reference_rsa2048_short() -> None:
    Round("v1-rsa2048-short", 7, 3, 150, Encoding(frac_bits=20, clip=1.0, weight_max=180, max_clients=10)).run()


@pytest.mark.parametrize("adapter", [ADAPTER, VARIABLE_TIME_ADAPTER], ids=["constant-time", "variable-time"])
def test_parallel_path_and_tables_match_reference(adapter: Any) -> None:
    """Enough segments for the process pool and (variable time) fixed-base tables (v1-test-512, about 120 segments)."""
    encoding = Encoding(frac_bits=16, clip=1.0, weight_max=50, max_clients=4)
    decoded = Round("v1-test-512", 11, 2, 2000, encoding, adapter).run()
    assert len(decoded["weighted_sums"]) == 2000


# --- bad inputs -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_requests() -> list[Json]:
    r = Round("v1-test-512", 21, 3, 40, Encoding(frac_bits=12, clip=1.0, weight_max=20, max_clients=5))
    r.run()
    return r.requests


def first(requests: list[Json], op: str) -> Json:
    return copy.deepcopy(next(r for r in requests if r["op"] == op))


def test_every_operation_is_covered(valid_requests: list[Json]) -> None:
    assert sorted({r["op"] for r in valid_requests}) == ALL_OPS
    assert ADAPTER.capabilities() == {"name": "mpksa-fast", "profiles": ["v1", "v2"], "operations": ALL_OPS}


def _n(requests: list[Json]) -> int:
    return int(requests[0]["params"]["n"], 16)


def _hex(x: int, modulus: int) -> str:
    return to_hex(x, modulus)


def mutations(requests: list[Json]) -> list[tuple[str, Json]]:
    """Named bad requests, each built from a valid one."""
    n = _n(requests)
    n2 = n * n
    p = parameter_set("v1-test-512").factors[0]  # a known factor: builds non-units
    out: list[tuple[str, Json]] = []

    def add(name: str, op: str, change) -> None:
        request = first(requests, op)
        change(request)
        out.append((name, request))

    add("unknown op", "KeyGen", lambda r: r.update(op="Nope"))
    add("inputs not an object", "KeyGen", lambda r: r.update(inputs=[]))
    add("params missing n", "KeyGen", lambda r: r["params"].pop("n"))
    add("profile mismatch", "KeyGen", lambda r: r.update(profile="paper"))
    add("encoding frac_bits 60", "Quantize", lambda r: r["encoding"].update(frac_bits=60))
    add("encoding clip 0", "Quantize", lambda r: r["encoding"].update(clip=0))
    add("encoding clip string", "Quantize", lambda r: r["encoding"].update(clip="x"))
    add("encoding missing key", "Quantize", lambda r: r["encoding"].pop("max_clients"))
    add("encoding weight_max 0", "Encode", lambda r: r["encoding"].update(weight_max=0))
    add("sk zero", "KeyGen", lambda r: r["inputs"].update(sk="00" * 16))
    add("sk short hex", "KeyGen", lambda r: r["inputs"].update(sk="01"))
    add("sk uppercase hex", "KeyGen", lambda r: r["inputs"].update(sk="AB" * 16))
    add("two alphas", "SysGen", lambda r: r["inputs"]["alphas"].append(r["inputs"]["alphas"][0]))
    add("no alpha", "SysGen", lambda r: r["inputs"].update(alphas=[]))
    add("one client", "AggPKGen", lambda r: r["inputs"].update(public_keys=r["inputs"]["public_keys"][:1]))
    add("duplicate id", "AggPKGen", lambda r: r["inputs"]["public_keys"][1].update(id=r["inputs"]["public_keys"][0]["id"]))
    add("pk zero", "AggPKGen", lambda r: r["inputs"]["public_keys"][1].update(pk=_hex(0, n2)))
    add("pk non-unit", "AggPKGen", lambda r: r["inputs"]["public_keys"][1].update(pk=_hex(p * 12345, n2)))
    add("pk above n^2", "AggPKGen", lambda r: r["inputs"]["public_keys"][1].update(pk=_hex(n2 + 5, 1 << (8 * nbytes(n2)))))
    add("id negative", "AggPKGen", lambda r: r["inputs"]["public_keys"][1].update(id=-1))
    add("pk_s equals pk_i", "CheckPkS", lambda r: r["inputs"].update(pk_s=r["inputs"]["pk_i"]))
    add("forged pk_s", "CheckPkS", lambda r: r["inputs"].update(pk_s=_hex(int(r["inputs"]["pk_s"], 16) * 4 % n2, n2)))
    add("pk_i not announced", "CheckPkS", lambda r: r["inputs"].update(announced=r["inputs"]["announced"][1:]))
    add("NaN value", "Quantize", lambda r: r["inputs"]["values"].__setitem__(3, "NaN"))
    add("-Infinity value", "Quantize", lambda r: r["inputs"]["values"].__setitem__(0, "-Infinity"))
    add("value a string", "Quantize", lambda r: r["inputs"]["values"].__setitem__(2, "1.0"))
    add("value a bool", "Quantize", lambda r: r["inputs"]["values"].__setitem__(2, True))
    add("unclipped out of range", "Quantize", lambda r: r["inputs"].update(clip=False, values=[0.5, 9.0, "NaN"]))
    add("clip not bool", "Quantize", lambda r: r["inputs"].update(clip=1))
    add("weight zero", "Encode", lambda r: r["inputs"].update(weight=0))
    add("weight above max", "Encode", lambda r: r["inputs"].update(weight=21))
    add("weight a float", "Encode", lambda r: r["inputs"].update(weight=2.0))
    add("quantized above q_max", "Encode", lambda r: r["inputs"]["quantized"].__setitem__(5, 4097))
    add("quantized beyond 2^63", "Encode", lambda r: r["inputs"]["quantized"].__setitem__(5, 2**64))
    add("slot does not fit", "Encode", lambda r: r["encoding"].update(frac_bits=52, clip=1e6, weight_max=10**160))
    add("segment >= n", "Enc", lambda r: r["inputs"]["segments"].__setitem__(0, _hex(n + 3, n)))
    add("r1 zero", "Enc", lambda r: r["inputs"]["r1"].__setitem__(0, "00" * 16))
    add("r1 and r2 lengths", "Enc", lambda r: r["inputs"]["r2"].pop())
    add("too few r", "Enc", lambda r: (r["inputs"]["r1"].pop(), r["inputs"]["r2"].pop()))
    add("too many r", "Enc", lambda r: (r["inputs"]["r1"].append(r["inputs"]["r1"][0]), r["inputs"]["r2"].append(r["inputs"]["r2"][0])))
    add("beta non-unit", "Enc", lambda r: r["inputs"].update(betas=[_hex(p, n2)]))
    add("pk_s zero", "Enc", lambda r: r["inputs"].update(pk_s=_hex(0, n2)))
    add("empty ciphertexts", "ChelGen", lambda r: r["inputs"].update(ciphertexts=[]))
    add("ciphertext not object", "ChelGen", lambda r: r["inputs"]["ciphertexts"].__setitem__(0, [1]))
    add("e2 not pairs", "ChelGen", lambda r: r["inputs"]["ciphertexts"][1]["e2"][0].pop())
    add("e2 short", "ChelGen", lambda r: r["inputs"]["ciphertexts"][2]["e2"].pop())
    add("g^r2 non-unit", "ChelGen", lambda r: r["inputs"]["ciphertexts"][1]["e2"][1].__setitem__(0, _hex(p * 7, n2)))
    add("g^r2 zero", "ChelGen", lambda r: r["inputs"]["ciphertexts"][2]["e2"][0].__setitem__(0, _hex(0, n2)))
    add("challenge mismatch", "CheckChallenge", lambda r: r["inputs"]["challenge"].__setitem__(0, r["inputs"]["challenge"][1]))
    add("own missing", "CheckChallenge", lambda r: r["inputs"].update(own=list(reversed(r["inputs"]["own"]))))
    add("announced non-unit", "CheckChallenge", lambda r: r["inputs"]["announced"][1].__setitem__(0, _hex(p, n2)))
    add("R non-unit", "ResGen", lambda r: r["inputs"]["challenge"].__setitem__(1, _hex(p * 3, n2)))
    add("R zero", "ResGen", lambda r: r["inputs"]["challenge"].__setitem__(0, _hex(0, n2)))
    add("responses missing", "Agg", lambda r: r["inputs"]["responses"].pop())
    add("response short", "Agg", lambda r: r["inputs"]["responses"][1].pop())
    add("e1 short", "Agg", lambda r: r["inputs"]["ciphertexts"][1]["e1"].pop())
    add("e1 non-unit", "Agg", lambda r: r["inputs"]["ciphertexts"][2]["e1"].__setitem__(1, _hex(p * 5, n2)))
    add("T zero", "Agg", lambda r: r["inputs"]["responses"][0].__setitem__(0, _hex(0, n2)))
    add("E2 non-unit", "Agg", lambda r: r["inputs"]["ciphertexts"][0]["e2"][0].__setitem__(1, _hex(p, n2)))
    add("two alphas in Dec", "Dec", lambda r: r["inputs"]["alphas"].append(r["inputs"]["alphas"][0]))
    add("d short", "Dec", lambda r: r["inputs"]["d"].pop())
    add("t short", "Dec", lambda r: r["inputs"]["t"].pop())
    add("L input not 1 mod n", "Dec", lambda r: r["inputs"]["e_agg"].__setitem__(0, r["inputs"]["d"][0]))
    add("d non-unit", "Dec", lambda r: r["inputs"]["d"].__setitem__(0, _hex(p * 11, n2)))
    add("wrong alpha", "Dec", lambda r: r["inputs"]["alphas"].__setitem__(0, "00" * 15 + "05"))
    add("too many clients", "Decode", lambda r: r["inputs"].update(clients=6))
    add("slot overflow", "Decode", lambda r: r["inputs"]["sums"].__setitem__(0, _hex(n - 1, n)))
    add("wrong dim", "Decode", lambda r: r["inputs"].update(dim=r["inputs"]["dim"] + 500))
    add("clients zero", "Decode", lambda r: r["inputs"].update(clients=0))
    add("fewer clients than summed", "Decode", lambda r: r["inputs"].update(clients=1))
    add("a not super-increasing", "Recover", lambda r: r["inputs"]["a"].__setitem__(1, "1"))
    add("a empty", "Recover", lambda r: r["inputs"].update(a=[]))
    add("a too large", "Recover", lambda r: r["inputs"]["a"].append(format(n, "x")))
    add("bound zero", "Recover", lambda r: r["inputs"].update(bound=0))
    add("tampered sealed", "DSE", lambda r: r["inputs"].update(sealed=("ff" if r["inputs"]["sealed"][:2] != "ff" else "00") + r["inputs"]["sealed"][2:]))
    add("wrong round", "DSE", lambda r: r["inputs"].update(round=4))
    add("sealed too short", "DSE", lambda r: r["inputs"].update(sealed="00" * 20))
    add("nonce 11 bytes", "SE", lambda r: r["inputs"].update(nonce="00" * 11))
    add("model odd hex", "SE", lambda r: r["inputs"].update(model="abc"))
    # Inputs an earlier reference raised on (not a typed error): both must now answer with one.
    add("empty betas", "Enc", lambda r: r["inputs"].update(betas=[]))
    add("value beyond double", "Quantize", lambda r: r["inputs"]["values"].__setitem__(0, 10**400))
    add("a not hex", "Recover", lambda r: r["inputs"]["a"].__setitem__(0, 5))
    add("announced row short", "CheckChallenge", lambda r: r["inputs"]["announced"][1].pop())
    # The hardening (spec 5.14).
    add("x zero", "Prove", lambda r: r["inputs"].update(x="00" * 16))
    add("k zero", "Prove", lambda r: r["inputs"].update(k="00" * len(bytes.fromhex(r["inputs"]["k"]))))
    add("k short hex", "Prove", lambda r: r["inputs"].update(k="01"))
    add("statement kind unknown", "Prove", lambda r: r["inputs"]["statement"].update(kind="sk"))
    add("statement field missing", "Prove", lambda r: r["inputs"]["statement"].pop("round"))
    add("statement S repeats", "CheckProof", lambda r: r["inputs"]["statement"].update(online=[1, 1]))
    add("statement round too large", "CheckProof", lambda r: r["inputs"]["statement"].update(round=2**64))
    add("proof for another client", "CheckProof", lambda r: r["inputs"]["statement"].update(client_id=999999))
    add("proof for another round", "CheckProof", lambda r: r["inputs"]["statement"].update(round=4))
    add("proof z all ones", "CheckProof", lambda r: r["inputs"]["proof"].update(z="ff" * (len(r["inputs"]["proof"]["z"]) // 2)))
    add("proof c flipped", "CheckProof", lambda r: r["inputs"]["proof"].update(c=("00" if r["inputs"]["proof"]["c"][:2] != "00" else "01") + r["inputs"]["proof"]["c"][2:]))
    add("proof extra field", "CheckProof", lambda r: r["inputs"]["proof"].update(t="00"))
    add("proof element non-unit", "CheckProof", lambda r: r["inputs"].update(element=_hex(p * 3, n2)))
    add("proof element junk", "CheckProof", lambda r: r["inputs"].update(element=_hex((1 + n) * int(r["inputs"]["element"], 16) % n2, n2)))
    add("element 1 + n", "CheckElement", lambda r: r["inputs"].update(element=_hex(1 + n, n2)))
    add("element -1", "CheckElement", lambda r: r["inputs"].update(element=_hex(n2 - 1, n2)))
    add("element one", "CheckElement", lambda r: r["inputs"].update(element=_hex(1, n2)))
    add("element non-unit", "CheckElement", lambda r: r["inputs"].update(element=_hex(p, n2)))
    add("element zero", "CheckElement", lambda r: r["inputs"].update(element=_hex(0, n2)))
    return out


def test_bad_inputs_get_the_reference_error_codes(valid_requests: list[Json]) -> None:
    cases = mutations(valid_requests)
    assert len(cases) > 80
    for name, request in cases:
        got = assert_same(request)
        assert "error" in got, name


JUNK: list[Any] = [None, True, 0, -1, 2**70, 1.5, "NaN", "", "zz", "00", [], {}, [1, 2], "0" * 1000]


def leaf_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, path + (k,))] + [path]
    if isinstance(value, list):
        return [p for k, v in enumerate(value) for p in leaf_paths(v, path + (k,))] + [path]
    return [path]


def set_path(request: Json, path: tuple, value: Any) -> None:
    target = request
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def test_random_mutations_get_the_same_answers(valid_requests: list[Json]) -> None:
    """Seeded: replace one random field of a valid request (inputs, params or encoding) with junk."""
    rnd = random.Random(1234)
    checked = 0
    for request in valid_requests:
        for _ in range(10):
            mutated = copy.deepcopy(request)
            paths = [p for p in leaf_paths(mutated) if p and p[0] in ("inputs", "params", "encoding")]
            path = rnd.choice(paths)
            set_path(mutated, path, copy.deepcopy(rnd.choice(JUNK)))
            assert_same(mutated)
            checked += 1
    assert checked >= 10 * len(valid_requests)


# --- the parts, against plain Python --------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(1, 62), st.integers(1, 40), st.data())
def test_pack_and_unpack_agree_with_shifts(b: int, k: int, data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 5 * k))
    values = data.draw(st.lists(st.integers(0, 2**b - 1), min_size=count, max_size=count))
    packed = pack(np.array(values, dtype=np.uint64), b, k)
    expected = [sum(v << (b * t) for t, v in enumerate(values[s:s + k])) for s in range(0, count, k)]
    assert packed == expected
    assert unpack(packed, b, k, count).tolist() == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-3, 3, allow_nan=False), max_size=50), st.integers(2, 30), st.sampled_from([0.25, 1.0, 2.5]))
def test_quantize_is_round_half_even_and_clip(values: list[float], f: int, clip: float) -> None:
    enc = Encoding(frac_bits=f, clip=clip)
    q_max = math.floor(clip * 2**f)
    expected = [max(-q_max, min(q_max, round(max(-clip, min(clip, x)) * 2**f))) for x in values]
    assert fast.quantize(values, enc).tolist() == expected


def test_exact_path_for_slots_beyond_63_bits() -> None:
    """frac_bits 40 and weight_max 2^20 give 66-bit slots: the Python-integer path, same answers."""
    enc = Encoding(frac_bits=40, clip=1.0, weight_max=2**20, max_clients=4)
    assert not vectorized(enc)
    q = fast.quantize([0.5, -0.25, 1.0, -1.0], enc)
    segments = fast.encode(q, 2**20, enc, 512)
    weighted, weight_sum = fast.decode(segments, enc, 1, 4, 512)
    assert [int(v) for v in weighted] == [2**20 * int(x) for x in q] and weight_sum == 2**20


@pytest.mark.parametrize("window", [1, 3, 8])
def test_fixed_base_table_equals_powmod(window: int) -> None:
    params = parameter_set("v1-test-512")
    rnd = random.Random(window)
    table = FixedBaseTable(params.g, params.n2, 128, window)
    for e in [0, 1, 2**128 - 1, 2**128, 2**200 + 3] + [rnd.getrandbits(128) for _ in range(20)]:
        assert table.power(e) == gmpy2.powmod(params.g, e, params.n2)


def test_window_choice_grows_with_uses() -> None:
    assert choose_window(1, 256) == 0  # one power: a table never pays
    assert 0 < choose_window(100, 256) <= choose_window(10_000, 256) <= 11
    assert choose_window(10_000, 2176) == 0  # v1-rsa2048-full: plain powmod


def test_pool_keeps_order() -> None:
    params = parameter_set("v1-test-512")
    bases = [params.g + i for i in range(200)]
    assert run_chunked(powers, (65537, params.n2), bases, 2) == [pow(b, 65537, params.n2) for b in bases]


def test_comb_equals_powmod() -> None:
    """The comb over stored powers (variable-time v2 engine) against gmpy2.powmod, every row count."""
    params = parameter_set("v2-test-512")
    rnd = random.Random(3)
    n2 = gmpy2.mpz(params.n2)
    h = gmpy2.mpz(rnd.randrange(2, params.n2))
    spacing = 48
    stored = [gmpy2.powmod(h, 1 << (spacing * k), n2) for k in range(5)]
    for e in [1, 2, 2**48 - 1, 2**48, 2**240 - 1] + [rnd.getrandbits(rnd.randint(1, 240)) for _ in range(30)]:
        rows = max(1, -(-e.bit_length() // spacing))
        assert comb_power(stored, comb_columns(e, spacing, rows), rows, n2) == gmpy2.powmod(h, e, n2), e
    with pytest.raises(ValueError, match="does not fit"):
        comb_columns(2**96, 48, 2)


# --- profile v2 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("adapter", [ADAPTER, VARIABLE_TIME_ADAPTER], ids=["constant-time", "variable-time"])
def test_every_shipped_vector_passes_through_the_fast_adapters(adapter: Any) -> None:
    """What `mpksa conformance run --adapter mpksa.fast:ADAPTER` runs: every v1 and v2 vector (the
    variable-time adapter on v2 only: v1's tables are checked against the reference above)."""
    profiles = {"v1", "v2"} if adapter is ADAPTER else {"v2"}
    cases = [c for c in vector_cases.load().cases if c.profile in profiles]
    report = run(InProcessSession(adapter, adapter.name), cases)
    assert [(r.case.test_id, r.reason) for r in report.results if r.verdict != PASS] == []
    assert {r.case.profile for r in report.results} == profiles and len(report.results) > 400 * len(profiles)


@pytest.mark.parametrize("server, clients", [
    ("mpksa.fast:ADAPTER", ["mpksa.ops:REFERENCE", "mpksa.fast:VARIABLE_TIME_ADAPTER"]),
    ("mpksa.ops:REFERENCE", ["mpksa.fast:ADAPTER", "mpksa.fast:VARIABLE_TIME_ADAPTER"]),
])
def test_v2_live_interop_with_the_reference(server: str, clients: list[str]) -> None:
    """Whole v2 rounds with live randomness, fast and reference on either side (full, dropout, single client)."""
    report = run_interop(open_session(f"adapter:{server}"), [open_session(f"adapter:{c}") for c in clients],
                         "v2-test-512", rounds=3, num_clients=4, dim=40)
    assert report.problem is None and [(r.kind, r.passed) for r in report.rounds] == [
        ("full", True), ("dropout", True), ("single", True)]


@pytest.mark.parametrize("seed", range(4))
def test_rounds_match_reference_v2_test_512(seed: int) -> None:
    rnd = random.Random(100 + seed)
    encoding = random_encoding(rnd)
    k = encoding.slots_per_segment(511)
    dim = [0, k - 1, 3 * k - 1, rnd.randint(2, 120)][seed]
    Round("v2-test-512", seed, rnd.randint(2, 5), dim, encoding, [ADAPTER, VARIABLE_TIME_ADAPTER][seed % 2]).run()


@pytest.mark.parametrize("adapter", [ADAPTER, VARIABLE_TIME_ADAPTER], ids=["constant-time", "variable-time"])
def test_v2_parallel_path_matches_reference(adapter: Any) -> None:
    """About 80 segments: the process pool masks and unmasks them (v2-test-512)."""
    decoded = Round("v2-test-512", 12, 3, 2000, Encoding(frac_bits=16, clip=1.0, weight_max=50, max_clients=4),
                    adapter).run()
    assert len(decoded["weighted_sums"]) == 2000


def test_v2_round_matches_reference_rsa2048() -> None:
    Round("v2-rsa2048", 8, 3, 150, Encoding(frac_bits=20, clip=1.0, weight_max=180, max_clients=10)).run()


@pytest.mark.parametrize("name", ["v1-test-512", "v2-test-512"])
@pytest.mark.parametrize("variable_time", [False, True])
def test_decrypted_sum_is_plaintext_sum_through_python_api(name: str, variable_time: bool, tmp_path: Any) -> None:
    """Fast API end to end (v2 with a base cache of its own); the expected sum is computed here from the
    inputs with Python's round."""
    params = parameter_set(name)
    v2 = params.profile == "v2"
    f = (fast.FastV2(params, workers=2, variable_time=variable_time, bases=fast.SegmentBases(params.n, tmp_path)) if v2
         else fast.FastV1(params, workers=2, variable_time=variable_time))
    enc = Encoding(frac_bits=10, clip=2.0, weight_max=9, max_clients=3)
    rng = np.random.default_rng(6)
    updates = [rng.uniform(-2.5, 2.5, 1500) for _ in range(3)]
    weights = [3, 9, 1]
    alpha = exponent(params.exponent_bound, SYSTEM_RANDOM)
    beta = f.sys_gen(alpha)
    sks = [exponent(params.exponent_bound, SYSTEM_RANDOM) for _ in range(3)]
    pk_s = f.agg_pk_gen([(i, f.key_gen(sk)) for i, sk in enumerate(sks)])
    cts = [f.enc(beta, pk_s, fast.encode(fast.quantize(x, enc), w, enc, params.modulus_bits))
           for x, w in zip(updates, weights)]
    assert all(len(c.e1) == len(cts[0].e1) > 48 for c in cts)  # the pool's path
    assert all(len(c.e2) == (1 if v2 else len(c.e1)) for c in cts)  # v2: the carrier's pair only
    challenge = f.chel_gen(cts)
    aggregate = f.agg(cts, [f.res_gen(challenge, sk) for sk in sks])
    sums = f.dec(alpha, aggregate, 3) if v2 else f.dec(alpha, aggregate)
    weighted, weight_sum = fast.decode(sums, enc, 3, 1500, params.modulus_bits)
    expected = [sum(w * round(max(-2.0, min(2.0, float(x[t]))) * 1024) for x, w in zip(updates, weights))
                for t in range(1500)]
    assert weighted.tolist() == expected and weight_sum == 13


@pytest.fixture(scope="module")
def valid_v2_requests() -> list[Json]:
    r = Round("v2-test-512", 22, 3, 60, Encoding(frac_bits=12, clip=1.0, weight_max=20, max_clients=5))
    r.run()
    return r.requests


def v2_mutations(requests: list[Json]) -> list[tuple[str, Json]]:
    """Named bad v2 requests: what v2 adds to v1's checks (spec 10.5, 10.6, 10.8)."""
    n = _n(requests)
    n2 = n * n
    p = parameter_set("v2-test-512").factors[0]
    out: list[tuple[str, Json]] = []

    def add(name: str, op: str, change) -> None:
        request = first(requests, op)
        change(request)
        out.append((name, request))

    one_mod_n, minus_one = _hex(1 + 5 * n, n2), _hex(n - 1, n2)
    add("r missing", "Enc", lambda r: r["inputs"].pop("r"))
    add("r zero", "Enc", lambda r: r["inputs"].update(r="00" * 24))
    add("r of the exponent length", "Enc", lambda r: r["inputs"].update(r="01" * 16))
    add("r uppercase", "Enc", lambda r: r["inputs"].update(r="AB" * 24))
    add("second carrier pair", "Enc", lambda r: (r["inputs"]["r1"].append(r["inputs"]["r1"][0]),
                                                  r["inputs"]["r2"].append(r["inputs"]["r2"][0])))
    add("no carrier pair", "Enc", lambda r: r["inputs"].update(r1=[], r2=[]))
    add("no segment", "Enc", lambda r: r["inputs"].update(segments=[]))
    add("segment = n", "Enc", lambda r: r["inputs"]["segments"].__setitem__(1, _hex(n, 1 << (8 * nbytes(n)))))
    add("beta 1 mod n", "Enc", lambda r: r["inputs"].update(betas=[one_mod_n]))
    add("beta n - 1", "Enc", lambda r: r["inputs"].update(betas=[minus_one]))
    add("pk_S 1 mod n in Enc", "Enc", lambda r: r["inputs"].update(pk_s=one_mod_n))
    add("pk_S n - 1 in CheckPkS", "CheckPkS", lambda r: r["inputs"].update(pk_s=minus_one))
    add("pk_i 1 mod n", "AggPKGen", lambda r: r["inputs"]["public_keys"][1].update(pk=one_mod_n))
    add("pk_i n - 1 in SE", "SE", lambda r: r["inputs"].update(pk_i=minus_one))
    add("beta 1 mod n in DSE", "DSE", lambda r: r["inputs"].update(beta=one_mod_n))
    add("R_0 1 mod n", "ResGen", lambda r: r["inputs"]["challenge"].__setitem__(0, one_mod_n))
    add("R_0 non-unit", "ResGen", lambda r: r["inputs"]["challenge"].__setitem__(0, _hex(p * 3, n2)))
    add("second challenge", "ResGen", lambda r: r["inputs"]["challenge"].append(r["inputs"]["challenge"][0]))
    add("no challenge", "ResGen", lambda r: r["inputs"].update(challenge=[]))
    add("second challenge checked", "CheckChallenge", lambda r: (
        r["inputs"]["challenge"].append(r["inputs"]["challenge"][0]), r["inputs"]["own"].append(r["inputs"]["own"][0]),
        [row.append(row[0]) for row in r["inputs"]["announced"]]))
    add("second e2 pair", "ChelGen", lambda r: r["inputs"]["ciphertexts"][0]["e2"].append(r["inputs"]["ciphertexts"][0]["e2"][0]))
    add("second e2 pair later", "ChelGen", lambda r: r["inputs"]["ciphertexts"][2]["e2"].append(r["inputs"]["ciphertexts"][2]["e2"][0]))
    add("no e2 pair", "Agg", lambda r: r["inputs"]["ciphertexts"][0].update(e2=[]))
    add("second e2 pair in Agg", "Agg", lambda r: r["inputs"]["ciphertexts"][0]["e2"].append(r["inputs"]["ciphertexts"][0]["e2"][0]))
    add("second response", "Agg", lambda r: r["inputs"]["responses"][1].append(r["inputs"]["responses"][1][0]))
    add("carrier non-unit in Agg", "Agg", lambda r: r["inputs"]["ciphertexts"][1]["e1"].__setitem__(0, _hex(p * 5, n2)))
    add("only the carrier", "Dec", lambda r: r["inputs"].update(e_agg=r["inputs"]["e_agg"][:1]))
    add("clients missing", "Dec", lambda r: r["inputs"].pop("clients"))
    add("clients one", "Dec", lambda r: r["inputs"].update(clients=1))
    add("clients a bool", "Dec", lambda r: r["inputs"].update(clients=True))
    add("wrong alpha: the carrier fails", "Dec", lambda r: r["inputs"]["alphas"].__setitem__(0, "00" * 15 + "05"))
    add("a data segment swapped", "Dec", lambda r: r["inputs"]["e_agg"].__setitem__(2, r["inputs"]["e_agg"][1]))
    add("two d", "Dec", lambda r: r["inputs"]["d"].append(r["inputs"]["d"][0]))
    add("two T", "Dec", lambda r: r["inputs"]["t"].append(r["inputs"]["t"][0]))
    add("e_agg non-unit", "Dec", lambda r: r["inputs"]["e_agg"].__setitem__(1, _hex(p * 7, n2)))
    add("carrier replaced by a segment", "Dec", lambda r: r["inputs"]["e_agg"].__setitem__(0, r["inputs"]["e_agg"][1]))
    return out


@pytest.mark.parametrize("adapter", [ADAPTER, VARIABLE_TIME_ADAPTER], ids=["constant-time", "variable-time"])
def test_v2_bad_inputs_get_the_reference_error_codes(valid_v2_requests: list[Json], adapter: Any) -> None:
    codes = set()
    for name, request in v2_mutations(valid_v2_requests):
        got = assert_same(request, adapter)
        assert "error" in got, name
        codes.add(got["error"]["code"])
    assert {"degenerate-element", "dimension-mismatch", "carrier-decryption-failed", "l-input-not-one-mod-n",
            "too-few-clients", "malformed-input", "exponent-out-of-range", "non-unit"} <= codes


def test_v2_random_mutations_get_the_same_answers(valid_v2_requests: list[Json]) -> None:
    rnd = random.Random(4321)
    for request in valid_v2_requests:
        for _ in range(8):
            mutated = copy.deepcopy(request)
            path = rnd.choice([p for p in leaf_paths(mutated) if p and p[0] in ("inputs", "params", "encoding")])
            set_path(mutated, path, copy.deepcopy(rnd.choice(JUNK)))
            assert_same(mutated, rnd.choice([ADAPTER, VARIABLE_TIME_ADAPTER]))


# --- the constant-time engine is the default -------------------------------------------------------

def test_the_default_engine_is_constant_time() -> None:
    assert not fast.FastV1(parameter_set("v1-test-512")).variable_time
    assert not fast.FastV2(parameter_set("v2-test-512")).variable_time
    assert not fast.for_parameter_set("v2-rsa2048").variable_time
    assert not ADAPTER.variable_time and VARIABLE_TIME_ADAPTER.variable_time
    with pytest.raises(ParameterError, match="profile 'v2'"):
        fast.FastV1(parameter_set("v2-test-512"))


class PowerSpy:
    """Records the exponent of every gmpy2 power, by kind: constant time (powmod_sec) or not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.secure: list[int] = []
        self.variable: list[int] = []
        plain, secure, base_list = gmpy2.powmod, gmpy2.powmod_sec, gmpy2.powmod_base_list

        def spy_plain(b: Any, e: Any, m: Any) -> Any:
            self.variable.append(int(e))
            return plain(b, e, m)

        def spy_secure(b: Any, e: Any, m: Any) -> Any:
            self.secure.append(int(e))
            return secure(b, e, m)

        def spy_list(bs: Any, e: Any, m: Any) -> Any:
            self.variable.append(int(e))
            return base_list(bs, e, m)

        monkeypatch.setattr(gmpy2, "powmod", spy_plain)
        monkeypatch.setattr(gmpy2, "powmod_sec", spy_secure)
        monkeypatch.setattr(gmpy2, "powmod_base_list", spy_list)


def one_round(f: Any, rng: RecordingRandom, dim: int) -> tuple[set[int], list[int]]:
    """A round of 3 clients in-process; returns every secret exponent drawn (and the mask sum R), and the sums."""
    params, enc = f.params, Encoding(frac_bits=8, clip=1.0, weight_max=1, max_clients=3)
    alpha = exponent(params.exponent_bound, rng)
    beta = f.sys_gen(alpha)
    sks = [exponent(params.exponent_bound, rng) for _ in range(3)]
    pks = [f.key_gen(sk) for sk in sks]
    pk_s = f.agg_pk_gen(list(enumerate(pks)))
    sealed = f.seal(pks[0], alpha, b"model", 1, 0, rng)
    f.unseal(beta, sks[0], sealed, 1, 0)
    masks = []
    cts = []
    for i in range(3):
        drawn_before = len(rng.drawn)
        cts.append(f.enc(beta, pk_s, fast.encode(fast.quantize(np.linspace(-1, 1, dim), enc), 1, enc, params.modulus_bits), rng))
        masks.append(rng.drawn[drawn_before])
    challenge = f.chel_gen(cts)
    aggregate = f.agg(cts, [f.res_gen(challenge, sk) for sk in sks])
    sums = f.dec(alpha, aggregate, 3) if isinstance(f, fast.FastV2) else f.dec(alpha, aggregate)
    secrets_drawn = {int(x) for x in rng.drawn if isinstance(x, int)}
    if isinstance(f, fast.FastV2):
        secrets_drawn.add(sum(masks))  # R, which the server decrypts and raises h_j^{-1} to
    return secrets_drawn, sums


@pytest.mark.parametrize("name", ["v1-test-512", "v2-test-512"])
def test_no_secret_exponent_reaches_a_variable_time_power(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Default engine: every secret (alpha, sk_i, r1, r2, r_i, R) goes to powmod_sec, none to powmod or
    powmod_base_list. The same round on the variable-time engine does hand secrets to them: the spy sees it."""
    params = parameter_set(name)
    results = {}
    for variable_time in (False, True):
        spy = PowerSpy(monkeypatch)
        if params.profile == "v2":
            f = fast.FastV2(params, workers=1, variable_time=variable_time, bases=fast.SegmentBases(params.n, tmp_path))
        else:
            f = fast.FastV1(params, workers=1, variable_time=variable_time)
        secrets_drawn, sums = one_round(f, RecordingRandom(SYSTEM_RANDOM), 200)
        results[variable_time] = sums
        leaked = secrets_drawn & set(spy.variable)
        if variable_time:
            assert leaked, "the spy sees no secret in a variable-time power: it would miss a leak"
        else:
            assert not leaked, f"{len(leaked)} secret exponents went to a variable-time power"
            assert secrets_drawn <= set(spy.secure)
        monkeypatch.undo()
    assert results[False] == results[True]  # the same weights and values: the same sums


# --- v2's base cache ------------------------------------------------------------------------------

def test_base_cache_cold_then_warm(tmp_path: Any) -> None:
    from mpksa.segment_bases import segment_bases as reference_bases  # the oracle, written separately

    params = parameter_set("v2-test-512")
    cold = fast.SegmentBases(params.n, tmp_path)
    assert [int(h) for h in cold.bases(6)] == list(reference_bases(params, 6))
    assert (cold.derived, cold.loaded) == (6, 0) and len(list(tmp_path.iterdir())) == 1
    warm = fast.SegmentBases(params.n, tmp_path)
    assert [int(h) for h in warm.bases(6)] == list(reference_bases(params, 6))
    assert (warm.derived, warm.loaded) == (0, 6)
    assert [int(h) for h in warm.bases(9)] == list(reference_bases(params, 9)) and warm.derived == 3
    n2 = params.n2
    stored = warm.stored_powers(9, 48, 5)
    assert all(int(row[k]) == pow(int(row[0]), 2 ** (48 * k), n2) for row in stored for k in range(5))
    again = fast.SegmentBases(params.n, tmp_path)
    assert again.stored_powers(9, 48, 5) == stored and (again.derived, again.loaded) == (0, 9)


def write_cache_file(path: Any, header: dict[str, Any], rows: list[list[int]], element_bytes: int) -> None:
    """A cache file as fast/bases.py documents it: magic, a JSON header line, the elements, SHA-256."""
    import hashlib

    data = (b"MPKSA fast segment bases\n" + json.dumps(header, sort_keys=True).encode() + b"\n"
            + b"".join(x.to_bytes(element_bytes, "big") for row in rows for x in row))
    path.write_bytes(data + hashlib.sha256(data).digest())


@pytest.mark.parametrize("damage", ["a flipped byte", "truncated", "another modulus's file", "structured bases",
                                    "a wrong stored power"])
def test_a_damaged_or_forged_cache_file_is_detected(damage: str, tmp_path: Any) -> None:
    params = parameter_set("v2-test-512")
    n, n2 = params.n, params.n2
    fast.SegmentBases(n, tmp_path).stored_powers(8, 48, 5)
    (bases_file,) = tmp_path.glob("v2-bases-*.bin")
    (powers_file,) = tmp_path.glob("v2-powers-*.bin")
    size = nbytes(n2)
    header = json.loads(bases_file.read_bytes().split(b"\n")[1])
    if damage == "a flipped byte":
        data = bytearray(bases_file.read_bytes())
        data[-200] ^= 1
        bases_file.write_bytes(bytes(data))
    elif damage == "truncated":
        bases_file.write_bytes(bases_file.read_bytes()[:-100])
    elif damage == "another modulus's file":
        other = tmp_path / "other"
        fast.SegmentBases(2**127 - 1, other).bases(8)
        bases_file.write_bytes(next(other.glob("v2-bases-*.bin")).read_bytes())
    elif damage == "structured bases":  # x_j = x * j: h_1 h_4 = h_2^2, the relation of spec 10.3
        write_cache_file(bases_file, header, [[pow(7 * j % n, 2 * n, n2)] for j in range(1, 9)], size)
    else:
        powers_header = json.loads(powers_file.read_bytes().split(b"\n")[1])
        rows = [[pow(h, 2 ** (48 * k), n2) for k in range(1, 5)] for h in fast.SegmentBases(n, None).bases(8)]
        rows[0][2] = rows[0][2] * rows[0][0] % n2  # h_1^(2^96 + 2^48) where h_1^(2^96) belongs
        write_cache_file(powers_file, powers_header, rows, size)
    with pytest.raises(fast.BaseCacheError, match="corrupted|header|not the one|not h_1's") as raised:
        fast.SegmentBases(n, tmp_path).stored_powers(8, 48, 5)
    assert raised.value.code == "base-cache-invalid"


def test_verify_all_finds_one_forged_base_the_spot_check_missed(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    params = parameter_set("v2-test-512")
    bases = [int(h) for h in fast.SegmentBases(params.n, None).bases(12)]
    bases[6] = bases[6] * bases[6] % params.n2  # h_7^2: still a 2n-th power, not the hashed h_7
    fast.SegmentBases(params.n, tmp_path).bases(1)
    (path,) = tmp_path.glob("v2-bases-*.bin")
    header = {**json.loads(path.read_bytes().split(b"\n")[1]), "count": 12}
    write_cache_file(path, header, [[h] for h in bases], nbytes(params.n2))
    monkeypatch.setattr(fast.bases, "VERIFY_SAMPLES", 0)  # the spot check derives h_1 and h_12 only
    loaded = fast.SegmentBases(params.n, tmp_path)
    assert [int(h) for h in loaded.bases(12)] == bases and loaded.loaded == 12
    with pytest.raises(fast.BaseCacheError, match="h_7"):
        loaded.verify_all()


def test_an_unwritable_cache_directory_keeps_the_bases_in_memory(tmp_path: Any) -> None:
    params = parameter_set("v2-test-512")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = fast.SegmentBases(params.n, blocker / "mpksa")
    with pytest.warns(UserWarning, match="not saved"):
        bases = cache.bases(3)
    assert len(bases) == 3 and cache.derived == 3


def test_direct_calls_with_bad_input_get_the_reference_s_typed_errors() -> None:
    """Found by review: the fast implementation's own API (not only its wire) refuses what the reference refuses."""
    from mpksa.errors import MalformedInputError, ProofError
    from mpksa.messages import Statement
    from mpksa.randomness import SeededRandom

    params = parameter_set("v1-test-512")
    f = fast.FastV1(params, workers=1)
    rng = SeededRandom(b"direct")
    sk, alpha = exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)
    pk, beta = f.key_gen(sk), f.sys_gen(alpha)
    pk_s = f.agg_pk_gen([(0, pk), (1, f.key_gen(exponent(params.exponent_bound, rng)))])
    for segment in (1.5, True, "7"):
        with pytest.raises(MalformedInputError, match="segment m_0 must be an integer"):
            f.enc(beta, pk_s, [segment], rng)
    for statement in (Statement("key", client_id=-1), Statement("g^r2", 0, 0, 2**64, (0, 1))):
        with pytest.raises(MalformedInputError, match=r"must be an integer in \[0, 2\^"):
            f.prove(statement, sk, 5)
    for round_id, client_id in ((2**64, 1), (0, -1)):
        with pytest.raises(MalformedInputError, match=r"must be an integer in \[0, 2\^"):
            f.seal(pk, alpha, b"W", round_id, client_id, rng)
    with pytest.raises(ProofError, match="without a proof"):
        f.check_proof(Statement("key", client_id=0), pk, None)
    with pytest.raises(MalformedInputError, match="W_i\\* must be"):
        f.unseal(beta, sk, "x" * 40, 0, 0)  # type: ignore[arg-type]
