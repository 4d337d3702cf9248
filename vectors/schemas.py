"""The JSON Schemas (Draft 2020-12) of the vector files, built in one place.

`generate` writes them to `schema/*.schema.json`; those files are the normative
contract (vectors/README.md) and `verify` validates against the files, not
against this module. Building them here keeps the shared definitions (hex,
params, per-operation inputs and outputs) identical across the three schemas.
Strict throughout: every object lists its required fields and forbids others.
"""

from __future__ import annotations

from typing import Any

from mpksa.errors import ERROR_CLASSES
from mpksa.wire.codec import Json
from mpksa.wire.contract import OPERATIONS, PROFILE_NAMES

from .builder import MANIFEST_SCHEMA, OPERATION_SCHEMA, TRANSCRIPT_SCHEMA

DRAFT = "https://json-schema.org/draft/2020-12/schema"
HEX = {"$ref": "#/$defs/hex"}
INT = {"type": "integer"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> Json:
    """A closed object: these fields, no others."""
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": sorted(required),
            "additionalProperties": False}


def _list(item: Any, min_items: int = 0) -> Json:
    out: Json = {"type": "array", "items": item}
    if min_items:
        out["minItems"] = min_items
    return out


_HEX_LIST = _list(HEX)
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_UINT64 = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
_CIPHERTEXT = _obj({"e1": _list(HEX, 1), "e2": _list({"type": "array", "items": HEX, "minItems": 2, "maxItems": 2}, 1)})
_FLOAT = {"oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}
_STATEMENT = _obj({"kind": {"enum": ["key", "server key", "g^r2"]}, "client_id": _UINT32, "index": _UINT32,
                   "round": _UINT64, "online": _list(_UINT32)})
_PROOF = _obj({"c": HEX, "z": HEX})

INPUTS: dict[str, Json] = {
    "SysGen": _obj({"alphas": _list(HEX, 1)}),
    "KeyGen": _obj({"sk": HEX}),
    "AggPKGen": _obj({"public_keys": _list(_obj({"id": _UINT32, "pk": HEX}))}),
    "CheckPkS": _obj({"pk_s": HEX, "pk_i": HEX}, {"announced": _HEX_LIST}),
    "SE": _obj({"pk_i": HEX, "alpha": HEX, "model": HEX, "round": _UINT64, "client_id": _UINT32,
                "nonce": {"type": "string", "pattern": "^[0-9a-f]{24}$"}}),
    "DSE": _obj({"beta": HEX, "sk": HEX, "sealed": HEX, "round": _UINT64, "client_id": _UINT32}),
    "Quantize": _obj({"values": _list(_FLOAT)}, {"clip": {"type": "boolean"}}),
    "Encode": _obj({"quantized": _list(INT), "weight": INT}),
    "Enc": _obj({"betas": _list(HEX, 1), "pk_s": HEX, "segments": _list(HEX, 1), "r1": _list(HEX, 1),
                 "r2": _list(HEX, 1)}, {"r": HEX}),
    "ChelGen": _obj({"ciphertexts": _list(_CIPHERTEXT, 1)}),
    "CheckChallenge": _obj({"challenge": _list(HEX, 1), "announced": _list(_list(HEX, 1), 1),
                            "own": _list(HEX, 1)}),
    "ResGen": _obj({"challenge": _list(HEX, 1), "sk": HEX}),
    "Agg": _obj({"ciphertexts": _list(_CIPHERTEXT, 1), "responses": _list(_list(HEX, 1), 1)}),
    "Dec": _obj({"alphas": _list(HEX, 1), "e_agg": _list(HEX, 1), "d": _list(HEX, 1), "t": _list(HEX, 1)},
                {"clients": {"type": "integer", "minimum": 1}}),
    "Decode": _obj({"sums": _list(HEX, 1), "clients": {"type": "integer", "minimum": 1}, "dim": {
        "type": "integer", "minimum": 0}}),
    "Recover": _obj({"a": _list({"$ref": "#/$defs/hexInt"}, 1), "bound": {"type": "integer", "minimum": 1},
                     "total": HEX}),
    "Prove": _obj({"statement": _STATEMENT, "x": HEX, "k": HEX}),
    "CheckProof": _obj({"statement": _STATEMENT, "element": HEX, "proof": _PROOF}),
    "CheckElement": _obj({"element": HEX}),
}

OUTPUTS: dict[str, Json] = {
    "SysGen": _obj({"betas": _list(HEX, 1)}),
    "KeyGen": _obj({"pk": HEX}),
    "AggPKGen": _obj({"pk_s": HEX}),
    "CheckPkS": _obj({}),
    "SE": _obj({"sealed": HEX}),
    "DSE": _obj({"model": HEX}),
    "Quantize": _obj({"quantized": _list(INT)}),
    "Encode": _obj({"segments": _list(HEX, 1)}),
    "Enc": _obj({"ciphertext": _CIPHERTEXT}),
    "ChelGen": _obj({"challenge": _list(HEX, 1)}),
    "CheckChallenge": _obj({}),
    "ResGen": _obj({"response": _list(HEX, 1)}),
    "Agg": _obj({"e_agg": _list(HEX, 1), "d": _list(HEX, 1), "t": _list(HEX, 1)}),
    "Dec": _obj({"sums": _list(HEX, 1)}),
    "Decode": _obj({"weighted_sums": _list(INT), "weight_sum": INT}),
    "Recover": _obj({"values": _list(INT)}),
    "Prove": _obj({"element": HEX, "proof": _PROOF}),
    "CheckProof": _obj({}),
    "CheckElement": _obj({}),
}
assert set(INPUTS) == set(OUTPUTS) == set(OPERATIONS), "every operation needs an input and output schema"

_INTS = _list(INT)
# Named intermediate values (spec ch. 8). Each is optional; no other name is allowed.
INTERMEDIATES: dict[str, Any] = {
    # SE / DSE
    "shared": HEX, "key": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "aad": HEX,
    # Encode / Decode
    "weighted": _INTS, "offset": _INTS, "slot_bits": INT, "k": INT, "slots": _INTS,
    "clients_quantized": _list(_INTS), "clients_weights": _INTS,
    # Recover
    "packed_values": _INTS,
    # Enc
    "plaintext_factor": _HEX_LIST, "beta_r1": _HEX_LIST, "g_r1": _HEX_LIST, "pk_s_r2": _HEX_LIST,
    # Enc of v2: the segment bases and the masks h_j^r
    "bases": _HEX_LIST, "h_r": _HEX_LIST,
    # Dec
    "d_over_t": _HEX_LIST, "l_input": _HEX_LIST, "plaintext_sums": _HEX_LIST, "r1_sum": {"$ref": "#/$defs/hexInt"},
    "mask_sum": {"$ref": "#/$defs/hexInt"},
    # E5 evidence
    "sybil_sk": HEX, "forger_x": HEX,
    # Prove / CheckProof: the statement's context bytes and the commitment t = g^k (= g^z * y^-c)
    "context": HEX, "commitment": HEX,
    # errata: a call of mpksa.findings and its result
    "finding": _obj({"id": {"type": "string", "pattern": "^(E([1-9]|10)|Theorem [34])$"},
                     "function": {"type": "string", "pattern": "^[a-z0-9_]+$"},
                     "arguments": {"type": "object"}, "result": {"type": "object"}}),
    # transcripts
    "registered": _INTS, "online": _INTS, "dropped_before_s": _INTS, "dropped_after_upload": _INTS, "dim": INT,
    "plaintext_weighted_sums": _INTS, "plaintext_weight_sum": INT, "rerun_of": {"type": "integer", "minimum": 1},
}

_DEFS: Json = {
    "hex": {"type": "string", "pattern": "^([0-9a-f]{2})*$",
            "description": "fixed-length big-endian lowercase hex, whole bytes"},
    "hexInt": {"type": "string", "pattern": "^[0-9a-f]+$", "description": "minimal lowercase hex of an integer"},
    "flags": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9]*$"}, "uniqueItems": True,
              "minItems": 1},
    "errorCode": {"enum": sorted(ERROR_CLASSES)},
    "op": {"enum": sorted(OPERATIONS)},
    "params": {"oneOf": [
        _obj({"name": {"type": "string"}, "profile": {"const": "paper"}, "p": {"$ref": "#/$defs/hexInt"},
              "q": {"$ref": "#/$defs/hexInt"}, "gamma": {"type": "integer", "minimum": 1},
              "g": {"$ref": "#/$defs/hexInt"}, "insecure": {"type": "boolean"}}),
        _obj({"name": {"type": "string"}, "profile": {"const": "v1"}, "n": {"$ref": "#/$defs/hexInt"},
              "g": {"$ref": "#/$defs/hexInt"}, "exponent_bits": {"type": "integer", "minimum": 1},
              "insecure": {"type": "boolean"}}),
        _obj({"name": {"type": "string"}, "profile": {"const": "v2"}, "n": {"$ref": "#/$defs/hexInt"},
              "g": {"$ref": "#/$defs/hexInt"}, "exponent_bits": {"type": "integer", "minimum": 1},
              "mask_bits": {"type": "integer", "minimum": 1}, "insecure": {"type": "boolean"}}),
    ]},
    "encoding": _obj({"frac_bits": {"type": "integer", "minimum": 0, "maximum": 52},
                      "clip": {"type": "number", "exclusiveMinimum": 0},
                      "weight_max": {"type": "integer", "minimum": 1},
                      "max_clients": {"type": "integer", "minimum": 1}}),
    "notes": {"type": "object", "propertyNames": {"pattern": "^[A-Z][A-Za-z0-9]*$"},
              "additionalProperties": _obj({"description": {"type": "string", "minLength": 1},
                                            "reference": {"type": "string", "minLength": 1},
                                            "effect": {"type": "string", "minLength": 1}})},
    "intermediates": {**_obj({}, INTERMEDIATES), "minProperties": 1},
    **{f"{op}Inputs": schema for op, schema in INPUTS.items()},
    **{f"{op}Outputs": schema for op, schema in OUTPUTS.items()},
}


def _per_op(field_: str, suffix: str, when: Json | None = None) -> list[Json]:
    """`field_` must match the schema of the test's op (if/then per operation)."""
    out = []
    for op in sorted(OPERATIONS):
        condition: Json = {"properties": {"op": {"const": op}}, "required": ["op"]}
        if when:
            condition = {"allOf": [condition, when]}
        out.append({"if": condition, "then": {"properties": {field_: {"$ref": f"#/$defs/{op}{suffix}"}}}})
    return out


def _file(schema_name: str, test: Json, title: str) -> Json:
    group = _obj({"comment": {"type": "string"}, "params": {"$ref": "#/$defs/params"},
                  "encoding": {"$ref": "#/$defs/encoding"}, "tests": _list(test, 1)})
    return {
        "$schema": DRAFT,
        "title": title,
        **_obj({
            "algorithm": {"const": "MPKSA"},
            "schema": {"const": schema_name},
            "specVersion": {"type": "string", "minLength": 1},
            "generatorVersion": {"type": "string", "minLength": 1},
            "profile": {"enum": list(PROFILE_NAMES)},
            "parameterSet": {"type": "string", "pattern": "^[a-z0-9-]+$"},
            "family": {"type": "string", "pattern": "^[a-z0-9-]+$"},
            "numberOfTests": {"type": "integer", "minimum": 0},
            "header": _list({"type": "string"}, 1),
            "notes": {"$ref": "#/$defs/notes"},
            "testGroups": _list(group, 1),
        }),
        "$defs": _DEFS,
    }


def operation_schema() -> Json:
    """One operation on its own: `outputs` for valid tests, `error` for invalid ones."""
    answer = {"outputs": {"type": "object"}, "error": {"$ref": "#/$defs/errorCode"}}
    test = _obj({"tcId": {"type": "integer", "minimum": 1}, "comment": {"type": "string", "minLength": 1},
                 "flags": {"$ref": "#/$defs/flags"}, "op": {"$ref": "#/$defs/op"}, "inputs": {"type": "object"},
                 "result": {"enum": ["valid", "invalid", "acceptable"]}},
                {**answer, "intermediates": {"$ref": "#/$defs/intermediates"}})
    well_formed = {"properties": {"result": {"enum": ["valid", "acceptable"]}}, "required": ["result"]}
    test["allOf"] = [
        {"oneOf": [{"required": ["outputs"]}, {"required": ["error"]}]},
        {"if": {"properties": {"result": {"const": "valid"}}}, "then": {"required": ["outputs"]}},
        {"if": {"properties": {"result": {"const": "invalid"}}}, "then": {"required": ["error"]}},
        *_per_op("outputs", "Outputs"),
        *_per_op("inputs", "Inputs", well_formed),
    ]
    return _file(OPERATION_SCHEMA, test, "MPKSA operation test vectors")


def transcript_schema() -> Json:
    """Whole rounds: steps in protocol order, each with actor and success flag."""
    step = _obj({"step": {"type": "integer", "minimum": 1}, "actor": {"type": "string",
                 "pattern": "^(server|client:(0|[1-9][0-9]*))$"}, "op": {"$ref": "#/$defs/op"},
                 "inputs": {"type": "object"}, "success": {"type": "boolean"}},
                {"outputs": {"type": "object"}, "error": {"$ref": "#/$defs/errorCode"}})
    step["allOf"] = [
        {"if": {"properties": {"success": {"const": True}}}, "then": {"required": ["outputs"], "not": {
            "required": ["error"]}}},
        {"if": {"properties": {"success": {"const": False}}}, "then": {"required": ["error"], "not": {
            "required": ["outputs"]}}},
        *_per_op("outputs", "Outputs"),
        *_per_op("inputs", "Inputs"),
    ]
    abort = _obj({"code": {"const": "round-aborted"}, "step": {"type": "integer", "minimum": 1},
                  "dropped": _list(INT, 1), "reason": {"type": "string", "minLength": 1}})
    test = _obj({"tcId": {"type": "integer", "minimum": 1}, "comment": {"type": "string", "minLength": 1},
                 "flags": {"$ref": "#/$defs/flags"}, "result": {"enum": ["valid", "invalid", "acceptable"]},
                 "operations": _list(step, 1)},
                {"intermediates": {"$ref": "#/$defs/intermediates"}, "abort": abort})
    return _file(TRANSCRIPT_SCHEMA, test, "MPKSA transcript test vectors")


def manifest_schema() -> Json:
    entry = _obj({"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                  "numberOfTests": {"type": "integer", "minimum": 0}, "bytes": {"type": "integer", "minimum": 1}})
    return {
        "$schema": DRAFT,
        "title": "MPKSA test vector manifest",
        **_obj({
            "algorithm": {"const": "MPKSA"},
            "schema": {"const": MANIFEST_SCHEMA},
            "specVersion": {"type": "string", "minLength": 1},
            "generatorVersion": {"type": "string", "minLength": 1},
            "files": {"type": "object", "minProperties": 1,
                      "propertyNames": {"pattern": f"^({'|'.join(PROFILE_NAMES)})/[a-z0-9-]+/[a-z0-9-]+\\.json$"},
                      "additionalProperties": entry},
        }),
    }


def all_schemas() -> dict[str, Json]:
    return {OPERATION_SCHEMA: operation_schema(), TRANSCRIPT_SCHEMA: transcript_schema(),
            MANIFEST_SCHEMA: manifest_schema()}
