"""Bad input gets a typed `mpksa.errors` error naming the value and the rule (review C.7).

Each case is checked twice where the wire contract can carry it: on the Python functions,
and through `mpksa.ops.handle`, which must answer {"error": {"code": ...}} and never raise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from mpksa import Client, Encoding, ops, run_round, setup
from mpksa.aggpkgen import agg_pk_gen
from mpksa.agg import agg
from mpksa.dec import dec_v1, l_function
from mpksa.encoding import decode_v1, quantize, unpack_segments, weigh
from mpksa.enc import enc_v1
from mpksa.errors import (
    ERROR_CLASSES,
    AeadError,
    DimensionMismatchError,
    DuplicateClientError,
    ElementOutOfRangeError,
    LInputError,
    MalformedInputError,
    MpksaError,
    NonFiniteValueError,
    ParameterError,
    NonUnitError,
    QuantizationRangeError,
    TooFewClientsError,
    UnknownClientError,
)
from mpksa.keygen import key_gen
from mpksa.messages import Aggregate, ServerKey
from mpksa.wire.codec import Codec, to_hex
from mpksa.wire.contract import encoding_to_json, params_to_json
from mpksa.params import parameter_set
from mpksa.randomness import ReplayRandom, SeededRandom
from mpksa.se import NONCE_BYTES, TAG_BYTES, dse, se
from mpksa.sysgen import sys_gen_v1
from mpksa.validate import check_group_element

V1 = parameter_set("v1-test-512")
N, N2 = V1.n, V1.n2
P_FACTOR = V1.factors[0]
ENC = Encoding(max_clients=4)


def raises(error: type[MpksaError], action: Callable[[], object], *fragments: str) -> str:
    """`action` raises exactly `error`, whose message holds every fragment; returns the message."""
    with pytest.raises(error) as info:
        action()
    assert type(info.value) is error
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def hex_of(x: int) -> str:
    """How an error message shows an integer: its leading hex digits."""
    return ("-0x" if x < 0 else "0x") + format(abs(x), "x")[:8]


# ---- group elements -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, N2, N2 + 5, -1, -N], ids=["0", "n^2", "n^2+5", "-1", "-n"])
def test_element_out_of_range(value: int) -> None:
    raises(ElementOutOfRangeError, lambda: check_group_element(V1, value, "pk_7"),
           "pk_7", hex_of(value), "must lie in [1,")


@pytest.mark.parametrize("value", [P_FACTOR, 3 * V1.factors[1], N], ids=["P", "3Q", "n"])
def test_non_unit_reveals_a_factor_and_is_refused(value: int) -> None:
    message = raises(NonUnitError, lambda: check_group_element(V1, value, "T[2]"), "T[2]", "must be a unit")
    assert hex_of(math.gcd(value, N)) in message


def test_n_itself_is_a_non_unit_for_rsa2048(rsa_short) -> None:
    raises(NonUnitError, lambda: check_group_element(rsa_short, rsa_short.n, "beta"), "beta", "must be a unit")


def test_non_unit_in_dec_is_refused_before_any_arithmetic() -> None:
    key = ServerKey((5,), (pow(V1.g, 5, N2),))
    raises(NonUnitError, lambda: dec_v1(V1, key, Aggregate((P_FACTOR,), (2,), (3,))), "E_Agg[0]", "must be a unit")


def test_l_input_must_be_one_mod_n() -> None:
    raises(LInputError, lambda: l_function(N + 2, N), "must be 1 mod n", "0x2 mod n")
    key = ServerKey((5,), (pow(V1.g, 5, N2),))
    raises(LInputError, lambda: dec_v1(V1, key, Aggregate((2,), (3,), (5,))), "must be 1 mod n")


# ---- values -----------------------------------------------------------------------------------


def test_value_out_of_quantization_range() -> None:
    raises(QuantizationRangeError, lambda: quantize([0.0, 1.25], ENC, clip=False),
           "value[1] = 1.25", "outside [-1.0, 1.0]")
    raises(QuantizationRangeError, lambda: weigh([0, 65537], 1, ENC), "quantized[1] = 65537", "[-65536, 65536]")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values(value: float) -> None:
    raises(NonFiniteValueError, lambda: quantize([0.5, value], ENC), f"value[1] = {value!r}", "must be finite")


def test_dimension_mismatch(seeded) -> None:
    raises(DimensionMismatchError, lambda: unpack_segments([1, 2, 3], ENC, 10, 24), "3 segment sums, expected 1")
    # dim 30: 31 slots of 20 bits, k = floor(511 / 20) = 25 per segment, so 2 segments.
    raises(DimensionMismatchError, lambda: decode_v1([1, 2, 3], ENC, 2, 30, 512), "3 segment sums, expected 2")
    rng = seeded()
    key, keys = setup(V1, ENC, 3, range(2), rng)
    clients = [Client(0, keys[0], [0.1, 0.2, 0.3]), Client(1, keys[1], [0.1, 0.2])]
    raises(DimensionMismatchError, lambda: run_round(V1, ENC, key, clients, [0, 1], rng=rng),
           "clients [1] send 2 values; clients [0] send 3 values")
    # The first client of S is not the standard: a short first update is named as such.
    three = [Client(0, keys[0], [0.1]), Client(1, keys[1], [0.1, 0.2, 0.3]), Client(2, keys[1], [0.3, 0.2, 0.1])]
    raises(DimensionMismatchError, lambda: run_round(V1, ENC, key, three, [0, 1, 2], rng=rng),
           "clients [0] send 1 values; clients [1, 2] send 3 values")
    raises(DimensionMismatchError, lambda: agg(V1, _two_ciphertexts(), [(2,)]),
           "responses has 1 entries, expected 2")


def _two_ciphertexts():
    key = sys_gen_v1(V1, SeededRandom(b"ct"))
    pk_s = pow(V1.g, 77, N2)
    return [enc_v1(V1, key.betas[0], pk_s, [i], SeededRandom(b"ct %d" % i)) for i in range(2)]


# ---- the online set S -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1])
def test_too_few_clients(size: int) -> None:
    keys = [(i, pow(V1.g, 3 + i, N2)) for i in range(size)]
    raises(TooFewClientsError, lambda: agg_pk_gen(V1, keys), f"|S| = {size}", "needs |S| >= 2")


def test_duplicate_client_ids() -> None:
    pk = pow(V1.g, 3, N2)
    raises(DuplicateClientError, lambda: agg_pk_gen(V1, [(4, pk), (5, pk), (4, pk)]), "[4]", "more than once")


def test_unknown_client_id(seeded) -> None:
    rng = seeded()
    key, keys = setup(V1, ENC, 2, range(2), rng)
    clients = [Client(i, keys[i], [0.5, -0.5]) for i in range(2)]
    raises(UnknownClientError, lambda: run_round(V1, ENC, key, clients, [0, 1, 9], rng=rng), "[9]",
           "no registered public key")


# ---- AEAD (SE / DSE) --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed_model() -> tuple[ServerKey, Any, bytes]:
    key = sys_gen_v1(V1, SeededRandom(b"se key"))
    pair = key_gen(V1, SeededRandom(b"se client"))
    sealed = se(V1, pair.pk, key.alphas[0], b"global model W", 7, 3, SeededRandom(b"se nonce"))
    return key, pair, sealed


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1:]


@pytest.mark.parametrize("where", ["tag", "nonce", "body"])
def test_aead_refuses_tampering(sealed_model, where: str) -> None:
    key, pair, sealed = sealed_model
    index = {"tag": len(sealed) - 1, "nonce": 0, "body": NONCE_BYTES + 2}[where]
    raises(AeadError, lambda: dse(V1, key.betas[0], pair.sk, _flip(sealed, index), 7, 3),
           "client 3, round 7", "fails authentication")


@pytest.mark.parametrize(("round_id", "client_id"), [(8, 3), (7, 4)])
def test_aead_binds_round_and_client(sealed_model, round_id: int, client_id: int) -> None:
    key, pair, sealed = sealed_model
    assert dse(V1, key.betas[0], pair.sk, sealed, 7, 3) == b"global model W"
    raises(AeadError, lambda: dse(V1, key.betas[0], pair.sk, sealed, round_id, client_id), "fails authentication")


def test_aead_refuses_a_truncated_message(sealed_model) -> None:
    key, pair, sealed = sealed_model
    raises(MalformedInputError, lambda: dse(V1, key.betas[0], pair.sk, sealed[:NONCE_BYTES + TAG_BYTES - 1], 7, 3),
           f"at least {NONCE_BYTES + TAG_BYTES} bytes")


# ---- wrong types ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, 5.0, "5", None, b"\x05"])
def test_wrong_types_where_an_integer_is_required(value: object) -> None:
    # The type is named, never the value: the same check guards secret exponents and plaintexts.
    message = raises(MalformedInputError, lambda: check_group_element(V1, value, "R_0"), "R_0 must be an integer",
                     f"got {type(value).__name__}")
    assert f"= {value!r}" not in message


def test_a_secret_of_the_wrong_type_is_not_echoed() -> None:
    from mpksa.validate import check_exponent

    message = raises(MalformedInputError, lambda: check_exponent(V1, "1234567890123", "sk"), "sk must be an integer")
    assert "1234567890123" not in message


@pytest.mark.parametrize("weight", [True, 1.0, "1", None])
def test_weight_must_be_an_integer(weight: object) -> None:
    raises(QuantizationRangeError, lambda: weigh([1], weight, ENC), f"weight = {weight!r}", "must be an integer")


@pytest.mark.parametrize("dim", [-5, 2**32, 1.5, True, "10"])
def test_setup_refuses_a_bad_dimension(dim: object) -> None:
    raises(MalformedInputError, lambda: setup(V1, ENC, dim, range(2)), "dim = ", "must be an integer in [0, 2^32)")


def test_replayed_randomness_must_fit_and_is_never_shown() -> None:
    # Replayed values are secret exponents: the message names the position and the rule only.
    message = raises(MalformedInputError, lambda: key_gen(V1, ReplayRandom([True])), "value number 1", "is not an integer in")
    assert "True" not in message
    secret = 0
    message = raises(MalformedInputError, lambda: key_gen(V1, ReplayRandom([secret])), "value number 1", "is not an integer in")
    assert "0x0 " not in message and not message.startswith("replayed value 0")
    raises(MalformedInputError, lambda: key_gen(V1, ReplayRandom([])), "exhausted")


# ---- the same through ops.handle ----------------------------------------------------------------


CODEC = Codec(V1)


def request(op: str, encoding: Encoding = ENC, **inputs: Any) -> dict[str, Any]:
    return {"op": op, "profile": "v1", "params": params_to_json(V1), "encoding": encoding_to_json(encoding),
            "inputs": inputs}


def _material() -> dict[str, Any]:
    key = sys_gen_v1(V1, SeededRandom(b"ops key"))
    pairs = [key_gen(V1, SeededRandom(b"ops client %d" % i)) for i in range(2)]
    pk_s = agg_pk_gen(V1, [(i, kp.pk) for i, kp in enumerate(pairs)])
    sealed = se(V1, pairs[0].pk, key.alphas[0], b"W", 1, 0, SeededRandom(b"ops nonce"))
    return {"key": key, "pairs": pairs, "pk_s": pk_s, "sealed": sealed}


M = _material()
E = CODEC.element
PK0, PK1 = (E(kp.pk) for kp in M["pairs"])
SK0 = CODEC.exponent(M["pairs"][0].sk)
ALPHA = CODEC.exponent(M["key"].alphas[0])
BETA = E(M["key"].betas[0])
SEALED = M["sealed"].hex()


def _dse(sealed: str = SEALED, round_id: object = 1, client_id: object = 0) -> dict[str, Any]:
    return request("DSE", beta=BETA, sk=SK0, sealed=sealed, round=round_id, client_id=client_id)


def _tampered(index: int) -> str:
    return _flip(M["sealed"], index).hex()


OPS_CASES: list[tuple[str, dict[str, Any], str]] = [
    # element range and units
    ("pk 0", request("AggPKGen", public_keys=[{"id": 0, "pk": E(0)}, {"id": 1, "pk": PK1}]), "element-out-of-range"),
    ("pk n^2", request("AggPKGen", public_keys=[{"id": 0, "pk": E(N2)}, {"id": 1, "pk": PK1}]), "element-out-of-range"),
    ("pk factor", request("AggPKGen", public_keys=[{"id": 0, "pk": E(P_FACTOR)}, {"id": 1, "pk": PK1}]), "non-unit"),
    ("R n", request("ResGen", challenge=[E(N)], sk=SK0), "non-unit"),
    ("dec L input", request("Dec", alphas=[ALPHA], e_agg=[CODEC.e1(2)], d=[E(3)], t=[E(5)]),
     "l-input-not-one-mod-n"),
    ("dec non-unit", request("Dec", alphas=[ALPHA], e_agg=[CODEC.e1(P_FACTOR)], d=[E(3)], t=[E(5)]), "non-unit"),
    # values
    ("NaN", request("Quantize", values=[0.5, "NaN"]), "non-finite-value"),
    ("+Inf", request("Quantize", values=["Infinity"]), "non-finite-value"),
    ("-Inf", request("Quantize", values=["-Infinity"]), "non-finite-value"),
    ("beyond clip", request("Quantize", values=[1.5], clip=False), "value-out-of-range"),
    ("q_max + 1", request("Encode", quantized=[ENC.q_max + 1], weight=1), "value-out-of-range"),
    ("weight 0", request("Encode", quantized=[1], weight=0), "value-out-of-range"),
    ("segment n", request("Enc", betas=[BETA], pk_s=E(M["pk_s"]), segments=[to_hex(N, N)],
                          r1=[CODEC.exponent(3)], r2=[CODEC.exponent(4)]), "value-out-of-range"),
    # dimensions and S
    ("r1/r2", request("Enc", betas=[BETA], pk_s=E(M["pk_s"]), segments=[CODEC.message(1)],
                      r1=[CODEC.exponent(3)], r2=[]), "dimension-mismatch"),
    ("sums", request("Decode", sums=[CODEC.message(1)] * 3, clients=2, dim=4), "dimension-mismatch"),
    ("|S| > max", request("Decode", sums=[CODEC.message(1)], clients=ENC.max_clients + 1, dim=4), "slot-overflow"),
    ("|S| = 0", request("AggPKGen", public_keys=[]), "too-few-clients"),
    ("|S| = 1", request("AggPKGen", public_keys=[{"id": 0, "pk": PK0}]), "too-few-clients"),
    ("duplicate", request("AggPKGen", public_keys=[{"id": 0, "pk": PK0}, {"id": 0, "pk": PK1}]),
     "duplicate-client-id"),
    ("alone", request("CheckPkS", pk_s=PK0, pk_i=PK0), "single-client-abort"),
    ("forged", request("CheckPkS", pk_s=E(M["pk_s"] * 4 % N2), pk_i=PK0, announced=[PK0, PK1]),
     "aggregate-key-mismatch"),
    ("crafted R", request("CheckChallenge", challenge=[PK1], announced=[[PK0], [E(M["pk_s"])]], own=[PK0]),
     "challenge-mismatch"),
    # AEAD
    ("tag", _dse(_tampered(len(M["sealed"]) - 1)), "aead-failure"),
    ("nonce", _dse(_tampered(0)), "aead-failure"),
    ("body", _dse(_tampered(NONCE_BYTES)), "aead-failure"),
    ("round", _dse(round_id=2), "aead-failure"),
    ("client id", _dse(client_id=1), "aead-failure"),
    ("short nonce", request("SE", pk_i=PK0, alpha=ALPHA, model="00", round=0, client_id=0, nonce="00"),
     "malformed-input"),
    # wrong types and encodings
    ("sk int", request("KeyGen", sk=5), "malformed-input"),
    ("sk uppercase", request("KeyGen", sk=SK0.upper()), "malformed-input"),
    ("sk short", request("KeyGen", sk=SK0[2:]), "malformed-input"),
    ("sk zero", request("KeyGen", sk="00" * (len(SK0) // 2)), "exponent-out-of-range"),
    ("id bool", request("AggPKGen", public_keys=[{"id": True, "pk": PK0}, {"id": 1, "pk": PK1}]), "malformed-input"),
    ("id float", request("AggPKGen", public_keys=[{"id": 0.0, "pk": PK0}, {"id": 1, "pk": PK1}]), "malformed-input"),
    ("id str", request("AggPKGen", public_keys=[{"id": "0", "pk": PK0}, {"id": 1, "pk": PK1}]), "malformed-input"),
    ("weight bool", request("Encode", quantized=[1], weight=True), "malformed-input"),
    ("quantized float", request("Encode", quantized=[1.0], weight=1), "malformed-input"),
    ("round str", _dse(round_id="1"), "malformed-input"),
    ("clients float", request("Decode", sums=[CODEC.message(1)], clients=2.0, dim=4), "malformed-input"),
    ("value str", request("Quantize", values=["1.5"]), "malformed-input"),
    ("clip int", request("Quantize", values=[1.5], clip=0), "malformed-input"),
    # requests
    ("unknown op", request("Frobnicate"), "malformed-input"),
    ("no inputs", {"op": "KeyGen", "params": params_to_json(V1)}, "malformed-input"),
    ("profile", {**request("KeyGen", sk=SK0), "profile": "paper"}, "invalid-parameters"),
]


@pytest.mark.parametrize(("name", "req", "code"), OPS_CASES, ids=[c[0] for c in OPS_CASES])
def test_ops_answers_a_typed_error(name: str, req: dict[str, Any], code: str) -> None:
    answer = ops.handle(req)
    assert set(answer) == {"error"}, answer
    assert answer["error"]["code"] == code
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]


def test_ops_accepts_the_valid_counterparts() -> None:
    """The bad requests above differ from these only in the offending field."""
    assert ops.handle(_dse())["outputs"]["model"] == b"W".hex()
    assert ops.handle(request("KeyGen", sk=SK0))["outputs"]["pk"] == PK0
    answer = ops.handle(request("AggPKGen", public_keys=[{"id": 0, "pk": PK0}, {"id": 1, "pk": PK1}]))
    assert answer["outputs"]["pk_s"] == E(M["pk_s"])


JUNK: list[object] = [None, True, 1.5, -1, "zz", "", [], {}, [None], ["zz"], [[]], [{}]]
FUZZED = {
    "KeyGen": request("KeyGen", sk=SK0),
    "AggPKGen": request("AggPKGen", public_keys=[{"id": 0, "pk": PK0}, {"id": 1, "pk": PK1}]),
    "CheckPkS": request("CheckPkS", pk_s=E(M["pk_s"]), pk_i=PK0, announced=[PK0, PK1]),
    "SE": request("SE", pk_i=PK0, alpha=ALPHA, model="00", round=0, client_id=0, nonce="00" * NONCE_BYTES),
    "DSE": _dse(),
    "Quantize": request("Quantize", values=[0.5], clip=True),
    "Encode": request("Encode", quantized=[1, -1], weight=1),
    "Decode": request("Decode", sums=[CODEC.message(1)], clients=2, dim=2),
    "ResGen": request("ResGen", challenge=[PK1], sk=SK0),
    "Dec": request("Dec", alphas=[ALPHA], e_agg=[CODEC.e1(2)], d=[E(3)], t=[E(5)]),
    "SysGen": request("SysGen", alphas=[ALPHA]),
    "Recover": request("Recover", a=["1", "7"], bound=6, total=CODEC.message(9)),
    "CheckChallenge": request("CheckChallenge", challenge=[E(M["pk_s"])], announced=[[PK0], [PK1]], own=[PK0]),
    "Enc": request("Enc", betas=[PK1], pk_s=E(M["pk_s"]), segments=[CODEC.message(3)], r1=[SK0], r2=[SK0]),
    "ChelGen": request("ChelGen", ciphertexts=[{"e1": [CODEC.e1(2)], "e2": [[PK0, PK1]]}]),
    "Agg": request("Agg", ciphertexts=[{"e1": [CODEC.e1(2)], "e2": [[PK0, PK1]]}], responses=[[PK0]]),
}


@pytest.mark.parametrize("op", sorted(FUZZED))
def test_ops_never_raises_on_junk_fields(op: str) -> None:
    """Every input field replaced by junk of every JSON type: always {"error": {"code": ...}}."""
    base = FUZZED[op]
    for field in base["inputs"]:
        for junk in JUNK:
            req = {**base, "inputs": {**base["inputs"], field: junk}}
            answer = ops.handle(req)
            assert set(answer) in ({"outputs"}, {"error"}), (field, junk, answer)
            if "error" in answer:
                assert answer["error"]["code"] in ERROR_CLASSES, (field, junk, answer)
                assert answer["error"]["message"]


@pytest.mark.parametrize("section", ["params", "encoding"])
def test_ops_never_raises_on_junk_params_or_encoding(section: str) -> None:
    """Junk in any field of the params or encoding object: always a typed error, never a traceback."""
    base = FUZZED["KeyGen"]
    for field in base[section]:
        for junk in JUNK + ["00", "0x1f", "1F", 0, -5, 10**6]:
            answer = ops.handle({**base, section: {**base[section], field: junk}})
            assert set(answer) in ({"outputs"}, {"error"}), (field, junk, answer)
            if "error" in answer:
                assert answer["error"]["code"] in ERROR_CLASSES, (field, junk, answer)


# ---- readers of what comes from elsewhere: custom parameter sets and errata arguments -------------


def test_a_huge_custom_modulus_is_refused_before_any_primality_test() -> None:
    import time

    from mpksa.wire.contract import params_from_json

    huge = {"name": "toy", "profile": "paper", "p": format((1 << 16384) + 1, "x"), "q": format(1 << 16383, "x"),
            "gamma": 2, "g": "2", "insecure": True}
    start = time.process_time()
    raises(ParameterError, lambda: params_from_json(huge), "16385-bit modulus", "4096 bits")
    assert time.process_time() - start < 0.5  # refused on its size, not after seconds of sympy.isprime
    n = {"name": "toy", "profile": "v1", "n": format((1 << 8000) + 1, "x"), "g": "4", "exponent_bits": 128,
         "insecure": True}
    raises(ParameterError, lambda: params_from_json(n), "8001-bit modulus")


@pytest.mark.parametrize("function, arguments, rule", [
    ("no_such_finding", {}, "is not a finding"),
    (["e6_negative_values"], {}, "is not a finding"),
    ("e6_negative_values", [], "must be an object"),
    ("e7_rerun_difference", {"params": "v1-test-512", "rng": {"x": "seed"}}, "must be an ASCII seed text"),
    ("e7_rerun_difference", {"params": 5, "rng": "seed"}, "must be a parameter set name"),
    ("e6_negative_values", {"params": "paper-test", "no_such_argument": 1}, "do not fit e6_negative_values"),
])
def test_errata_arguments_from_a_vector_file_are_type_checked(function: object, arguments: object, rule: str) -> None:
    from mpksa.vectors.errata import call

    raises(MalformedInputError, lambda: call(function, arguments), rule)
