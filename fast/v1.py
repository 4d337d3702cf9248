"""The fast `v1` implementation's operations: SysGen to Dec, with every received element checked.

Written anew from the review (part C) and the spec; it imports none of the reference's algorithms,
only the contract: parameter sets, message shapes, typed errors, the element and exponent checks of
spec 5.4 and 10.5 and the client's checks of received pk_S and R (one rule for every implementation).
Compared with the readable reference it
- raises secrets to powers in constant time (gmpy2.powmod_sec) by default, and offers fixed-base
  tables for g, beta and pk_S (review C, last paragraph) as an explicit variable-time opt-in,
- spreads exponentiations over processes by segments (`mpksa.fast.group`),
- checks that many elements are units with one gcd of their product (gcd(prod x_i, n) = 1 iff
  every gcd(x_i, n) = 1) and falls back to element-by-element checks, in the reference's order,
  only to name the first bad element.
Errors are those of `mpksa.errors`, with the codes of the wire contract.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import gmpy2
from Crypto.Cipher import AES

from mpksa.aggpkgen import check_pk_s
from mpksa.chelgen import check_challenge
from mpksa.errors import (
    AeadError,
    DimensionMismatchError,
    DuplicateClientError,
    ExponentRangeError,
    LInputError,
    MalformedInputError,
    ParameterError,
    ProofError,
    QuantizationRangeError,
    TooFewClientsError,
    show,
)
from mpksa.messages import Aggregate, Ciphertext, Proof, Statement
from mpksa.params import PROOF_CHALLENGE_BITS, V1Params, proof_nonce_bits, proof_response_bound
from mpksa.randomness import SYSTEM_RANDOM, RandomSource, exponent
from mpksa.validate import (
    check_carrier_only,
    check_exponent,
    check_group_element,
    check_integer,
    check_nondegenerate,
    check_power_base,
)

from . import group as engine
from .group import choose_window, has_table, run_chunked

NONCE_BYTES = 12
TAG_BYTES = 16


class FastV1:
    """Every `v1` operation over one group; `workers` processes for large inputs (1 = serial).

    Engines. By default (`variable_time=False`) every power with a secret exponent (alpha, sk_i,
    r_ij1, r_ij2) is one `gmpy2.powmod_sec`, the project's rule: GMP runs the same sequence of
    operations and memory accesses whatever the exponent's bits (its length, fixed by the parameter
    set, shows). `variable_time=True` opts into the faster engine of fixed-base tables for g, beta
    and pk_S (Enc) and plain `gmpy2.powmod` elsewhere (ResGen, Dec, SE, DSE, KeyGen, SysGen): the
    multiplications done and the table rows read depend on the secret exponent's digits, so the
    time of each power, and the cache lines it touches, leak about its exponent. Whoever can time
    the process finely or shares its CPU caches (another tenant or process on the same machine, a
    browser tab, a VM neighbour) can learn bits of sk_i, alpha or the r's, and with them a client's
    update. Acceptable only where no untrusted code runs beside the process and its timing is not
    observable at that grain: simulations, benchmarks, a dedicated machine.
    """

    profile = "v1"

    def __init__(self, params: V1Params, workers: int | None = None, clients_hint: int = 10,
                 variable_time: bool = False) -> None:
        if params.profile != self.profile:
            raise ParameterError(f"parameter set {params.name!r} is of profile {params.profile!r}, "
                                 f"not {self.profile!r}")
        self.params = params
        self.n, self.n2 = gmpy2.mpz(params.n), gmpy2.mpz(params.n2)
        self.workers = engine.default_workers() if workers is None else max(1, workers)
        # How many clients encrypt under one pk_S in a round: sizes the pk_S table.
        self.clients_hint = max(1, clients_hint)
        self.variable_time = variable_time

    def power(self, base: int, exponent: int) -> int:
        """base^exponent mod n^2 for a secret exponent, by the object's engine."""
        function = gmpy2.powmod if self.variable_time else gmpy2.powmod_sec
        return int(function(gmpy2.mpz(base), exponent, self.n2))

    # --- checks (review C.7) ----------------------------------------------------------------------

    def check_unit(self, x: int, name: str) -> int:
        """0 < x < n^2 and gcd(x, n) = 1 (spec 5.4): the shared rule, one element at a time."""
        return check_group_element(self.params, x, name)

    def all_units(self, xs: Sequence[int]) -> bool:
        """Whether every x is in (0, n^2) and a unit: range checks and one gcd of the product mod n."""
        n, n2, product = self.n, self.n2, gmpy2.mpz(1)
        for x in xs:
            if not 0 < x < n2:
                return False
            product = product * x % n
        return gmpy2.gcd(product, n) == 1

    # --- keys (Sec. 3.1 and 3.2) ------------------------------------------------------------------

    def sys_gen(self, alpha: int) -> int:
        """Review C.3: beta = g^alpha mod n^2."""
        return self.power(self.params.g, check_exponent(self.params, alpha, "alpha"))

    def key_gen(self, sk: int) -> int:
        """KeyGen: pk_i = g^{sk_i} mod n^2."""
        return self.power(self.params.g, check_exponent(self.params, sk, "sk"))

    def agg_pk_gen(self, public_keys: Sequence[tuple[int, int]]) -> int:
        """Sec. 3.2: pk_S = prod pk_i over (client id, pk_i); |S| >= 2 distinct ids (and in v2 no pk_i
        that is 1 or n - 1 mod n, spec 10.5: the server raises it to alpha in SE)."""
        ids = [client_id for client_id, _ in public_keys]
        duplicates = sorted(i for i, count in Counter(ids).items() if count > 1)
        if duplicates:
            raise DuplicateClientError(f"client ids {duplicates} appear more than once in S")
        if len(ids) < 2:
            raise TooFewClientsError(f"|S| = {len(ids)}; the {self.profile} profile needs |S| >= 2")
        pk_s = gmpy2.mpz(1)
        for client_id, pk in public_keys:
            pk_s = pk_s * check_power_base(self.params, pk, f"pk_{client_id}") % self.n2
        return int(pk_s)

    def check_pk_s(self, pk_s: int, pk_i: int, announced: Sequence[int] | None = None) -> None:
        """The client's check of pk_S (Sec. 3.2, E5): the shared client rule of `mpksa.aggpkgen`."""
        check_pk_s(self.params, pk_s, pk_i, announced)

    # --- SE / DSE (Sec. 3.2, finding E7) ------------------------------------------------------------

    def _aead_key(self, shared: int) -> bytes:
        """key_i = H(shared) = SHA-256 of shared as big-endian bytes of n^2's length."""
        return hashlib.sha256(int(shared).to_bytes((self.params.n2.bit_length() + 7) // 8, "big")).digest()

    def _aead_data(self, round_id: int, client_id: int) -> bytes:
        """"MPKSA-SE" || profile || round (8 bytes) || client id (4 bytes): key_i is static (E7)."""
        return b"MPKSA-SE" + self.profile.encode() + _fixed(round_id, 8, "round") + _fixed(client_id, 4, "client id")

    def seal(self, pk_i: int, alpha: int, model: bytes, round_id: int, client_id: int,
             rng: RandomSource = SYSTEM_RANDOM) -> bytes:
        """SE: nonce || AES-256-GCM_{key_i}(W) || tag, key_i = H(pk_i^alpha), a fresh nonce from `rng`."""
        check_power_base(self.params, pk_i, f"pk_{client_id}")
        check_exponent(self.params, alpha, "alpha")
        nonce = rng.token_bytes(NONCE_BYTES)
        cipher = AES.new(self._aead_key(self.power(pk_i, alpha)), AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(self._aead_data(round_id, client_id))
        body, tag = cipher.encrypt_and_digest(model)
        return nonce + body + tag

    def unseal(self, beta: int, sk: int, sealed: bytes, round_id: int, client_id: int) -> bytes:
        """DSE: key_i = H(beta^{sk_i}); any change to nonce, body, tag, round or client is refused."""
        if not isinstance(sealed, bytes) or len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise MalformedInputError(f"W_i* must be at least {NONCE_BYTES + TAG_BYTES} bytes")
        check_power_base(self.params, beta, "beta")
        check_exponent(self.params, sk, "sk_i")
        key = self._aead_key(self.power(beta, sk))
        cipher = AES.new(key, AES.MODE_GCM, nonce=sealed[:NONCE_BYTES], mac_len=TAG_BYTES)
        cipher.update(self._aead_data(round_id, client_id))
        try:
            return cipher.decrypt_and_verify(sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:])
        except ValueError:
            raise AeadError(f"W_i* for client {client_id}, round {round_id} fails authentication") from None

    # --- client: Enc (review C.4) -----------------------------------------------------------------

    def enc(self, beta: int, pk_s: int, segments: Sequence[int], rng: RandomSource = SYSTEM_RANDOM) -> Ciphertext:
        """E_ij1 = (1 + m_ij*n) * beta^{r_ij1}, E_ij2 = (g^{r_ij2}, g^{r_ij1} * pk_S^{r_ij2}), mod n^2.

        Fresh (r_ij1, r_ij2) per segment (E3), drawn from `rng` as r_j1 then r_j2 for each segment.
        """
        self.check_unit(beta, "beta")
        self.check_unit(pk_s, "pk_S")
        params, u = self.params, len(segments)
        items = []
        for j, m in enumerate(segments):
            if not 0 <= check_integer(m, f"segment m_{j}") < params.n:
                raise QuantizationRangeError(f"segment m_{j} must lie in [0, n)")
            r1 = exponent(params.exponent_bound, rng)
            items.append((m, r1, exponent(params.exponent_bound, rng)))
        windows = (0, 0, 0)
        if self.variable_time:
            windows = (self._window(params.g, u * 2, long_lived=True), self._window(beta, u, long_lived=True),
                       self._window(pk_s, u * self.clients_hint, long_lived=False))
        job = (params.n, params.n2, params.g, beta, pk_s, params.exponent_bits, windows, self.variable_time)
        triples = run_chunked(engine.enc_segments, (job,), items, self.workers)
        return Ciphertext(tuple(e1 for e1, _, _ in triples), tuple((a, b) for _, a, b in triples))

    def _window(self, base: int, uses: int, long_lived: bool) -> int:
        """Variable-time engine: window of the fixed-base table for `uses` powers of `base`; 0 means plain powmod.

        g and beta serve every round: their tables are sized as if used at least 4096 times, once a
        batch is large enough to build one at all. A table already built is reused whatever its size.
        """
        bits = self.params.exponent_bits
        held = has_table(base, self.params.n2, bits)
        if held:
            return held
        if uses < engine.TABLE_MIN_USES:
            return 0
        return choose_window(max(uses, 4096) if long_lived else uses, bits)

    # --- server: ChelGen (Sec. 3.3) ---------------------------------------------------------------

    def chel_gen(self, ciphertexts: Sequence[Ciphertext]) -> list[int]:
        """R_j = prod_i g^{r_ij2} mod n^2, one per segment."""
        if not ciphertexts:
            raise TooFewClientsError("there are no ciphertexts to challenge: |S| = 0")
        u = len(ciphertexts[0].e2)
        check_carrier_only(self.params, ciphertexts[0].e2, "E_2 of ciphertext 0")
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

    def _raise_chel_gen(self, ciphertexts: Sequence[Ciphertext], u: int) -> None:
        for j in range(u):
            for i, c in enumerate(ciphertexts):
                if len(c.e2) != u:
                    raise DimensionMismatchError(f"E_2 of ciphertext {i} has {len(c.e2)} entries, expected {u}")
                self.check_unit(c.e2[j][0], f"g^r2[{i}][{j}]")

    def check_challenge(self, challenge: Sequence[int], announced: Sequence[Sequence[int]], own: Sequence[int]) -> None:
        """The client's check of R against the announced g^{r_kj2} (E4): the shared rule of `mpksa.chelgen`."""
        check_challenge(self.params, challenge, announced, own)

    # --- client: ResGen (Sec. 3.3) ----------------------------------------------------------------

    def res_gen(self, challenge: Sequence[int], sk: int) -> list[int]:
        """T_ij = R_j^{sk_i} mod n^2 (a new base every segment: one powmod each, in parallel).

        v2: one challenge only (the carrier's), and not 1 or n - 1 mod n (spec 10.5)."""
        check_exponent(self.params, sk, "sk_i")
        check_carrier_only(self.params, challenge, "R")
        if not self.all_units(challenge) or self.profile != "v1":
            for j, r in enumerate(challenge):
                check_power_base(self.params, r, f"R_{j}")
        kernel = engine.powers if self.variable_time else engine.powers_sec
        return run_chunked(kernel, (sk, self.params.n2), list(challenge), self.workers)

    # --- server: Agg and Dec (Sec. 3.3, review C.5) -----------------------------------------------

    def agg(self, ciphertexts: Sequence[Ciphertext], responses: Sequence[Sequence[int]]) -> Aggregate:
        """E_Agg,j = prod_i E_ij1, d_j = prod_i E_ij2[1], T_j = prod_i T_ij, all mod n^2."""
        if not ciphertexts:
            raise TooFewClientsError("there are no ciphertexts to aggregate: |S| = 0")
        if len(responses) != len(ciphertexts):
            raise DimensionMismatchError(f"responses has {len(responses)} entries, expected {len(ciphertexts)}")
        u, w = len(ciphertexts[0].e1), len(ciphertexts[0].e2)
        check_carrier_only(self.params, ciphertexts[0].e2, "E_2 of ciphertext 0")
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
        return Aggregate(tuple(int(x) for x in e_agg), tuple(int(x) for x in d), tuple(int(x) for x in t))

    def _raise_agg(self, ciphertexts: Sequence[Ciphertext], responses: Sequence[Sequence[int]], u: int, w: int) -> None:
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

    def dec(self, alpha: int, aggregate: Aggregate) -> list[int]:
        """Review C.5: M_j = L(E_Agg,j * (d_j * T_j^{-1})^{-alpha} mod n^2), L(x) = (x - 1) / n."""
        u = len(aggregate.e_agg)
        if len(aggregate.d) != u:
            raise DimensionMismatchError(f"d has {len(aggregate.d)} entries, expected {u}")
        check_exponent(self.params, alpha, "alpha_1")
        if len(aggregate.t) != len(aggregate.d):
            raise DimensionMismatchError(f"T has {len(aggregate.t)} entries, expected {len(aggregate.d)}")
        if not self.all_units([*aggregate.e_agg, *aggregate.d, *aggregate.t]):
            for j, e in enumerate(aggregate.e_agg):
                self.check_unit(e, f"E_Agg[{j}]")
            for j, (d, t) in enumerate(zip(aggregate.d, aggregate.t)):
                self.check_unit(d, f"d[{j}]")
                self.check_unit(t, f"T[{j}]")
        triples = list(zip(aggregate.e_agg, aggregate.d, aggregate.t))
        unmasked = run_chunked(engine.unmask_segments, (self.params.n, alpha, self.variable_time), triples, self.workers)
        return [self.l_function(x, j) for j, x in enumerate(unmasked)]

    def l_function(self, x: int, j: int) -> int:
        """L(x) = (x - 1) / n, for x = 1 mod n only (x is the L input of segment j)."""
        n = self.params.n
        if x % n != 1:
            raise LInputError(f"L input {show(x)} of segment {j} must be 1 mod n, but is {show(x % n)} mod n")
        return (x - 1) // n

    # --- the hardening (spec 5.13, 5.14) ----------------------------------------------------------

    def check_element(self, x: int, name: str) -> int:
        """A received beta, pk_S or R_j: a unit whose residue mod n is not 0, 1 or n - 1 (E8): the shared rule."""
        return check_nondegenerate(self.params, x, name)

    def _context(self, statement: Statement) -> bytes:
        """Spec 5.14: kind and parameter-set name (2-byte length, ASCII), round (8 bytes), client id,
        index, |S| and the sorted ids of S (4 bytes each)."""
        kinds = ("key", "server key", "g^r2")
        if statement.kind not in kinds:
            raise MalformedInputError(f"statement kind {show(statement.kind)} must be one of {', '.join(kinds)}")
        ids = sorted(statement.online)
        if len(ids) != len(set(ids)):
            raise MalformedInputError(f"the set S of a statement repeats an id: {ids}")
        out = bytearray()
        for text in (statement.kind.encode("ascii"), self.params.name.encode("ascii")):
            out += len(text).to_bytes(2, "big") + text
        out += _fixed(statement.round_id, 8, "statement round")
        for field, what in ((statement.client_id, "client id"), (statement.index, "index"), (len(ids), "|S|"),
                            *((i, "S member") for i in ids)):
            out += _fixed(field, 4, f"statement {what}")
        return bytes(out)

    def _challenge(self, context: bytes, y: int, t: int) -> int:
        """c: 16 bytes of SHAKE-256 over the 2-byte-length-prefixed label, then the length-prefixed context,
        g, y and t as big-endian integers of n^2's byte length."""
        label, size = b"MPKSA proof of knowledge", (self.params.n2.bit_length() + 7) // 8
        data = len(label).to_bytes(2, "big") + label + len(context).to_bytes(2, "big") + context
        data += b"".join(int(v).to_bytes(size, "big") for v in (self.params.g, y, t))
        return int.from_bytes(hashlib.shake_256(data).digest(PROOF_CHALLENGE_BITS // 8), "big")

    def prove(self, statement: Statement, x: int, k: int) -> tuple[int, Proof]:
        """y = g^x and the proof (c, z = k + c*x) with the nonce k in [1, 2^{|x| + 256}); both powers
        with secret exponents in constant time."""
        check_exponent(self.params, x, "x")
        if not 0 < k < 1 << proof_nonce_bits(self.params):
            raise ExponentRangeError(f"k must lie in [1, 2^{proof_nonce_bits(self.params)})")
        context = self._context(statement)
        y = int(gmpy2.powmod_sec(self.params.g, x, self.n2))
        c = self._challenge(context, y, int(gmpy2.powmod_sec(self.params.g, k, self.n2)))
        return y, Proof(c, k + c * x)

    def check_proof(self, statement: Statement, y: int, proof: Proof | None) -> None:
        """Accept (c, z) for y: 0 <= z < 2^{|x| + 257}, and hashing t = g^z * y^{-c} gives c back."""
        self.check_unit(y, "element")
        context = self._context(statement)
        if proof is None:
            raise ProofError(f"the element comes without a proof of knowledge ({statement.kind})")
        if not 0 <= proof.c < 1 << PROOF_CHALLENGE_BITS or not 0 <= proof.z < proof_response_bound(self.params):
            raise ProofError("the proof's c or z is out of range")
        t = gmpy2.powmod(self.params.g, proof.z, self.n2) * gmpy2.powmod(y, -proof.c, self.n2) % self.n2
        if self._challenge(context, y, int(t)) != proof.c:
            raise ProofError(f"the proof of knowledge for {show(y)} does not verify ({statement.kind})")


def _fixed(value: object, size: int, what: str) -> bytes:
    """A non-negative integer as `size` big-endian bytes, or a typed error naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
        raise MalformedInputError(f"{what} = {show(value)} must be an integer in [0, 2^{8 * size})")
    return value.to_bytes(size, "big")
