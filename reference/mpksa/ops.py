"""Operations on the wire: the JSON form of every algorithm, with explicit randomness.

This is the contract shared by the test vectors, the conformance runner and
every implementation (spec chapters 6, 8 and 9). A request is

    {"op": NAME, "profile": "paper"|"v1", "params": {...}, "encoding": {...}, "inputs": {...}}

and the answer is {"outputs": {...}} or {"error": {"code": CODE, "message": TEXT}}.

Integers travel as fixed-length big-endian lowercase hex (see `Codec`); gradient
values as JSON numbers, or the strings "NaN", "Infinity" and "-Infinity".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gmpy2

from . import aggpkgen, agg, chelgen, dec, encoding, keygen, resgen, se, sysgen
from .encoding import Encoding
from .errors import DimensionMismatchError, MalformedInputError, MpksaError, NonFiniteValueError, ParameterError, show
from .messages import Aggregate, Ciphertext, ServerKey
from .params import PARAMETER_SET_NAMES, Params, PaperParams, V1Params, parameter_set
from .profiles import profile_of
from .randomness import ReplayRandom
from .validate import check_exponent

Json = dict[str, Any]
_HEX = re.compile(r"[0-9a-f]*")


def nbytes(modulus: int) -> int:
    """Byte length of the fixed-length encoding of integers in [0, modulus)."""
    return ((modulus - 1).bit_length() + 7) // 8


def to_hex(x: int, modulus: int) -> str:
    return int(x).to_bytes(nbytes(modulus), "big").hex()


def from_hex(text: object, modulus: int, name: str) -> int:
    """Parse fixed-length hex; the length is part of the format and is checked."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise MalformedInputError(f"{name} = {text!r} must be lowercase hex")
    if len(text) != 2 * nbytes(modulus):
        raise MalformedInputError(f"{name} has {len(text)} hex digits, expected {2 * nbytes(modulus)}")
    return int(text, 16) if text else 0


def bytes_from_hex(text: object, name: str) -> bytes:
    if not isinstance(text, str) or not _HEX.fullmatch(text) or len(text) % 2:
        raise MalformedInputError(f"{name} = {text!r} must be lowercase hex of whole bytes")
    return bytes.fromhex(text)


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_from_json(value: object, name: str) -> float:
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedInputError(f"{name} = {value!r} must be a number, 'NaN', 'Infinity' or '-Infinity'")
    try:
        return float(value)
    except OverflowError:
        raise NonFiniteValueError(f"{name} = {show(value)} does not fit a binary64 float") from None


def float_to_json(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def params_to_json(params: Params) -> Json:
    if isinstance(params, PaperParams):
        return {"name": params.name, "profile": "paper", "p": format(params.p, "x"), "q": format(params.q, "x"),
                "gamma": params.gamma, "g": format(params.g, "x"), "insecure": params.insecure}
    return {"name": params.name, "profile": "v1", "n": format(params.n, "x"), "g": format(params.g, "x"),
            "exponent_bits": params.exponent_bits, "insecure": params.insecure}


_MINIMAL_HEX = re.compile(r"[1-9a-f][0-9a-f]*")


def _field(data: Json, key: str, kind: type) -> Any:
    value = data.get(key)
    if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
        raise ParameterError(f"params.{key} = {value!r} must be of type {kind.__name__}")
    return value


def _hex_field(data: Json, key: str) -> int:
    value = _field(data, key, str)
    if not _MINIMAL_HEX.fullmatch(value):
        raise ParameterError(f"params.{key} = {value[:20]!r} must be minimal lowercase hex")
    return int(value, 16)


def params_from_json(data: Json) -> Params:
    """Parse a params object. A known name must carry exactly the registered values;
    an unknown one is accepted only if flagged insecure and structurally valid."""
    if not isinstance(data, dict):
        raise ParameterError("params must be an object")
    name, profile, insecure = _field(data, "name", str), _field(data, "profile", str), _field(data, "insecure", bool)
    if profile == "paper":
        params: Params = PaperParams(name, b"", _hex_field(data, "p"), _hex_field(data, "q"),
                                     _field(data, "gamma", int), _hex_field(data, "g"), insecure)
    elif profile == "v1":
        params = V1Params(name, _hex_field(data, "n"), _hex_field(data, "g"), _field(data, "exponent_bits", int),
                          insecure)
    else:
        raise ParameterError(f"params.profile = {profile!r} must be 'paper' or 'v1'")
    if name in PARAMETER_SET_NAMES:
        registered = parameter_set(name)
        if params_to_json(registered) != params_to_json(params):
            raise ParameterError(f"params named {name!r} differ from the registered parameter set")
        return registered
    check_custom_parameters(params)
    return params


def check_custom_parameters(params: Params) -> None:
    """An unregistered set (e.g. a toy group for an erratum) must be insecure-flagged and well formed."""
    if not params.insecure:
        raise ParameterError(f"unregistered parameter set {params.name!r} must be flagged insecure")
    if isinstance(params, PaperParams):
        import sympy

        ok = (sympy.isprime(params.p) and sympy.isprime(params.q) and params.p - 1 == params.gamma * params.q
              and 1 < params.g < params.p and pow(params.g, params.q, params.p) == 1)
        if not ok:
            raise ParameterError(f"paper set {params.name!r}: need primes p, q with p - 1 = gamma*q and g of order q")
        return
    ok = (params.n > 3 and params.n % 2 == 1 and 1 <= params.exponent_bits <= 8192
          and 1 < params.g < params.n2 and gmpy2.gcd(params.g, params.n) == 1)
    if not ok:
        raise ParameterError(f"v1 set {params.name!r}: need odd n > 3, 1 <= exponent_bits <= 8192, g a unit mod n^2")


def encoding_to_json(enc_: Encoding) -> Json:
    return {"frac_bits": enc_.frac_bits, "clip": enc_.clip, "weight_max": enc_.weight_max,
            "max_clients": enc_.max_clients}


def encoding_from_json(data: object) -> Encoding:
    """An encoding object: integers frac_bits, weight_max, max_clients and a number clip."""
    fields = ("frac_bits", "clip", "weight_max", "max_clients")
    if not isinstance(data, dict) or set(data) != set(fields):
        raise ParameterError(f"encoding must be an object with exactly the fields {', '.join(fields)}")
    return Encoding(data["frac_bits"], data["clip"], data["weight_max"], data["max_clients"])


@dataclass(frozen=True)
class Codec:
    """Which modulus fixes the length of each kind of integer."""

    params: Params

    def element(self, x: int) -> str:
        return to_hex(x, self.params.group_modulus)

    def element_in(self, text: object, name: str) -> int:
        return from_hex(text, self.params.group_modulus, name)

    def e1(self, x: int) -> str:
        return to_hex(x, self.params.big_modulus)

    def e1_in(self, text: object, name: str) -> int:
        return from_hex(text, self.params.big_modulus, name)

    def exponent(self, x: int) -> str:
        return to_hex(x, self.params.exponent_bound)

    def exponent_in(self, text: object, name: str) -> int:
        """An explicit exponent or random value: fixed-length hex, then [1, bound) (spec 5.4)."""
        return check_exponent(self.params, from_hex(text, self.params.exponent_bound, name), name)

    def message(self, x: int) -> str:
        """Packed segments and their sums: integers mod p (`paper`) or mod n (`v1`)."""
        return to_hex(x % self.params.message_modulus, self.params.message_modulus)

    def message_in(self, text: object, name: str) -> int:
        return from_hex(text, self.params.message_modulus, name)

    def elements(self, texts: object, name: str) -> list[int]:
        return [self.element_in(t, f"{name}[{j}]") for j, t in enumerate(_list(texts, name))]

    def ciphertext(self, c: Ciphertext) -> Json:
        return {"e1": [self.e1(x) for x in c.e1], "e2": [[self.element(a), self.element(b)] for a, b in c.e2]}

    def ciphertext_in(self, data: object, name: str) -> Ciphertext:
        if not isinstance(data, dict):
            raise MalformedInputError(f"{name} must be an object with e1 and e2")
        e1 = tuple(self.e1_in(x, f"{name}.e1[{j}]") for j, x in enumerate(_list(data.get("e1"), f"{name}.e1")))
        pairs = _list(data.get("e2"), f"{name}.e2")
        e2 = tuple(tuple(self.elements(pair, f"{name}.e2[{j}]")) for j, pair in enumerate(pairs))
        if any(len(pair) != 2 for pair in e2):
            raise MalformedInputError(f"{name}.e2 must hold pairs")
        return Ciphertext(e1, e2)  # type: ignore[arg-type]


def _list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedInputError(f"{name} must be a list, got {type(value).__name__}")
    return value


def minimal_hex_in(value: object, name: str) -> int:
    if not isinstance(value, str) or not _MINIMAL_HEX.fullmatch(value):
        raise MalformedInputError(f"{name} = {value!r} must be minimal lowercase hex")
    return int(value, 16)


def _int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedInputError(f"{name} = {value!r} must be an integer in [{low}, {high}]")
    return value


@dataclass(frozen=True)
class Context:
    params: Params
    encoding: Encoding
    codec: Codec


# Each handler maps JSON inputs to JSON outputs through the reference functions.

def _all_used(rng: ReplayRandom, what: str) -> None:
    if not rng.exhausted():
        raise MalformedInputError(f"more {what} values were given than the operation uses")


def _sys_gen(ctx: Context, inp: Json) -> Json:
    alphas = [ctx.codec.exponent_in(a, f"alphas[{j}]") for j, a in enumerate(_list(inp.get("alphas"), "alphas"))]
    rng = ReplayRandom(alphas)
    if ctx.params.profile == "paper":
        key = sysgen.sys_gen_paper(ctx.params, len(alphas), rng)
    else:
        key = sysgen.sys_gen_v1(ctx.params, rng)
    _all_used(rng, "alpha")
    return {"betas": [ctx.codec.element(b) for b in key.betas]}


def _key_gen(ctx: Context, inp: Json) -> Json:
    pair = keygen.key_gen(ctx.params, ReplayRandom([ctx.codec.exponent_in(inp.get("sk"), "sk")]))
    return {"pk": ctx.codec.element(pair.pk)}


def _agg_pk_gen(ctx: Context, inp: Json) -> Json:
    keys = []
    for j, entry in enumerate(_list(inp.get("public_keys"), "public_keys")):
        if not isinstance(entry, dict):
            raise MalformedInputError(f"public_keys[{j}] must be an object with id and pk")
        keys.append((_int(entry.get("id"), f"public_keys[{j}].id", 0, 2**32 - 1),
                     ctx.codec.element_in(entry.get("pk"), f"public_keys[{j}].pk")))
    return {"pk_s": ctx.codec.element(aggpkgen.agg_pk_gen(ctx.params, keys))}


def _check_pk_s(ctx: Context, inp: Json) -> Json:
    announced = inp.get("announced")
    aggpkgen.check_pk_s(ctx.params, ctx.codec.element_in(inp.get("pk_s"), "pk_s"),
                        ctx.codec.element_in(inp.get("pk_i"), "pk_i"),
                        None if announced is None else ctx.codec.elements(announced, "announced"))
    return {}


def _se(ctx: Context, inp: Json) -> Json:
    nonce = bytes_from_hex(inp.get("nonce"), "nonce")
    if len(nonce) != se.NONCE_BYTES:
        raise MalformedInputError(f"nonce has {len(nonce)} bytes, expected {se.NONCE_BYTES}")
    sealed = se.se(ctx.params, ctx.codec.element_in(inp.get("pk_i"), "pk_i"),
                   ctx.codec.exponent_in(inp.get("alpha"), "alpha"), bytes_from_hex(inp.get("model"), "model"),
                   _int(inp.get("round"), "round", 0, 2**64 - 1), _int(inp.get("client_id"), "client_id", 0, 2**32 - 1),
                   ReplayRandom([nonce]))
    return {"sealed": sealed.hex()}


def _dse(ctx: Context, inp: Json) -> Json:
    model = se.dse(ctx.params, ctx.codec.element_in(inp.get("beta"), "beta"),
                   ctx.codec.exponent_in(inp.get("sk"), "sk"), bytes_from_hex(inp.get("sealed"), "sealed"),
                   _int(inp.get("round"), "round", 0, 2**64 - 1), _int(inp.get("client_id"), "client_id", 0, 2**32 - 1))
    return {"model": model.hex()}


def _quantize(ctx: Context, inp: Json) -> Json:
    values = [float_from_json(v, f"values[{j}]") for j, v in enumerate(_list(inp.get("values"), "values"))]
    clip = inp.get("clip", True)
    if not isinstance(clip, bool):
        raise MalformedInputError(f"clip = {clip!r} must be a boolean")
    return {"quantized": encoding.quantize(values, ctx.encoding, clip)}


def _encode(ctx: Context, inp: Json) -> Json:
    quantized = [_int(q, f"quantized[{j}]", -(2**63), 2**63) for j, q in enumerate(_list(inp.get("quantized"), "quantized"))]
    weight = _int(inp.get("weight"), "weight", -(2**63), 2**63)
    segments = profile_of(ctx.params).encode(quantized, weight, ctx.encoding, ctx.params)
    return {"segments": [ctx.codec.message(m) for m in segments]}


def _enc(ctx: Context, inp: Json) -> Json:
    codec = ctx.codec
    betas = codec.elements(inp.get("betas"), "betas")
    segments = [codec.message_in(m, f"segments[{j}]") for j, m in enumerate(_list(inp.get("segments"), "segments"))]
    r1 = [codec.exponent_in(r, f"r1[{j}]") for j, r in enumerate(_list(inp.get("r1"), "r1"))]
    r2 = [codec.exponent_in(r, f"r2[{j}]") for j, r in enumerate(_list(inp.get("r2"), "r2"))]
    if len(r1) != len(r2):
        raise DimensionMismatchError(f"{len(r1)} values r1 but {len(r2)} values r2")
    draws = [r for pair in zip(r1, r2) for r in pair]
    key = ServerKey(tuple(0 for _ in betas), tuple(betas))
    pk_s = codec.element_in(inp.get("pk_s"), "pk_s")
    rng = ReplayRandom(draws)
    ciphertext = profile_of(ctx.params).enc(ctx.params, key, pk_s, segments, rng)
    _all_used(rng, "r1/r2")
    return {"ciphertext": codec.ciphertext(ciphertext)}


def _chel_gen(ctx: Context, inp: Json) -> Json:
    cts = [ctx.codec.ciphertext_in(c, f"ciphertexts[{i}]") for i, c in enumerate(_list(inp.get("ciphertexts"), "ciphertexts"))]
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    return {"challenge": [ctx.codec.element(r) for r in chelgen.chel_gen(ctx.params, cts)]}


def _check_challenge(ctx: Context, inp: Json) -> Json:
    announced = [ctx.codec.elements(row, f"announced[{k}]") for k, row in enumerate(_list(inp.get("announced"), "announced"))]
    chelgen.check_challenge(ctx.params, ctx.codec.elements(inp.get("challenge"), "challenge"), announced,
                            ctx.codec.elements(inp.get("own"), "own"))
    return {}


def _res_gen(ctx: Context, inp: Json) -> Json:
    response = resgen.res_gen(ctx.params, ctx.codec.elements(inp.get("challenge"), "challenge"),
                              ctx.codec.exponent_in(inp.get("sk"), "sk"))
    return {"response": [ctx.codec.element(t) for t in response]}


def _agg(ctx: Context, inp: Json) -> Json:
    cts = [ctx.codec.ciphertext_in(c, f"ciphertexts[{i}]") for i, c in enumerate(_list(inp.get("ciphertexts"), "ciphertexts"))]
    responses = [ctx.codec.elements(t, f"responses[{i}]") for i, t in enumerate(_list(inp.get("responses"), "responses"))]
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    a = agg.agg(ctx.params, cts, responses)
    return {"e_agg": [ctx.codec.e1(x) for x in a.e_agg], "d": [ctx.codec.element(x) for x in a.d],
            "t": [ctx.codec.element(x) for x in a.t]}


def _dec(ctx: Context, inp: Json) -> Json:
    codec = ctx.codec
    alphas = [codec.exponent_in(a, f"alphas[{j}]") for j, a in enumerate(_list(inp.get("alphas"), "alphas"))]
    aggregate = Aggregate(tuple(codec.e1_in(x, f"e_agg[{j}]") for j, x in enumerate(_list(inp.get("e_agg"), "e_agg"))),
                          tuple(codec.elements(inp.get("d"), "d")), tuple(codec.elements(inp.get("t"), "t")))
    key = ServerKey(tuple(alphas), tuple(0 for _ in alphas))
    decrypt = dec.dec_paper if ctx.params.profile == "paper" else dec.dec_v1
    return {"sums": [codec.message(m) for m in decrypt(ctx.params, key, aggregate)]}


def _decode(ctx: Context, inp: Json) -> Json:
    sums = [ctx.codec.message_in(m, f"sums[{j}]") for j, m in enumerate(_list(inp.get("sums"), "sums"))]
    clients = _int(inp.get("clients"), "clients", 1, 2**32 - 1)
    dim = _int(inp.get("dim"), "dim", 0, 2**32 - 1)
    weighted, weight_sum = profile_of(ctx.params).decode(sums, ctx.encoding, clients, dim, ctx.params)
    return {"weighted_sums": weighted, "weight_sum": weight_sum}


def _recover(ctx: Context, inp: Json) -> Json:
    a = [minimal_hex_in(x, f"a[{j}]") for j, x in enumerate(_list(inp.get("a"), "a"))]
    encoding.check_super_increasing(a, _int(inp.get("bound"), "bound", 1, 2**64), ctx.params.message_modulus)
    return {"values": encoding.recover(ctx.codec.message_in(inp.get("total"), "total"), a)}


OPERATIONS: dict[str, Callable[[Context, Json], Json]] = {
    "SysGen": _sys_gen,
    "KeyGen": _key_gen,
    "AggPKGen": _agg_pk_gen,
    "CheckPkS": _check_pk_s,
    "SE": _se,
    "DSE": _dse,
    "Quantize": _quantize,
    "Encode": _encode,
    "Enc": _enc,
    "ChelGen": _chel_gen,
    "CheckChallenge": _check_challenge,
    "ResGen": _res_gen,
    "Agg": _agg,
    "Dec": _dec,
    "Decode": _decode,
    "Recover": _recover,
}


def context(request: Json) -> Context:
    params = params_from_json(request["params"])
    if request.get("profile", params.profile) != params.profile:
        raise ParameterError(f"profile {request.get('profile')!r} does not match the params ({params.profile!r})")
    encoding_data = request.get("encoding")
    encoding_ = Encoding() if encoding_data is None else encoding_from_json(encoding_data)
    return Context(params, encoding_, Codec(params))


def handle(request: Json) -> Json:
    """Run one request against the reference. Never raises on bad input: errors come back typed."""
    try:
        if not isinstance(request, dict) or not isinstance(request.get("op"), str) or request["op"] not in OPERATIONS:
            raise MalformedInputError(f"unknown operation {request.get('op') if isinstance(request, dict) else request!r}")
        if not isinstance(request.get("inputs"), dict) or not isinstance(request.get("params"), dict):
            raise MalformedInputError("a request needs objects 'params' and 'inputs'")
        return {"outputs": OPERATIONS[request["op"]](context(request), request["inputs"])}
    except MpksaError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}


class ReferenceAdapter:
    """The reference as a conformance adapter (`--adapter mpksa.ops:REFERENCE`).

    An adapter is any object with capabilities() and handle(request); see spec chapter 9.
    """

    name = "mpksa-reference"

    def capabilities(self) -> Json:
        return {"name": self.name, "profiles": ["paper", "v1"], "operations": sorted(OPERATIONS)}

    def handle(self, request: Json) -> Json:
        return handle(request)


REFERENCE = ReferenceAdapter()
