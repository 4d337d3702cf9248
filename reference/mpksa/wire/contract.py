"""The wire contract every implementation shares (spec chapters 6 and 9).

An operation request is

    {"op": NAME, "profile": PROFILE, "params": {...}, "encoding": {...}, "inputs": {...}}

and its answer is {"outputs": {...}} or {"error": {"code": CODE, "message": TEXT}}. This module
reads the envelope, the params object and the encoding object, names the operations and who runs
them, and turns an implementation's handlers into an answer function (`dispatch`). What an
operation computes is each implementation's own business: the reference's handlers are in
`mpksa.ops`, the fast implementation's in `mpksa.fast.wire`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import gmpy2

from ..encoding import Encoding
from ..errors import MalformedInputError, MpksaError, ParameterError, show
from ..params import MAX_CLIENT_BITS, PARAMETER_SET_NAMES, PaperParams, Params, V1Params, V2Params, parameter_set
from .codec import Json, minimal_hex_in

PROTOCOL = "mpksa-conformance/1"
"""Name and version of the conformance protocol that carries operation requests (spec chapter 9)."""

PROFILE_NAMES = ("paper", "v1", "v2")

# Who runs each operation in a round (Algorithm 1); Recover is Algorithm 2 on its own.
SERVER_OPERATIONS = ("SysGen", "AggPKGen", "SE", "ChelGen", "Agg", "Dec", "Decode")
CLIENT_OPERATIONS = ("KeyGen", "CheckPkS", "DSE", "Quantize", "Encode", "Enc", "CheckChallenge", "ResGen")
# The hardening's operations (spec 5.13, 5.14): proofs of knowledge (made by the server for alpha and by
# clients for sk_i and r_ij2, checked by clients) and the element check. Optional for an implementation.
HARDENING_OPERATIONS = ("Prove", "CheckProof", "CheckElement")
OPERATIONS = SERVER_OPERATIONS + CLIENT_OPERATIONS + ("Recover",) + HARDENING_OPERATIONS

ENCODING_FIELDS = tuple(f.name for f in dataclasses.fields(Encoding))
"""The fields of an encoding object, in order: frac_bits, clip, weight_max, max_clients."""


# --- params and encoding objects (spec 6.4) ----------------------------------------------------

def params_to_json(params: Params) -> Json:
    if isinstance(params, PaperParams):
        return {"name": params.name, "profile": "paper", "p": format(params.p, "x"), "q": format(params.q, "x"),
                "gamma": params.gamma, "g": format(params.g, "x"), "insecure": params.insecure}
    if isinstance(params, V2Params):
        return {"name": params.name, "profile": "v2", "n": format(params.n, "x"), "g": format(params.g, "x"),
                "exponent_bits": params.exponent_bits, "mask_bits": params.mask_bits, "insecure": params.insecure}
    return {"name": params.name, "profile": "v1", "n": format(params.n, "x"), "g": format(params.g, "x"),
            "exponent_bits": params.exponent_bits, "insecure": params.insecure}


def _field(data: Json, key: str, kind: type) -> Any:
    value = data.get(key)
    if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
        raise ParameterError(f"params.{key} = {show(value)} must be of type {kind.__name__}")
    return value


def _hex_field(data: Json, key: str) -> int:
    return minimal_hex_in(_field(data, key, str), f"params.{key}", ParameterError)


def params_from_json(data: object) -> Params:
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
    elif profile == "v2":
        params = V2Params(name, _hex_field(data, "n"), _hex_field(data, "g"), _field(data, "exponent_bits", int),
                          insecure, mask_bits=_field(data, "mask_bits", int))
    else:
        raise ParameterError(f"params.profile = {show(profile)} must be one of {', '.join(PROFILE_NAMES)}")
    if name in PARAMETER_SET_NAMES:
        registered = parameter_set(name)
        if params_to_json(registered) != params_to_json(params):
            raise ParameterError(f"params named {name!r} differ from the registered parameter set")
        return registered
    check_custom_parameters(params)
    return params


MAX_CUSTOM_MODULUS_BITS = 4096
"""An unregistered set is a toy for tests and errata: its p or n is capped before any primality test,
so that a request cannot make the receiver spend seconds on one huge number."""


def check_custom_parameters(params: Params) -> None:
    """An unregistered set (e.g. a toy group for an erratum) must be insecure-flagged and well formed."""
    if not params.insecure:
        raise ParameterError(f"unregistered parameter set {show(params.name)} must be flagged insecure")
    modulus = params.p if isinstance(params, PaperParams) else params.n
    if modulus.bit_length() > MAX_CUSTOM_MODULUS_BITS:
        raise ParameterError(f"unregistered parameter set {show(params.name)}: a {modulus.bit_length()}-bit modulus "
                             f"exceeds the {MAX_CUSTOM_MODULUS_BITS} bits allowed for a custom set")
    if isinstance(params, PaperParams):
        import sympy

        ok = (sympy.isprime(params.p) and sympy.isprime(params.q) and params.p - 1 == params.gamma * params.q
              and 1 < params.g < params.p and pow(params.g, params.q, params.p) == 1)
        if not ok:
            raise ParameterError(f"paper set {show(params.name)}: need primes p, q with p - 1 = gamma*q and g of order q")
        return
    ok = (params.n > 3 and params.n % 2 == 1 and 1 <= params.exponent_bits <= 8192
          and 1 < params.g < params.n2 and gmpy2.gcd(params.g, params.n) == 1)
    if not ok:
        raise ParameterError(f"{params.profile} set {show(params.name)}: need odd n > 3, 1 <= exponent_bits <= 8192, "
                             "g a unit mod n^2")
    if isinstance(params, V2Params) and not 1 <= params.mask_bits < params.modulus_bits - MAX_CLIENT_BITS:
        raise ParameterError(f"v2 set {show(params.name)}: need 1 <= mask_bits < |n| - {MAX_CLIENT_BITS}, so that "
                             "the mask sum of any S stays below n")


def encoding_to_json(encoding: Encoding) -> Json:
    return {name: getattr(encoding, name) for name in ENCODING_FIELDS}


def encoding_from_json(data: object) -> Encoding:
    """An encoding object: exactly the fields of `Encoding`; absent (None) means the defaults."""
    if data is None:
        return Encoding()
    if not isinstance(data, dict) or set(data) != set(ENCODING_FIELDS):
        raise ParameterError(f"encoding must be an object with exactly the fields {', '.join(ENCODING_FIELDS)}")
    return Encoding(**{name: data[name] for name in ENCODING_FIELDS})


# --- requests and answers -----------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """An operation request whose envelope, params and encoding have been read and checked."""

    op: str
    params: Params
    encoding: Encoding
    inputs: Json


def read_request(message: object, operations: Mapping[str, object]) -> Request:
    """Check the envelope of an operation request; raises a typed error naming what is wrong."""
    op = message.get("op") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(op, str) or op not in operations:
        raise MalformedInputError(f"unknown operation {show(op if isinstance(message, dict) else message)}")
    if not isinstance(message.get("inputs"), dict) or not isinstance(message.get("params"), dict):
        raise MalformedInputError("a request needs objects 'params' and 'inputs'")
    params = params_from_json(message["params"])
    profile = message.get("profile", params.profile)
    if profile != params.profile:
        raise ParameterError(f"profile {show(profile)} does not match the params ({params.profile!r})")
    return Request(op, params, encoding_from_json(message.get("encoding")), message["inputs"])


def error_answer(exc: MpksaError) -> Json:
    return {"error": {"code": exc.code, "message": str(exc)}}


Context = TypeVar("Context")
Handler = Callable[[Context, Json], Json]


def dispatch(message: object, operations: Mapping[str, Handler[Context]],
             context: Callable[[Request], Context]) -> Json:
    """Answer one request with an implementation's handlers; never raises on bad input.

    `context` builds what the handlers need (a codec, a group, caches) from the checked request.
    """
    try:
        request = read_request(message, operations)
        return {"outputs": operations[request.op](context(request), request.inputs)}
    except MpksaError as exc:
        return error_answer(exc)


class Adapter(Protocol):
    """An implementation the runner can call in-process (`--adapter module:OBJECT`, spec chapter 9)."""

    def capabilities(self) -> Json:
        """{"name", "profiles", "operations"} and optionally "parameterSets"."""
        ...

    def handle(self, request: Json) -> Json:
        """One operation request to its answer."""
        ...
