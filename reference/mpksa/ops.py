"""The reference's operations on the wire: every algorithm as a JSON handler, with explicit randomness.

The envelope, the params and encoding objects and the byte encodings are the shared contract
(`mpksa.wire`); what each handler computes is the reference's (spec chapters 6, 8 and 9).
Randomness is never drawn here: every random value is an input and is replayed into the
reference function, which checks that each one is used exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import aggpkgen, agg, chelgen, dec, encoding, keygen, proofs, resgen, se, sysgen, validate
from .encoding import Encoding
from .errors import DimensionMismatchError, MalformedInputError
from .messages import Aggregate, ServerKey
from .params import Params
from .profiles import profile_of
from .randomness import ReplayRandom
from .wire.codec import Codec, Json, as_int, as_list, bytes_from_hex, client_id_in, float_from_json, minimal_hex_in, round_in
from .wire.contract import PROFILE_NAMES, Request, dispatch


@dataclass(frozen=True)
class Context:
    params: Params
    encoding: Encoding
    codec: Codec


# Each handler maps JSON inputs to JSON outputs through the reference functions.

def _sys_gen(ctx: Context, inp: Json) -> Json:
    alphas = ctx.codec.exponents(inp.get("alphas"), "alphas")
    rng = ReplayRandom(alphas)
    if ctx.params.profile == "paper":
        key = sysgen.sys_gen_paper(ctx.params, len(alphas), rng)
    else:
        key = sysgen.sys_gen_v1(ctx.params, rng)
    rng.check_all_used("alpha")
    return {"betas": [ctx.codec.element(b) for b in key.betas]}


def _key_gen(ctx: Context, inp: Json) -> Json:
    pair = keygen.key_gen(ctx.params, ReplayRandom([ctx.codec.exponent_in(inp.get("sk"), "sk")]))
    return {"pk": ctx.codec.element(pair.pk)}


def _agg_pk_gen(ctx: Context, inp: Json) -> Json:
    keys = ctx.codec.public_keys_in(inp.get("public_keys"), "public_keys")
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
                   round_in(inp.get("round"), "round"), client_id_in(inp.get("client_id"), "client_id"),
                   ReplayRandom([nonce]))
    return {"sealed": sealed.hex()}


def _dse(ctx: Context, inp: Json) -> Json:
    model = se.dse(ctx.params, ctx.codec.element_in(inp.get("beta"), "beta"),
                   ctx.codec.exponent_in(inp.get("sk"), "sk"), bytes_from_hex(inp.get("sealed"), "sealed"),
                   round_in(inp.get("round"), "round"), client_id_in(inp.get("client_id"), "client_id"))
    return {"model": model.hex()}


def _quantize(ctx: Context, inp: Json) -> Json:
    values = [float_from_json(v, f"values[{j}]") for j, v in enumerate(as_list(inp.get("values"), "values"))]
    clip = inp.get("clip", True)
    if not isinstance(clip, bool):
        raise MalformedInputError(f"clip = {clip!r} must be a boolean")
    return {"quantized": encoding.quantize(values, ctx.encoding, clip)}


def _encode(ctx: Context, inp: Json) -> Json:
    quantized = [as_int(q, f"quantized[{j}]", -(2**63), 2**63) for j, q in enumerate(as_list(inp.get("quantized"), "quantized"))]
    weight = as_int(inp.get("weight"), "weight", -(2**63), 2**63)
    segments = profile_of(ctx.params).encode(quantized, weight, ctx.encoding, ctx.params)
    return {"segments": [ctx.codec.message(m) for m in segments]}


def _enc(ctx: Context, inp: Json) -> Json:
    codec = ctx.codec
    betas = codec.elements(inp.get("betas"), "betas")
    segments = codec.messages(inp.get("segments"), "segments")
    r1, r2 = codec.exponents(inp.get("r1"), "r1"), codec.exponents(inp.get("r2"), "r2")
    if len(r1) != len(r2):
        raise DimensionMismatchError(f"{len(r1)} values r1 but {len(r2)} values r2")
    draws = [r for pair in zip(r1, r2) for r in pair]
    if ctx.params.profile == "v2":  # the mask exponent r_i is drawn first, then the carrier's r1, r2
        draws.insert(0, codec.mask_in(inp.get("r"), "r"))
    key = ServerKey(tuple(0 for _ in betas), tuple(betas))
    pk_s = codec.element_in(inp.get("pk_s"), "pk_s")
    rng = ReplayRandom(draws)
    ciphertext = profile_of(ctx.params).enc(ctx.params, key, pk_s, segments, rng)
    rng.check_all_used("r/r1/r2" if ctx.params.profile == "v2" else "r1/r2")
    return {"ciphertext": codec.ciphertext(ciphertext)}


def _chel_gen(ctx: Context, inp: Json) -> Json:
    cts = ctx.codec.ciphertexts_in(inp.get("ciphertexts"), "ciphertexts")
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    return {"challenge": [ctx.codec.element(r) for r in chelgen.chel_gen(ctx.params, cts)]}


def _check_challenge(ctx: Context, inp: Json) -> Json:
    announced = [ctx.codec.elements(row, f"announced[{k}]") for k, row in enumerate(as_list(inp.get("announced"), "announced"))]
    chelgen.check_challenge(ctx.params, ctx.codec.elements(inp.get("challenge"), "challenge"), announced,
                            ctx.codec.elements(inp.get("own"), "own"))
    return {}


def _res_gen(ctx: Context, inp: Json) -> Json:
    response = resgen.res_gen(ctx.params, ctx.codec.elements(inp.get("challenge"), "challenge"),
                              ctx.codec.exponent_in(inp.get("sk"), "sk"))
    return {"response": [ctx.codec.element(t) for t in response]}


def _agg(ctx: Context, inp: Json) -> Json:
    cts = ctx.codec.ciphertexts_in(inp.get("ciphertexts"), "ciphertexts")
    responses = [ctx.codec.elements(t, f"responses[{i}]") for i, t in enumerate(as_list(inp.get("responses"), "responses"))]
    if not cts:
        raise MalformedInputError("ciphertexts must not be empty")
    a = agg.agg(ctx.params, cts, responses)
    return {"e_agg": [ctx.codec.e1(x) for x in a.e_agg], "d": [ctx.codec.element(x) for x in a.d],
            "t": [ctx.codec.element(x) for x in a.t]}


def _dec(ctx: Context, inp: Json) -> Json:
    codec = ctx.codec
    alphas = codec.exponents(inp.get("alphas"), "alphas")
    aggregate = Aggregate(tuple(codec.e1_in(x, f"e_agg[{j}]") for j, x in enumerate(as_list(inp.get("e_agg"), "e_agg"))),
                          tuple(codec.elements(inp.get("d"), "d")), tuple(codec.elements(inp.get("t"), "t")))
    key = ServerKey(tuple(alphas), tuple(0 for _ in alphas))
    if ctx.params.profile == "v2":  # v2 checks the carrier's mask sum against |S| (spec 10.6)
        sums = dec.dec_v2(ctx.params, key, aggregate, as_int(inp.get("clients"), "clients", 1, 2**32 - 1))
    else:
        sums = (dec.dec_paper if ctx.params.profile == "paper" else dec.dec_v1)(ctx.params, key, aggregate)
    return {"sums": [codec.message(m) for m in sums]}


def _decode(ctx: Context, inp: Json) -> Json:
    sums = ctx.codec.messages(inp.get("sums"), "sums")
    clients = as_int(inp.get("clients"), "clients", 1, 2**32 - 1)
    dim = as_int(inp.get("dim"), "dim", 0, 2**32 - 1)
    weighted, weight_sum = profile_of(ctx.params).decode(sums, ctx.encoding, clients, dim, ctx.params)
    return {"weighted_sums": weighted, "weight_sum": weight_sum}


def _recover(ctx: Context, inp: Json) -> Json:
    a = [minimal_hex_in(x, f"a[{j}]") for j, x in enumerate(as_list(inp.get("a"), "a"))]
    encoding.check_super_increasing(a, as_int(inp.get("bound"), "bound", 1, 2**64), ctx.params.message_modulus)
    return {"values": encoding.recover(ctx.codec.message_in(inp.get("total"), "total"), a)}


def _prove(ctx: Context, inp: Json) -> Json:
    """y = g^x (as KeyGen computes pk = g^sk) and the proof of knowledge of x under the statement."""
    statement = ctx.codec.statement_in(inp.get("statement"), "statement")
    x = ctx.codec.exponent_in(inp.get("x"), "x")
    rng = ReplayRandom([ctx.codec.nonce_in(inp.get("k"), "k")])
    y = keygen.key_gen(ctx.params, ReplayRandom([x])).pk
    proof = proofs.prove(ctx.params, x, y, statement, rng)
    rng.check_all_used("k")
    return {"element": ctx.codec.element(y), "proof": ctx.codec.proof(proof)}


def _check_proof(ctx: Context, inp: Json) -> Json:
    statement = ctx.codec.statement_in(inp.get("statement"), "statement")
    proofs.verify(ctx.params, ctx.codec.element_in(inp.get("element"), "element"),
                  ctx.codec.proof_in(inp.get("proof"), "proof"), statement, "element")
    return {}


def _check_element(ctx: Context, inp: Json) -> Json:
    validate.check_nondegenerate(ctx.params, ctx.codec.element_in(inp.get("element"), "element"), "element")
    return {}


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
    "Prove": _prove,
    "CheckProof": _check_proof,
    "CheckElement": _check_element,
}


def context(request: Request) -> Context:
    return Context(request.params, request.encoding, Codec(request.params))


def handle(request: Json) -> Json:
    """Run one request against the reference. Never raises on bad input: errors come back typed."""
    return dispatch(request, OPERATIONS, context)


class ReferenceAdapter:
    """The reference as a conformance adapter (`--adapter mpksa.ops:REFERENCE`).

    An adapter is any object with capabilities() and handle(request); see spec chapter 9.
    """

    name = "mpksa-reference"

    def capabilities(self) -> Json:
        return {"name": self.name, "profiles": list(PROFILE_NAMES), "operations": sorted(OPERATIONS)}

    def handle(self, request: Json) -> Json:
        return handle(request)


REFERENCE = ReferenceAdapter()
