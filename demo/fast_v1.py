"""The fast `v1` implementation's operations: SysGen to Dec, with every received element checked.

Written anew from the review (part C) and the spec; it imports nothing of the reference's
algorithms. Compared with the readable reference it
- uses fixed-base tables for g, beta and pk_S (review C, last paragraph) where they pay off,
- spreads exponentiations over processes by segments (`fast_group`),
- checks that many elements are units with one gcd of their product (gcd(prod x_i, n) = 1 iff
  every gcd(x_i, n) = 1) and falls back to element-by-element checks, in the reference's order,
  only to name the first bad element.
Errors are those of `mpksa.errors`, with the codes of the wire contract.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gmpy2
from Crypto.Cipher import AES

from mpksa.errors import (
    AeadError,
    AggregateKeyMismatchError,
    ChallengeMismatchError,
    DimensionMismatchError,
    DuplicateClientError,
    ElementOutOfRangeError,
    ExponentRangeError,
    LInputError,
    MalformedInputError,
    NonUnitError,
    ParameterError,
    QuantizationRangeError,
    SingleClientAbort,
    TooFewClientsError,
    show,
)

from . import fast_group
from .fast_group import choose_window, has_table, run_chunked


NONCE_BYTES = 12
TAG_BYTES = 16
MAX_EXPONENT_BITS = 8192  # far above |n| + 128 for the moduli in use


@dataclass(frozen=True)
class Group:
    """Public parameters of `v1` (review C.1 to C.3): Z*_{n^2}, generator g, exponent size."""

    n: int
    g: int
    exponent_bits: int

    def __post_init__(self) -> None:
        bits = self.exponent_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_EXPONENT_BITS:
            raise ParameterError(f"exponent_bits = {bits!r} must be an integer in [1, {MAX_EXPONENT_BITS}]")
        if self.n <= 3 or self.n % 2 == 0:
            raise ParameterError(f"n = {show(self.n)} must be odd and above 3")

    @property
    def n2(self) -> int:
        return self.n * self.n

    @property
    def exponent_bound(self) -> int:
        """Exponents are drawn from [1, 2^exponent_bits) (review C.6)."""
        return 1 << self.exponent_bits

    @property
    def modulus_bits(self) -> int:
        return self.n.bit_length()

    @classmethod
    def of(cls, params: object) -> Group:
        """From an `mpksa.params.V1Params` (or anything with n, g and exponent_bits)."""
        return cls(int(params.n), int(params.g), int(params.exponent_bits))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FastCiphertext:
    """E(hat nabla_i): e1[j] = E_ij1 and e2[j] = (g^{r_ij2}, g^{r_ij1} * pk_S^{r_ij2}) per segment j."""

    e1: list[int]
    e2: list[tuple[int, int]]


@dataclass(frozen=True)
class FastAggregate:
    """(E_Agg, d, T) of Agg, one entry per segment."""

    e_agg: list[int]
    d: list[int]
    t: list[int]


def draw_exponent(group: Group, draw: Callable[[int], int] | None = None) -> int:
    """A uniform exponent in [1, 2^bits) from `secrets` (or `draw(k)` = uniform in [0, k))."""
    below = draw or secrets.randbelow
    return 1 + below(group.exponent_bound - 1)


class FastV1:
    """Every `v1` operation over one group; `workers` processes for large inputs (1 = serial)."""

    def __init__(self, group: Group, workers: int | None = None, clients_hint: int = 10) -> None:
        self.group = group
        self.n, self.n2 = gmpy2.mpz(group.n), gmpy2.mpz(group.n2)
        self.workers = fast_group.default_workers() if workers is None else max(1, workers)
        # How many clients encrypt under one pk_S in a round: sizes the pk_S table.
        self.clients_hint = max(1, clients_hint)

    # --- checks (review C.7) ----------------------------------------------------------------------

    def check_unit(self, x: int, name: str) -> int:
        """0 < x < n^2 and gcd(x, n) = 1; a non-unit would reveal a factor of n."""
        if not 0 < x < self.n2:
            raise ElementOutOfRangeError(f"{name} = {show(int(x))} must lie in [1, {show(int(self.n2))})")
        if gmpy2.gcd(x, self.n) != 1:
            raise NonUnitError(f"{name} = {show(int(x))} must be a unit: gcd({name}, n) = {show(int(gmpy2.gcd(x, self.n)))}")
        return x

    def all_units(self, xs: Sequence[int]) -> bool:
        """Whether every x is in (0, n^2) and a unit: range checks and one gcd of the product mod n."""
        n, n2, product = self.n, self.n2, gmpy2.mpz(1)
        for x in xs:
            if not 0 < x < n2:
                return False
            product = product * x % n
        return gmpy2.gcd(product, n) == 1

    # --- keys (Sec. 3.1 and 3.2) ------------------------------------------------------------------

    def check_exponent(self, x: int, name: str) -> int:
        """A drawn exponent must lie in [1, 2^bits): zero would leave an element unmasked."""
        if not 1 <= x < self.group.exponent_bound:
            raise MalformedInputError(f"{name} = {show(x)} is not in [0x1, {show(self.group.exponent_bound)})")
        return x

    def check_secret_exponent(self, x: int, name: str) -> int:
        """A secret exponent received by an operation (sk, alpha) lies in [1, 2^bits); never shown."""
        if not 0 < x < self.group.exponent_bound:
            raise ExponentRangeError(f"{name} must lie in [1, {show(self.group.exponent_bound)})")
        return x

    def sys_gen(self, alpha: int) -> int:
        """Review C.3: beta = g^alpha mod n^2."""
        return int(gmpy2.powmod(self.group.g, self.check_exponent(alpha, "alpha"), self.n2))

    def key_gen(self, sk: int) -> int:
        """KeyGen: pk_i = g^{sk_i} mod n^2."""
        return int(gmpy2.powmod(self.group.g, self.check_exponent(sk, "sk"), self.n2))

    def agg_pk_gen(self, public_keys: Sequence[tuple[int, int]]) -> int:
        """Sec. 3.2: pk_S = prod pk_i over (client id, pk_i); v1 needs |S| >= 2 distinct ids."""
        ids = [client_id for client_id, _ in public_keys]
        duplicates = sorted(i for i, count in Counter(ids).items() if count > 1)
        if duplicates:
            raise DuplicateClientError(f"client ids {duplicates} appear more than once in S")
        if len(ids) < 2:
            raise TooFewClientsError(f"|S| = {len(ids)}; the v1 profile needs |S| >= 2")
        pk_s = gmpy2.mpz(1)
        for client_id, pk in public_keys:
            pk_s = pk_s * self.check_unit(pk, f"pk_{client_id}") % self.n2
        return int(pk_s)

    def check_pk_s(self, pk_s: int, pk_i: int, announced: Sequence[int] | None = None) -> None:
        """Sec. 3.2 abort when pk_S == pk_i; with the announced pk_k (E5), recompute pk_S."""
        self.check_unit(pk_s, "pk_S")
        if pk_s == pk_i:
            raise SingleClientAbort(f"pk_S = {show(pk_s)} equals the client's own pk_i: it is alone in S")
        if announced is not None:
            if len(set(announced)) != len(announced):
                raise AggregateKeyMismatchError("the announced keys of S repeat a key: pk_S could count one client twice")
            if pk_i not in announced:
                raise AggregateKeyMismatchError(f"own pk_i = {show(pk_i)} is not among the announced keys of S")
            product = self.agg_pk_gen(list(enumerate(announced)))
            if product != pk_s:
                raise AggregateKeyMismatchError(f"pk_S = {show(pk_s)} is not the product {show(product)} of the announced keys")

    # --- SE / DSE (Sec. 3.2, finding E7) ------------------------------------------------------------

    def _aead_key(self, shared: int) -> bytes:
        """key_i = H(shared) = SHA-256 of shared as big-endian bytes of n^2's length."""
        return hashlib.sha256(int(shared).to_bytes((self.group.n2.bit_length() + 7) // 8, "big")).digest()

    @staticmethod
    def _aead_data(round_id: int, client_id: int) -> bytes:
        """"MPKSA-SE" || "v1" || round (8 bytes) || client id (4 bytes): key_i is static (E7)."""
        return b"MPKSA-SE" + b"v1" + round_id.to_bytes(8, "big") + client_id.to_bytes(4, "big")

    def seal(self, pk_i: int, alpha: int, model: bytes, round_id: int, client_id: int,
             nonce: bytes | None = None) -> bytes:
        """SE: nonce || AES-256-GCM_{key_i}(W) || tag, key_i = H(pk_i^alpha); a fresh nonce by default."""
        self.check_unit(pk_i, f"pk_{client_id}")
        self.check_secret_exponent(alpha, "alpha")
        nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
        cipher = AES.new(self._aead_key(gmpy2.powmod(pk_i, alpha, self.n2)), AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(self._aead_data(round_id, client_id))
        body, tag = cipher.encrypt_and_digest(model)
        return nonce + body + tag

    def unseal(self, beta: int, sk: int, sealed: bytes, round_id: int, client_id: int) -> bytes:
        """DSE: key_i = H(beta^{sk_i}); any change to nonce, body, tag, round or client is refused."""
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise MalformedInputError(f"W_i* must be at least {NONCE_BYTES + TAG_BYTES} bytes")
        self.check_unit(beta, "beta")
        self.check_secret_exponent(sk, "sk_i")
        key = self._aead_key(gmpy2.powmod(beta, sk, self.n2))
        cipher = AES.new(key, AES.MODE_GCM, nonce=sealed[:NONCE_BYTES], mac_len=TAG_BYTES)
        cipher.update(self._aead_data(round_id, client_id))
        try:
            return cipher.decrypt_and_verify(sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:])
        except ValueError:
            raise AeadError(f"W_i* for client {client_id}, round {round_id} fails authentication") from None

    # --- client: Enc (review C.4) -----------------------------------------------------------------

    def enc(self, beta: int, pk_s: int, segments: Sequence[int], r1: Sequence[int] | None = None,
            r2: Sequence[int] | None = None, draw: Callable[[int], int] | None = None) -> FastCiphertext:
        """E_ij1 = (1 + m_ij*n) * beta^{r_ij1}, E_ij2 = (g^{r_ij2}, g^{r_ij1} * pk_S^{r_ij2}), mod n^2.

        Fresh (r_ij1, r_ij2) per segment (E3): given, or drawn (r1 then r2 for each segment).
        """
        self.check_unit(beta, "beta")
        self.check_unit(pk_s, "pk_S")
        if r1 is None or r2 is None:
            r1, r2 = [], []
            for _ in segments:
                r1.append(draw_exponent(self.group, draw))
                r2.append(draw_exponent(self.group, draw))
        self._check_enc_inputs(segments, r1, r2)
        group, u = self.group, len(segments)
        windows = (self._window(group.g, u * 2, long_lived=True), self._window(beta, u, long_lived=True),
                   self._window(pk_s, u * self.clients_hint, long_lived=False))
        job = (group.n, group.n2, group.g, beta, pk_s, group.exponent_bits, windows)
        triples = run_chunked(fast_group.enc_segments, (job,), list(zip(segments, r1, r2)), self.workers)
        return FastCiphertext([e1 for e1, _, _ in triples], [(a, b) for _, a, b in triples])

    def _check_enc_inputs(self, segments: Sequence[int], r1: Sequence[int], r2: Sequence[int]) -> None:
        """In the order the values are used: m_j, r_j1, r_j2 for each segment, then no leftovers."""
        n, bound = self.group.n, self.group.exponent_bound
        draws = [r for pair in zip(r1, r2) for r in pair] if len(r1) == len(r2) else [*r1, *r2]
        for j, m in enumerate(segments):
            if not 0 <= m < n:
                raise QuantizationRangeError(f"segment m_{j} = {show(m)} must lie in [0, n)")
            for which in (2 * j, 2 * j + 1):
                if which >= len(draws):
                    raise MalformedInputError(f"randomness exhausted after {len(draws)} values")
                if not 1 <= draws[which] < bound:
                    raise MalformedInputError(f"exponent {show(draws[which])} is not in [0x1, {show(bound)})")
        if len(draws) > 2 * len(segments):
            raise MalformedInputError("more r1/r2 values were given than the operation uses")

    def _window(self, base: int, uses: int, long_lived: bool) -> int:
        """Window of the fixed-base table for `uses` powers of `base`; 0 means plain powmod.

        g and beta serve every round: their tables are sized as if used at least 4096 times, once a
        batch is large enough to build one at all. A table already built is reused whatever its size.
        """
        bits = self.group.exponent_bits
        held = has_table(base, self.group.n2, bits)
        if held:
            return held
        if uses < fast_group.TABLE_MIN_USES:
            return 0
        return choose_window(max(uses, 4096) if long_lived else uses, bits)

    # --- server: ChelGen (Sec. 3.3) ---------------------------------------------------------------

    def chel_gen(self, ciphertexts: Sequence[FastCiphertext]) -> list[int]:
        """R_j = prod_i g^{r_ij2} mod n^2, one per segment."""
        if not ciphertexts:
            raise TooFewClientsError("there are no ciphertexts to challenge: |S| = 0")
        u = len(ciphertexts[0].e2)
        if u == 0:
            return []
        column_ok = all(len(c.e2) == u for c in ciphertexts)
        if not (column_ok and self.all_units([a for c in ciphertexts for a, _ in c.e2])):
            self._raise_chel_gen(ciphertexts, u)
        challenge = []
        for j in range(u):
            r = gmpy2.mpz(1)
            for c in ciphertexts:
                r = r * c.e2[j][0] % self.n2
            challenge.append(int(r))
        return challenge

    def _raise_chel_gen(self, ciphertexts: Sequence[FastCiphertext], u: int) -> None:
        for j in range(u):
            for i, c in enumerate(ciphertexts):
                if len(c.e2) != u:
                    raise DimensionMismatchError(f"E_2 of ciphertext {i} has {len(c.e2)} entries, expected {u}")
                self.check_unit(c.e2[j][0], f"g^r2[{i}][{j}]")

    def check_challenge(self, challenge: Sequence[int], announced: Sequence[Sequence[int]], own: Sequence[int]) -> None:
        """Hardening against E4 (review C.9): R_j = product of the announced g^{r_kj2}, own included."""
        if len(own) != len(challenge):
            raise DimensionMismatchError(f"own g^r2 has {len(own)} entries, expected {len(challenge)}")
        for k, row in enumerate(announced):
            if len(row) != len(challenge):
                raise DimensionMismatchError(f"announced g^r2[{k}] has {len(row)} entries, expected {len(challenge)}")
        for j, r in enumerate(challenge):
            column = [row[j] for row in announced]
            if own[j] not in column:
                raise ChallengeMismatchError(f"own g^r2 of segment {j} is missing from the announced values")
            product = gmpy2.mpz(1)
            for k, a in enumerate(column):
                product = product * self.check_unit(a, f"announced g^r2[{k}][{j}]") % self.n2
            if product != r:
                raise ChallengeMismatchError(f"R_{j} = {show(r)} is not the product {show(int(product))} of the announced g^r2")

    # --- client: ResGen (Sec. 3.3) ----------------------------------------------------------------

    def res_gen(self, challenge: Sequence[int], sk: int) -> list[int]:
        """T_ij = R_j^{sk_i} mod n^2 (variable base: plain powmod, in parallel)."""
        self.check_secret_exponent(sk, "sk_i")
        if not self.all_units(challenge):
            for j, r in enumerate(challenge):
                self.check_unit(r, f"R_{j}")
        return run_chunked(fast_group.powers, (sk, self.group.n2), list(challenge), self.workers)

    # --- server: Agg and Dec (Sec. 3.3, review C.5) -----------------------------------------------

    def agg(self, ciphertexts: Sequence[FastCiphertext], responses: Sequence[Sequence[int]]) -> FastAggregate:
        """E_Agg,j = prod_i E_ij1, d_j = prod_i E_ij2[1], T_j = prod_i T_ij, all mod n^2."""
        if not ciphertexts:
            raise TooFewClientsError("there are no ciphertexts to aggregate: |S| = 0")
        if len(responses) != len(ciphertexts):
            raise DimensionMismatchError(f"responses has {len(responses)} entries, expected {len(ciphertexts)}")
        u, w = len(ciphertexts[0].e1), len(ciphertexts[0].e2)
        shapes_ok = all(len(c.e1) == u and len(c.e2) == w and len(t) == w for c, t in zip(ciphertexts, responses))
        if not shapes_ok:
            self._raise_agg(ciphertexts, responses, u, w)
        n2 = self.n2
        e_agg, d, t = [gmpy2.mpz(1)] * u, [gmpy2.mpz(1)] * w, [gmpy2.mpz(1)] * w
        in_range = True
        for c, t_i in zip(ciphertexts, responses):
            for j, x in enumerate(c.e1):
                in_range = in_range and 0 < x < n2
                e_agg[j] = e_agg[j] * x % n2
            for j, ((_, b), y) in enumerate(zip(c.e2, t_i)):
                in_range = in_range and 0 < b < n2 and 0 < y < n2
                d[j] = d[j] * b % n2
                t[j] = t[j] * y % n2
        # A product of units mod n^2 is a unit; one with a non-unit factor is not.
        if not (in_range and self.all_units(e_agg + d + t)):
            self._raise_agg(ciphertexts, responses, u, w)
        return FastAggregate([int(x) for x in e_agg], [int(x) for x in d], [int(x) for x in t])

    def _raise_agg(self, ciphertexts: Sequence[FastCiphertext], responses: Sequence[Sequence[int]], u: int, w: int) -> None:
        for i, (c, t_i) in enumerate(zip(ciphertexts, responses)):
            for name, items, size in ((f"E_1 of ciphertext {i}", c.e1, u), (f"E_2 of ciphertext {i}", c.e2, w),
                                      (f"response {i}", t_i, w)):
                if len(items) != size:
                    raise DimensionMismatchError(f"{name} has {len(items)} entries, expected {size}")
            for j in range(u):
                self.check_unit(c.e1[j], f"E1[{i}][{j}]")
            for j in range(w):
                self.check_unit(c.e2[j][1], f"E2[{i}][{j}]")
                self.check_unit(t_i[j], f"T[{i}][{j}]")
        raise AssertionError("unreachable: a failed batch check names an element")  # pragma: no cover

    def dec(self, alpha: int, aggregate: FastAggregate) -> list[int]:
        """Review C.5: M_j = L(E_Agg,j * (d_j * T_j^{-1})^{-alpha} mod n^2), L(x) = (x - 1) / n."""
        u = len(aggregate.e_agg)
        if len(aggregate.d) != u:
            raise DimensionMismatchError(f"d has {len(aggregate.d)} entries, expected {u}")
        self.check_secret_exponent(alpha, "alpha_1")
        if len(aggregate.t) != len(aggregate.d):
            raise DimensionMismatchError(f"T has {len(aggregate.t)} entries, expected {len(aggregate.d)}")
        if not self.all_units([*aggregate.e_agg, *aggregate.d, *aggregate.t]):
            for j, e in enumerate(aggregate.e_agg):
                self.check_unit(e, f"E_Agg[{j}]")
            for j, (d, t) in enumerate(zip(aggregate.d, aggregate.t)):
                self.check_unit(d, f"d[{j}]")
                self.check_unit(t, f"T[{j}]")
        triples = list(zip(aggregate.e_agg, aggregate.d, aggregate.t))
        unmasked = run_chunked(fast_group.unmask_segments, (self.group.n, alpha), triples, self.workers)
        n = self.group.n
        sums = []
        for j, x in enumerate(unmasked):
            if x % n != 1:
                raise LInputError(f"L input {show(x)} of segment {j} must be 1 mod n, but is {show(x % n)} mod n")
            sums.append((x - 1) // n)
        return sums
