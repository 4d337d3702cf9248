"""Client-side guards: against re-runs on the same update (finding E7, review C.9), and against
a second use of a `v2` mask exponent (spec 10.7).

Outside the paper's honest-but-curious model. A server that falsely reports a
dropout and re-runs the round with S minus {j} on the same updates learns client
j's update as the difference of the two sums. The same holds for a re-run with
a larger S (S plus {j} after S): the difference is the newcomer's update. So a
client answers at most one online set S per update; a re-run for another S
(in particular a strictly smaller one) is refused with `RerunRefusedError`.

The guard is keyed by a digest of the update only, not by the round id: the
server picks the round id, and keying by it would let the server escape the
guard by renumbering the re-run. A genuine dropout after upload therefore costs
the remaining clients this update: they answer the re-run with a fresh update
(retrained, or the next round's), never with the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from .errors import ExponentReusedError, MalformedInputError, RerunRefusedError
from .params import V2Params, i2osp
from .validate import check_integer, check_mask_exponent


def update_digest(quantized: Sequence[int], weight: int) -> bytes:
    """SHA-256 of the canonical text of a quantized update and its weight (Eq. (1))."""
    values = [check_integer(q, f"quantized[{t}]") for t, q in enumerate(quantized)]
    text = ",".join(str(q) for q in values) + ";" + str(check_integer(weight, "weight"))
    return hashlib.sha256(text.encode("ascii")).digest()


class RerunGuard:
    """Remembers, per update digest, the online set S the client answered for."""

    def __init__(self) -> None:
        self._answered: dict[bytes, frozenset[int]] = {}

    def admit(self, digest: bytes, online: Iterable[int]) -> None:
        """Allow answering for `online` with the update of `digest`, or raise `RerunRefusedError`.

        The first S is remembered; the same S again is allowed (a repeated sum leaks
        nothing new); any other S is refused.
        """
        if not isinstance(digest, bytes) or len(digest) != hashlib.sha256().digest_size:
            raise MalformedInputError(f"update digest {digest!r} must be 32 bytes (SHA-256)")
        s = frozenset(check_integer(i, "client id") for i in online)
        previous = self._answered.setdefault(digest, s)
        if s == previous:
            return
        kind = "a strictly smaller" if s < previous else "another"
        raise RerunRefusedError(
            f"update {digest.hex()[:16]}... was answered for S = {sorted(previous)}; {kind} S = {sorted(s)} "
            "would reveal the difference of the two sums, so a re-run needs a fresh update (E7)"
        )

    def answered(self, digest: bytes) -> frozenset[int] | None:
        """The S this update was answered for, if any."""
        return self._answered.get(digest)


class MaskGuard:
    """`v2`: remembers every mask exponent r_i a client has used, as a SHA-256 digest, and refuses a
    second use with `ExponentReusedError` (spec 10.7).

    Two uploads under one r_i give m_ij - m'_ij to anyone (C_ij / C'_ij = 1 + (m_ij - m'_ij)*n), so
    r_i must be fresh in every round and in every re-run. Only digests are kept: a stored r_i would
    open that round's upload to whoever later reads the client's memory.
    """

    def __init__(self, params: V2Params, used: Iterable[bytes] = ()) -> None:
        """`used`: digests that `admit` returned before, for a client that keeps its state elsewhere."""
        self._params = params
        self._used: set[bytes] = set(used)

    def admit(self, r: int) -> bytes:
        """Record r as used and return its digest, or raise `ExponentReusedError` if it was used before
        (the value is not named)."""
        r = check_mask_exponent(self._params, r, "r_i")
        digest = hashlib.sha256(i2osp(r, (self._params.mask_bits + 7) // 8)).digest()
        if digest in self._used:
            raise ExponentReusedError("this mask exponent r_i was used before; two uploads under one r_i reveal "
                                      "the difference of their segments, so draw a fresh one")
        self._used.add(digest)
        return digest
