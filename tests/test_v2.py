"""Profile v2 (spec chapter 10): bases, Enc, the carrier, Dec, its checks, and whole rounds.

Expected values come from second derivations written from the spec (hashlib and pow directly,
plaintext sums from the raw updates), never from the functions under test.
"""

from __future__ import annotations

import hashlib
import math

import pytest

from conftest import expected_weighted_sums
from mpksa import Client, Encoding, ops, run_round, setup
from mpksa.agg import agg
from mpksa.aggpkgen import agg_pk_gen, check_pk_s
from mpksa.chelgen import chel_gen, check_challenge
from mpksa.dec import dec_v2, l_function
from mpksa.enc import enc_v1, enc_v2
from mpksa.errors import (
    CarrierDecryptionError,
    DegenerateElementError,
    DimensionMismatchError,
    ExponentRangeError,
    ExponentReusedError,
    LInputError,
    MaskSumRangeError,
    TooFewClientsError,
)
from mpksa.guard import MaskGuard
from mpksa.keygen import key_gen
from mpksa.messages import Aggregate, Ciphertext, ServerKey
from mpksa.params import V1Params, V2Params, parameter_set
from mpksa.randomness import RecordingRandom, ReplayRandom, SeededRandom
from mpksa.resgen import res_gen
from mpksa.se import dse, se
from mpksa.segment_bases import derive_segment_base, segment_bases
from mpksa.sysgen import sys_gen_v1
from mpksa.wire.codec import Codec
from mpksa.wire.contract import encoding_to_json, params_to_json

V2 = parameter_set("v2-test-512")
N, N2 = V2.n, V2.n2


def spec_base(n: int, j: int) -> int:
    """Spec 10.3 by hand: SHAKE256(len(label) || label || I2OSP(n, B) || I2OSP(j, 4) || I2OSP(c, 4)), B + 16 bytes,
    reduced mod n; the first c with gcd(x, n) = 1 and x^{2n} != 1 mod n^2."""
    label = b"MPKSA v2 h"
    size = (n.bit_length() + 7) // 8
    for c in range(100):
        block = len(label).to_bytes(2, "big") + label + n.to_bytes(size, "big") + j.to_bytes(4, "big") + c.to_bytes(4, "big")
        x = int.from_bytes(hashlib.shake_256(block).digest(size + 16), "big") % n
        if math.gcd(x, n) == 1 and pow(x, 2 * n, n * n) != 1:
            return pow(x, 2 * n, n * n)
    raise AssertionError("no base in 100 counters")


def _round(params: V2Params, clients: int, dim: int, label: bytes):
    """Keys, uploads, challenge, responses and aggregate of an honest v2 round, with recorded draws."""
    rng = RecordingRandom(SeededRandom(label))
    enc = Encoding(max_clients=max(clients, 2))
    key = sys_gen_v1(params, rng)
    pairs = [key_gen(params, rng) for _ in range(clients)]
    pk_s = agg_pk_gen(params, list(enumerate(p.pk for p in pairs)))
    rng.take()
    messages, uploads, draws = [], [], []
    for i in range(clients):
        m = [rng.inner.randrange(0, 2**100) for _ in range(dim)]
        ct = enc_v2(params, key.betas[0], pk_s, m, rng)
        messages.append(m)
        uploads.append(ct)
        draws.append(rng.take())
    challenge = chel_gen(params, uploads)
    responses = [res_gen(params, challenge, p.sk) for p in pairs]
    return key, pairs, pk_s, messages, uploads, draws, challenge, responses, agg(params, uploads, responses), enc


# ---- parameters and bases --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v2-test-512", "v2-rsa2048"])
def test_v2_sets_keep_v1_group_and_add_the_mask_length(name: str) -> None:
    params = parameter_set(name)
    same_n = parameter_set("v1-test-512" if name == "v2-test-512" else "v1-rsa2048-short")
    assert isinstance(params, V2Params) and isinstance(same_n, V1Params)
    assert (params.n, params.g, params.exponent_bits) == (same_n.n, same_n.g, same_n.exponent_bits)
    assert params.mask_bits == {"v2-test-512": 192, "v2-rsa2048": 288}[name]
    assert params.mask_bits + 32 < params.n.bit_length()  # any |S| < 2^32: R stays below n
    assert params.insecure == (name == "v2-test-512")


@pytest.mark.parametrize("name", ["v2-test-512", "v2-rsa2048"])
def test_bases_follow_the_spec_derivation(name: str) -> None:
    params = parameter_set(name)
    bases = segment_bases(params, 3)
    assert bases == tuple(spec_base(params.n, j) for j in (1, 2, 3))
    assert len(set(bases) | {params.g}) == 4  # distinct from each other and from g
    for h in bases:
        assert math.gcd(h, params.n) == 1 and h % params.n not in (0, 1, params.n - 1)
    assert segment_bases(params, 2) == bases[:2]  # the cache extends, never changes


def test_base_numbers_start_at_one_and_fit_four_bytes() -> None:
    with pytest.raises(Exception, match="must lie in"):
        derive_segment_base(N, 0)
    with pytest.raises(Exception, match="must lie in"):
        derive_segment_base(N, 2**32)


def test_a_small_modulus_retries_until_the_base_is_a_unit_other_than_one() -> None:
    """n = 15 (tiny, known factors): many x are 0, share a factor, or give 1; each counter is tried in turn."""
    h = derive_segment_base(15, 1)
    assert h == spec_base(15, 1) and math.gcd(h, 15) == 1 and h != 1


# ---- Enc, Dec --------------------------------------------------------------------------------


def test_enc_is_the_carrier_and_one_masked_element_per_segment() -> None:
    key, pairs, pk_s, messages, uploads, draws, *_ = _round(V2, 2, 3, b"enc shape")
    r, r01, r02 = draws[0]
    assert r.bit_length() <= 192 and r01.bit_length() <= 128 and r02.bit_length() <= 128
    ct = uploads[0]
    assert len(ct.e1) == 4 and len(ct.e2) == 1
    h = [spec_base(N, j) for j in (1, 2, 3)]
    assert list(ct.e1[1:]) == [(1 + m * N) * pow(hj, r, N2) % N2 for m, hj in zip(messages[0], h)]
    carrier = enc_v1(V2, key.betas[0], pk_s, [r], ReplayRandom([r01, r02]))
    assert (ct.e1[0], ct.e2) == (carrier.e1[0], carrier.e2)


def test_dec_returns_the_exact_segment_sums() -> None:
    key, _, _, messages, _, draws, _, _, aggregate, _ = _round(V2, 3, 4, b"dec sums")
    assert dec_v2(V2, key, aggregate, 3) == tuple(sum(col) % N for col in zip(*messages))
    assert len(aggregate.d) == len(aggregate.t) == 1 and len(aggregate.e_agg) == 5


def test_carrier_of_a_wrong_plaintext_never_gives_a_wrong_sum() -> None:
    """Client 1's carrier does not hold its r_1: R falls outside [|S|, |S|(2^L-1)], or in range but
    wrong, and then every data segment's L input is refused."""
    key, pairs, pk_s, messages, uploads, draws, _, _, _, _ = _round(V2, 2, 2, b"wrong carrier")
    # R = 0 + r_2 < 2^192 is in range for |S| = 2; R = n - 1 + r_2 = r_2 - 1 mod n too; 2^300 + r_2 is not.
    for plaintext, error in ((0, LInputError), (N - 1, LInputError), (2**300, MaskSumRangeError)):
        carrier = enc_v1(V2, key.betas[0], pk_s, [plaintext], ReplayRandom(draws[0][1:]))
        forged = [Ciphertext((carrier.e1[0], *uploads[0].e1[1:]), carrier.e2), uploads[1]]
        responses = [res_gen(V2, chel_gen(V2, forged), p.sk) for p in pairs]
        with pytest.raises(error):
            dec_v2(V2, key, agg(V2, forged, responses), 2)


def test_mask_sum_below_the_size_of_s() -> None:
    """Every carrier encrypts 0: R = 0 < |S|."""
    key, pairs, pk_s, messages, uploads, draws, _, _, _, _ = _round(V2, 2, 1, b"zero carriers")
    forged = []
    for c, d in zip(uploads, draws):
        carrier = enc_v1(V2, key.betas[0], pk_s, [0], ReplayRandom(d[1:]))
        forged.append(Ciphertext((carrier.e1[0], *c.e1[1:]), carrier.e2))
    responses = [res_gen(V2, chel_gen(V2, forged), p.sk) for p in pairs]
    with pytest.raises(MaskSumRangeError, match=r"outside \[\|S\|"):
        dec_v2(V2, key, agg(V2, forged, responses), 2)


def test_carrier_that_does_not_decrypt() -> None:
    key, pairs, _, _, uploads, _, challenge, responses, aggregate, _ = _round(V2, 3, 2, b"no carrier")
    wrong_alpha = ServerKey((key.alphas[0] % (V2.exponent_bound - 1) + 1,), key.betas)
    with pytest.raises(CarrierDecryptionError, match="carrier's L input"):
        dec_v2(V2, wrong_alpha, aggregate, 3)
    dropped = agg(V2, uploads[:2], responses[:2])  # a client's upload and response missing: masks do not cancel
    with pytest.raises(CarrierDecryptionError):
        dec_v2(V2, key, dropped, 3)


def test_dec_needs_the_size_of_s() -> None:
    key, *_, aggregate, _ = _round(V2, 3, 1, b"size of S")
    with pytest.raises(TooFewClientsError):
        dec_v2(V2, key, aggregate, 1)
    c = Codec(V2)
    inputs = {"alphas": [c.exponent(key.alphas[0])], "e_agg": [c.e1(x) for x in aggregate.e_agg],
              "d": [c.element(aggregate.d[0])], "t": [c.element(aggregate.t[0])]}
    request = {"op": "Dec", "params": params_to_json(V2), "inputs": inputs}
    assert ops.handle(request)["error"]["code"] == "malformed-input"  # no clients
    assert "outputs" in ops.handle({**request, "inputs": {**inputs, "clients": 3}})
    assert ops.handle({**request, "inputs": {**inputs, "clients": 1}})["error"]["code"] == "too-few-clients"


def test_segment_counts_must_match_the_carrier_structure() -> None:
    key, pairs, pk_s, _, uploads, _, challenge, responses, aggregate, _ = _round(V2, 2, 2, b"counts")
    two_pairs = [Ciphertext(c.e1, c.e2 * 2) for c in uploads]
    for action in (
        lambda: enc_v2(V2, key.betas[0], pk_s, [], SeededRandom(b"")),
        lambda: chel_gen(V2, two_pairs),
        lambda: res_gen(V2, challenge * 2, pairs[0].sk),
        lambda: check_challenge(V2, challenge * 2, [challenge * 2], challenge * 2),
        lambda: agg(V2, two_pairs, [r * 2 for r in responses]),
        lambda: dec_v2(V2, key, Aggregate(aggregate.e_agg[:1], aggregate.d, aggregate.t), 2),
        lambda: dec_v2(V2, key, Aggregate(aggregate.e_agg, aggregate.d * 2, aggregate.t * 2), 2),
    ):
        with pytest.raises(DimensionMismatchError):
            action()


@pytest.mark.parametrize("value", [1 + N, N2 - 1, 1 + 7 * N, N2 - 1 - 3 * N], ids=["1+n", "-1", "1+7n", "-(1+3n)"])
def test_degenerate_elements_are_refused_wherever_they_meet_a_secret_exponent(value: int) -> None:
    key, pairs, pk_s, *_ = _round(V2, 2, 1, b"degenerate")
    sk = pairs[0].sk
    sealed = se(V2, pairs[0].pk, key.alphas[0], b"W", 1, 0, SeededRandom(b"nonce"))
    for action in (
        lambda: enc_v2(V2, value, pk_s, [5], SeededRandom(b"r")),
        lambda: enc_v2(V2, key.betas[0], value, [5], SeededRandom(b"r")),
        lambda: check_pk_s(V2, value, pairs[0].pk),
        lambda: res_gen(V2, (value,), sk),
        lambda: dse(V2, value, sk, sealed, 1, 0),
        lambda: se(V2, value, key.alphas[0], b"W", 1, 0, SeededRandom(b"nonce")),
        lambda: agg_pk_gen(V2, [(0, pairs[0].pk), (1, value)]),
    ):
        with pytest.raises(DegenerateElementError, match="mod n"):
            action()


def test_why_degenerate_challenges_are_refused_v1_answers_1_plus_n_with_sk_mod_n() -> None:
    """Finding E8's simplest case: R = 1 + n gives T = 1 + sk*n, so L(T) = sk mod n. v1 (unchanged) answers it."""
    v1 = parameter_set("v1-test-512")
    pair = key_gen(v1, SeededRandom(b"E8"))
    (t,) = res_gen(v1, (1 + v1.n,), pair.sk)
    assert l_function(t, v1.n) == pair.sk % v1.n
    with pytest.raises(DegenerateElementError):
        res_gen(V2, (1 + N,), pair.sk)


def test_mask_exponent_range_on_the_wire() -> None:
    key, pairs, pk_s, *_ = _round(V2, 2, 1, b"wire range")
    c = Codec(V2)
    base = {"betas": [c.element(key.betas[0])], "pk_s": c.element(pk_s), "segments": [c.message(9)],
            "r": c.mask(5), "r1": [c.exponent(7)], "r2": [c.exponent(11)]}

    def enc(**changes: object) -> dict:
        return ops.handle({"op": "Enc", "profile": "v2", "params": params_to_json(V2),
                           "encoding": encoding_to_json(Encoding()), "inputs": {**base, **changes}})

    assert "outputs" in enc()
    assert enc(r=c.mask(0))["error"]["code"] == "exponent-out-of-range"
    assert enc(r=(V2.mask_bound).to_bytes(25, "big").hex())["error"]["code"] == "malformed-input"  # too long
    assert enc(r=c.exponent(5))["error"]["code"] == "malformed-input"  # an exponent's length, not the mask's
    assert enc(r1=[c.exponent(7)] * 2, r2=[c.exponent(11)] * 2)["error"]["code"] == "malformed-input"
    without_r = dict(base)
    del without_r["r"]
    answer = ops.handle({"op": "Enc", "params": params_to_json(V2), "inputs": without_r})
    assert answer["error"]["code"] == "malformed-input"


# ---- the mask exponent is never reused ---------------------------------------------------------


def test_a_reused_mask_exponent_reveals_the_difference_and_the_guard_refuses_it() -> None:
    key, pairs, pk_s, *_ = _round(V2, 2, 1, b"reuse")
    m1, m2 = [11, 2**90, 7], [5, 3, 2**80]
    r, r01, r02 = 2**150 + 77, 3, 5
    first = enc_v2(V2, key.betas[0], pk_s, m1, ReplayRandom([r, r01, r02]))
    second = enc_v2(V2, key.betas[0], pk_s, m2, ReplayRandom([r, r01 + 1, r02 + 1]))
    assert [l_function(a * pow(b, -1, N2) % N2, N) for a, b in zip(first.e1[1:], second.e1[1:])] == [
        (a - b) % N for a, b in zip(m1, m2)]
    guard = MaskGuard(V2)
    digest = guard.admit(r)
    guard.admit(r + 1)
    with pytest.raises(ExponentReusedError) as info:
        guard.admit(r)
    assert str(r) not in str(info.value) and format(r, "x") not in str(info.value)
    with pytest.raises(ExponentRangeError):
        guard.admit(0)
    # A client that keeps its state elsewhere (the Flower mod) goes on from the digests admit returned.
    resumed = MaskGuard(V2, [digest])
    with pytest.raises(ExponentReusedError):
        resumed.admit(r)
    resumed.admit(r + 1)


# ---- whole rounds ----------------------------------------------------------------------------


def _updates(count: int, dim: int, salt: int = 0) -> dict[int, list[float]]:
    return {i: [((11 * i + 5 * t + salt) % 27 - 13) / 10 for t in range(dim)] for i in range(count)}


def test_abort_after_upload_then_a_fresh_rerun_draws_new_mask_exponents() -> None:
    enc = Encoding(max_clients=5)
    rng = RecordingRandom(SeededRandom(b"v2 abort"))
    key, keys = setup(V2, enc, 40, range(4), rng)
    updates = _updates(4, 40)
    clients = [Client(i, keys[i], updates[i]) for i in range(4)]
    rng.take()
    with pytest.raises(Exception, match="dropped out after upload"):
        run_round(V2, enc, key, clients, range(4), dropped_after_upload=[3], rng=rng)
    first = rng.take()
    fresh = {i: u for i, u in _updates(3, 40, salt=5).items()}  # the re-run answers with a fresh update (E7)
    result = run_round(V2, enc, key, [Client(i, keys[i], fresh[i]) for i in range(3)], range(3), round_id=1, rng=rng)
    second = rng.take()
    assert not set(map(repr, first)) & set(map(repr, second))
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        [fresh[i] for i in range(3)], [1, 1, 1], enc.frac_bits, enc.clip)


def test_ten_clients_rsa2048_exact_sums() -> None:
    params = parameter_set("v2-rsa2048")
    enc = Encoding(max_clients=10)
    rng = SeededRandom(b"v2 rsa2048, 10 clients")
    dim = 200  # k = 97: three data segments, the last one short
    key, keys = setup(params, enc, dim, range(10), rng)
    updates = {i: [((7 * i + 3 * t) % 301 - 150) / 128 + (t % 3) * 2.0**-17 for t in range(dim)] for i in range(10)}
    result = run_round(params, enc, key, [Client(i, keys[i], updates[i]) for i in range(10)], range(10), rng=rng)
    assert len(result.segment_sums) == 3 and all(len(c.e1) == 4 and len(c.e2) == 1 for c in result.ciphertexts.values())
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        list(updates.values()), [1] * 10, enc.frac_bits, enc.clip)


def test_round_with_dropouts_before_s_and_weights() -> None:
    enc = Encoding(frac_bits=12, clip=2.0, weight_max=9, max_clients=6)
    rng = SeededRandom(b"v2 dropouts")
    key, keys = setup(V2, enc, 30, range(6), rng)
    updates = _updates(6, 30, salt=2)
    weights = {0: 9, 1: 1, 2: 4, 3: 2, 4: 7, 5: 3}
    online = [1, 2, 4]
    result = run_round(V2, enc, key, [Client(i, keys[i], updates[i], weights[i]) for i in range(6)], online, rng=rng)
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        [updates[i] for i in online], [weights[i] for i in online], enc.frac_bits, enc.clip)


# ---- parameters on the wire and the command line ---------------------------------------------


def test_params_objects_of_v2() -> None:
    from mpksa.errors import ParameterError
    from mpksa.wire.contract import params_from_json

    data = params_to_json(V2)
    assert data == {"name": "v2-test-512", "profile": "v2", "n": format(N, "x"), "g": format(V2.g, "x"),
                    "exponent_bits": 128, "mask_bits": 192, "insecure": True}
    assert params_from_json(data) is V2
    with pytest.raises(ParameterError, match="differ from the registered"):
        params_from_json({**data, "mask_bits": 191})
    custom = params_from_json({**data, "name": "toy-v2", "mask_bits": 100})
    assert isinstance(custom, V2Params) and custom.mask_bound == 2**100
    for bad in (0, 480, True, "100"):
        with pytest.raises(ParameterError):
            params_from_json({**data, "name": "toy-v2", "mask_bits": bad})
    with pytest.raises(ParameterError):
        params_from_json({k: v for k, v in data.items() if k != "mask_bits"})


def test_cli_round_on_v2(capsys: pytest.CaptureFixture[str]) -> None:
    from mpksa.cli import main

    assert main(["round", "--params", "v2-test-512", "--clients", "3", "--dim", "50"]) == 0
    out = capsys.readouterr().out
    assert "parameter set v2-test-512: |S| = 3, 50 values, 2 segments" in out  # k = 511 // 19 = 26 slots, 51 slots
    assert "decrypted sum equals plaintext sum: True" in out


def test_check_values_of_the_bases_in_chapter_10() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "spec" / "10-profile-v2.md").read_text(encoding="utf-8")
    for name in ("v2-rsa2048", "v2-test-512"):
        params = parameter_set(name)
        for j in (1, 2):
            digits = format(spec_base(params.n, j), "x").rjust(2 * ((params.n2.bit_length() + 7) // 8), "0")
            assert f"| `{name}` | $h_{j}$ | `{digits[:16]}` | `{digits[-16:]}` | {len(digits)} |" in text
