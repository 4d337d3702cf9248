"""The stage protocol's messages: record keys, stage names, typed field access, element lists.

Every MPKSA message carries a ConfigRecord under `CONFIG` (stage, profile, parameter set, round,
attempt and the stage's small fields) and, where it has bulk data, an ArrayRecord under `ARRAYS`
(the sealed model, the upload, the challenge, the response). ConfigRecord integers are 64-bit, so
group elements travel as bytes: a list of elements is one byte string of fixed-width big-endian
integers (spec chapter 6), in an Array that Flower chunks like any other (spec 11.3).

Everything read here comes from the other side and is hostile: a missing or ill-typed field is
`malformed-input`, a list of the wrong length `dimension-mismatch`, and no length is trusted
before it is compared with the one the stage expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, cast

from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict
from flwr.common.serde import array_record_from_proto, array_record_to_proto
from flwr.proto.recorddict_pb2 import ArrayRecord as ProtoArrayRecord  # pylint: disable=E0611
from google.protobuf.message import DecodeError

from mpksa.errors import DimensionMismatchError, MalformedInputError, MpksaError
from mpksa.messages import Proof
from mpksa.params import PROOF_CHALLENGE_BITS

T = TypeVar("T")

CONFIG = "mpksa.config"
ARRAYS = "mpksa.arrays"
STATE = "mpksa.state"

KEYS, UPLOAD, RESPOND = "keys", "upload", "respond"
STAGES = (KEYS, UPLOAD, RESPOND)

ELEMENTS_STYPE = "mpksa.elements"  # an Array holding fixed-width big-endian group elements
BYTES_STYPE = "mpksa.bytes"  # an Array holding an opaque byte string (the sealed model)
PROOFS_STYPE = "mpksa.proofs"  # an Array holding fixed-width proofs of knowledge, c || z each
CHALLENGE_BYTES = PROOF_CHALLENGE_BITS // 8  # c of a proof (spec 5.14)

# Attempts of one round are numbered 1, 2, ... below this bound; SE binds both (see aead_round).
MAX_ATTEMPTS = 1 << 16


class ProtocolStageError(MpksaError):
    """A message for a stage the receiver is not in, or for no MPKSA stage at all."""

    code = "stage-out-of-order"


def aead_round(server_round: int, attempt: int) -> int:
    """The round number SE and DSE bind: server_round * 2^16 + attempt (one value per attempt)."""
    if not 0 < attempt < MAX_ATTEMPTS or not 0 <= server_round < 1 << 47:
        raise MalformedInputError(f"round {server_round}, attempt {attempt} do not fit the SE round number")
    return server_round * MAX_ATTEMPTS + attempt


# --- fields of the config record ------------------------------------------------------------------

def config_of(content: RecordDict, stage: str) -> ConfigRecord:
    """The MPKSA config record of a message, or `malformed-input`."""
    record = content.config_records.get(CONFIG)
    if record is None:
        raise MalformedInputError(f"the {stage} message carries no '{CONFIG}' record")
    return record


def read_str(record: ConfigRecord, key: str) -> str:
    return _read(record, key, str)


def read_bytes(record: ConfigRecord, key: str) -> bytes:
    return _read(record, key, bytes)


def read_float(record: ConfigRecord, key: str) -> float:
    return _read(record, key, float)


def read_bool(record: ConfigRecord, key: str) -> bool:
    return _read(record, key, bool)


def read_int(record: ConfigRecord, key: str, low: int = 0, high: int = (1 << 63) - 1) -> int:
    value = _read(record, key, int)
    if not low <= value <= high:
        raise MalformedInputError(f"field '{key}' = {value} must lie in [{low}, {high}]")
    return value


def read_ids(record: ConfigRecord, key: str) -> list[int]:
    """A list of distinct client ids (positive integers)."""
    value = record.get(key)
    if not isinstance(value, list) or any(type(i) is not int or i < 1 for i in value):
        raise MalformedInputError(f"field '{key}' must be a list of positive integers")
    if len(set(value)) != len(value):
        raise MalformedInputError(f"field '{key}' repeats a client id")
    return list(value)


def _read(record: ConfigRecord, key: str, kind: type[T]) -> T:
    value = record.get(key)
    # bool is an int in Python; a field of one type never accepts another.
    if type(value) is not kind:
        shown = "missing" if value is None else f"of type {type(value).__name__}"
        raise MalformedInputError(f"field '{key}' is {shown}, expected {kind.__name__}")
    return cast(T, value)


def check_header(record: ConfigRecord, stage: str, profile: str, params: str, server_round: int,
                 attempt: int) -> None:
    """A reply names the stage, profile, parameter set, round and attempt it answers."""
    got = (read_str(record, "stage"), read_str(record, "profile"), read_str(record, "params"),
           read_int(record, "round"), read_int(record, "attempt"))
    want = (stage, profile, params, server_round, attempt)
    if got != want:
        raise ProtocolStageError(f"reply for (stage, profile, params, round, attempt) = {got}, expected {want}")


def header(stage: str, profile: str, params: str, server_round: int, attempt: int) -> dict[str, str | int]:
    return {"stage": stage, "profile": profile, "params": params, "round": server_round, "attempt": attempt}


# --- group elements as bytes ----------------------------------------------------------------------

def element_bytes(x: int, width: int) -> bytes:
    """One element, big-endian, exactly `width` bytes (spec chapter 6)."""
    return int(x).to_bytes(width, "big")


def element_of(data: object, width: int, name: str) -> int:
    """One element from exactly `width` bytes."""
    if not isinstance(data, bytes) or len(data) != width:
        raise MalformedInputError(f"{name} must be {width} bytes")
    return int.from_bytes(data, "big")


def elements_array(xs: Sequence[int], width: int) -> Array:
    """A list of elements as one Array of fixed-width big-endian integers."""
    blob = b"".join(int(x).to_bytes(width, "big") for x in xs)
    return Array(dtype="uint8", shape=(len(blob),), stype=ELEMENTS_STYPE, data=blob)


def elements_of(arrays: ArrayRecord, key: str, width: int, count: int, name: str) -> list[int]:
    """Exactly `count` elements of `width` bytes from the Array under `key`."""
    blob = _array_data(arrays, key, ELEMENTS_STYPE)
    if len(blob) != width * count:
        raise DimensionMismatchError(f"{name} has {len(blob)} bytes, expected {count} elements of {width} bytes")
    return elements(blob, width)


def elements(blob: bytes, width: int) -> list[int]:
    """Back-to-back big-endian integers of `width` bytes each (the caller checked the length)."""
    return [int.from_bytes(blob[k:k + width], "big") for k in range(0, len(blob), width)]


# --- proofs of knowledge as bytes (spec 5.14: c, 16 bytes, then z at its fixed length) ---------------

def proof_bytes(proof: Proof, width: int) -> bytes:
    """One proof (c, z) as c || z, `width` bytes in all, big-endian."""
    return proof.c.to_bytes(CHALLENGE_BYTES, "big") + proof.z.to_bytes(width - CHALLENGE_BYTES, "big")


def proof_of(data: object, width: int, name: str) -> Proof:
    """One proof from exactly `width` bytes (its ranges are the verifier's business)."""
    if not isinstance(data, bytes) or len(data) != width:
        raise MalformedInputError(f"the proof of {name} must be {width} bytes")
    return Proof(int.from_bytes(data[:CHALLENGE_BYTES], "big"), int.from_bytes(data[CHALLENGE_BYTES:], "big"))


def proofs_array(proofs: Sequence[Proof], width: int) -> Array:
    """A list of proofs as one Array of fixed-width c || z."""
    blob = b"".join(proof_bytes(p, width) for p in proofs)
    return Array(dtype="uint8", shape=(len(blob),), stype=PROOFS_STYPE, data=blob)


def proofs_of(arrays: ArrayRecord, key: str, width: int, count: int, name: str) -> list[Proof]:
    """Exactly `count` proofs of `width` bytes from the Array under `key`."""
    blob = _array_data(arrays, key, PROOFS_STYPE)
    if len(blob) != width * count:
        raise DimensionMismatchError(f"{name} has {len(blob)} bytes, expected {count} proofs of {width} bytes")
    return [proof_of(blob[k:k + width], width, name) for k in range(0, len(blob), width)]


def bytes_array(data: bytes) -> Array:
    return Array(dtype="uint8", shape=(len(data),), stype=BYTES_STYPE, data=data)


def bytes_of(arrays: ArrayRecord, key: str) -> bytes:
    return _array_data(arrays, key, BYTES_STYPE)


def arrays_of(content: RecordDict, stage: str) -> ArrayRecord:
    record = content.array_records.get(ARRAYS)
    if record is None:
        raise MalformedInputError(f"the {stage} message carries no '{ARRAYS}' record")
    return record


def _array_data(arrays: ArrayRecord, key: str, stype: str) -> bytes:
    array = arrays.get(key)
    if not isinstance(array, Array) or array.stype != stype or not isinstance(array.data, bytes):
        raise MalformedInputError(f"array '{key}' is missing or not of type {stype}")
    return array.data


# --- the model, sealed for one client --------------------------------------------------------------

def model_bytes(model: ArrayRecord) -> bytes:
    """The model's ArrayRecord in Flower's own protobuf form: what SE encrypts."""
    return array_record_to_proto(model).SerializeToString()


def model_of(data: bytes) -> ArrayRecord:
    """The inverse of `model_bytes` (after DSE has authenticated the bytes)."""
    try:
        return array_record_from_proto(ProtoArrayRecord.FromString(data))
    except (DecodeError, TypeError, ValueError) as error:
        raise MalformedInputError(f"the unsealed model is not an ArrayRecord: {error}") from None
