"""The fast implementation behind the wire contract (spec chapters 6 and 9).

The envelope, params and encoding objects and byte encodings come from the shared contract
(`mpksa.wire`); the handlers call the fast implementation's own operations. Inputs are read in
the contract's order so that a request with one bad value gets the same error code as from any
other implementation. Profiles `v1` and `v2` are implemented (not `paper`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

from mpksa.encoding import Encoding, check_super_increasing
from mpksa.errors import DimensionMismatchError, MalformedInputError, ParameterError
from mpksa.messages import Aggregate
from mpksa.params import V1Params, V2Params
from mpksa.randomness import ReplayRandom
from mpksa.wire.codec import Codec, Json, as_int, as_list, bytes_from_hex, client_id_in, float_from_json, minimal_hex_in, round_in
from mpksa.wire.contract import Request, dispatch

from . import encoding as fast_encoding
from .v1 import NONCE_BYTES, FastV1
from .v2 import FastV2


@dataclass(frozen=True)
class Context:
    fast: FastV1
    encoding: Encoding
    codec: Codec


@lru_cache(maxsize=16)
def _fast(params: V1Params, variable_time: bool) -> FastV1:
    """One engine per parameter set: constant time unless `variable_time`."""
    if isinstance(params, V2Params):
        return FastV2(params, variable_time=variable_time)
    return FastV1(params, variable_time=variable_time)


def context(request: Request, variable_time: bool = False) -> Context:
    if not isinstance(request.params, V1Params):
        raise ParameterError(f"profile {request.params.profile!r} is not implemented by the fast implementation (v1 and v2 only)")
    return Context(_fast(request.params, variable_time), request.encoding, Codec(request.params))


# --- operations ----------------------------------------------------------------------------------

def _sys_gen(ctx: Context, inp: Json) -> Json:
    alphas = ctx.codec.exponents(inp.get("alphas"), "alphas")
    if not alphas:
        raise MalformedInputError("SysGen of v1 draws one alpha; none was given")
    beta = ctx.fast.sys_gen(alphas[0])
    if len(alphas) > 1:
        raise MalformedInputError(f"SysGen of v1 draws one alpha; {len(alphas)} were given")
    return {"betas": [ctx.codec.element(beta)]}


def _key_gen(ctx: Context, inp: Json) -> Json:
    return {"pk": ctx.codec.element(ctx.fast.key_gen(ctx.codec.exponent_in(inp.get("sk"), "sk")))}


def _agg_pk_gen(ctx: Context, inp: Json) -> Json:
    keys = ctx.codec.public_keys_in(inp.get("public_keys"), "public_keys")
    return {"pk_s": ctx.codec.element(ctx.fast.agg_pk_gen(keys))}


def _check_pk_s(ctx: Context, inp: Json) -> Json:
    pk_s, pk_i = ctx.codec.element_in(inp.get("pk_s"), "pk_s"), ctx.codec.element_in(inp.get("pk_i"), "pk_i")
    announced = inp.get("announced")
    ctx.fast.check_pk_s(pk_s, pk_i, None if announced is None else ctx.codec.elements(announced, "announced"))
    return {}


def _se(ctx: Context, inp: Json) -> Json:
    nonce = bytes_from_hex(inp.get("nonce"), "nonce")
    if len(nonce) != NONCE_BYTES:
        raise MalformedInputError(f"nonce has {len(nonce)} bytes, expected {NONCE_BYTES}")
    pk_i, alpha = ctx.codec.element_in(inp.get("pk_i"), "pk_i"), ctx.codec.exponent_in(inp.get("alpha"), "alpha")
    model = bytes_from_hex(inp.get("model"), "model")
    round_id = round_in(inp.get("round"), "round")
    client_id = client_id_in(inp.get("client_id"), "client_id")
    return {"sealed": ctx.fast.seal(pk_i, alpha, model, round_id, client_id, ReplayRandom([nonce])).hex()}


def _dse(ctx: Context, inp: Json) -> Json:
    beta, sk = ctx.codec.element_in(inp.get("beta"), "beta"), ctx.codec.exponent_in(inp.get("sk"), "sk")
    sealed = bytes_from_hex(inp.get("sealed"), "sealed")
    round_id = round_in(inp.get("round"), "round")
    client_id = client_id_in(inp.get("client_id"), "client_id")
    return {"model": ctx.fast.unseal(beta, sk, sealed, round_id, client_id).hex()}


def _quantize(ctx: Context, inp: Json) -> Json:
    values = [float_from_json(v, f"values[{j}]") for j, v in enumerate(as_list(inp.get("values"), "values"))]
    clip = inp.get("clip", True)
    if not isinstance(clip, bool):
        raise MalformedInputError(f"clip = {clip!r} must be a boolean")
    return {"quantized": [int(q) for q in fast_encoding.quantize(values, ctx.encoding, clip).tolist()]}


def _encode(ctx: Context, inp: Json) -> Json:
    quantized = [as_int(q, f"quantized[{j}]", -(2**63), 2**63) for j, q in enumerate(as_list(inp.get("quantized"), "quantized"))]
    weight = as_int(inp.get("weight"), "weight", -(2**63), 2**63)
    segments = fast_encoding.encode(quantized, weight, ctx.encoding, ctx.fast.params.modulus_bits)
    return {"segments": [ctx.codec.message(m) for m in segments]}


def _enc(ctx: Context, inp: Json) -> Json:
    betas = ctx.codec.elements(inp.get("betas"), "betas")
    segments = ctx.codec.messages(inp.get("segments"), "segments")
    r1, r2 = ctx.codec.exponents(inp.get("r1"), "r1"), ctx.codec.exponents(inp.get("r2"), "r2")
    if len(r1) != len(r2):
        raise DimensionMismatchError(f"{len(r1)} values r1 but {len(r2)} values r2")
    draws = [r for pair in zip(r1, r2) for r in pair]
    if isinstance(ctx.fast, FastV2):  # the mask exponent r_i is drawn first, then the carrier's r1, r2
        draws.insert(0, ctx.codec.mask_in(inp.get("r"), "r"))
    pk_s = ctx.codec.element_in(inp.get("pk_s"), "pk_s")
    if len(betas) != 1:
        raise DimensionMismatchError(f"beta has {len(betas)} entries, expected 1")
    rng = ReplayRandom(draws)
    ciphertext = ctx.fast.enc(betas[0], pk_s, segments, rng)
    rng.check_all_used("r/r1/r2" if isinstance(ctx.fast, FastV2) else "r1/r2")
    return {"ciphertext": ctx.codec.ciphertext(ciphertext)}


def _chel_gen(ctx: Context, inp: Json) -> Json:
    cts = ctx.codec.ciphertexts_in(inp.get("ciphertexts"), "ciphertexts")
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    return {"challenge": [ctx.codec.element(r) for r in ctx.fast.chel_gen(cts)]}


def _check_challenge(ctx: Context, inp: Json) -> Json:
    announced = [ctx.codec.elements(row, f"announced[{k}]") for k, row in enumerate(as_list(inp.get("announced"), "announced"))]
    challenge, own = ctx.codec.elements(inp.get("challenge"), "challenge"), ctx.codec.elements(inp.get("own"), "own")
    ctx.fast.check_challenge(challenge, announced, own)
    return {}


def _res_gen(ctx: Context, inp: Json) -> Json:
    challenge, sk = ctx.codec.elements(inp.get("challenge"), "challenge"), ctx.codec.exponent_in(inp.get("sk"), "sk")
    return {"response": [ctx.codec.element(t) for t in ctx.fast.res_gen(challenge, sk)]}


def _agg(ctx: Context, inp: Json) -> Json:
    cts = ctx.codec.ciphertexts_in(inp.get("ciphertexts"), "ciphertexts")
    responses = [ctx.codec.elements(t, f"responses[{i}]") for i, t in enumerate(as_list(inp.get("responses"), "responses"))]
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    a = ctx.fast.agg(cts, responses)
    return {"e_agg": [ctx.codec.e1(x) for x in a.e_agg], "d": [ctx.codec.element(x) for x in a.d],
            "t": [ctx.codec.element(x) for x in a.t]}


def _dec(ctx: Context, inp: Json) -> Json:
    alphas = ctx.codec.exponents(inp.get("alphas"), "alphas")
    aggregate = Aggregate(tuple(ctx.codec.elements(inp.get("e_agg"), "e_agg")), tuple(ctx.codec.elements(inp.get("d"), "d")),
                          tuple(ctx.codec.elements(inp.get("t"), "t")))
    clients = as_int(inp.get("clients"), "clients", 1, 2**32 - 1) if isinstance(ctx.fast, FastV2) else None
    if len(alphas) != 1:
        raise DimensionMismatchError(f"alpha has {len(alphas)} entries, expected 1")
    # v2 checks the carrier's mask sum against |S| (spec 10.6)
    sums = ctx.fast.dec(alphas[0], aggregate) if clients is None else ctx.fast.dec(alphas[0], aggregate, clients)  # type: ignore[call-arg]
    return {"sums": [ctx.codec.message(m) for m in sums]}


def _decode(ctx: Context, inp: Json) -> Json:
    sums = ctx.codec.messages(inp.get("sums"), "sums")
    clients = as_int(inp.get("clients"), "clients", 1, 2**32 - 1)
    dim = as_int(inp.get("dim"), "dim", 0, 2**32 - 1)
    weighted, weight_sum = fast_encoding.decode(sums, ctx.encoding, clients, dim, ctx.fast.params.modulus_bits)
    return {"weighted_sums": [int(v) for v in weighted.tolist()], "weight_sum": weight_sum}


def _recover(ctx: Context, inp: Json) -> Json:
    """Algorithm 2 for an arbitrary super-increasing a (Sec. 3.1), checked first."""
    a = [minimal_hex_in(text, f"a[{j}]") for j, text in enumerate(as_list(inp.get("a"), "a"))]
    bound = as_int(inp.get("bound"), "bound", 1, 2**64)
    check_super_increasing(a, bound, ctx.fast.params.n)
    t = ctx.codec.message_in(inp.get("total"), "total")
    values = [0] * len(a)
    for i in range(len(a) - 1, 0, -1):
        values[i], t = divmod(t, a[i])
    values[0] = t
    return {"values": values}


def _prove(ctx: Context, inp: Json) -> Json:
    statement = ctx.codec.statement_in(inp.get("statement"), "statement")
    x, k = ctx.codec.exponent_in(inp.get("x"), "x"), ctx.codec.nonce_in(inp.get("k"), "k")
    y, proof = ctx.fast.prove(statement, x, k)
    return {"element": ctx.codec.element(y), "proof": ctx.codec.proof(proof)}


def _check_proof(ctx: Context, inp: Json) -> Json:
    statement = ctx.codec.statement_in(inp.get("statement"), "statement")
    y, proof = ctx.codec.element_in(inp.get("element"), "element"), ctx.codec.proof_in(inp.get("proof"), "proof")
    ctx.fast.check_proof(statement, y, proof)
    return {}


def _check_element(ctx: Context, inp: Json) -> Json:
    ctx.fast.check_element(ctx.codec.element_in(inp.get("element"), "element"), "element")
    return {}


OPERATIONS = {
    "SysGen": _sys_gen, "KeyGen": _key_gen, "AggPKGen": _agg_pk_gen, "CheckPkS": _check_pk_s,
    "SE": _se, "DSE": _dse, "Quantize": _quantize, "Encode": _encode, "Enc": _enc,
    "ChelGen": _chel_gen, "CheckChallenge": _check_challenge, "ResGen": _res_gen, "Agg": _agg,
    "Dec": _dec, "Decode": _decode, "Recover": _recover,
    "Prove": _prove, "CheckProof": _check_proof, "CheckElement": _check_element,
}


def handle(request: Json, variable_time: bool = False) -> Json:
    """Answer one request; bad input always comes back as a typed error, never an exception."""
    return dispatch(request, OPERATIONS, partial(context, variable_time=variable_time))


class FastAdapter:
    """The fast implementation as a conformance adapter (`--adapter mpksa.fast:ADAPTER`, constant time;
    `mpksa.fast:VARIABLE_TIME_ADAPTER` runs the same vectors through the variable-time engine)."""

    def __init__(self, variable_time: bool = False) -> None:
        self.variable_time = variable_time
        self.name = "mpksa-fast-variable-time" if variable_time else "mpksa-fast"

    def capabilities(self) -> Json:
        return {"name": self.name, "profiles": ["v1", "v2"], "operations": sorted(OPERATIONS)}

    def handle(self, request: Json) -> Json:
        return handle(request, self.variable_time)
