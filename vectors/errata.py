"""The `errata` family: findings E1..E10 and Theorem 3 as operation tests (spec ch. 7, 8.6).

Each finding is computed by `mpksa.findings` (the numbers), and shown through
an operation a runner can replay (the wire path): the paper's Dec returning the
wrong sum, the Enc whose ciphertext the E2 projection opens, the ResGen answer
to a crafted challenge, and so on. The test holding the finding carries
`intermediates.finding = {"id", "function", "arguments", "result"}`: the
function's JSON arguments (the parameter set by name, the SeededRandom seed as
text) and its result (`dataclasses.asdict`, integers as "0x..." hex strings).
`recheck` calls the function again, compares, and checks the finding's claims
against the test's own outputs.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from mpksa import findings
from mpksa.encoding import Encoding
from mpksa.errors import MalformedInputError, show
from mpksa.params import Params, parameter_set, proof_nonce_bits, proof_response_bound
from mpksa.randomness import SeededRandom, exponent
from mpksa.wire.codec import Codec, Json, float_to_json, to_hex
from mpksa.wire.contract import encoding_from_json, params_from_json, params_to_json

from .builder import ACCEPTABLE, GeneratorError, Group, VectorFile
from .world import seed_text, seeded

_HEX_INT = re.compile(r"^-?0x[0-9a-f]+$")
L_ERROR = "l-input-not-one-mod-n"


# -- JSON form of findings ------------------------------------------------------------------------


def jsonify(value: Any) -> Any:
    """Integers as "0x..."/"-0x..." hex, bytes as hex, tuples as lists, dataclasses as dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonify(dataclasses.asdict(value))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("-" if value < 0 else "") + hex(abs(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else float_to_json(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonify(v) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} into a finding")


def dejsonify(value: Any) -> Any:
    """The inverse of `jsonify` for what findings hold (hex strings back to ints)."""
    if isinstance(value, str) and _HEX_INT.match(value):
        return int(value, 16)
    if isinstance(value, list):
        return [dejsonify(v) for v in value]
    if isinstance(value, dict):
        return {k: dejsonify(v) for k, v in value.items()}
    return value


def _arguments_in(arguments: object) -> dict[str, Any]:
    """Rebuild the Python arguments: params by name, rng from its seed text, the rest as ints.

    A vector file may come from elsewhere: every argument is type-checked, with a typed error.
    """
    if not isinstance(arguments, dict):
        raise MalformedInputError(f"finding.arguments = {show(arguments)} must be an object")
    out: dict[str, Any] = {}
    for name, value in arguments.items():
        if name == "params":
            out[name] = parameter_set(value) if isinstance(value, str) else _refuse(name, value, "a parameter set name")
        elif name == "rng":
            out[name] = SeededRandom(value.encode("ascii")) if isinstance(value, str) and value.isascii() \
                else _refuse(name, value, "an ASCII seed text")
        elif name == "encoding":
            out[name] = encoding_from_json(dejsonify(value))
        else:
            out[name] = dejsonify(value)
    return out


def _refuse(name: str, value: object, rule: str) -> Any:
    raise MalformedInputError(f"finding.arguments.{name} = {show(value)} must be {rule}")


def call(function: object, arguments: object) -> tuple[Json, Any]:
    """Run mpksa.findings.<function>; the `finding` object of a test, and the demo itself."""
    if not isinstance(function, str) or function not in findings.FINDING_IDS:
        raise MalformedInputError(f"finding.function = {show(function)} is not a finding of mpksa.findings")
    try:
        demo = getattr(findings, function)(**_arguments_in(arguments))
    except TypeError as exc:  # arguments the finding does not take, or of the wrong kind
        raise MalformedInputError(f"finding.arguments do not fit {function}: {show(str(exc))}") from None
    finding = {"id": findings.FINDING_IDS[function], "function": function, "arguments": arguments,
               "result": jsonify(demo)}
    return finding, demo


def _seed(params: Params, label: str) -> str:
    return seed_text(params.name, "errata", label)


# -- claims: what each finding asserts, checked against the test's own outputs ---------------------


def _message(test: Json, params: Json, key: str) -> list[int]:
    codec = Codec(params_from_json(params))
    return [codec.message_in(x, key) for x in test["outputs"][key]]


def _claims_e1(r: Json, test: Json, params: Json) -> str | None:
    sums = _message(test, params, "sums")
    if sums != [r["decrypted"]]:
        return "Dec's outputs are not the finding's decrypted value"
    if r["decrypted"] != r["predicted"] or r["decrypted"] == r["true_sum"]:
        return "the printed Dec must return E1's prediction, not the true sum"
    return None


def _e1_element(codec: Codec, test: Json, index: int = 0) -> int:
    return codec.e1_in(test["outputs"]["ciphertext"]["e1"][index], "e1")


def _claims_e2(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    if _e1_element(codec, test) != r["e1_literal"][0]:
        return "Enc's E_1 is not the finding's literal ciphertext"
    if r["lifted_sum"] != r["true_sum"] or r["projected"] != r["messages"][r["target"]]:
        return "the lifted variant must decrypt, and the projection must give m"
    return None if r["literal_lambda"] == r["literal_lambda_predicted"] else "lambda(E_i1) != m + r*lambda(beta)"


def _claims_e2_v1(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    if _e1_element(codec, test) != r["e1"]:
        return "Enc's E_1 is not the finding's ciphertext"
    if any(e != L_ERROR for e in r["errors"]):
        return "every public exponent candidate must leave an L input that is not 1 mod n"
    if r["order_multiple"] is not None and r["recovered_with_factors"] != r["m"]:
        return "with the factors of n the projection must recover m"
    return None


def _claims_e3(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    if _e1_element(codec, test) not in (r["c1"], r["c2"]):
        return "Enc's E_1 is neither C_1 nor C_2 of the finding"
    return None if r["relation"] == r["expected_relation"] else "L(C_1^a2 C_2^-a1) != a2*m1 - a1*m2"


def _claims_e3_v1(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    if [_e1_element(codec, test, 0), _e1_element(codec, test, 1)] != [r["c1"], r["c2"]]:
        return "Enc's E_1 is not (C_1, C_2) of the finding"
    if (r["error"], r["guessed_error"], r["alpha_combination_error"]) != (L_ERROR,) * 3:
        return "no combination of v1 segments may pass L"
    return None


def _claims_e4(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    if test["op"] == "ResGen":
        k = next(i for i, sk in enumerate(r["sks"]) if codec.exponent(sk) == test["inputs"]["sk"])
        if [codec.element_in(x, "T") for x in test["outputs"]["response"]] != r["responses"][k]:
            return "ResGen's answer is not the finding's response"
    elif test.get("error") != "challenge-mismatch":
        return "the hardened check must refuse the crafted challenge"
    if r["recovered"] != r["segments"][r["target"]]:
        return "the responses to the crafted R must unmask the target's segments"
    if any(e != "challenge-mismatch" for e in r["hardened_errors"]) or any(r["honest_check_errors"]):
        return "the check must refuse the crafted R and accept the honest one at every client"
    return None


def _claims_e5_sybil(r: Json, test: Json, params: Json) -> str | None:
    if test["outputs"]["weighted_sums"] != r["weighted_sums"]:
        return "Decode's outputs are not the finding's weighted sums"
    if r["recovered"] != r["quantized"][0] or r["announced_keys_error"] is not None:
        return "the sum minus the Sybil's values must be the target's values, with announced keys accepted"
    return None


def _claims_e5_forged(r: Json, test: Json, params: Json) -> str | None:
    if r["check_error"] is not None or r["ghost_announced_error"] is not None:
        return "the forged pk_S must pass the printed check, and the check against the announced ghost key"
    if r["g_r1"] != r["g_r1_true"] or r["printed_dec"] != r["printed_predicted"]:
        return "the forged key must unmask g^r1 (and Dec give E1's prediction)"
    return None if r["lifted_recovered"] == r["m"] else "the lifted variant must recover m"


def _claims_e5_forged_v1(r: Json, test: Json, params: Json) -> str | None:
    if r["check_error"] is not None or r["announced_error"] != "aggregate-key-mismatch":
        return "the forged pk_S must pass without, and fail with, the announced keys"
    return None if r["recovered"] == r["segments"] else "the forged key must unmask every segment"


def _claims_e6(r: Json, test: Json, params: Json) -> str | None:
    if test["outputs"]["values"] != r["paper_decoded"]:
        return "Recover's outputs are not the finding's paper decoding"
    if r["paper_decoded"] == r["values"] or r["v1_decoded"] != r["values"]:
        return "Algorithm 2 must decode the signed values wrongly, v1's offset encoding rightly"
    return None


def _claims_theorem3(r: Json, test: Json, params: Json) -> str | None:
    if _message(test, params, "sums") != r["pair_sums"]:
        return "Dec of the coalition's (E_i E_j, d*, T*) is not the finding's pair sum"
    i, j = r["pair"]
    if r["pair_weighted_sums"] != [a + b for a, b in zip(r["quantized"][i], r["quantized"][j])]:
        return "the pair sum must decode to m_i + m_j"
    return None if all(e == L_ERROR for e in r["single_errors"]) else "client i alone must stay hidden"


def _claims_e7(r: Json, test: Json, params: Json) -> str | None:
    if test["outputs"]["weighted_sums"] != r["sums_first"]:
        return "Decode's outputs are not the first round's sums"
    if r["difference"] != r["quantized"][r["target"]]:
        return "the difference of the two rounds must be the target's update"
    if any(r["guard_first_errors"]) or any(e != "rerun-refused" for e in r["guard_rerun_errors"]):
        return "the guard must admit the first round and refuse the re-run"
    return None


def _enc_e1(test: Json, params: Json) -> list[int]:
    codec = Codec(params_from_json(params))
    return [codec.e1_in(x, "e1") for x in test["outputs"]["ciphertext"]["e1"]]


def _claims_e2_v2(r: Json, test: Json, params: Json) -> str | None:
    if _enc_e1(test, params) != r["e1"]:
        return "Enc's E_1 is not the finding's upload (carrier, C_1)"
    if any(e != L_ERROR for row in r["errors"] for e in row):
        return "every public exponent must leave an L input that is not 1 mod n, on the carrier and on C_1"
    if r["order_multiple"] is not None and r["recovered_with_factors"] != [r["r"], r["m"]]:
        return "with the factors of n the projection must recover r from the carrier and m from C_1"
    return None


def _claims_e3_v2(r: Json, test: Json, params: Json) -> str | None:
    if _enc_e1(test, params)[1:] != [r["c1"], r["c2"]]:
        return "Enc's data elements are not (C_1, C_2) of the finding"
    return None if (r["error"], r["guessed_error"]) == (L_ERROR,) * 2 else "no combination of v2 segments may pass L"


def _claims_structured(r: Json, test: Json, params: Json) -> str | None:
    if _enc_e1(test, params) != r["hashed_e1"]:
        return "Enc's E_1 is not the finding's upload under hashed bases"
    if not r["structured_identity"] or r["relation"] != r["expected_relation"]:
        return "structured bases must give h_1 h_4 = h_2^2 and reveal m_1 + m_4 - 2 m_2"
    return None if r["hashed_error"] == L_ERROR else "the hashed bases must leave the combination refused by L"


def _claims_reused(r: Json, test: Json, params: Json) -> str | None:
    if _enc_e1(test, params) != r["second_e1"]:
        return "Enc's E_1 is not the second upload of the finding"
    if r["differences"] != r["expected_differences"]:
        return "the quotients of the two uploads must give every difference m_j - m'_j"
    return None if r["guard_errors"] == [None, "exponent-reused"] else "the guard must admit r once, then refuse it"


def _claims_theorem3_v2(r: Json, test: Json, params: Json) -> str | None:
    if _message(test, params, "sums") != r["pair_sums"]:
        return "Dec of the coalition's aggregate is not the finding's pair sum"
    a, b = r["pair"]
    if r["pair_weighted_sums"] != [x + y for x, y in zip(r["quantized"][a], r["quantized"][b])]:
        return "the pair sum must decode to m_a + m_b"
    return None if all(e == L_ERROR for e in r["single_errors"]) else "client a alone must stay hidden"


def _claims_e8(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    refused = ["degenerate-element"] * 2 if params["profile"] == "v2" else [None, None]
    if r["degenerate_errors"] != refused:
        return "ResGen must answer R = 1 + n and R = -1 in v1 and refuse them in v2 (degenerate-element)"
    if test["op"] == "ResGen":
        k = next(i for i, sk in enumerate(r["sks"]) if codec.exponent(sk) == test["inputs"]["sk"])
        if [codec.element_in(x, "T") for x in test["outputs"]["response"]] != r["junk_responses"][k]:
            return "ResGen's answer is not the finding's response to the junk R"
    if r["recovered_sks"] != r["sks"] or r["recovered_parities"] != [sk % 2 for sk in r["sks"]]:
        return "the junk R must reveal every sk_i, and -g^y its parity"
    if any(r["announced_check_errors"]) or r["colluded_recovered_sks"] != r["sks"][:-1]:
        return "through the colluder the junk R must pass the announced-values check and reveal the honest sk_i"
    return None if r["junk_element_error"] is None else "the element check must not see (1 + n) * g^y"


def _claims_e8_key(r: Json, test: Json, params: Json) -> str | None:
    codec = Codec(params_from_json(params))
    if test["op"] == "Enc" and [codec.e1_in(x, "e1") for x in test["outputs"]["ciphertext"]["e1"]] != r["e1"][0]:
        return "Enc's E_1 is not the finding's ciphertext under beta = 1 + n"
    if any(leak != [m + x for m, x in zip(seg, r1)] for leak, seg, r1 in zip(r["leaked"], r["segments"], r["r1"])):
        return "L(E_ij1) must be m_ij + r_ij1 under beta = 1 + n"
    if r["beta_element_error"] != "degenerate-element" or r["sign_beta_proof_error"] is not None:
        return "beta = 1 + n must be degenerate, and the forged proof of -g^alpha must verify"
    if r["dse_errors"] != ["aead-failure" if sk % 2 else None for sk in r["sks"]] or any(r["even_dse_errors"]):
        return "DSE under -g^alpha must fail exactly for the odd sk_i"
    return None


def _claims_e8_key_v2(r: Json, test: Json, params: Json) -> str | None:
    if test.get("error") != "degenerate-element" or r["round_error"] != "degenerate-element":
        return "v2's Enc, and so the round, must refuse a server key in <1 + n>"
    if r["enc_errors"] != ["degenerate-element"] * 2 or r["beta_element_errors"] != ["degenerate-element"] * 2:
        return "v2's Enc and the element check must refuse beta = 1 + n and beta = 1 + 2^L n"
    bound = 1 << params["mask_bits"]
    for b, leaked in zip((1, bound), r["leaked"]):
        if leaked != [m + b * r1[0] for m, r1 in zip(r["masks"], r["r1"])]:
            return "without the check, L of the carrier under beta = 1 + b*n must be r_i + b*r_i01"
    if r["recovered_masks"] != r["masks"] or r["recovered"] != r["segments"]:
        return "beta = 1 + 2^L n must give every r_i, and r_i every segment"
    if r["dse_errors"] != ["aead-failure" if sk % 2 else None for sk in r["sks"]] or any(r["even_dse_errors"]):
        return "DSE under -g^alpha must fail exactly for the odd sk_i"
    return None


def _claims_e9(r: Json, test: Json, params: Json) -> str | None:
    if r["recovered"] != r["segments"][r["target"]] or any(r["announced_check_errors"]):
        return "the rogue announced value must pass the check and unmask the target's segments"
    if r["recovered_masks"] != r["masks"][r["target"]:r["target"] + 1]:
        return "in v2 the unmasked carrier must be the target's mask exponent r_a"
    return None


def _claims_e9_key(r: Json, test: Json, params: Json) -> str | None:
    if r["recovered"] != r["segments"][:-1] or any(r["announced_keys_errors"]) or not r["correct"]:
        return "the rogue key must pass the announced keys, open every upload and leave the sum correct"
    if r["recovered_masks"] != r["masks"][:-1]:
        return "in v2 every honest carrier must open to its mask exponent"
    return None


def _claims_e10(r: Json, test: Json, params: Json) -> str | None:
    if test["op"] == "Decode" and test["outputs"]["weighted_sums"] != r["weighted_sums"]:
        return "Decode's outputs are not the finding's weighted sums"
    if r["recovered"] != r["quantized"][r["other"]] or any(r["announced_check_errors"]):
        return "the sum minus the colluder's values must be the other client's update"
    return None


CLAIMS: dict[str, Callable[[Json, Json, Json], str | None]] = {
    "e1_paper_decryption": _claims_e1,
    "e1_smallest_counterexample": _claims_e1,
    "e2_lifted_projection": _claims_e2,
    "e2_projection_v1": _claims_e2_v1,
    "e3_cross_segment_relation": _claims_e3,
    "e3_v1_no_relation": _claims_e3_v1,
    "e4_crafted_challenge": _claims_e4,
    "e5_sybil": _claims_e5_sybil,
    "e5_forged_pk_s": _claims_e5_forged,
    "e5_forged_pk_s_v1": _claims_e5_forged_v1,
    "e6_negative_values": _claims_e6,
    "theorem3_collusion": _claims_theorem3,
    "e7_rerun_difference": _claims_e7,
    "e2_projection_v2": _claims_e2_v2,
    "e3_v2_no_relation": _claims_e3_v2,
    "e3_v2_structured_bases": _claims_structured,
    "e7_v2_reused_mask": _claims_reused,
    "theorem3_collusion_v2": _claims_theorem3_v2,
    "e8_junk_challenge": _claims_e8,
    "e8_junk_server_key": _claims_e8_key,
    "e8_junk_server_key_v2": _claims_e8_key_v2,
    "e9_rogue_announced_value": _claims_e9,
    "e9_rogue_key": _claims_e9_key,
    "e10_cancelling_client": _claims_e10,
}


def recheck(test: Json, params: Json) -> str | None:
    """Call the finding's function again, compare, then check its claims; a problem or None."""
    finding = test["intermediates"]["finding"]
    if finding["function"] not in CLAIMS:
        return f"unknown finding function {finding['function']!r}"
    fresh, _ = call(finding["function"], finding["arguments"])
    if fresh != finding:
        keys = sorted(k for k in fresh["result"] if fresh["result"][k] != finding["result"].get(k))
        return f"{finding['function']} now gives a different result (fields {keys[:8]})"
    return CLAIMS[finding["function"]](dejsonify(finding["result"]), test, params)


# -- building the family ---------------------------------------------------------------------------


def _with_finding(g: Group, function: str, arguments: Json, build: Callable[[Any], tuple[Any, ...]],
                  **options: Any) -> Any:
    """Compute the finding, add its operation test, and check the claims before writing."""
    finding, demo = call(function, arguments)
    op, inputs, comment, flags, *extra = build(demo)
    g.op(op, inputs, comment, flags, intermediates={"finding": finding, **(extra[0] if extra else {})}, **options)
    test = g.tests[-1]
    problem = CLAIMS[function](dejsonify(finding["result"]), test, params_to_json(g.params))
    if problem:
        raise GeneratorError(f"{function} on {g.params.name}: {problem}")
    return demo


def errata_family(f: VectorFile, params: Params, lean: bool) -> None:
    if params.profile == "paper":
        _paper_errata(f, params)
    elif params.profile == "v1":
        _v1_errata(f, params, lean)
    else:
        _v2_errata(f, params)


def _paper_errata(f: VectorFile, params: Params) -> None:
    c = Codec(params)
    g = f.group(params, Encoding(), "the printed equations on the paper's group (E1, E2, E5, E6)")

    def e1_dec(demo: Any) -> tuple[Any, ...]:
        inputs = {"alphas": [c.exponent(demo.alpha)], "e_agg": [c.e1(demo.e_agg)], "d": [c.element(demo.d)],
                  "t": [c.element(demo.t)]}
        return ("Dec", inputs, f"E1: a round of {len(demo.sks)} clients; the printed Dec returns "
                f"M + R*lambda(beta) - alpha*lambda(d/T) = {demo.decrypted}, not M = {demo.true_sum}",
                {"PaperDecryptionIncorrect"}, _truth(c, demo))

    _with_finding(g, "e1_paper_decryption", {"params": params.name, "rng": _seed(params, "E1"), "clients": "0x3"},
                  e1_dec)
    m = 12345

    def e2_enc(demo: Any) -> tuple[Any, ...]:
        inputs = {"betas": [c.element(demo.beta)], "pk_s": c.element(demo.pk_s), "segments": [c.message(m)],
                  "r1": [c.exponent(demo.r1[0])], "r2": [c.exponent(demo.r2[0])]}
        return ("Enc", inputs, f"E2: the literal E_1 of m = {m}; lambda(E_1) = m + r1*lambda(beta) is public, and "
                "the lifted variant (in the finding) decrypts but gives m to anyone", {"LiftedProjection",
                                                                                     "LambdaProjection"})

    _with_finding(g, "e2_lifted_projection", {"params": params.name, "m": hex(m), "rng": _seed(params, "E2"),
                                              "clients": "0x2"}, e2_enc)

    def e5_check(demo: Any) -> tuple[Any, ...]:
        return ("CheckPkS", {"pk_s": c.element(demo.forged_pk_s), "pk_i": c.element(demo.pk)},
                "E5: the forged pk_S = pk_i * g^x passes the printed check pk_S != pk_i", {"ForgedPkS"},
                {"forger_x": c.exponent(demo.x)})

    demo5 = _with_finding(g, "e5_forged_pk_s", {"params": params.name, "rng": _seed(params, "E5")}, e5_check,
                          result=ACCEPTABLE)
    g.op("ResGen", {"challenge": [c.element(demo5.challenge)], "sk": c.exponent(demo5.sk)},
         "E5: the target answers R = g^r2 of its own upload; with x the server unmasks g^r1",
         {"ForgedPkS", "CraftedChallenge"}, result=ACCEPTABLE)

    def e6_recover(demo: Any) -> tuple[Any, ...]:
        return ("Recover", {"a": [format(x, "x") for x in demo.a], "bound": demo.bound,
                            "total": c.message(demo.packed_mod_p)},
                f"E6: {demo.values} packed with a = (1, 401, 401^2, 401^3) decode as {demo.paper_decoded}",
                {"NegativeDecodeWrong"})

    _with_finding(g, "e6_negative_values", {"params": params.name}, e6_recover)
    if params.name == "paper-test":
        toy = findings.TOY_PAPER_PARAMS
        tc = Codec(toy)
        toy_group = f.group(toy, Encoding(), "the review's smallest E1 counterexample: p = 23, q = 11, g = 4")

        def toy_dec(demo: Any) -> tuple[Any, ...]:
            inputs = {"alphas": [tc.exponent(demo.alpha)], "e_agg": [tc.e1(demo.e_agg)], "d": [tc.element(demo.d)],
                      "t": [tc.element(demo.t)]}
            return ("Dec", inputs, "E1 at p = 23: alpha = 3, sk = (2, 5), m = (1, 2), r1 = (4, 9), r2 = (6, 7); "
                    f"Dec returns {demo.decrypted}, not {demo.true_sum}", {"PaperDecryptionIncorrect", "ToyGroup"},
                    _truth(tc, demo))

        _with_finding(toy_group, "e1_smallest_counterexample", {}, toy_dec)


def _truth(codec: Codec, demo: Any) -> Json:
    """The context intermediates of a paper Dec test: the true sum and R, so E1's formula can be checked."""
    return {"plaintext_sums": [codec.message(demo.true_sum)], "r1_sum": format(demo.r1_sum, "x")}


def _v1_errata(f: VectorFile, params: Params, lean: bool) -> None:
    c = Codec(params)
    g = f.group(params, Encoding(), "findings checked on v1: what v1 fixes (E2, E3, E4 hardening) and what stays "
                "outside the paper's model (E4, E5, E7), and Theorem 3")
    m1, m2 = 12345, 678

    def e3v1_enc(demo: Any) -> tuple[Any, ...]:
        inputs = {"betas": [c.element(demo.beta)], "pk_s": c.element(demo.pk_s),
                  "segments": [c.message(m1), c.message(m2)], "r1": [c.exponent(r) for r in demo.r1],
                  "r2": [c.exponent(r) for r in demo.r2]}
        return ("Enc", inputs, "E3 fixed: two v1 segments with fresh r; no combination of C_1, C_2 passes L",
                {"NoCrossSegmentRelation", "MultiSegment"})

    _with_finding(g, "e3_v1_no_relation", {"params": params.name, "m1": hex(m1), "m2": hex(m2),
                                           "rng": _seed(params, "E3-v1")}, e3v1_enc)
    _e4(g, c, params)
    if lean:
        return

    def e2v1_enc(demo: Any) -> tuple[Any, ...]:
        inputs = {"betas": [c.element(demo.beta)], "pk_s": c.element(demo.pk_s), "segments": [c.message(m1)],
                  "r1": [c.exponent(demo.r1)], "r2": [c.exponent(demo.r2)]}
        return ("Enc", inputs, "E2 fixed: the public exponents (n-1)/2, n-1, n leave E_1^e not 1 mod n",
                {"LambdaProjection"})

    _with_finding(g, "e2_projection_v1", {"params": params.name, "m": hex(m1), "rng": _seed(params, "E2-v1")},
                  e2v1_enc)

    for index in (0, 1):
        def e3_enc(demo: Any, index: int = index) -> tuple[Any, ...]:
            inputs = {"betas": [c.element(demo.betas[index])], "pk_s": c.element(demo.pk_s),
                      "segments": [c.message((m1, m2)[index])], "r1": [c.exponent(demo.r1)],
                      "r2": [c.exponent(demo.r2)]}
            return ("Enc", inputs, f"E3: segment {index + 1} of the extension's structure in Z*_n^2 (beta_"
                    f"{index + 1}, the shared r); C_1^a2 C_2^-a1 reveals a2*m1 - a1*m2", {"CrossSegmentRelation"})

        _with_finding(g, "e3_cross_segment_relation", {"params": params.name, "m1": hex(m1), "m2": hex(m2),
                                                       "rng": _seed(params, "E3")}, e3_enc)

    def sybil_decode(demo: Any) -> tuple[Any, ...]:
        return ("Decode", {"sums": [c.message(s) for s in demo.segment_sums], "clients": 2,
                           "dim": len(demo.quantized[0])},
                "E5: S = {target, Sybil}; the server decodes the sum and subtracts the Sybil's known values",
                {"SybilClient"})

    _with_finding(g, "e5_sybil", {"params": params.name, "rng": _seed(params, "E5-sybil"), "dim": "0x3"},
                  sybil_decode)

    def forged_check(demo: Any) -> tuple[Any, ...]:
        return ("CheckPkS", {"pk_s": c.element(demo.forged_pk_s), "pk_i": c.element(demo.pks[0]),
                             "announced": [c.element(x) for x in demo.pks]},
                "E5 hardened: the forged pk_S = pk_1 * g^x against the announced registered keys",
                {"ForgedPkS", "Hardened"})

    demo = _with_finding(g, "e5_forged_pk_s_v1", {"params": params.name, "rng": _seed(params, "E5-forged"),
                                                  "segments": "0x2"}, forged_check, expect="aggregate-key-mismatch")
    g.op("CheckPkS", {"pk_s": c.element(demo.forged_pk_s), "pk_i": c.element(demo.pks[0])},
         "E5: without announced keys the forged pk_S passes", {"ForgedPkS"}, result=ACCEPTABLE,
         intermediates={"forger_x": c.exponent(demo.x)})

    def collusion_dec(demo: Any) -> tuple[Any, ...]:
        i, j = demo.pair
        n2 = params.group_modulus
        e_pair = [demo.e1[i][s] * demo.e1[j][s] % n2 for s in range(len(demo.d_star))]
        inputs = {"alphas": [c.exponent(demo.alpha)], "e_agg": [c.e1(x) for x in e_pair],
                  "d": [c.element(x) for x in demo.d_star], "t": [c.element(x) for x in demo.t_star]}
        return ("Dec", inputs, f"Theorem 3: the server and the {len(demo.sks) - 2} colluders strip their own shares "
                "and decrypt m_i + m_j of the honest pair; client i alone stays hidden (L refuses)", {"Collusion"})

    _with_finding(g, "theorem3_collusion", {"params": params.name, "clients": "0x4", "rng": _seed(params, "T3"),
                                            "dim": "0x3"}, collusion_dec)
    _e7(g, c, params)
    _e8(g, c, params)
    _e9(g, c, params)
    _e10(g, c, params)


def _v2_errata(f: VectorFile, params: Params) -> None:
    c = Codec(params)
    g = f.group(params, Encoding(), "findings on v2 ciphertexts (spec 10.9): E2 and E3 do not return, structured "
                "bases and a reused mask exponent would leak, Theorem 3 holds")
    m1, m2 = 12345, 678

    def enc_inputs(demo: Any, segments: list[int], r1: int, r2: int) -> Json:
        return {"betas": [c.element(demo.beta)], "pk_s": c.element(demo.pk_s), "segments": [c.message(m) for m in segments],
                "r": c.mask(demo.r), "r1": [c.exponent(r1)], "r2": [c.exponent(r2)]}

    _with_finding(g, "e2_projection_v2", {"params": params.name, "m": hex(m1), "rng": _seed(params, "E2-v2")},
                  lambda demo: ("Enc", enc_inputs(demo, [demo.m], demo.r1, demo.r2),
                                "E2 on v2: the public exponents (n-1)/2, n-1, n leave the carrier and C_1 not 1 mod n",
                                {"ProjectionFailsV2"}))
    _with_finding(g, "e3_v2_no_relation", {"params": params.name, "m1": hex(m1), "m2": hex(m2),
                                           "rng": _seed(params, "E3-v2")},
                  lambda demo: ("Enc", enc_inputs(demo, [m1, m2], demo.r1, demo.r2),
                                "E3 on v2: C_1 / C_2 keeps (h_1/h_2)^r, whatever difference is guessed",
                                {"NoRelationHashedBases", "MultiSegment"}))
    messages = [5, 3, 7, 1000]
    _with_finding(g, "e3_v2_structured_bases", {"params": params.name, "messages": [hex(m) for m in messages],
                                                "rng": _seed(params, "E3-structured")},
                  lambda demo: ("Enc", enc_inputs(demo, messages, demo.r1, demo.r2),
                                "why the bases are hashed: under (x*j)^2n bases C_1 C_4 / C_2^2 would give "
                                "m_1 + m_4 - 2 m_2 = 999; under the hashed ones (this upload) L refuses it",
                                {"StructuredBases", "MultiSegment"}))
    arguments = {"params": params.name, "rng": _seed(params, "E7-v2"), "segments": "0x3"}
    _, reuse = call("e7_v2_reused_mask", arguments)
    g.op("Enc", enc_inputs(reuse, reuse.first_segments, *reuse.first_carrier),
         "a client's upload under the mask exponent r", {"ReusedMaskExponent", "MultiSegment"})
    _with_finding(g, "e7_v2_reused_mask", arguments,
                  lambda demo: ("Enc", enc_inputs(demo, demo.second_segments, *demo.second_carrier),
                                "its next upload under the same r: C_j / C'_j gives m_j - m'_j to anyone; the "
                                "client's MaskGuard refuses the second use", {"ReusedMaskExponent", "MultiSegment"}))

    def collusion_dec(demo: Any) -> tuple[Any, ...]:
        inputs = {"alphas": [c.exponent(demo.alpha)], "e_agg": [c.e1(x) for x in demo.pair_e_agg],
                  "d": [c.element(demo.d_star)], "t": [c.element(demo.t_star)], "clients": 2}
        return ("Dec", inputs, f"Theorem 3 on v2: the server and the {len(demo.sks) - 2} colluders strip their "
                "shares of the carrier and decrypt m_a + m_b of the honest pair; client a alone stays hidden",
                {"Collusion"})

    _with_finding(g, "theorem3_collusion_v2", {"params": params.name, "clients": "0x4", "rng": _seed(params, "T3-v2"),
                                               "dim": "0x3"}, collusion_dec)
    active = f.group(params, Encoding(), "active attacks on v2 through the carrier (spec 7.4): E8 to E10 with the "
                     "operations that show them, and the hardening's refusals")
    _e8(active, c, params)
    _e9(active, c, params)
    _e10(active, c, params)


def _e4(g: Group, c: Codec, params: Params) -> None:
    arguments = {"params": params.name, "rng": _seed(params, "E4"), "clients": "0x3", "dim": "0x3"}

    def check(demo: Any) -> tuple[Any, ...]:
        announced = [[pair[0] for pair in row] for row in demo.e2]
        return ("CheckChallenge", {"challenge": [c.element(x) for x in demo.crafted_challenge],
                                   "announced": [[c.element(x) for x in row] for row in announced],
                                   "own": [c.element(x) for x in announced[1]]},
                "E4 hardened: client 2 refuses R = g^r2 of client 1 against the announced g^r2",
                {"CraftedChallenge", "Hardened"})

    demo = _with_finding(g, "e4_crafted_challenge", arguments, check, expect="challenge-mismatch")

    def answer(_: Any) -> tuple[Any, ...]:
        return ("ResGen", {"challenge": [c.element(x) for x in demo.crafted_challenge], "sk": c.exponent(demo.sks[1])},
                "E4: without the check, client 2 answers the crafted R; the answers unmask client 1",
                {"CraftedChallenge"})

    _with_finding(g, "e4_crafted_challenge", arguments, answer, result=ACCEPTABLE)


def _e7(g: Group, c: Codec, params: Params) -> None:
    arguments = {"params": params.name, "rng": _seed(params, "E7"), "clients": "0x3", "dim": "0x3"}
    finding, demo = call("e7_rerun_difference", arguments)
    modulus = params.message_modulus
    columns: list[int] = []
    for q, w in zip(demo.quantized, demo.weights):
        segments = g.op("Encode", {"quantized": q, "weight": w}, "E7: a client's update, encoded for both rounds",
                        {"RerunDifference", "NegativeValues"})["segments"]
        values = [c.message_in(m, "segment") for m in segments]
        columns = values if not columns else [(a + b) % modulus for a, b in zip(columns, values)]

    def decode(_: Any) -> tuple[Any, ...]:
        return ("Decode", {"sums": [c.message(x) for x in columns], "clients": len(demo.online_first),
                           "dim": len(demo.quantized[0])},
                "E7: the first round's sum; the re-run without the last client differs from it by that client's "
                "update", {"RerunDifference"}, {"clients_quantized": demo.quantized, "clients_weights": demo.weights})

    _with_finding(g, "e7_rerun_difference", arguments, decode)


def _g_r2_statement(client_id: int, online: list[int]) -> Json:
    return {"kind": "g^r2", "client_id": client_id, "index": 0, "round": 0, "online": online}


def _prove(g: Group, params: Params, statement: Json, x: int, label: str, comment: str) -> Json:
    """A proof of knowledge made through the Prove operation, its nonce drawn from a labelled stream."""
    bound = 1 << proof_nonce_bits(params)
    k = to_hex(exponent(bound, seeded(params.name, "errata", label)), bound)
    return g.op("Prove", {"statement": statement, "x": Codec(params).exponent(x), "k": k}, comment,
                {"ProofOfKnowledge", "Hardened"})


def _e8(g: Group, c: Codec, params: Params) -> None:
    arguments = {"params": params.name, "rng": _seed(params, "E8"), "clients": "0x3", "dim": "0x3"}

    def answer(demo: Any) -> tuple[Any, ...]:
        return ("ResGen", {"challenge": [c.element(x) for x in demo.junk_challenge], "sk": c.exponent(demo.sks[0])},
                "E8: client 1 answers R = (1 + n) * g^y with (1 + sk_1*n) * pk_1^y: the server reads sk_1",
                {"JunkChallenge"})

    demo = _with_finding(g, "e8_junk_challenge", arguments, answer, result=ACCEPTABLE)
    g.op("CheckElement", {"element": c.element(demo.junk_challenge[0])},
         "E8: (1 + n) * g^y is 0, 1 or -1 mod n for no y: the element check passes it, the proofs stop it",
         {"JunkChallenge", "Hardened"})
    g.op("CheckElement", {"element": c.element(1 + params.message_modulus)}, "E8: R = 1 + n (y = 0) is refused",
         {"JunkChallenge", "DegenerateElement", "Hardened"}, expect="degenerate-element")
    if params.profile == "v2":
        g.op("ResGen", {"challenge": [c.element(1 + params.message_modulus)], "sk": c.exponent(demo.sks[0])},
             "E8 on v2: ResGen refuses R_0 = 1 + n (y = 0) always, not R_0 = (1 + n) * g^y",
             {"JunkChallenge", "DegenerateElement"}, expect="degenerate-element")
    key_arguments = {"params": params.name, "rng": _seed(params, "E8-server-key"), "clients": "0x3", "dim": "0x3"}
    key_demo = (_e8_server_key_v2 if params.profile == "v2" else _e8_server_key)(g, c, key_arguments)
    g.op("CheckElement", {"element": c.element(1 + params.message_modulus)}, "E8: beta = 1 + n is refused",
         {"JunkServerKey", "DegenerateElement", "Hardened"}, expect="degenerate-element")
    odd = next((i for i, sk in enumerate(key_demo.sks) if sk % 2), None)
    if odd is None:
        raise GeneratorError(f"the E8 server key on {params.name}: no odd sk_i to show the DSE oracle")
    sealed = g.op("SE", {"pk_i": c.element(pow(params.g, key_demo.sks[odd], params.group_modulus)),
                         "alpha": c.exponent(key_demo.alpha), "model": key_demo.model, "round": 0, "client_id": odd,
                         "nonce": key_demo.nonces[odd]}, "E8: the server seals W for a client with an odd sk_i",
                  {"SignServerKey"})["sealed"]
    g.op("DSE", {"beta": c.element(key_demo.sign_beta), "sk": c.exponent(key_demo.sks[odd]), "sealed": sealed,
                 "round": 0, "client_id": odd}, "E8: under beta = -g^alpha DSE fails for the odd sk_i: a parity oracle",
         {"SignServerKey"}, expect="aead-failure")
    proof = {"c": to_hex(key_demo.sign_beta_proof[0], 1 << 128),
             "z": to_hex(key_demo.sign_beta_proof[1], proof_response_bound(params))}
    g.op("CheckProof", {"statement": {"kind": "server key", "client_id": 0, "index": 0, "round": 0, "online": []},
                        "element": c.element(key_demo.sign_beta), "proof": proof},
         "E8: a proof for -g^alpha forged from alpha verifies: the proof holds up to sign only", {"SignServerKey"})


def _e8_server_key(g: Group, c: Codec, arguments: Json) -> Any:
    """v1: Enc answers beta = 1 + n, and its E_1 shows the segment's high bits."""
    def enc(demo: Any) -> tuple[Any, ...]:
        inputs = {"betas": [c.element(demo.beta)], "pk_s": c.element(demo.pk_s),
                  "segments": [c.message(m) for m in demo.segments[0]], "r1": [c.exponent(r) for r in demo.r1[0]],
                  "r2": [c.exponent(r) for r in demo.r2[0]]}
        return ("Enc", inputs, "E8: Enc under beta = 1 + n gives E_1 = 1 + (m + r1)*n: the segment's high bits show",
                {"JunkServerKey"})

    return _with_finding(g, "e8_junk_server_key", arguments, enc, result=ACCEPTABLE)


def _e8_server_key_v2(g: Group, c: Codec, arguments: Json) -> Any:
    """v2: Enc refuses beta = 1 + 2^L n; the finding records what the carrier would have leaked."""
    def enc(demo: Any) -> tuple[Any, ...]:
        inputs = {"betas": [c.element(demo.betas[1])], "pk_s": c.element(demo.pk_s),
                  "segments": [c.message(m) for m in demo.segments[0]], "r": c.mask(demo.masks[0]),
                  "r1": [c.exponent(r) for r in demo.r1[0]], "r2": [c.exponent(r) for r in demo.r2[0]]}
        comment = ("E8 on v2: Enc refuses beta = 1 + 2^L n, which is 1 mod n; without the check the carrier's L "
                   "would be r + 2^L r1, and r opens every segment")
        return ("Enc", inputs, comment, {"JunkServerKeyRefused", "DegenerateElement"})

    return _with_finding(g, "e8_junk_server_key_v2", arguments, enc, expect="degenerate-element")


def _e9(g: Group, c: Codec, params: Params) -> None:
    arguments = {"params": params.name, "rng": _seed(params, "E9"), "clients": "0x3", "dim": "0x3"}

    def check(demo: Any) -> tuple[Any, ...]:
        announced = [[pair[0] for pair in row] for row in demo.e2]
        return ("CheckChallenge", {"challenge": [c.element(x) for x in demo.challenge],
                                   "announced": [[c.element(x) for x in row] for row in announced],
                                   "own": [c.element(x) for x in announced[0]]},
                "E9: R = A_1 * g^y through client 3's rogue announced value passes client 1's check",
                {"RogueAnnouncedValue", "Hardened"})

    demo = _with_finding(g, "e9_rogue_announced_value", arguments, check)
    real = _prove(g, params, _g_r2_statement(2, [0, 1, 2]), demo.r2[2][0], "E9-proof",
                  "E9 hardened: client 3 proves knowledge of its real r2")
    g.op("CheckProof", {"statement": _g_r2_statement(2, [0, 1, 2]), "element": c.element(demo.rogue_values[0]),
                        "proof": real["proof"]}, "E9 hardened: no proof fits the rogue value", {"RogueAnnouncedValue",
                                                                                             "Hardened"},
         expect="proof-invalid")
    key_arguments = {"params": params.name, "rng": _seed(params, "E9-key"), "clients": "0x3", "dim": "0x3"}

    def keys(demo: Any) -> tuple[Any, ...]:
        return ("CheckPkS", {"pk_s": c.element(demo.pk_s), "pk_i": c.element(demo.pks[0]),
                             "announced": [c.element(x) for x in demo.pks]},
                "E9: pk_S = g^x through client 3's rogue key passes client 1's announced-keys check",
                {"RogueKey", "Hardened"})

    key_demo = _with_finding(g, "e9_rogue_key", key_arguments, keys)
    known = _prove(g, params, {"kind": "key", "client_id": 2, "index": 0, "round": 0, "online": []}, key_demo.x,
                   "E9-key-proof", "E9 hardened: the colluder proves knowledge of x, all it knows")
    g.op("CheckProof", {"statement": {"kind": "key", "client_id": 2, "index": 0, "round": 0, "online": []},
                        "element": c.element(key_demo.rogue_pk), "proof": known["proof"]},
         "E9 hardened: no proof fits the rogue key", {"RogueKey", "Hardened"}, expect="proof-invalid")


def _e10(g: Group, c: Codec, params: Params) -> None:
    arguments = {"params": params.name, "rng": _seed(params, "E10"), "dim": "0x3"}

    def decode(demo: Any) -> tuple[Any, ...]:
        return ("Decode", {"sums": [c.message(x) for x in demo.segment_sums], "clients": 3,
                           "dim": len(demo.quantized[0])},
                "E10: the round's sum after client 3 cancelled client 1: clients 2 and 3 only, weight sum 3",
                {"CancellingClient"})

    demo = _with_finding(g, "e10_cancelling_client", arguments, decode)
    real = _prove(g, params, _g_r2_statement(2, [0, 1, 2]), demo.r2[2][0], "E10-proof",
                  "E10 hardened: client 3 proves knowledge of its real r2")
    g.op("CheckProof", {"statement": _g_r2_statement(2, [0, 1, 2]), "element": c.element(demo.e2[2][0][0]),
                        "proof": real["proof"]}, "E10 hardened: no proof fits the cancelling g^r2",
         {"CancellingClient", "Hardened"}, expect="proof-invalid")
