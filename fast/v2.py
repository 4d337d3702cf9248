"""The fast `v2` implementation (spec chapter 10): one mask exponent per client and round.

Written anew from spec chapter 10; it imports none of the reference's algorithms. Profile `v2`
keeps `v1`'s keys, SE/DSE, ChelGen, CheckChallenge, ResGen and Agg, applied to one `v1` segment,
the carrier (index 0), so `FastV2` inherits them from `FastV1` (whose checks follow the profile:
exactly one carrier pair, challenge and response; no element 1 or n - 1 mod n raised to a secret
power). What `v2` changes is Enc and Dec:

    C_ij = (1 + m_ij*n) * h_j^{r_i} mod n^2, j = 1..u, and the carrier encrypts r_i as a v1 segment;
    R = Dec_v1(carrier) in [|S|, |S|*(2^L - 1)], then M_j = L(E_Agg,j * h_j^{-R} mod n^2).

The segment bases h_j come from `mpksa.fast.bases` (derived once, kept on disk). Engines, as for
`FastV1`: constant time by default (one `gmpy2.powmod_sec` per segment with r_i, and one with R per
segment in Dec); `variable_time=True` raises instead by a comb over four stored powers of each h_j
(h, h^(2^s), h^(2^2s), h^(2^3s) with s = ceil(L/4); a fifth for the server's longer R), about
3 times cheaper than powmod_sec, whose time and memory accesses depend on r_i (client) and R
(server): see `FastV1` for when that is acceptable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mpksa.errors import (
    CarrierDecryptionError,
    DimensionMismatchError,
    MaskSumRangeError,
    ParameterError,
    QuantizationRangeError,
    TooFewClientsError,
)
from mpksa.messages import Aggregate, Ciphertext
from mpksa.params import MAX_CLIENT_BITS, V2Params
from mpksa.randomness import SYSTEM_RANDOM, RandomSource, exponent
from mpksa.validate import check_exponent, check_integer, check_power_base

from . import group as engine
from .bases import SegmentBases, default_cache_dir, shared_bases
from .group import comb_columns, run_chunked
from .v1 import FastV1

CLIENT_ROWS = 4
"""Stored powers per base that a client's comb uses: 5 were 4% to 7% faster, 3 is 23% slower, 2 is 67%
slower (measured, fast/README.md); 4 keep 2 KiB per base at RSA-2048."""


class FastV2(FastV1):
    """Every `v2` operation over one group. Same methods as `FastV1`; `dec` also takes |S|.

    `bases`: where the segment bases live; by default one `SegmentBases` per modulus in this
    process, kept on disk under `bases.default_cache_dir()`. `clients_hint` is accepted so that the
    constructor reads like FastV1's; v2 builds no per-round table.
    """

    profile = "v2"

    def __init__(self, params: V2Params, workers: int | None = None, clients_hint: int = 10,
                 variable_time: bool = False, bases: SegmentBases | None = None) -> None:
        super().__init__(params, workers=workers, clients_hint=clients_hint, variable_time=variable_time)
        self.params: V2Params = params
        self.bases = bases if bases is not None else shared_bases(params.n, default_cache_dir())
        # The comb's rows: r_i has L bits (CLIENT_ROWS rows of s bits); R = sum of |S| < 2^32 of them
        # has at most L + 32 bits, so the server's comb may need one row more.
        self.spacing = -(-params.mask_bits // CLIENT_ROWS)
        self.rows = -(-(params.mask_bits + MAX_CLIENT_BITS) // self.spacing)

    def prepare(self, segments: int) -> None:
        """Derive (or load) the bases h_1..h_u, and the stored powers for the variable-time engine,
        now rather than in the first Enc or Dec that needs them."""
        self._stored(segments)

    def _stored(self, count: int) -> list[tuple[Any, ...]]:
        """Per segment j = 1..count: (h_j,) for the constant-time engine, h_j's stored powers otherwise."""
        if self.variable_time:
            return self.bases.stored_powers(count, self.spacing, self.rows, self.workers)
        return [(h,) for h in self.bases.bases(count, self.workers)]

    def _mask(self, exponent_value: int) -> int | tuple[list[int], int]:
        """What the kernels take for a secret exponent: itself (powmod_sec) or its comb columns and rows."""
        if not self.variable_time:
            return exponent_value
        rows = max(1, -(-exponent_value.bit_length() // self.spacing))
        return comb_columns(exponent_value, self.spacing, rows), rows

    # --- client: Enc (spec 10.4) ------------------------------------------------------------------

    def enc(self, beta: int, pk_s: int, segments: Sequence[int], rng: RandomSource = SYSTEM_RANDOM) -> Ciphertext:
        """e1 = (E_i01, C_i1, ..., C_iu), e2 = ((g^{r_i02}, g^{r_i01} * pk_S^{r_i02}),), mod n^2.

        C_ij = (1 + m_ij*n) * h_j^{r_i} under one fresh r_i in [1, 2^L); the carrier is the v1
        segment of the plaintext r_i. Draws r_i, then r_i01, then r_i02, after every check.
        """
        params = self.params
        check_power_base(params, beta, "beta")
        check_power_base(params, pk_s, "pk_S")
        if not segments:
            raise DimensionMismatchError("there are no segments to encrypt: u must be at least 1")
        messages = [check_integer(m, f"segment m_{j}") for j, m in enumerate(segments, start=1)]
        for j, m in enumerate(messages, start=1):
            if not 0 <= m < params.n:
                raise QuantizationRangeError(f"segment m_{j} must lie in [0, n)")
        r = exponent(params.mask_bound, rng)
        r1, r2 = exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)
        mask = self._mask(r)
        rows = CLIENT_ROWS if self.variable_time else 1
        items = [(m, stored[:rows]) for m, stored in zip(messages, self._stored(len(messages)))]
        data = run_chunked(engine.mask_segments, (params.n, mask), items, self.workers)
        job = (params.n, params.n2, params.g, beta, pk_s, params.exponent_bits, (0, 0, 0), self.variable_time)
        ((carrier, g_r2, d_part),) = engine.enc_segments(job, [(r, r1, r2)])
        return Ciphertext((carrier, *data), ((g_r2, d_part),))

    # --- server: Dec (spec 10.6) ------------------------------------------------------------------

    def dec(self, alpha: int, aggregate: Aggregate, clients: int) -> list[int]:  # type: ignore[override]
        """R = L(E_Agg,0 * (d_0 * T_0^{-1})^{-alpha}) checked against |S|, then for j = 1..u
        M_j = L(E_Agg,j * h_j^{-R} mod n^2). Returns the u data sums."""
        params, n = self.params, self.params.n
        e_agg, d, t = aggregate.e_agg, aggregate.d, aggregate.t
        if len(d) != 1:
            raise DimensionMismatchError(f"d (v2: the carrier only) has {len(d)} entries, expected 1")
        if len(e_agg) < 2:
            raise DimensionMismatchError(f"E_Agg has {len(e_agg)} entries, expected the carrier and at least one segment")
        check_exponent(params, alpha, "alpha_1")
        if len(t) != len(d):
            raise DimensionMismatchError(f"T has {len(t)} entries, expected {len(d)}")
        if not self.all_units([*e_agg, *d, *t]):
            for j, e in enumerate(e_agg):
                self.check_unit(e, f"E_Agg[{j}]")
            self.check_unit(d[0], "d[0]")
            self.check_unit(t[0], "T[0]")
        (x,) = engine.unmask_segments(n, alpha, self.variable_time, [(e_agg[0], d[0], t[0])])
        if x % n != 1:
            raise CarrierDecryptionError("the carrier's L input is not 1 mod n: wrong alpha, or the carriers, "
                                         "d and T of S do not belong together")
        mask_sum = self.check_mask_sum((x - 1) // n, clients)
        items = [(e, stored[:self.rows]) for e, stored in zip(e_agg[1:], self._stored(len(e_agg) - 1))]
        unmasked = run_chunked(engine.unmask_v2_segments, (n, self._mask(mask_sum)), items, self.workers)
        return [self.l_function(x, j) for j, x in enumerate(unmasked, start=1)]

    def check_mask_sum(self, mask_sum: int, clients: int) -> int:
        """Spec 10.6: R sums |S| >= 2 exponents of [1, 2^L), so it lies in [|S|, |S|*(2^L - 1)], a range
        that must stay below n (R is read mod n). R is secret: no message names it."""
        if clients < 2:
            raise TooFewClientsError(f"|S| = {clients}: Dec of profile v2 needs |S| >= 2")
        largest = clients * (self.params.mask_bound - 1)
        if largest >= self.params.n:
            raise ParameterError(f"{clients} mask exponents below 2^{self.params.mask_bits} may sum to n or more")
        if mask_sum < clients or mask_sum > largest:
            raise MaskSumRangeError(f"the carrier's mask sum is not one of {clients} exponents of "
                                    f"{self.params.mask_bits} bits (outside [|S|, |S|*(2^L - 1)])")
        return mask_sum
