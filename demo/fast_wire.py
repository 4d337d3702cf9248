"""The fast implementation behind the JSON wire contract (spec chapters 6 and 9, `mpksa.ops`).

A request {"op", "profile", "params", "encoding", "inputs"} gets {"outputs": ...} or
{"error": {"code", "message"}}, with integers as fixed-length big-endian lowercase hex. Inputs are
read in the contract's order so that a request with one bad value gets the same error code as from
any other implementation. Only profile `v1` is implemented.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mpksa.errors import (
    DimensionMismatchError,
    ExponentRangeError,
    MalformedInputError,
    MpksaError,
    NonFiniteValueError,
    ParameterError,
)
from mpksa import ops
from mpksa.encoding import Encoding
from mpksa.ops import bytes_from_hex, from_hex, to_hex
from mpksa.params import V1Params

from . import fast_encoding
from .fast_encoding import FastEncoding
from .fast_v1 import NONCE_BYTES, FastAggregate, FastCiphertext, FastV1, Group

Json = dict[str, Any]
# The wire codec and the parsing of params and encoding objects are plumbing, not algorithm:
# they come from mpksa.ops, so both implementations read the contract the same way.


def as_list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedInputError(f"{name} must be a list, got {type(value).__name__}")
    return value


def as_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedInputError(f"{name} = {value!r} must be an integer in [{low}, {high}]")
    return value


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def as_float(value: object, name: str) -> float:
    """A JSON number, or one of the strings NaN, Infinity, -Infinity."""
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedInputError(f"{name} = {value!r} must be a number, 'NaN', 'Infinity' or '-Infinity'")
    try:
        return float(value)
    except OverflowError:
        raise NonFiniteValueError(f"{name} is an integer beyond the binary64 range") from None


# --- context: group, encoding, codec -------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    fast: FastV1
    encoding: FastEncoding

    @property
    def group(self) -> Group:
        return self.fast.group

    def element(self, x: int) -> str:
        return to_hex(x, self.group.n2)

    def element_in(self, text: object, name: str) -> int:
        return from_hex(text, self.group.n2, name)

    def elements(self, texts: object, name: str) -> list[int]:
        return [self.element_in(t, f"{name}[{j}]") for j, t in enumerate(as_list(texts, name))]

    def exponent(self, x: int) -> str:
        return to_hex(x, self.group.exponent_bound)

    def exponent_in(self, text: object, name: str) -> int:
        """Fixed-length hex, then the range [1, bound) of every explicit exponent (spec 5.4)."""
        x = from_hex(text, self.group.exponent_bound, name)
        if not 0 < x < self.group.exponent_bound:
            raise ExponentRangeError(f"{name} must lie in [1, 2^{self.group.exponent_bound.bit_length() - 1})")
        return x

    def exponents(self, texts: object, name: str) -> list[int]:
        return [self.exponent_in(t, f"{name}[{j}]") for j, t in enumerate(as_list(texts, name))]

    def message(self, x: int) -> str:
        """Packed segments and their sums are integers mod n."""
        return to_hex(x % self.group.n, self.group.n)

    def message_in(self, text: object, name: str) -> int:
        return from_hex(text, self.group.n, name)

    def messages(self, texts: object, name: str) -> list[int]:
        return [self.message_in(t, f"{name}[{j}]") for j, t in enumerate(as_list(texts, name))]

    def ciphertext(self, c: FastCiphertext) -> Json:
        return {"e1": [self.element(x) for x in c.e1], "e2": [[self.element(a), self.element(b)] for a, b in c.e2]}

    def ciphertext_in(self, data: object, name: str) -> FastCiphertext:
        if not isinstance(data, dict):
            raise MalformedInputError(f"{name} must be an object with e1 and e2")
        e1 = self.elements(data.get("e1"), f"{name}.e1")
        pairs = [self.elements(pair, f"{name}.e2[{j}]") for j, pair in enumerate(as_list(data.get("e2"), f"{name}.e2"))]
        if any(len(pair) != 2 for pair in pairs):
            raise MalformedInputError(f"{name}.e2 must hold pairs")
        return FastCiphertext(e1, [(a, b) for a, b in pairs])


@lru_cache(maxsize=8)
def _fast(n: int, g: int, exponent_bits: int) -> FastV1:
    return FastV1(Group(n, g, exponent_bits))


def group_from_json(data: object) -> Group:
    """A v1 params object, read and checked by the shared wire contract (spec 6.4)."""
    params = ops.params_from_json(data)  # type: ignore[arg-type]
    if not isinstance(params, V1Params):
        raise ParameterError("profile 'paper' is not implemented by the fast implementation (v1 only)")
    return Group.of(params)


def encoding_from_json(data: object) -> FastEncoding:
    """None: the default encoding; otherwise exactly frac_bits, clip, weight_max, max_clients (spec 6.4)."""
    enc = Encoding() if data is None else ops.encoding_from_json(data)
    return FastEncoding(enc.frac_bits, enc.clip, enc.weight_max, enc.max_clients)


def context(request: Json) -> Context:
    group = group_from_json(request["params"])
    if request.get("profile", "v1") != "v1":
        raise ParameterError(f"profile {request.get('profile')!r} does not match the params ('v1')")
    return Context(_fast(group.n, group.g, group.exponent_bits), encoding_from_json(request.get("encoding")))


# --- operations ----------------------------------------------------------------------------------

def _sys_gen(ctx: Context, inp: Json) -> Json:
    alphas = ctx.exponents(inp.get("alphas"), "alphas")
    if not alphas:
        raise MalformedInputError("SysGen of v1 draws one alpha; none was given")
    beta = ctx.fast.sys_gen(alphas[0])
    if len(alphas) > 1:
        raise MalformedInputError(f"SysGen of v1 draws one alpha; {len(alphas)} were given")
    return {"betas": [ctx.element(beta)]}


def _key_gen(ctx: Context, inp: Json) -> Json:
    return {"pk": ctx.element(ctx.fast.key_gen(ctx.exponent_in(inp.get("sk"), "sk")))}


def _agg_pk_gen(ctx: Context, inp: Json) -> Json:
    keys = []
    for j, entry in enumerate(as_list(inp.get("public_keys"), "public_keys")):
        if not isinstance(entry, dict):
            raise MalformedInputError(f"public_keys[{j}] must be an object with id and pk")
        keys.append((as_int(entry.get("id"), f"public_keys[{j}].id", 0, 2**32 - 1),
                     ctx.element_in(entry.get("pk"), f"public_keys[{j}].pk")))
    return {"pk_s": ctx.element(ctx.fast.agg_pk_gen(keys))}


def _check_pk_s(ctx: Context, inp: Json) -> Json:
    pk_s, pk_i = ctx.element_in(inp.get("pk_s"), "pk_s"), ctx.element_in(inp.get("pk_i"), "pk_i")
    announced = inp.get("announced")
    ctx.fast.check_pk_s(pk_s, pk_i, None if announced is None else ctx.elements(announced, "announced"))
    return {}


def _se(ctx: Context, inp: Json) -> Json:
    nonce = bytes_from_hex(inp.get("nonce"), "nonce")
    if len(nonce) != NONCE_BYTES:
        raise MalformedInputError(f"nonce has {len(nonce)} bytes, expected {NONCE_BYTES}")
    pk_i, alpha = ctx.element_in(inp.get("pk_i"), "pk_i"), ctx.exponent_in(inp.get("alpha"), "alpha")
    model = bytes_from_hex(inp.get("model"), "model")
    round_id = as_int(inp.get("round"), "round", 0, 2**64 - 1)
    client_id = as_int(inp.get("client_id"), "client_id", 0, 2**32 - 1)
    return {"sealed": ctx.fast.seal(pk_i, alpha, model, round_id, client_id, nonce).hex()}


def _dse(ctx: Context, inp: Json) -> Json:
    beta, sk = ctx.element_in(inp.get("beta"), "beta"), ctx.exponent_in(inp.get("sk"), "sk")
    sealed = bytes_from_hex(inp.get("sealed"), "sealed")
    round_id = as_int(inp.get("round"), "round", 0, 2**64 - 1)
    client_id = as_int(inp.get("client_id"), "client_id", 0, 2**32 - 1)
    return {"model": ctx.fast.unseal(beta, sk, sealed, round_id, client_id).hex()}


def _quantize(ctx: Context, inp: Json) -> Json:
    values = [as_float(v, f"values[{j}]") for j, v in enumerate(as_list(inp.get("values"), "values"))]
    clip = inp.get("clip", True)
    if not isinstance(clip, bool):
        raise MalformedInputError(f"clip = {clip!r} must be a boolean")
    return {"quantized": [int(q) for q in fast_encoding.quantize(values, ctx.encoding, clip).tolist()]}


def _encode(ctx: Context, inp: Json) -> Json:
    quantized = [as_int(q, f"quantized[{j}]", -(2**63), 2**63) for j, q in enumerate(as_list(inp.get("quantized"), "quantized"))]
    weight = as_int(inp.get("weight"), "weight", -(2**63), 2**63)
    segments = fast_encoding.encode(quantized, weight, ctx.encoding, ctx.group.modulus_bits)
    return {"segments": [ctx.message(m) for m in segments]}


def _enc(ctx: Context, inp: Json) -> Json:
    betas = ctx.elements(inp.get("betas"), "betas")
    segments = ctx.messages(inp.get("segments"), "segments")
    r1, r2 = ctx.exponents(inp.get("r1"), "r1"), ctx.exponents(inp.get("r2"), "r2")
    if len(r1) != len(r2):
        raise DimensionMismatchError(f"{len(r1)} values r1 but {len(r2)} values r2")
    pk_s = ctx.element_in(inp.get("pk_s"), "pk_s")
    if len(betas) != 1:
        raise DimensionMismatchError(f"beta has {len(betas)} entries, expected 1")
    return {"ciphertext": ctx.ciphertext(ctx.fast.enc(betas[0], pk_s, segments, r1, r2))}


def _ciphertexts(ctx: Context, inp: Json) -> list[FastCiphertext]:
    return [ctx.ciphertext_in(c, f"ciphertexts[{i}]") for i, c in enumerate(as_list(inp.get("ciphertexts"), "ciphertexts"))]


def _chel_gen(ctx: Context, inp: Json) -> Json:
    cts = _ciphertexts(ctx, inp)
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    return {"challenge": [ctx.element(r) for r in ctx.fast.chel_gen(cts)]}


def _check_challenge(ctx: Context, inp: Json) -> Json:
    announced = [ctx.elements(row, f"announced[{k}]") for k, row in enumerate(as_list(inp.get("announced"), "announced"))]
    challenge, own = ctx.elements(inp.get("challenge"), "challenge"), ctx.elements(inp.get("own"), "own")
    ctx.fast.check_challenge(challenge, announced, own)
    return {}


def _res_gen(ctx: Context, inp: Json) -> Json:
    challenge, sk = ctx.elements(inp.get("challenge"), "challenge"), ctx.exponent_in(inp.get("sk"), "sk")
    return {"response": [ctx.element(t) for t in ctx.fast.res_gen(challenge, sk)]}


def _agg(ctx: Context, inp: Json) -> Json:
    cts = _ciphertexts(ctx, inp)
    responses = [ctx.elements(t, f"responses[{i}]") for i, t in enumerate(as_list(inp.get("responses"), "responses"))]
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    a = ctx.fast.agg(cts, responses)
    return {"e_agg": [ctx.element(x) for x in a.e_agg], "d": [ctx.element(x) for x in a.d],
            "t": [ctx.element(x) for x in a.t]}


def _dec(ctx: Context, inp: Json) -> Json:
    alphas = ctx.exponents(inp.get("alphas"), "alphas")
    aggregate = FastAggregate(ctx.elements(inp.get("e_agg"), "e_agg"), ctx.elements(inp.get("d"), "d"),
                              ctx.elements(inp.get("t"), "t"))
    if len(alphas) != 1:
        raise DimensionMismatchError(f"alpha has {len(alphas)} entries, expected 1")
    return {"sums": [ctx.message(m) for m in ctx.fast.dec(alphas[0], aggregate)]}


def _decode(ctx: Context, inp: Json) -> Json:
    sums = ctx.messages(inp.get("sums"), "sums")
    clients = as_int(inp.get("clients"), "clients", 1, 2**32 - 1)
    dim = as_int(inp.get("dim"), "dim", 0, 2**32 - 1)
    weighted, weight_sum = fast_encoding.decode(sums, ctx.encoding, clients, dim, ctx.group.modulus_bits)
    return {"weighted_sums": [int(v) for v in weighted.tolist()], "weight_sum": weight_sum}


def _recover(ctx: Context, inp: Json) -> Json:
    """Algorithm 2 for an arbitrary super-increasing a (Sec. 3.1), checked first."""
    a = [ops.minimal_hex_in(text, f"a[{j}]") for j, text in enumerate(as_list(inp.get("a"), "a"))]
    bound = as_int(inp.get("bound"), "bound", 1, 2**64)
    check_super_increasing(a, bound, ctx.group.n)
    t = ctx.message_in(inp.get("total"), "total")
    values = [0] * len(a)
    for i in range(len(a) - 1, 0, -1):
        values[i], t = divmod(t, a[i])
    values[0] = t
    return {"values": values}


def check_super_increasing(a: list[int], bound: int, modulus: int) -> None:
    """Sec. 3.1: a_1 = 1, sum_{j<i} a_j * bound < a_i, and sum_j a_j * bound < n."""
    if not a or a[0] != 1:
        raise ParameterError(f"a must start with a_1 = 1, got {a[:1]}")
    total = 0
    for i, a_i in enumerate(a):
        if i > 0 and total >= a_i:
            raise ParameterError(f"a_{i + 1} must exceed sum_(j<{i + 1}) a_j * {bound}")
        total += a_i * bound
    if total >= modulus:
        raise ParameterError(f"sum_j a_j * {bound} must be below the modulus")


OPERATIONS: dict[str, Callable[[Context, Json], Json]] = {
    "SysGen": _sys_gen, "KeyGen": _key_gen, "AggPKGen": _agg_pk_gen, "CheckPkS": _check_pk_s,
    "SE": _se, "DSE": _dse, "Quantize": _quantize, "Encode": _encode, "Enc": _enc,
    "ChelGen": _chel_gen, "CheckChallenge": _check_challenge, "ResGen": _res_gen, "Agg": _agg,
    "Dec": _dec, "Decode": _decode, "Recover": _recover,
}


def handle(request: Json) -> Json:
    """Answer one request; bad input always comes back as a typed error, never an exception."""
    try:
        op = request.get("op") if isinstance(request, dict) else None
        if not isinstance(op, str) or op not in OPERATIONS:
            raise MalformedInputError(f"unknown operation {op!r}")
        if not isinstance(request.get("inputs"), dict) or not isinstance(request.get("params"), dict):
            raise MalformedInputError("a request needs objects 'params' and 'inputs'")
        return {"outputs": OPERATIONS[op](context(request), request["inputs"])}
    except MpksaError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}


class FastAdapter:
    """The fast implementation as a conformance adapter (`--adapter mpksa.demo.fast:ADAPTER`)."""

    name = "mpksa-demo-fast"

    def capabilities(self) -> Json:
        return {"name": self.name, "profiles": ["v1"], "operations": sorted(OPERATIONS)}

    def handle(self, request: Json) -> Json:
        return handle(request)
