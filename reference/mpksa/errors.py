"""Typed errors. Each names the offending value and the rule it broke.

Every error has a stable ``code``: test vectors and the conformance protocol
refer to errors by this code, so implementations in other languages can map
their own exceptions onto it.
"""

from __future__ import annotations

_HEX_PREVIEW = 24
_REPR_PREVIEW = 48


def show(value: object) -> str:
    """A short rendering of a public value for an error message: long values are cut."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = format(abs(value), "x")
        if len(text) > _HEX_PREVIEW:
            text = f"{text[:8]}...{text[-8:]} ({value.bit_length()} bits)"
        return ("-0x" if value < 0 else "0x") + text
    text = repr(value)
    return text if len(text) <= _REPR_PREVIEW else f"{text[:_REPR_PREVIEW]}... ({len(text)} characters)"


class MpksaError(Exception):
    """Base class of every error the package raises on bad input."""

    code = "mpksa-error"


class ParameterError(MpksaError):
    """A parameter set or encoding setting breaks its own rules."""

    code = "invalid-parameters"


class MalformedInputError(MpksaError):
    """An input is not of the expected type, length or encoding."""

    code = "malformed-input"


class ElementOutOfRangeError(MpksaError):
    """A group element is not in [1, modulus)."""

    code = "element-out-of-range"


class ExponentRangeError(MpksaError):
    """A secret exponent (sk, alpha, r) is not in [1, bound)."""

    code = "exponent-out-of-range"


class NonUnitError(MpksaError):
    """A group element shares a factor with the modulus."""

    code = "non-unit"


class LInputError(MpksaError):
    """The input of L(x) = (x - 1) / n is not 1 mod n."""

    code = "l-input-not-one-mod-n"


class NonFiniteValueError(MpksaError):
    """A gradient value is NaN or infinite."""

    code = "non-finite-value"


class QuantizationRangeError(MpksaError):
    """A value lies outside the range the encoding can represent."""

    code = "value-out-of-range"


class SlotOverflowError(MpksaError):
    """A packed slot would carry into its neighbour."""

    code = "slot-overflow"


class DimensionMismatchError(MpksaError):
    """Vectors or message lists that must agree in length do not."""

    code = "dimension-mismatch"


class TooFewClientsError(MpksaError):
    """The online set S has fewer than two clients."""

    code = "too-few-clients"


class DuplicateClientError(MpksaError):
    """A client id appears twice in S."""

    code = "duplicate-client-id"


class UnknownClientError(MpksaError):
    """A client id has no registered public key."""

    code = "unknown-client-id"


class SingleClientAbort(MpksaError):
    """pk_S == pk_i: the client is alone in S and must not upload (Sec. 3.2)."""

    code = "single-client-abort"


class AggregateKeyMismatchError(MpksaError):
    """pk_S is not the product of the announced public keys (wrong or forged pk_S)."""

    code = "aggregate-key-mismatch"


class ChallengeMismatchError(MpksaError):
    """The challenge R is not the product of the announced g^{r_2} (finding E4)."""

    code = "challenge-mismatch"


class DegenerateElementError(MpksaError):
    """A received beta, pk_S, pk_i or R_j is 0, 1 or -1 mod n: a secret power of it would leak the
    exponent (E8). Always checked in `v2`; in `paper` and `v1` with the hardening."""

    code = "degenerate-element"


class ProofError(MpksaError):
    """A proof of knowledge is missing or does not verify (E8, E9, E10 hardening)."""

    code = "proof-invalid"


class AeadError(MpksaError):
    """AES-256-GCM authentication failed: tampered ciphertext, tag, nonce or data."""

    code = "aead-failure"


class RoundAbortedError(MpksaError):
    """A client in S dropped out after upload; the round must be re-run."""

    code = "round-aborted"


class RerunRefusedError(MpksaError):
    """A client refuses to answer a re-run of the same update for a smaller S (E7)."""

    code = "rerun-refused"


class CarrierDecryptionError(MpksaError):
    """`v2`: the carrier's L input is not 1 mod n, so the mask sum R cannot be recovered."""

    code = "carrier-decryption-failed"


class MaskSumRangeError(MpksaError):
    """`v2`: the carrier decrypts to a mask sum R that |S| mask exponents in [1, 2^L) cannot sum to."""

    code = "mask-sum-out-of-range"


class ExponentReusedError(MpksaError):
    """`v2`: a client would use a mask exponent r_i a second time (another round, or a re-run)."""

    code = "exponent-reused"


ERROR_CLASSES: dict[str, type[MpksaError]] = {
    cls.code: cls
    for cls in (
        MpksaError,
        ParameterError,
        MalformedInputError,
        ElementOutOfRangeError,
        ExponentRangeError,
        NonUnitError,
        LInputError,
        NonFiniteValueError,
        QuantizationRangeError,
        SlotOverflowError,
        DimensionMismatchError,
        TooFewClientsError,
        DuplicateClientError,
        UnknownClientError,
        SingleClientAbort,
        AggregateKeyMismatchError,
        ChallengeMismatchError,
        DegenerateElementError,
        ProofError,
        AeadError,
        RoundAbortedError,
        RerunRefusedError,
        CarrierDecryptionError,
        MaskSumRangeError,
        ExponentReusedError,
    )
}
