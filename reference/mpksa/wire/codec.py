"""The byte encodings of the wire contract (spec chapter 6): integers, bytes, floats, ciphertexts.

Integers travel as fixed-length big-endian lowercase hex whose length is fixed by a modulus;
opaque bytes as lowercase hex; gradient values as JSON numbers or the strings "NaN",
"Infinity" and "-Infinity". Every reader checks the shape and names the field it rejects;
secret fields are never echoed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ExponentRangeError, MalformedInputError, MpksaError, NonFiniteValueError, show
from ..messages import Ciphertext, Proof, Statement
from ..params import PROOF_CHALLENGE_BITS, Params, proof_nonce_bits, proof_response_bound
from ..validate import check_exponent, check_mask_exponent

Json = dict[str, Any]
"""A JSON object as parsed by `json.loads`."""

_HEX = re.compile(r"[0-9a-f]*")
_MINIMAL_HEX = re.compile(r"[1-9a-f][0-9a-f]*")


def nbytes(modulus: int) -> int:
    """Byte length of the fixed-length encoding of integers in [0, modulus)."""
    return ((modulus - 1).bit_length() + 7) // 8


def to_hex(x: int, modulus: int) -> str:
    return int(x).to_bytes(nbytes(modulus), "big").hex()


def from_hex(text: object, modulus: int, name: str, *, secret: bool = False) -> int:
    """Parse fixed-length hex; the length is part of the format and is checked.

    With `secret`, a malformed value is described by its type and length only.
    """
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise MalformedInputError(f"{name} = {_secret(text) if secret else show(text)} must be lowercase hex")
    if len(text) != 2 * nbytes(modulus):
        raise MalformedInputError(f"{name} has {len(text)} hex digits, expected {2 * nbytes(modulus)}")
    return int(text, 16) if text else 0


def _secret(value: object) -> str:
    """A secret field's value described without its content."""
    size = f" of {len(value)} characters" if isinstance(value, str) else ""
    return f"<secret {type(value).__name__}{size}>"


def bytes_from_hex(text: object, name: str) -> bytes:
    if not isinstance(text, str) or not _HEX.fullmatch(text) or len(text) % 2:
        raise MalformedInputError(f"{name} = {show(text)} must be lowercase hex of whole bytes")
    return bytes.fromhex(text)


def minimal_hex_in(value: object, name: str, error: type[MpksaError] = MalformedInputError) -> int:
    """A positive integer as minimal lowercase hex (no leading zero digit)."""
    if not isinstance(value, str) or not _MINIMAL_HEX.fullmatch(value):
        raise error(f"{name} = {show(value)} must be minimal lowercase hex")
    return int(value, 16)


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_from_json(value: object, name: str) -> float:
    """A JSON number, or one of the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedInputError(f"{name} = {show(value)} must be a number, 'NaN', 'Infinity' or '-Infinity'")
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


def as_list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedInputError(f"{name} must be a list, got {type(value).__name__}")
    return value


def as_int(value: object, name: str, low: int, high: int) -> int:
    """A JSON integer (not a boolean) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedInputError(f"{name} = {show(value)} "
                                  f"must be an integer in [{low}, {high}]")
    return value


def client_id_in(value: object, name: str) -> int:
    """A client id: an integer in [0, 2^32) (4 bytes in SE's associated data)."""
    return as_int(value, name, 0, 2**32 - 1)


def round_in(value: object, name: str) -> int:
    """A round number: an integer in [0, 2^64) (8 bytes in SE's associated data)."""
    return as_int(value, name, 0, 2**64 - 1)


@dataclass(frozen=True)
class Codec:
    """Which modulus fixes the length of each kind of integer of a parameter set."""

    params: Params

    def element(self, x: int) -> str:
        return to_hex(x, self.params.group_modulus)

    def element_in(self, text: object, name: str) -> int:
        return from_hex(text, self.params.group_modulus, name)

    def elements(self, texts: object, name: str) -> list[int]:
        return [self.element_in(t, f"{name}[{j}]") for j, t in enumerate(as_list(texts, name))]

    def e1(self, x: int) -> str:
        return to_hex(x, self.params.big_modulus)

    def e1_in(self, text: object, name: str) -> int:
        return from_hex(text, self.params.big_modulus, name)

    def exponent(self, x: int) -> str:
        return to_hex(x, self.params.exponent_bound)

    def exponent_in(self, text: object, name: str) -> int:
        """An explicit exponent or random value: fixed-length hex, then [1, bound) (spec 5.4). Secret."""
        return check_exponent(self.params, from_hex(text, self.params.exponent_bound, name, secret=True), name)

    def exponents(self, texts: object, name: str) -> list[int]:
        return [self.exponent_in(t, f"{name}[{j}]") for j, t in enumerate(as_list(texts, name))]

    def mask(self, x: int) -> str:
        """The mask exponent r_i of `v2`: the fixed length of integers below 2^L."""
        return to_hex(x, self.params.mask_bound)

    def mask_in(self, text: object, name: str) -> int:
        """A `v2` mask exponent: fixed-length hex, then [1, 2^L) (spec 10.8). Secret."""
        return check_mask_exponent(self.params, from_hex(text, self.params.mask_bound, name, secret=True), name)

    def message(self, x: int) -> str:
        """Packed segments and their sums: integers mod p (`paper`) or mod n (`v1`, `v2`)."""
        return to_hex(x % self.params.message_modulus, self.params.message_modulus)

    def message_in(self, text: object, name: str) -> int:
        return from_hex(text, self.params.message_modulus, name)

    def messages(self, texts: object, name: str) -> list[int]:
        return [self.message_in(t, f"{name}[{j}]") for j, t in enumerate(as_list(texts, name))]

    def ciphertext(self, c: Ciphertext) -> Json:
        return {"e1": [self.e1(x) for x in c.e1], "e2": [[self.element(a), self.element(b)] for a, b in c.e2]}

    def ciphertext_in(self, data: object, name: str) -> Ciphertext:
        if not isinstance(data, dict):
            raise MalformedInputError(f"{name} must be an object with e1 and e2")
        e1 = tuple(self.e1_in(x, f"{name}.e1[{j}]") for j, x in enumerate(as_list(data.get("e1"), f"{name}.e1")))
        pairs = as_list(data.get("e2"), f"{name}.e2")
        e2 = tuple(tuple(self.elements(pair, f"{name}.e2[{j}]")) for j, pair in enumerate(pairs))
        if any(len(pair) != 2 for pair in e2):
            raise MalformedInputError(f"{name}.e2 must hold pairs")
        return Ciphertext(e1, e2)  # type: ignore[arg-type]

    def public_keys_in(self, data: object, name: str) -> list[tuple[int, int]]:
        """A list of {"id", "pk"} objects as (client id, pk) pairs."""
        keys = []
        for j, entry in enumerate(as_list(data, name)):
            if not isinstance(entry, dict):
                raise MalformedInputError(f"{name}[{j}] must be an object with id and pk")
            keys.append((client_id_in(entry.get("id"), f"{name}[{j}].id"), self.element_in(entry.get("pk"), f"{name}[{j}].pk")))
        return keys

    def ciphertexts_in(self, data: object, name: str) -> list[Ciphertext]:
        return [self.ciphertext_in(c, f"{name}[{i}]") for i, c in enumerate(as_list(data, name))]

    # --- the hardening's proofs of knowledge (spec 5.14) ----------------------------------------

    def statement(self, s: Statement) -> Json:
        return {"kind": s.kind, "client_id": s.client_id, "index": s.index, "round": s.round_id,
                "online": list(s.online)}

    def statement_in(self, data: object, name: str) -> Statement:
        """{"kind", "client_id", "index", "round", "online"}, every field present (unused ones 0 or [])."""
        if not isinstance(data, dict) or set(data) != set(STATEMENT_FIELDS):
            raise MalformedInputError(f"{name} must be an object with exactly the fields {', '.join(STATEMENT_FIELDS)}")
        if not isinstance(data["kind"], str):
            raise MalformedInputError(f"{name}.kind = {show(data['kind'])} must be a string")
        online = tuple(client_id_in(i, f"{name}.online[{j}]") for j, i in enumerate(as_list(data["online"], f"{name}.online")))
        return Statement(data["kind"], client_id_in(data["client_id"], f"{name}.client_id"),
                         client_id_in(data["index"], f"{name}.index"), round_in(data["round"], f"{name}.round"), online)

    def proof(self, p: Proof) -> Json:
        """(c, z): c in 16 bytes, z at the fixed length of the response bound."""
        return {"c": to_hex(p.c, 1 << PROOF_CHALLENGE_BITS), "z": to_hex(p.z, proof_response_bound(self.params))}

    def proof_in(self, data: object, name: str) -> Proof:
        if not isinstance(data, dict) or set(data) != {"c", "z"}:
            raise MalformedInputError(f"{name} must be an object with exactly the fields c and z")
        return Proof(from_hex(data["c"], 1 << PROOF_CHALLENGE_BITS, f"{name}.c"),
                     from_hex(data["z"], proof_response_bound(self.params), f"{name}.z"))

    def nonce_in(self, text: object, name: str) -> int:
        """The nonce k of a proof: fixed-length hex, then [1, 2^{nonce bits}) (spec 5.14). Secret."""
        bound = 1 << proof_nonce_bits(self.params)
        k = from_hex(text, bound, name, secret=True)
        if not 0 < k < bound:
            raise ExponentRangeError(f"{name} must lie in [1, 2^{proof_nonce_bits(self.params)})")
        return k


STATEMENT_FIELDS = ("kind", "client_id", "index", "round", "online")
"""The fields of a statement object on the wire (spec 6.6)."""
