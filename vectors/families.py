"""The operation families: every operation of `mpksa.ops.OPERATIONS` on its own.

Families (one file each per profile and parameter set):
  keys       SysGen, KeyGen, AggPKGen, CheckPkS     (Sec. 3.1, 3.2)
  se         SE, DSE                                 (Sec. 3.2, E7)
  encoding   Quantize, Encode, Decode, Recover       (Eq. (1), Eq. (2), Algorithm 2, E6)
  enc        Enc                                     (Sec. 3.2, 3.4, review C.4)
  challenge  ChelGen, CheckChallenge, ResGen         (Sec. 3.3, E4)
  agg        Agg                                     (Sec. 3.3)
  dec        Dec                                     (Sec. 3.3, E1, review C.5)
  proofs     Prove, CheckProof, CheckElement         (spec 5.14, E8-E10; v1 only)

Each function adds its tests to a `VectorFile`; `lean` (RSA-2048 full-range
exponents) keeps only a few tests per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import gmpy2

from mpksa import encoding as encoding_mod
from mpksa.encoding import Encoding
from mpksa.messages import KeyPair
from mpksa.wire.codec import Codec, nbytes, to_hex
from mpksa.params import Params, proof_nonce_bits, proof_response_bound
from mpksa.profiles import profile_of
from mpksa.randomness import SeededRandom, exponent

from .builder import ACCEPTABLE, Group, VectorFile
from .world import (
    MiniRound,
    all_ones_hex,
    encrypt,
    key_pair,
    mini_round,
    non_unit_e1,
    non_unit_element,
    product,
    quantized_values,
    seeded,
    server_key,
    uppercase,
)

MALFORMED = "malformed-input"
EXPONENT = "exponent-out-of-range"
OUT_OF_RANGE = "element-out-of-range"
NON_UNIT = "non-unit"
DEGENERATE = "degenerate-element"
DIMENSION = "dimension-mismatch"
VALUE_RANGE = "value-out-of-range"


@dataclass(frozen=True)
class Scope:
    params: Params
    encoding: Encoding
    lean: bool

    @property
    def codec(self) -> Codec:
        return Codec(self.params)

    @property
    def corrected(self) -> bool:
        """v1 or v2: one group mod n^2, one alpha, the offset encoding."""
        return self.params.profile != "paper"

    @property
    def v2(self) -> bool:
        return self.params.profile == "v2"

    @property
    def k(self) -> int:
        return self.encoding.slots_per_segment(self.params.modulus_bits)

    def rng(self, family: str, label: str) -> SeededRandom:
        return seeded(self.params.name, family, label)


def single_slot_encoding(params: Params) -> Encoding:
    """An encoding whose slot is wider than half the modulus, so k = 1 (Sec. 3.4, review C.8).

    clip = 2^e with 52 fraction bits gives q_max = 2^(e+52) and a slot of e + 57 bits.
    """
    bits = params.modulus_bits
    e = max(0, (bits - 1) // 2 + 1 - 57)
    encoding = Encoding(frac_bits=52, clip=float(2**e), weight_max=1, max_clients=10)
    if encoding.slots_per_segment(bits) != 1:
        encoding = Encoding(frac_bits=(bits - 1) // 2 - 4, clip=1.0, weight_max=1, max_clients=10)
    assert encoding.slots_per_segment(bits) == 1, (params.name, encoding)
    return encoding


# -- keys -------------------------------------------------------------------------------------


def keys_family(f: VectorFile, s: Scope) -> None:
    _sys_gen(f.group(s.params, s.encoding, "SysGen (Sec. 3.1, 3.4): alpha as explicit input, beta = g^alpha"), s)
    _key_gen(f.group(s.params, s.encoding, "KeyGen (Sec. 3.1): sk as explicit input, pk = g^sk"), s)
    _agg_pk_gen(f.group(s.params, s.encoding, "AggPKGen (Sec. 3.2): pk_S = prod pk_i over S"), s)
    _check_pk_s(f.group(s.params, s.encoding, "CheckPkS (Sec. 3.2, E5): pk_S != pk_i, and with announced keys "
                        "pk_S = prod announced"), s)


def _sys_gen(g: Group, s: Scope) -> None:
    c, bound = s.codec, s.params.exponent_bound
    rng = s.rng("keys", "SysGen")
    counts = (1, 2, 3) if not s.corrected else (1,)
    for u in counts if not s.lean else (1,):
        alphas = [exponent(bound, rng) for _ in range(u)]
        flags = {"Normal"} | ({"MultiSegment"} if u > 1 else set())
        g.op("SysGen", {"alphas": [c.exponent(a) for a in alphas]}, f"{u} server key(s)", flags)
    g.op("SysGen", {"alphas": [c.exponent(1)]}, "alpha = 1: beta = g", {"EdgeExponent"})
    if not s.lean:
        g.op("SysGen", {"alphas": [c.exponent(bound - 1)]}, "alpha = bound - 1", {"EdgeExponent"})
    g.op("SysGen", {"alphas": [c.exponent(0)]}, "alpha = 0 would leave beta = 1", {"ExponentOutOfRange"},
         expect=EXPONENT)
    if not s.corrected:  # q fits the fixed length of an exponent, so alpha = q can be written (and must be refused)
        g.op("SysGen", {"alphas": [c.exponent(bound)]}, "alpha = q, outside [1, q)", {"ExponentOutOfRange"},
             expect=EXPONENT)
    if s.corrected:
        two = [c.exponent(exponent(bound, rng)) for _ in range(2)]
        g.op("SysGen", {"alphas": two}, f"{s.params.profile} has one server key: a second alpha is refused", {"RandomnessCount"},
             expect=MALFORMED)
        g.op("SysGen", {"alphas": []}, "no alpha at all", {"RandomnessCount"}, expect=MALFORMED)
    alpha = c.exponent(exponent(bound, rng))
    g.op("SysGen", {"alphas": [uppercase(alpha)]}, "alpha in upper-case hex", {"MalformedHex"}, expect=MALFORMED)
    if not s.lean:
        g.op("SysGen", {"alphas": [alpha[2:]]}, "alpha one byte short", {"MalformedHex"}, expect=MALFORMED)
        g.op("SysGen", {"alphas": alpha}, "alphas is a string, not a list", {"MalformedType"}, expect=MALFORMED)


def _key_gen(g: Group, s: Scope) -> None:
    c, bound = s.codec, s.params.exponent_bound
    rng = s.rng("keys", "KeyGen")
    for index in range(1 if s.lean else 3):
        g.op("KeyGen", {"sk": c.exponent(exponent(bound, rng))}, f"client key pair {index + 1}", {"Normal"})
    g.op("KeyGen", {"sk": c.exponent(1)}, "sk = 1: pk = g", {"EdgeExponent"})
    if not s.lean:
        g.op("KeyGen", {"sk": c.exponent(bound - 1)}, "sk = bound - 1", {"EdgeExponent"})
    g.op("KeyGen", {"sk": c.exponent(0)}, "sk = 0 would give pk = 1", {"ExponentOutOfRange"}, expect=EXPONENT)
    sk = c.exponent(exponent(bound, rng))
    g.op("KeyGen", {"sk": sk[:-1]}, "sk with an odd number of hex digits", {"MalformedHex"}, expect=MALFORMED)
    if not s.lean:
        g.op("KeyGen", {"sk": "0x" + sk[2:]}, "sk with a 0x prefix", {"MalformedHex"}, expect=MALFORMED)
        g.op("KeyGen", {"sk": int(sk, 16) % 2**52}, "sk as a JSON number", {"MalformedType"}, expect=MALFORMED)


def _keys(s: Scope, label: str, count: int) -> list[KeyPair]:
    rng = s.rng("keys", label)
    return [key_pair(s.params, rng) for _ in range(count)]


def _entries(s: Scope, ids: Iterable[int], keys: Iterable[KeyPair]) -> list[dict[str, Any]]:
    return [{"id": i, "pk": s.codec.element(k.pk)} for i, k in zip(ids, keys)]


def _agg_pk_gen(g: Group, s: Scope) -> None:
    c = s.codec
    keys = _keys(s, "AggPKGen", 10)
    sizes = (2, 3, 10) if not s.lean else (2,)
    for size in sizes:
        g.op("AggPKGen", {"public_keys": _entries(s, range(1, size + 1), keys[:size])}, f"|S| = {size}", {"Normal"})
    if not s.lean:
        g.op("AggPKGen", {"public_keys": _entries(s, [7, 42, 4294967295], keys[:3])},
             "non-contiguous ids, the largest id 2^32 - 1", {"Normal"})
    g.op("AggPKGen", {"public_keys": _entries(s, [1, 2, 1], keys[:3])}, "client id 1 twice",
         {"DuplicateClientId"}, expect="duplicate-client-id")
    g.op("AggPKGen", {"public_keys": []}, "|S| = 0", {"TooFewClients"}, expect="too-few-clients")
    if s.corrected:
        g.op("AggPKGen", {"public_keys": _entries(s, [1], keys[:1])}, f"|S| = 1 is refused in {s.params.profile}",
             {"TooFewClients", "SingleClient"}, expect="too-few-clients")
    else:
        g.op("AggPKGen", {"public_keys": _entries(s, [1], keys[:1])},
             "|S| = 1: the paper computes pk_S = pk_1 and leaves the abort to the client (CheckPkS)",
             {"SingleClient"})
    # A Sybil: the server makes up a client whose secret key it knows (E5).
    sybil = key_pair(s.params, s.rng("keys", "sybil"))
    g.op("AggPKGen", {"public_keys": _entries(s, [1, 999], [keys[0], sybil])},
         "S = {C_1, a Sybil client of the server}: pk_S looks honest, yet the server knows all but sk_1 "
         "(E5); intermediates hold the Sybil's secret key", {"SybilClient"},
         intermediates={"sybil_sk": c.exponent(sybil.sk)})
    bad = _bad_elements(s)
    for name, (value, code, flag) in bad.items():
        entries = _entries(s, [1, 2], keys[:2])
        entries[1]["pk"] = value
        g.op("AggPKGen", {"public_keys": entries}, f"pk_2 is {name}", {flag}, expect=code)
        if s.lean:
            break
    for name, value in _degenerate_elements(s).items():
        entries = _entries(s, [1, 2], keys[:2])
        entries[1]["pk"] = value
        g.op("AggPKGen", {"public_keys": entries}, f"pk_2 = {name}", {"DegenerateElement"}, expect=DEGENERATE)
    entries = _entries(s, [1, 2], keys[:2])
    entries[1]["id"] = 2**32
    g.op("AggPKGen", {"public_keys": entries}, "client id 2^32 does not fit 32 bits", {"MalformedType"},
         expect=MALFORMED)
    if not s.lean:
        g.op("AggPKGen", {"public_keys": [c.element(keys[0].pk), c.element(keys[1].pk)]},
             "entries are bare keys, not {id, pk} objects", {"MalformedType"}, expect=MALFORMED)


def _bad_elements(s: Scope) -> dict[str, tuple[str, str, str]]:
    """Name -> (hex, expected code, flag) for the group elements every operation must refuse (review C.7)."""
    c = s.codec
    modulus = s.params.group_modulus
    out = {"zero": (c.element(0), OUT_OF_RANGE, "ZeroElement"),
           "the modulus itself": (modulus.to_bytes(nbytes(modulus), "big").hex(), OUT_OF_RANGE, "ElementTooLarge"),
           "all ff bytes, above the modulus": (all_ones_hex(modulus), OUT_OF_RANGE, "ElementTooLarge")}
    non_unit = non_unit_element(s.params)
    if non_unit is not None:
        what = "a prime factor of n" if getattr(s.params, "factors", None) else "n itself"
        out[f"{what} (not a unit)"] = (c.element(non_unit), NON_UNIT, "NonUnit")
    return out


def _degenerate_elements(s: Scope) -> dict[str, str]:
    """v2: units that are 1 or n - 1 mod n, which a v2 client refuses as beta, pk_S or R (spec 10.5); none in v1."""
    if not s.v2:
        return {}
    n, c = s.params.message_modulus, s.codec
    return {"1 + n, in <1 + n> (1 mod n)": c.element(1 + n), "n^2 - 1 (n - 1 mod n)": c.element(n * n - 1)}


def _check_pk_s(g: Group, s: Scope) -> None:
    c, params = s.codec, s.params
    keys = _keys(s, "CheckPkS", 3)
    pks = [k.pk for k in keys]
    pk_s = product(params, pks)
    announced = [c.element(x) for x in pks]
    g.op("CheckPkS", {"pk_s": c.element(pk_s), "pk_i": c.element(pks[0])}, "honest pk_S of |S| = 3", {"Normal"})
    g.op("CheckPkS", {"pk_s": c.element(pk_s), "pk_i": c.element(pks[1]), "announced": announced},
         "honest pk_S, recomputed from the announced keys", {"Normal", "Hardened"})
    g.op("CheckPkS", {"pk_s": c.element(pks[0]), "pk_i": c.element(pks[0])},
         "pk_S = pk_i: the client is alone in S and must not upload", {"SingleClient"}, expect="single-client-abort")
    x = exponent(params.exponent_bound, s.rng("keys", "forged"))
    forged = pks[0] * int(gmpy2.powmod(params.g, x, params.group_modulus)) % params.group_modulus
    g.op("CheckPkS", {"pk_s": c.element(forged), "pk_i": c.element(pks[0])},
         "forged pk_S = pk_1 * g^x: the paper's check cannot see it (E5); intermediates hold x", {"ForgedPkS"},
         result=ACCEPTABLE, intermediates={"forger_x": c.exponent(x)})
    g.op("CheckPkS", {"pk_s": c.element(forged), "pk_i": c.element(pks[0]), "announced": announced},
         "forged pk_S against the announced keys", {"ForgedPkS", "Hardened"}, expect="aggregate-key-mismatch")
    g.op("CheckPkS", {"pk_s": c.element(pk_s), "pk_i": c.element(pks[0]), "announced": announced[1:]},
         "own pk_i missing from the announced keys", {"PkINotAnnounced", "Hardened"}, expect="aggregate-key-mismatch")
    if not s.lean:
        sybil = key_pair(params, s.rng("keys", "sybil-check"))
        with_sybil = product(params, [pks[0], sybil.pk])
        g.op("CheckPkS", {"pk_s": c.element(with_sybil), "pk_i": c.element(pks[0]),
                          "announced": [c.element(pks[0]), c.element(sybil.pk)]},
             "S = {C_1, Sybil}: the announced keys are consistent, so no check can see it (E5)",
             {"SybilClient", "Hardened"}, intermediates={"sybil_sk": c.exponent(sybil.sk)})
    for name, (value, code, flag) in _bad_elements(s).items():
        g.op("CheckPkS", {"pk_s": value, "pk_i": c.element(pks[0])}, f"pk_S is {name}", {flag}, expect=code)
        if s.lean:
            break
    for name, value in _degenerate_elements(s).items():
        g.op("CheckPkS", {"pk_s": value, "pk_i": c.element(pks[0])}, f"pk_S = {name}", {"DegenerateElement"},
             expect=DEGENERATE)
    if not s.lean:
        bad = list(announced)
        bad[2] = c.element(0)
        g.op("CheckPkS", {"pk_s": c.element(pk_s), "pk_i": c.element(pks[0]), "announced": bad},
             "an announced key is zero", {"ZeroElement", "Hardened"}, expect=OUT_OF_RANGE)
        g.op("CheckPkS", {"pk_s": c.element(pk_s)[:-2], "pk_i": c.element(pks[0])}, "pk_S one byte short",
             {"MalformedHex"}, expect=MALFORMED)


# -- SE / DSE -----------------------------------------------------------------------------------


def se_family(f: VectorFile, s: Scope) -> None:
    g = f.group(s.params, s.encoding, "SE / DSE (Sec. 3.2): AES-256-GCM under key_i = SHA-256(g^(alpha*sk_i)), "
                "fresh 96-bit nonce, round and client id bound as associated data (E7)")
    c, params = s.codec, s.params
    rng = s.rng("se", "keys")
    alpha = exponent(params.exponent_bound, rng)
    beta = int(gmpy2.powmod(params.g, alpha, params.group_modulus))
    client, other = key_pair(params, rng), key_pair(params, rng)
    model = bytes(range(32))

    def sealed_of(model_: bytes, round_id: int, client_id: int, label: str) -> str:
        nonce = seeded(params.name, "se", "nonce", label).token_bytes(12)
        out = g.op("SE", {"pk_i": c.element(client.pk), "alpha": c.exponent(alpha), "model": model_.hex(),
                          "round": round_id, "client_id": client_id, "nonce": nonce.hex()},
                   f"seal a {len(model_)}-byte model for client {client_id}, round {round_id}",
                   {"Normal"} if model_ else {"EmptyModel"})
        return out["sealed"]

    def dse(sealed: str, comment: str, flags: set[str], *, round_id: int = 1, client_id: int = 3,
            sk: int | None = None, expect: str | None = None) -> None:
        g.op("DSE", {"beta": c.element(beta), "sk": c.exponent(client.sk if sk is None else sk), "sealed": sealed,
                     "round": round_id, "client_id": client_id}, comment, flags, expect=expect)

    sealed = sealed_of(model, 1, 3, "main")
    dse(sealed, "open the sealed model", {"Normal"})
    empty = sealed_of(b"", 1, 3, "empty")
    dse(empty, "open a sealed empty model (nonce and tag only)", {"EmptyModel"})
    if not s.lean:
        edge = sealed_of(b"W" * 100, 2**64 - 1, 2**32 - 1, "edge")
        dse(edge, "largest round and client id", {"Normal"}, round_id=2**64 - 1, client_id=2**32 - 1)
    dse(flip(sealed, len(sealed) - 1), "last tag bit flipped", {"TamperedTag"}, expect="aead-failure")
    dse(flip(sealed, 1), "nonce bit flipped", {"TamperedNonce"}, expect="aead-failure")
    dse(flip(sealed, 24 + 1), "body bit flipped", {"TamperedBody"}, expect="aead-failure")
    dse(sealed, "sealed for round 1, opened as round 2", {"WrongRound"}, round_id=2, expect="aead-failure")
    dse(sealed, "sealed for client 3, opened as client 4", {"WrongClientId"}, client_id=4, expect="aead-failure")
    dse(sealed, "opened with another client's sk", {"WrongKey"}, sk=other.sk, expect="aead-failure")
    dse(sealed[: 2 * 27], "W_i* of 27 bytes, shorter than nonce + tag", {"ShortSealed"}, expect=MALFORMED)
    if not s.lean:
        dse(uppercase(sealed), "W_i* in upper-case hex", {"MalformedHex"}, expect=MALFORMED)
    base = {"pk_i": c.element(client.pk), "alpha": c.exponent(alpha), "model": model.hex(), "round": 1,
            "client_id": 3}
    g.op("SE", {**base, "nonce": "00" * 11}, "an 11-byte nonce", {"BadNonceLength"}, expect=MALFORMED)
    g.op("SE", {**base, "nonce": "00" * 12, "alpha": c.exponent(0)}, "alpha = 0", {"ExponentOutOfRange"},
         expect=EXPONENT)
    g.op("SE", {**base, "nonce": "00" * 12, "pk_i": c.element(0)}, "pk_i = 0", {"ZeroElement"}, expect=OUT_OF_RANGE)
    for name, value in _degenerate_elements(s).items():
        g.op("SE", {**base, "nonce": "00" * 12, "pk_i": value}, f"pk_i = {name}: the server would raise it to alpha",
             {"DegenerateElement"}, expect=DEGENERATE)
    g.op("DSE", {"beta": c.element(0), "sk": c.exponent(client.sk), "sealed": sealed, "round": 1, "client_id": 3},
         "beta = 0", {"ZeroElement"}, expect=OUT_OF_RANGE)
    dse(sealed, "sk_i = 0", {"ExponentOutOfRange"}, sk=0, expect=EXPONENT)
    for name, value in _degenerate_elements(s).items():
        g.op("DSE", {"beta": value, "sk": c.exponent(client.sk), "sealed": sealed, "round": 1, "client_id": 3},
             f"beta = {name}", {"DegenerateElement"}, expect=DEGENERATE)
    if not s.lean:
        g.op("SE", {**base, "nonce": "00" * 12, "model": model.hex()[:-1]}, "model with an odd number of hex digits",
             {"MalformedHex"}, expect=MALFORMED)
        g.op("SE", {**base, "nonce": "00" * 12, "round": -1}, "negative round", {"MalformedType"}, expect=MALFORMED)
        g.op("SE", {**base, "nonce": "00" * 12, "round": "1"}, "round as a string", {"MalformedType"},
             expect=MALFORMED)


def flip(text: str, at: int) -> str:
    """The hex text with the lowest bit of digit `at` flipped (a one-bit tampering)."""
    return text[:at] + format(int(text[at], 16) ^ 1, "x") + text[at + 1:]


# -- encoding -----------------------------------------------------------------------------------


def encoding_family(f: VectorFile, s: Scope) -> None:
    _quantize(f.group(s.params, s.encoding, "Quantize: q = round_half_even(x * 2^f), clipped to +-q_max"), s)
    _encode(f.group(s.params, s.encoding, "Encode: Eq. (1) weight slot, E6 offset (v1), Eq. (2) packing into "
                    "segments of k slots"), s)
    if not s.lean:
        weighted = Encoding(frac_bits=16, clip=1.0, weight_max=4, max_clients=10)
        g = f.group(s.params, weighted, "Encode with weights |D_i| up to 4 (Eq. (1))")
        rng = s.rng("encoding", "weighted")
        q = quantized_values(rng, 5, weighted.q_max)
        g.op("Encode", {"quantized": q, "weight": 3}, "weight 3", {"Weighted", "NegativeValues"})
        g.op("Encode", {"quantized": q, "weight": 5}, "weight 5 above weight_max = 4", {"OutOfRange"},
             expect=VALUE_RANGE)
        one = single_slot_encoding(s.params)
        g1 = f.group(s.params, one, "an encoding whose slot width leaves k = 1 slot per segment")
        q = [5, -3, 0]
        g1.op("Encode", {"quantized": q, "weight": 1}, "k = 1: one segment per value and one for the weight",
              {"SingleSlotSegment", "MultiSegment", "NegativeValues"})
        _decode_from_clients(g1, s, [[5, -3, 0], [7, 2, -9]], [1, 1], "k = 1, two clients, signed values",
                             {"SingleSlotSegment", "MultiSegment", "NegativeValues"}
                             | (set() if s.corrected else {"NegativeDecodeWrong"}))
    _decode(f.group(s.params, s.encoding, "Decode: Algorithm 2 per segment, slot check, remove |S|*V (v1)"), s)
    if s.corrected and not s.lean:
        _slot_limits(f, s)
    _recover(f.group(s.params, s.encoding, "Recover: Algorithm 2 with an explicit super-increasing vector a"), s)


def _quantize(g: Group, s: Scope) -> None:
    ulp = 2.0 ** -s.encoding.frac_bits
    g.op("Quantize", {"values": [0.5, -0.25, 0.1, -1.0, 1.0, 0.0, 1e-300]}, "ordinary values", {"Normal"})
    g.op("Quantize", {"values": []}, "no values", {"Normal"})
    if not s.lean:
        g.op("Quantize", {"values": [2.5 * ulp, 3.5 * ulp, -2.5 * ulp, 0.5 * ulp, -0.5 * ulp]},
             "ties between two integers round to even", {"RoundHalfEven"})
        g.op("Quantize", {"values": [1.5, -3.0, 1e300, -1e300]}, "values beyond +-clip are clipped", {"Clipped"})
        g.op("Quantize", {"values": [1.0, -1.0], "clip": False}, "+-clip itself is in range without clipping",
             {"Normal"})
    g.op("Quantize", {"values": [0.5, 1.5], "clip": False}, "1.5 > clip and clipping is off", {"OutOfRange"},
         expect=VALUE_RANGE)
    for special in ("NaN", "Infinity", "-Infinity"):
        g.op("Quantize", {"values": [0.5, special]}, f"{special} among the values", {"NonFinite"},
             expect="non-finite-value")
        if s.lean:
            break
    if not s.lean:
        g.op("Quantize", {"values": [0.5, "0.25"]}, "a number given as a string", {"MalformedType"},
             expect=MALFORMED)
        g.op("Quantize", {"values": [True]}, "a boolean among the values", {"MalformedType"}, expect=MALFORMED)
        g.op("Quantize", {"values": [0.5], "clip": "yes"}, "clip is not a boolean", {"MalformedType"},
             expect=MALFORMED)


def _encode(g: Group, s: Scope) -> None:
    rng = s.rng("encoding", "Encode")
    q_max, k = s.encoding.q_max, s.k
    g.op("Encode", {"quantized": [3, 1, 4], "weight": 1}, "three small non-negative values", {"Normal"})
    neg_flags = {"NegativeValues"} | (set() if s.corrected else {"NegativeDecodeWrong"})
    g.op("Encode", {"quantized": [7, -2, -5, 10], "weight": 1},
         "signed values" + ("" if s.corrected else ": Eq. (2) packs a negative integer, reduced mod p (E6)"), neg_flags)
    g.op("Encode", {"quantized": [q_max, -q_max, 0], "weight": 1}, "+-q_max and 0", {"NegativeValues"})
    g.op("Encode", {"quantized": [], "weight": 1}, "dim = 0: only the weight slot", {"Normal"})
    short = k + max(1, k // 3) - 1  # dim + 1 = k + max(1, k/3): not a multiple of k
    g.op("Encode", {"quantized": quantized_values(rng, short, q_max), "weight": 1},
         f"dim = {short}: {short + 1} slots, the last segment short", {"SegmentShortLast", "MultiSegment",
                                                                         "NegativeValues"})
    if not s.lean:
        full = 2 * k - 1
        g.op("Encode", {"quantized": quantized_values(rng, full, q_max), "weight": 1},
             f"dim = {full}: {full + 1} slots fill 2 segments", {"SegmentFull", "MultiSegment", "NegativeValues"})
    g.op("Encode", {"quantized": [q_max + 1], "weight": 1}, "q_max + 1 is out of range", {"OutOfRange"},
         expect=VALUE_RANGE)
    g.op("Encode", {"quantized": [1, 2], "weight": 0}, "weight 0", {"OutOfRange"}, expect=VALUE_RANGE)
    if not s.lean:
        g.op("Encode", {"quantized": [1, 2], "weight": 2}, "weight 2 above weight_max = 1", {"OutOfRange"},
             expect=VALUE_RANGE)
        g.op("Encode", {"quantized": [1, 2.5], "weight": 1}, "a quantized value that is not an integer",
             {"MalformedType"}, expect=MALFORMED)
        g.op("Encode", {"quantized": [1, 2]}, "no weight", {"MalformedType"}, expect=MALFORMED)


def _encode_sum(s: Scope, encoding: Encoding, quantized: list[list[int]], weights: list[int]) -> list[int]:
    """Segment-wise sum of the clients' packed segments, mod the message modulus (what Dec yields in v1)."""
    profile = profile_of(s.params)
    packed = [profile.encode(q, w, encoding, s.params) for q, w in zip(quantized, weights)]
    modulus = s.params.message_modulus
    return [sum(column) % modulus for column in zip(*packed)]


def _decode_from_clients(g: Group, s: Scope, quantized: list[list[int]], weights: list[int], comment: str,
                         flags: set[str], *, clients: int | None = None, expect: str | None = None) -> None:
    sums = _encode_sum(s, g.encoding, quantized, weights)
    g.op("Decode", {"sums": [s.codec.message(m) for m in sums], "clients": clients or len(quantized),
                    "dim": len(quantized[0])}, comment, flags, expect=expect,
         intermediates={"clients_quantized": quantized, "clients_weights": weights})


def _decode(g: Group, s: Scope) -> None:
    rng = s.rng("encoding", "Decode")
    q_max, k = s.encoding.q_max, s.k
    if s.corrected:
        three = [quantized_values(rng, 6, q_max) for _ in range(3)]
        _decode_from_clients(g, s, three, [1, 1, 1], "three clients, signed values", {"Normal", "NegativeValues"})
        dim = k + max(1, k // 3) - 1
        many = [quantized_values(rng, dim, q_max) for _ in range(2 if s.lean else 4)]
        _decode_from_clients(g, s, many, [1] * len(many), f"dim = {dim}, two segments, the last short",
                             {"SegmentShortLast", "MultiSegment", "NegativeValues"})
        if not s.lean:
            full = [quantized_values(rng, 2 * k - 1, q_max) for _ in range(2)]
            _decode_from_clients(g, s, full, [1, 1], "two full segments", {"SegmentFull", "MultiSegment",
                                                                          "NegativeValues"})
    else:
        three = [[rng.randrange(0, q_max + 1) for _ in range(4)] for _ in range(3)]
        _decode_from_clients(g, s, three, [1, 1, 1], "three clients, non-negative values", {"Normal"})
        _decode_from_clients(g, s, [[7, -2, -5, 10], [0, 0, 0, 0]], [1, 1],
                             "signed values without offset decode wrongly (E6): intermediates hold the true values",
                             {"NegativeValues", "NegativeDecodeWrong"})
    c = s.codec
    zero = [c.message(0)]
    g.op("Decode", {"sums": zero * 2, "clients": 2, "dim": 1}, "two segment sums for one segment", {
        "DimensionMismatch"}, expect=DIMENSION)
    g.op("Decode", {"sums": zero, "clients": 0, "dim": 1}, "|S| = 0", {"MalformedType"}, expect=MALFORMED)
    if not s.lean:
        g.op("Decode", {"sums": [c.message(1)[:-2]], "clients": 1, "dim": 0}, "a segment sum one byte short",
             {"MalformedHex"}, expect=MALFORMED)
    if s.corrected:
        limit = 2 * 2 * s.encoding.value_bound
        over = [c.message(limit + 1)]
        g.op("Decode", {"sums": over, "clients": 2, "dim": 0}, "weight slot sum 4V + 1 above |S|*2V = 4V",
             {"SlotOverflow"}, expect="slot-overflow")


def _slot_limits(f: VectorFile, s: Scope) -> None:
    """|S| = max_clients with every value at +clip (slots at |S|*2V) or -clip (slots at 0), and one more client."""
    encoding = replace(s.encoding, max_clients=3)
    g = f.group(s.params, encoding, "slot limits: max_clients = 3 (review C.8)")
    q_max, dim = encoding.q_max, 4
    high = [[q_max] * dim for _ in range(3)]
    low = [[-q_max] * dim for _ in range(3)]
    _decode_from_clients(g, s, high, [1, 1, 1], "|S| = max_clients = 3, every value +clip: slots at |S|*2V",
                         {"SlotLimit"})
    _decode_from_clients(g, s, low, [1, 1, 1], "|S| = max_clients = 3, every value -clip: value slots at 0",
                         {"SlotLimit", "NegativeValues"})
    four = [[q_max] * dim for _ in range(4)]
    _decode_from_clients(g, s, four, [1] * 4, "|S| = 4, one more than max_clients = 3", {"SlotOverflow"},
                         expect="slot-overflow")


def _recover(g: Group, s: Scope) -> None:
    c = s.codec

    def recover(a: list[int], bound: int, values: list[int], comment: str, flags: set[str],
                expect: str | None = None, total: int | None = None) -> None:
        t = sum(x * y for x, y in zip(a, values)) if total is None else total
        g.op("Recover", {"a": [format(x, "x") for x in a], "bound": bound, "total": c.message(t)}, comment, flags,
             expect=expect, intermediates=None if expect else {"packed_values": values})

    recover([1, 7, 60, 500], 6, [3, 6, 0, 5], "a = (1, 7, 60, 500), values <= 6", {"GeneralSuperIncreasing"})
    recover([1, 3, 11, 40, 150], 2, [2, 1, 2, 0, 2], "a = (1, 3, 11, 40, 150), values <= 2",
            {"GeneralSuperIncreasing"})
    b = s.encoding.slot_bits
    radix = encoding_mod.radix_vector(s.encoding, 3)
    recover(radix, 2**b - 1, [2**b - 1, 0, 12345], "the power-of-two radix of the encoding", {"Normal"})
    recover([2, 7, 60], 6, [1, 1, 1], "a_1 = 2, not 1", {"NotSuperIncreasing"}, expect="invalid-parameters")
    recover([1, 6, 60], 6, [1, 1, 1], "a_2 = 6 is not above a_1 * 6", {"NotSuperIncreasing"},
            expect="invalid-parameters")
    big = 1 << (s.params.message_modulus.bit_length() - 2)
    recover([1, big], 4, [0, 0], "sum a_j * bound reaches the modulus", {"NotSuperIncreasing"},
            expect="invalid-parameters", total=0)
    if not s.lean:
        g.op("Recover", {"a": ["1", "7"], "bound": 0, "total": c.message(0)}, "bound 0", {"MalformedType"},
             expect=MALFORMED)
        g.op("Recover", {"a": ["1", "07"], "bound": 6, "total": c.message(7)}, "a_2 = 07 is not minimal hex",
             {"MalformedHex"}, expect=MALFORMED)
        g.op("Recover", {"a": ["1", "zz"], "bound": 6, "total": c.message(7)}, "a_2 is not hex", {"MalformedHex"},
             expect=MALFORMED)
        g.op("Recover", {"a": [1, 7], "bound": 6, "total": c.message(7)}, "a given as JSON numbers",
             {"MalformedType"}, expect=MALFORMED)


# -- Enc ----------------------------------------------------------------------------------------


def enc_family(f: VectorFile, s: Scope) -> None:
    if s.v2:
        _enc_v2(f, s)
        return
    g = f.group(s.params, s.encoding, "Enc (Sec. 3.2, 3.4; review C.4): explicit r1, r2")
    c, params = s.codec, s.params
    rng = s.rng("enc", "setup")
    dims = [3, s.k + 2] if not s.lean else [3]
    for dim in dims:
        server = server_key(params, s.encoding, dim, rng)
        keys = [key_pair(params, rng) for _ in range(3)]
        pk_s = product(params, [k.pk for k in keys])
        segments = profile_of(params).encode(quantized_values(rng, dim, s.encoding.q_max), 1, s.encoding, params)
        _, draws = encrypt(params, server, pk_s, segments, rng)
        r1, r2 = draws.r1, draws.r2
        base: dict[str, Any] = {"betas": [c.element(b) for b in server.betas], "pk_s": c.element(pk_s),
                "segments": [c.message(m) for m in segments], **draws.inputs(c)}
        multi = {"MultiSegment"} if len(segments) > 1 else set()
        g.op("Enc", base, f"{len(segments)} segment(s) of an encoded update", {"Normal"} | multi)
    u = len(segments)
    edge = dict(base, r1=[c.exponent(1)] * len(r1), r2=[c.exponent(params.exponent_bound - 1)] * len(r2))
    g.op("Enc", edge, "r1 = 1 and r2 = bound - 1", {"EdgeExponent"} | multi)
    top = params.message_modulus - 1
    g.op("Enc", dict(base, segments=[c.message(0)] + [c.message(top)] * (u - 1)) if u > 1 else
         dict(base, segments=[c.message(top)]), "segments at 0 and at modulus - 1", {"Normal"} | multi)
    if s.corrected:
        g.op("Enc", dict(base, segments=base["segments"][:-1] + [_modulus_as_message(params)]),
             "a segment equal to n, outside [0, n)", {"OutOfRange"}, expect=VALUE_RANGE)
        g.op("Enc", dict(base, r2=base["r2"][:-1]), "one r2 fewer than r1", {"RandomnessCount", "DimensionMismatch"},
             expect=DIMENSION)
        if u > 1:
            g.op("Enc", dict(base, r1=base["r1"][:-1], r2=base["r2"][:-1]), "one (r1, r2) pair fewer than segments",
                 {"RandomnessCount"}, expect=MALFORMED)
    else:
        g.op("Enc", dict(base, betas=base["betas"][:-1] if u > 1 else base["betas"] * 2),
             "number of betas differs from the number of segments", {"DimensionMismatch"}, expect=DIMENSION)
        g.op("Enc", dict(base, r1=[c.exponent(params.exponent_bound)]), "r1 = q, outside Z_q*",
             {"ExponentOutOfRange"}, expect=EXPONENT)
    g.op("Enc", dict(base, betas=[]), "no beta at all", {"DimensionMismatch"}, expect=DIMENSION)
    g.op("Enc", dict(base, r1=base["r1"] + [base["r1"][0]], r2=base["r2"] + [base["r2"][0]]),
         "one (r1, r2) pair more than the operation draws", {"RandomnessCount"}, expect=MALFORMED)
    g.op("Enc", dict(base, r1=[c.exponent(0)] + base["r1"][1:]), "r1 = 0", {"ExponentOutOfRange"}, expect=EXPONENT)
    for name, (value, code, flag) in _bad_elements(s).items():
        g.op("Enc", dict(base, pk_s=value), f"pk_S is {name}", {flag}, expect=code)
        if not s.lean:
            g.op("Enc", dict(base, betas=[value] + base["betas"][1:]), f"beta_1 is {name}", {flag}, expect=code)
        if s.lean:
            break
    if not s.lean:
        g.op("Enc", dict(base, segments=[m[:-2] for m in base["segments"]]), "segments one byte short",
             {"MalformedHex"}, expect=MALFORMED)
        g.op("Enc", dict(base, r1=base["r1"][0]), "r1 is a string, not a list", {"MalformedType"}, expect=MALFORMED)


def _enc_v2(f: VectorFile, s: Scope) -> None:
    """Enc of v2 (spec 10.4): the mask exponent r, then the carrier's r1, r2; u data segments after the carrier."""
    g = f.group(s.params, s.encoding, "Enc of v2 (spec 10.4): explicit mask exponent r and the carrier's r1, r2")
    c, params = s.codec, s.params
    rng = s.rng("enc", "setup")
    for dim in (3, s.k + 2, 2 * s.k + 3):
        server = server_key(params, s.encoding, dim, rng)
        pk_s = product(params, [key_pair(params, rng).pk for _ in range(3)])
        segments = profile_of(params).encode(quantized_values(rng, dim, s.encoding.q_max), 1, s.encoding, params)
        _, draws = encrypt(params, server, pk_s, segments, rng)
        base: dict[str, Any] = {"betas": [c.element(b) for b in server.betas], "pk_s": c.element(pk_s),
                                "segments": [c.message(m) for m in segments], **draws.inputs(c)}
        multi = {"MultiSegment"} if len(segments) > 1 else set()
        g.op("Enc", base, f"{len(segments)} data segment(s) after the carrier", {"Normal", "MaskExponent"} | multi)
    u, top = len(segments), params.message_modulus - 1
    g.op("Enc", dict(base, r=c.mask(1), r1=[c.exponent(1)], r2=[c.exponent(params.exponent_bound - 1)]),
         "r = 1, r1 = 1 and r2 = bound - 1", {"EdgeExponent", "MaskExponent", "MultiSegment"})
    g.op("Enc", dict(base, r=c.mask(params.mask_bound - 1)), "r = 2^L - 1, the largest mask exponent",
         {"EdgeExponent", "MaskExponent", "MultiSegment"})
    g.op("Enc", dict(base, segments=[c.message(0)] + [c.message(top)] * (u - 1)), "segments at 0 and at n - 1",
         {"Normal", "MultiSegment"})
    g.op("Enc", dict(base, segments=base["segments"][:-1] + [_modulus_as_message(params)]),
         "a segment equal to n, outside [0, n)", {"OutOfRange"}, expect=VALUE_RANGE)
    g.op("Enc", dict(base, segments=[]), "no data segment: u must be at least 1", {"DimensionMismatch"},
         expect=DIMENSION)
    g.op("Enc", dict(base, r=c.mask(0)), "r = 0 would leave every segment unmasked",
         {"MaskExponent", "ExponentOutOfRange"}, expect=EXPONENT)
    g.op("Enc", {k: v for k, v in base.items() if k != "r"}, "no mask exponent r", {"MaskExponent", "RandomnessCount"},
         expect=MALFORMED)
    g.op("Enc", dict(base, r=c.exponent(5)), "r written with the length of an exponent, not of 2^L",
         {"MaskExponent", "MalformedHex"}, expect=MALFORMED)
    g.op("Enc", dict(base, r=[base["r"]]), "r given as a list", {"MaskExponent", "MalformedType"}, expect=MALFORMED)
    g.op("Enc", dict(base, r1=base["r1"] * 2, r2=base["r2"] * 2), "a second (r1, r2) pair: v2 has one carrier",
         {"RandomnessCount", "CarrierOnly"}, expect=MALFORMED)
    g.op("Enc", dict(base, r1=[], r2=[]), "no (r1, r2) pair for the carrier", {"RandomnessCount"}, expect=MALFORMED)
    g.op("Enc", dict(base, r2=[]), "one r2 fewer than r1", {"RandomnessCount", "DimensionMismatch"}, expect=DIMENSION)
    g.op("Enc", dict(base, r1=[c.exponent(0)]), "r1 = 0", {"ExponentOutOfRange"}, expect=EXPONENT)
    g.op("Enc", dict(base, betas=base["betas"] * 2), "two betas: v2 has one server key", {"DimensionMismatch"},
         expect=DIMENSION)
    g.op("Enc", dict(base, betas=[]), "no beta at all", {"DimensionMismatch"}, expect=DIMENSION)
    for name, (value, code, flag) in _bad_elements(s).items():
        g.op("Enc", dict(base, pk_s=value), f"pk_S is {name}", {flag}, expect=code)
        g.op("Enc", dict(base, betas=[value]), f"beta is {name}", {flag}, expect=code)
    for name, value in _degenerate_elements(s).items():
        g.op("Enc", dict(base, pk_s=value), f"pk_S = {name}", {"DegenerateElement"}, expect=DEGENERATE)
        g.op("Enc", dict(base, betas=[value]), f"beta = {name}", {"DegenerateElement"}, expect=DEGENERATE)
    g.op("Enc", dict(base, segments=[m[:-2] for m in base["segments"]]), "segments one byte short",
         {"MalformedHex"}, expect=MALFORMED)


def _modulus_as_message(params: Params) -> str:
    """The modulus n itself in the fixed length of a message (it fits: n < 256^len)."""
    n = params.message_modulus
    return n.to_bytes(nbytes(n), "big").hex()


# -- ChelGen / CheckChallenge / ResGen ----------------------------------------------------------


def _round(s: Scope, family: str, clients: int = 3, dim: int | None = None) -> MiniRound:
    dim = dim if dim is not None else (s.k + 2 if s.corrected and not s.lean else 3)
    return mini_round(s.params, s.encoding, clients, dim, s.rng(family, "round"), signed=s.corrected)


def challenge_family(f: VectorFile, s: Scope) -> None:
    g = f.group(s.params, s.encoding, "ChelGen, CheckChallenge, ResGen (Sec. 3.3; E4 and its hardening)")
    c = s.codec
    world = _round(s, "challenge")
    cts = world.ciphertexts_json()
    challenge = [c.element(r) for r in world.challenge]
    g.op("ChelGen", {"ciphertexts": cts}, f"R_j over |S| = {len(cts)}", {"Normal"})
    g.op("ChelGen", {"ciphertexts": []}, "no ciphertexts", {"TooFewClients"}, expect=MALFORMED)
    for name, (value, code, flag) in _bad_elements(s).items():
        bad = [dict(ct) for ct in cts]
        bad[1] = dict(bad[1], e2=[[value, pair[1]] for pair in bad[1]["e2"]])
        g.op("ChelGen", {"ciphertexts": bad}, f"g^r2 of client 2 is {name}", {flag}, expect=code)
        if s.lean:
            break
    if s.corrected and len(world.challenge) > 1:
        bad = [dict(ct) for ct in cts]
        bad[2] = dict(bad[2], e2=bad[2]["e2"][:-1])
        g.op("ChelGen", {"ciphertexts": bad}, "client 3 sends one E_2 pair fewer", {"DimensionMismatch"},
             expect=DIMENSION)
    if s.v2:
        doubled = [dict(ct, e2=ct["e2"] * 2) for ct in cts]
        g.op("ChelGen", {"ciphertexts": doubled}, "every ciphertext carries a second E_2 pair: v2 challenges the "
             "carrier only", {"CarrierOnly", "DimensionMismatch"}, expect=DIMENSION)
        bad = [dict(ct) for ct in cts]
        bad[2] = dict(bad[2], e2=bad[2]["e2"] * 2)
        g.op("ChelGen", {"ciphertexts": bad}, "client 3 sends a second E_2 pair", {"CarrierOnly", "DimensionMismatch"},
             expect=DIMENSION)
    if not s.lean:
        g.op("ChelGen", {"ciphertexts": [{"e1": cts[0]["e1"]}]}, "a ciphertext without e2", {"MalformedType"},
             expect=MALFORMED)
    own = [[pair[0] for pair in ct["e2"]] for ct in cts]
    g.op("CheckChallenge", {"challenge": challenge, "announced": own, "own": own[0]},
         "R_j equals the product of the announced g^r2", {"Normal", "Hardened"})
    # E4: the server sends client 1's own g^r2 as R; the answers then unmask client 1.
    crafted = own[0]
    g.op("CheckChallenge", {"challenge": crafted, "announced": own, "own": own[1]},
         "crafted R = g^r2 of client 1, sent to client 2", {"CraftedChallenge", "Hardened"},
         expect="challenge-mismatch")
    g.op("CheckChallenge", {"challenge": challenge, "announced": own[1:], "own": own[0]},
         "own g^r2 missing from the announced values", {"ChallengeOwnMissing", "Hardened"},
         expect="challenge-mismatch")
    g.op("CheckChallenge", {"challenge": challenge, "announced": own, "own": []}, "own g^r2 list is empty",
         {"DimensionMismatch", "Hardened"}, expect=DIMENSION)
    if not s.lean:
        g.op("CheckChallenge", {"challenge": challenge, "announced": [own[0], []] + own[2:], "own": own[0]},
             "client 2's announced g^r2 list is empty", {"DimensionMismatch", "Hardened"}, expect=DIMENSION)
    sk = c.exponent(world.uploads[0].keys.sk)
    g.op("ResGen", {"challenge": challenge, "sk": sk}, "T_i = R^sk_i", {"Normal"})
    g.op("ResGen", {"challenge": challenge, "sk": c.exponent(0)}, "sk_i = 0 would answer T_i = 1",
         {"ExponentOutOfRange"}, expect=EXPONENT)
    g.op("ResGen", {"challenge": crafted, "sk": c.exponent(world.uploads[1].keys.sk)},
         "client 2 answers a crafted R = g^r2 of client 1: nothing in ResGen can see it (E4)",
         {"CraftedChallenge"}, result=ACCEPTABLE)
    for name, (value, code, flag) in _bad_elements(s).items():
        g.op("ResGen", {"challenge": [value] + challenge[1:], "sk": sk}, f"R_1 is {name}", {flag}, expect=code)
        if s.lean:
            break
    for name, value in _degenerate_elements(s).items():
        g.op("ResGen", {"challenge": [value], "sk": sk}, f"R = {name}: its power would reveal sk_i",
             {"DegenerateElement"}, expect=DEGENERATE)
    if s.v2:
        g.op("ResGen", {"challenge": challenge * 2, "sk": sk}, "two challenges: a v2 client answers the carrier's "
             "R only", {"CarrierOnly", "DimensionMismatch"}, expect=DIMENSION)
        g.op("ResGen", {"challenge": [], "sk": sk}, "no challenge", {"CarrierOnly", "DimensionMismatch"},
             expect=DIMENSION)
        g.op("CheckChallenge", {"challenge": challenge * 2, "announced": [o * 2 for o in own], "own": own[0] * 2},
             "two challenges, each the product of the announced values: v2 has one", {"CarrierOnly", "Hardened",
                                                                                    "DimensionMismatch"},
             expect=DIMENSION)
    if not s.lean:
        g.op("ResGen", {"challenge": [uppercase(x) for x in challenge], "sk": sk}, "R in upper-case hex",
             {"MalformedHex"}, expect=MALFORMED)


# -- Agg ----------------------------------------------------------------------------------------


def agg_family(f: VectorFile, s: Scope) -> None:
    g = f.group(s.params, s.encoding, "Agg (Sec. 3.3): E_Agg, d and T over S")
    c = s.codec
    world = _round(s, "agg")
    cts, responses = world.ciphertexts_json(), world.responses_json()
    g.op("Agg", {"ciphertexts": cts, "responses": responses}, f"|S| = {len(cts)}", {"Normal"} |
         ({"MultiSegment"} if len(world.aggregate.e_agg) > 1 else set()))
    g.op("Agg", {"ciphertexts": cts, "responses": responses[:-1]}, "one response missing", {"DimensionMismatch"},
         expect=DIMENSION)
    g.op("Agg", {"ciphertexts": [], "responses": []}, "no ciphertexts", {"TooFewClients"}, expect=MALFORMED)
    bad = [dict(ct) for ct in cts]
    bad[0] = dict(bad[0], e1=[c.e1(non_unit_e1(s.params))] + bad[0]["e1"][1:])
    g.op("Agg", {"ciphertexts": bad, "responses": responses}, "E_11 shares a factor with the modulus",
         {"NonUnit"}, expect=NON_UNIT)
    bad[0] = dict(bad[0], e1=[all_ones_hex(s.params.big_modulus)] + cts[0]["e1"][1:])
    g.op("Agg", {"ciphertexts": bad, "responses": responses}, "E_11 above its modulus", {"ElementTooLarge"},
         expect=OUT_OF_RANGE)
    if not s.lean:
        bad[0] = dict(bad[0], e1=[c.e1(0)] + cts[0]["e1"][1:])
        g.op("Agg", {"ciphertexts": bad, "responses": responses}, "E_11 = 0", {"ZeroElement"}, expect=OUT_OF_RANGE)
        for name, (value, code, flag) in _bad_elements(s).items():
            worse = [list(r) for r in responses]
            worse[1][0] = value
            g.op("Agg", {"ciphertexts": cts, "responses": worse}, f"T_21 is {name}", {flag}, expect=code)
        if len(world.aggregate.e_agg) > 1:
            short = [dict(ct) for ct in cts]
            short[1] = dict(short[1], e1=short[1]["e1"][:-1])
            g.op("Agg", {"ciphertexts": short, "responses": responses}, "client 2 sends one E_1 segment fewer",
                 {"DimensionMismatch"}, expect=DIMENSION)
        g.op("Agg", {"ciphertexts": cts, "responses": [r[:-1] + [r[-1][:-2]] for r in responses]},
             "every response's last element one byte short", {"MalformedHex"}, expect=MALFORMED)
    if s.v2:
        g.op("Agg", {"ciphertexts": [dict(ct, e2=ct["e2"] * 2) for ct in cts], "responses": [r * 2 for r in responses]},
             "every ciphertext with a second E_2 pair and every response with a second T: v2 has one carrier",
             {"CarrierOnly", "DimensionMismatch"}, expect=DIMENSION)
        g.op("Agg", {"ciphertexts": cts, "responses": [r * 2 for r in responses]}, "every response with a second T",
             {"CarrierOnly", "DimensionMismatch"}, expect=DIMENSION)


# -- Dec ----------------------------------------------------------------------------------------


def dec_family(f: VectorFile, s: Scope) -> None:
    comment = ("Dec of v2 (spec 10.6): explicit alpha and |S|; the carrier, its mask sum, then the segments" if s.v2
               else "Dec (Sec. 3.3; review C.5): explicit alpha(s); the paper's printed Dec is wrong (E1)")
    g = f.group(s.params, s.encoding, comment)
    c, params = s.codec, s.params
    sizes = (2, 3, 5) if not s.lean else (2,)
    for clients in sizes:
        world = _round(s, f"dec-{clients}", clients)
        context: dict[str, object] = {"plaintext_sums": [c.message(m) for m in world.plaintext_segment_sums()]}
        flags = {"Normal"} | ({"MultiSegment"} if len(world.aggregate.e_agg) > 1 else set())
        comment = f"|S| = {clients}: the sums of the packed segments"
        if not s.corrected:
            context["r1_sum"] = format(world.r1_sum(), "x")
            flags = (flags - {"Normal"}) | {"PaperDecryptionIncorrect"}
            comment = (f"|S| = {clients}: the printed Dec returns M + R*lambda(beta) - alpha*lambda(d/T), not the "
                       "plaintext sums M (E1)")
        g.op("Dec", world.dec_inputs(), comment, flags, intermediates=context)
    inputs = world.dec_inputs()
    wrong = [(a % (params.exponent_bound - 1)) + 1 for a in world.server.alphas]
    if s.v2:
        g.op("Dec", world.dec_inputs(alphas=wrong), "alpha + 1 instead of alpha: the carrier's L input is not 1 mod n",
             {"CarrierNotDecrypted"}, expect="carrier-decryption-failed")
        _dec_v2(g, s, world)
    else:
        g.op("Dec", world.dec_inputs(alphas=wrong), "alpha + 1 instead of alpha: the L input is not 1 mod n",
             {"LInputNotOne"}, expect="l-input-not-one-mod-n")
    g.op("Dec", dict(inputs, alphas=inputs["alphas"] * 2), "twice as many alphas as needed", {"DimensionMismatch"},
         expect=DIMENSION)
    for name, (value, code, flag) in _bad_elements(s).items():
        g.op("Dec", dict(inputs, d=[value] + inputs["d"][1:]), f"d_1 is {name}", {flag}, expect=code)
        if not s.lean:
            g.op("Dec", dict(inputs, t=[value] + inputs["t"][1:]), f"T_1 is {name}", {flag}, expect=code)
        if s.lean:
            break
    g.op("Dec", dict(inputs, e_agg=[c.e1(non_unit_e1(params))] + inputs["e_agg"][1:]),
         "E_Agg,1 shares a factor with the modulus", {"NonUnit"}, expect=NON_UNIT)
    if not s.lean:
        g.op("Dec", dict(inputs, e_agg=[all_ones_hex(params.big_modulus)] + inputs["e_agg"][1:]),
             "E_Agg,1 above its modulus", {"ElementTooLarge"}, expect=OUT_OF_RANGE)
        g.op("Dec", dict(inputs, d=inputs["d"] + inputs["d"][:1]), "one d more than segments",
             {"DimensionMismatch"}, expect=DIMENSION)
        g.op("Dec", dict(inputs, e_agg=[x[:-2] for x in inputs["e_agg"]]), "E_Agg one byte short", {"MalformedHex"},
             expect=MALFORMED)


def _dec_v2(g: Group, s: Scope, world: MiniRound) -> None:
    """What only v2's Dec checks (spec 10.6): the size of S, the mask sum, the carrier-only layout."""
    inputs, size = world.dec_inputs(), len(world.uploads)
    g.op("Dec", dict(inputs, clients=1), "|S| = 1", {"TooFewClients"}, expect="too-few-clients")
    g.op("Dec", {k: v for k, v in inputs.items() if k != "clients"}, "no |S|", {"MalformedType"}, expect=MALFORMED)
    g.op("Dec", dict(inputs, e_agg=inputs["e_agg"][:1]), "only the carrier, no data segment",
         {"CarrierOnly", "DimensionMismatch"}, expect=DIMENSION)
    mask = s.params.mask_bound
    forged = (
        ([0] * size, "every carrier holds 0: R = 0 < |S|", {"MaskSumOutOfRange"}, "mask-sum-out-of-range"),
        ([mask << 40] * size, "every carrier holds 2^(L+40): R > |S|*(2^L - 1)", {"MaskSumOutOfRange"},
         "mask-sum-out-of-range"),
        ([u.draws.mask + 1 if i == 0 else u.draws.mask for i, u in enumerate(world.uploads)],
         "client 1's carrier holds r_1 + 1: R is in range but wrong, and the segments' L inputs are refused",
         {"LInputNotOne"}, "l-input-not-one-mod-n"),
    )
    for plaintexts, comment, flags, code in forged:
        g.op("Dec", world.with_carriers(plaintexts).dec_inputs(), comment, flags, expect=code)


# -- proofs (the hardening, v1) -------------------------------------------------------------------

PROOF_INVALID = "proof-invalid"


def proofs_family(f: VectorFile, s: Scope) -> None:
    """Proofs of knowledge of spec 5.14 (valid, and refused: wrong context, wrong exponent, junk element,
    replay from another round, out of range) and the element check of E8. `v1` and `v2` (one group mod n^2)."""
    if not s.corrected:
        return
    c, n, n2, bound = s.codec, s.params.message_modulus, s.params.group_modulus, s.params.exponent_bound
    rng = s.rng("proofs", "Prove")
    g = f.group(s.params, s.encoding, "Prove and CheckProof (spec 5.14): proofs of knowledge bound to their statement")

    def statement(kind: str, client_id: int = 0, index: int = 0, round_id: int = 0, online: list[int] | None = None
                  ) -> dict[str, object]:
        return {"kind": kind, "client_id": client_id, "index": index, "round": round_id, "online": online or []}

    def nonce() -> str:
        return to_hex(exponent(1 << proof_nonce_bits(s.params), rng), 1 << proof_nonce_bits(s.params))

    statements = {"key": statement("key", 3), "server key": statement("server key"),
                  "g^r2": statement("g^r2", 2, 1, 7, [0, 2, 5])}
    made = {}
    for kind, st in statements.items():
        x = exponent(bound, rng)
        made[kind] = (x, g.op("Prove", {"statement": st, "x": c.exponent(x), "k": nonce()},
                              f"a proof of knowledge for a {kind} statement", {"ProofOfKnowledge"}))
    for kind, st in statements.items():
        g.op("CheckProof", {"statement": st, **made[kind][1]}, f"the {kind} proof verifies", {"ProofOfKnowledge"})
    x, proven = made["g^r2"]
    g.op("Prove", {"statement": statements["key"], "x": c.exponent(0), "k": nonce()}, "x = 0",
         {"ExponentOutOfRange"}, expect=EXPONENT)
    g.op("Prove", {"statement": statements["key"], "x": c.exponent(x), "k": to_hex(0, 1 << proof_nonce_bits(s.params))},
         "nonce k = 0", {"ExponentOutOfRange"}, expect=EXPONENT)
    g.op("Prove", {"statement": dict(statements["key"], kind="sk"), "x": c.exponent(x), "k": nonce()},
         "an unknown statement kind", {"MalformedType"}, expect=MALFORMED)
    wrong = {"another client": dict(statements["g^r2"], client_id=3), "another segment": dict(statements["g^r2"], index=0),
             "another set S": dict(statements["g^r2"], online=[0, 2]), "another kind": dict(statements["g^r2"], kind="key")}
    if s.lean:
        wrong = dict(list(wrong.items())[:1])
    for name, st in wrong.items():
        g.op("CheckProof", {"statement": st, **proven}, f"the g^r2 proof checked for {name}", {"ProofWrongContext"},
             expect=PROOF_INVALID)
    g.op("CheckProof", {"statement": dict(statements["g^r2"], round=8), **proven},
         "the g^r2 proof of round 7 replayed in round 8", {"ProofReplay"}, expect=PROOF_INVALID)
    element = c.element_in(proven["element"], "element")
    other = g.op("Prove", {"statement": statements["g^r2"], "x": c.exponent(x + 1), "k": nonce()},
                 "a proof of knowledge of x + 1", {"ProofOfKnowledge"})
    g.op("CheckProof", {"statement": statements["g^r2"], "element": proven["element"], "proof": other["proof"]},
         "a proof made with another exponent (x + 1) for g^x", {"ProofWrongExponent"}, expect=PROOF_INVALID)
    junk = c.element((1 + n) * element % n2)
    g.op("CheckProof", {"statement": statements["g^r2"], "element": junk, "proof": proven["proof"]},
         "(1 + n) * g^x with the proof for g^x (E8): outside <g>", {"ProofJunkElement"}, expect=PROOF_INVALID)
    z_bound = proof_response_bound(s.params)
    assert 256 ** nbytes(z_bound) - 1 >= z_bound  # the largest z the fixed length holds is out of range
    g.op("CheckProof", {"statement": statements["g^r2"], "element": proven["element"],
                        "proof": {"c": proven["proof"]["c"], "z": "ff" * nbytes(z_bound)}},
         "z at the largest value its length holds, above the bound", {"ProofOutOfRange"}, expect=PROOF_INVALID)
    g.op("CheckProof", {"statement": statements["g^r2"], "element": proven["element"],
                        "proof": {"c": proven["proof"]["c"], "z": proven["proof"]["z"][2:]}},
         "z one byte short", {"MalformedHex"}, expect=MALFORMED)
    g.op("CheckProof", {"statement": statements["g^r2"], "element": proven["element"], "proof": proven["proof"]["c"]},
         "the proof is not an object", {"MalformedType"}, expect=MALFORMED)

    e = f.group(s.params, s.encoding, "CheckElement (spec 5.4, E8): beta, pk_S and R_j must not be 0, 1 or -1 mod n")
    g_y = int(gmpy2.powmod(s.params.g, exponent(bound, rng), n2))
    for name, value in (("g^y", g_y), ("(1 + n) * g^y: the element check cannot see it", (1 + n) * g_y % n2),
                        ("-g^y", n2 - g_y)):
        e.op("CheckElement", {"element": c.element(value)}, name, {"Normal"})
    for name, value in (("1 + n", 1 + n), ("1 + 7n", 1 + 7 * n), ("-1", n2 - 1), ("-(1 + n)", n2 - 1 - n), ("1", 1)):
        e.op("CheckElement", {"element": c.element(value)}, f"{name}: in +-<1 + n>", {"DegenerateElement"},
             expect="degenerate-element")
    bad = non_unit_element(s.params)
    if bad is not None and not s.lean:
        e.op("CheckElement", {"element": c.element(bad)}, "a non-unit", {"NonUnit"}, expect=NON_UNIT)
    e.op("CheckElement", {"element": c.element(0)}, "zero", {"ZeroElement"}, expect=OUT_OF_RANGE)


FAMILIES: dict[str, Callable[[VectorFile, Scope], None]] = {
    "keys": keys_family,
    "se": se_family,
    "encoding": encoding_family,
    "enc": enc_family,
    "challenge": challenge_family,
    "agg": agg_family,
    "dec": dec_family,
    "proofs": proofs_family,
}
