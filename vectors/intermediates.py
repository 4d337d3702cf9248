"""Intermediate values of one operation, recomputed from its inputs (spec ch. 8).

They let an implementer find the first wrong step of a failing operation:
the masks of Enc (Sec. 3.2, review C.4), the L input of Dec (Sec. 3.3, review
C.5), the slots of Encode/Decode (Eq. (2), review C.8) and the AEAD key of
SE/DSE (Sec. 3.2). `generate` writes them and `verify` recomputes them with
this same function; only successful operations have them.
"""

from __future__ import annotations


import gmpy2

from mpksa import encoding as encoding_mod
from mpksa import proofs, se
from mpksa.encoding import Encoding
from mpksa.wire.codec import Codec, Json
from mpksa.params import PaperParams, Params, V1Params, V2Params
from mpksa.segment_bases import segment_bases



def compute(params: Params, encoding: Encoding, op: str, inputs: Json, outputs: Json | None) -> Json:
    """The derived intermediates of a successful operation, or {}."""
    if outputs is None or op not in _BY_OP:
        return {}
    return _BY_OP[op](params, encoding, inputs, Codec(params))


def _shared_key(params: Params, codec: Codec, base: int, exponent: int, inputs: Json) -> Json:
    shared = int(gmpy2.powmod(base, exponent, params.group_modulus))
    return {"shared": codec.element(shared), "key": se.symmetric_key(params, shared).hex(),
            "aad": se.associated_data(params, inputs["round"], inputs["client_id"]).hex()}


def _se(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """key_i = H(pk_i^alpha) and the associated data bound to the round and the client."""
    return _shared_key(params, codec, codec.element_in(inputs["pk_i"], "pk_i"),
                       codec.exponent_in(inputs["alpha"], "alpha"), inputs)


def _dse(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """key_i = H(beta^sk_i): the same key as SE's when beta = g^alpha and pk_i = g^sk_i."""
    return _shared_key(params, codec, codec.element_in(inputs["beta"], "beta"),
                       codec.exponent_in(inputs["sk"], "sk"), inputs)


def _encode(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """Eq. (1) weights, the E6 offset (v1 only), the slot width b and k slots per segment."""
    weighted = encoding_mod.weigh(inputs["quantized"], inputs["weight"], encoding)
    out: Json = {"weighted": weighted, "slot_bits": encoding.slot_bits,
                 "k": encoding.slots_per_segment(params.modulus_bits)}
    if params.profile != "paper":
        out["offset"] = encoding_mod.offset(weighted, encoding)
    return out


def _decode(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """Algorithm 2 on each segment sum: the raw slot sums before |S|*V is removed (v1)."""
    k = encoding.slots_per_segment(params.modulus_bits)
    sums = [codec.message_in(m, "sums") for m in inputs["sums"]]
    return {"k": k, "slots": encoding_mod.unpack_segments(sums, encoding, inputs["dim"] + 1, k)}


def _enc(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """The factors of every ciphertext component, per segment."""
    segments = [codec.message_in(m, "segments") for m in inputs["segments"]]
    betas = codec.elements(inputs["betas"], "betas")
    pk_s = codec.element_in(inputs["pk_s"], "pk_s")
    r1 = [codec.exponent_in(r, "r1") for r in inputs["r1"]]
    r2 = [codec.exponent_in(r, "r2") for r in inputs["r2"]]
    if isinstance(params, PaperParams):
        return _enc_paper(params, codec, segments, betas, pk_s, r1[0], r2[0])
    if isinstance(params, V2Params):
        return _enc_v2(params, codec, segments, betas[0], pk_s, codec.mask_in(inputs["r"], "r"), r1, r2)
    return _enc_v1(params, codec, segments, betas[0], pk_s, r1, r2)


def _enc_paper(params: PaperParams, codec: Codec, segments: list[int], betas: list[int], pk_s: int, r1: int,
               r2: int) -> Json:
    p, p2 = params.p, params.p2
    return {
        "plaintext_factor": [codec.e1(int(gmpy2.powmod(p + 1, m, p2))) for m in segments],
        "beta_r1": [codec.e1(int(gmpy2.powmod(b, r1, p2))) for b in betas],
        "g_r1": [codec.element(int(gmpy2.powmod(params.g, r1, p)))],
        "pk_s_r2": [codec.element(int(gmpy2.powmod(pk_s, r2, p)))],
    }


def _enc_v1(params: V1Params, codec: Codec, segments: list[int], beta: int, pk_s: int, r1: list[int],
            r2: list[int]) -> Json:
    n, n2 = params.n, params.n2
    return {
        "plaintext_factor": [codec.e1((1 + m * n) % n2) for m in segments],
        "beta_r1": [codec.e1(int(gmpy2.powmod(beta, r, n2))) for r in r1],
        "g_r1": [codec.element(int(gmpy2.powmod(params.g, r, n2))) for r in r1],
        "pk_s_r2": [codec.element(int(gmpy2.powmod(pk_s, r, n2))) for r in r2],
    }


def _enc_v2(params: V2Params, codec: Codec, segments: list[int], beta: int, pk_s: int, r: int, r1: list[int],
            r2: list[int]) -> Json:
    """The carrier's factors as in v1 (its plaintext is r), then the bases h_j and the masks h_j^r."""
    bases = segment_bases(params, len(segments))
    carrier = _enc_v1(params, codec, [r], beta, pk_s, r1, r2)
    return {**carrier, "plaintext_factor": carrier["plaintext_factor"] + [codec.e1((1 + m * params.n) % params.n2)
                                                                         for m in segments],
            "bases": [codec.element(h) for h in bases],
            "h_r": [codec.element(int(gmpy2.powmod(h, r, params.n2))) for h in bases]}


def _dec(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """d/T and the value fed to L, per segment (one d/T in `paper`)."""
    alphas = [codec.exponent_in(a, "alphas") for a in inputs["alphas"]]
    e_agg = [codec.e1_in(x, "e_agg") for x in inputs["e_agg"]]
    d = codec.elements(inputs["d"], "d")
    t = codec.elements(inputs["t"], "t")
    if isinstance(params, PaperParams):
        p, p2 = params.p, params.p2
        d_over_t = d[0] * int(gmpy2.invert(t[0], p)) % p
        l_inputs = [e * int(gmpy2.powmod(d_over_t, -a, p2)) % p2 for e, a in zip(e_agg, alphas)]
        return {"d_over_t": [codec.element(d_over_t)], "l_input": [codec.e1(x) for x in l_inputs]}
    n2 = params.group_modulus
    ratios = [x * int(gmpy2.invert(y, n2)) % n2 for x, y in zip(d, t)]
    l_inputs = [e * int(gmpy2.powmod(r, -alphas[0], n2)) % n2 for e, r in zip(e_agg, ratios)]
    out = {"d_over_t": [codec.element(r) for r in ratios], "l_input": [codec.e1(x) for x in l_inputs]}
    if isinstance(params, V2Params):  # the carrier's L input first, then E_Agg,j * h_j^{-R} per segment
        mask_sum = (l_inputs[0] - 1) // params.n
        bases = segment_bases(params, len(e_agg) - 1)
        l_inputs += [e * int(gmpy2.powmod(h, -mask_sum, n2)) % n2 for e, h in zip(e_agg[1:], bases)]
        out.update(l_input=[codec.e1(x) for x in l_inputs], mask_sum=format(mask_sum, "x"))
    return out


def _commitment(params: Params, encoding: Encoding, inputs: Json, codec: Codec) -> Json:
    """The statement's context bytes, and t = g^z * y^{-c}: the commitment the challenge hashes."""
    statement = codec.statement_in(inputs["statement"], "statement")
    if "proof" in inputs:  # CheckProof
        y, proof = codec.element_in(inputs["element"], "element"), codec.proof_in(inputs["proof"], "proof")
        n = params.group_modulus
        t = int(gmpy2.powmod(params.g, proof.z, n) * gmpy2.powmod(gmpy2.invert(y, n), proof.c, n) % n)
    else:  # Prove
        t = int(gmpy2.powmod(params.g, codec.nonce_in(inputs["k"], "k"), params.group_modulus))
    return {"context": proofs.statement_context(params, statement).hex(), "commitment": codec.element(t)}


_BY_OP = {"SE": _se, "DSE": _dse, "Encode": _encode, "Decode": _decode, "Enc": _enc, "Dec": _dec,
          "Prove": _commitment, "CheckProof": _commitment}
