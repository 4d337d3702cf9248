"""Parameter sets of the three profiles (spec chapters 3 and 10).

A parameter set fixes the group. The encoding settings (fixed-point scale,
clipping, weights, maximum clients) are separate: see ``encoding.Encoding``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache

import gmpy2

from .errors import ParameterError

# RSA-2048 challenge number, RSA Laboratories (1991). Nobody knows its factors.
RSA_2048 = int(
    "2519590847565789349402718324004839857142928212620403202777713783604366202070"
    "7595556264018525880784406918290641249515082189298559149176184502808489120072"
    "8449926873928072877767359714183472702618963750149718246911650776133798590957"
    "0009733045974880842840179742910064245869181719511874612151517265463228221686"
    "9987549182422433637259085141865462043576798423387184774447920739934236584823"
    "8242811981638150106748104516603773060562016196762561338441436038339044149526"
    "3443219011465754445417842402092461651572335077870774981712577246796292638635"
    "6373289912154831438167899885040445364023527381951378636564391212010397122822"
    "120720357"
)
RSA_2048_SHA256 = "b3c2468add10e2a0c4a251d9d2bac4ba04d4b3527156ceead43a1305e03f1fc0"


PROOF_CHALLENGE_BITS = 128
"""Fiat-Shamir challenges of the proofs of knowledge lie in [0, 2^128) (spec 5.14)."""

PROOF_SLACK_BITS = 128
"""The proof's nonce is this many bits wider than c*x: statistical zero knowledge (spec 5.14)."""


def shake(label: bytes, data: bytes, nbytes: int) -> bytes:
    """SHAKE-256 of a length-prefixed label and data: the package's one hash-to-bytes."""
    return hashlib.shake_256(len(label).to_bytes(2, "big") + label + data).digest(nbytes)


def i2osp(x: int, length: int) -> bytes:
    """Fixed-length big-endian encoding (spec chapter 6)."""
    if not 0 <= x < 256**length:
        raise ParameterError(f"integer of {x.bit_length()} bits does not fit in {length} bytes")
    return x.to_bytes(length, "big")


@dataclass(frozen=True)
class PaperParams:
    """Profile `paper`, Sec. 3.1: prime p with p - 1 = gamma*q, g of order q mod p."""

    name: str
    seed: bytes
    p: int
    q: int
    gamma: int
    g: int
    insecure: bool = True
    profile: str = "paper"

    @property
    def p2(self) -> int:
        return self.p * self.p

    @property
    def modulus_bits(self) -> int:
        return self.p.bit_length()

    @property
    def exponent_bound(self) -> int:
        return self.q

    @property
    def group_modulus(self) -> int:
        """Modulus of g, pk, beta, E_2, R and T: p."""
        return self.p

    @property
    def big_modulus(self) -> int:
        """Modulus of E_1 and of decryption: p^2."""
        return self.p2

    @property
    def message_modulus(self) -> int:
        """Divisor in L(x) = (x - 1) / p; messages live mod p."""
        return self.p


@dataclass(frozen=True)
class V1Params:
    """Profile `v1`, review part C: Z*_{n^2} with n of unknown factorization."""

    name: str
    n: int
    g: int
    exponent_bits: int
    insecure: bool
    factors: tuple[int, int] | None = None
    profile: str = "v1"

    @property
    def n2(self) -> int:
        return self.n * self.n

    @property
    def modulus_bits(self) -> int:
        return self.n.bit_length()

    @property
    def exponent_bound(self) -> int:
        return 1 << self.exponent_bits

    @property
    def group_modulus(self) -> int:
        """Every element of v1 lives mod n^2."""
        return self.n2

    @property
    def big_modulus(self) -> int:
        return self.n2

    @property
    def message_modulus(self) -> int:
        """Divisor in L(x) = (x - 1) / n; messages live mod n."""
        return self.n


@dataclass(frozen=True)
class V2Params(V1Params):
    """Profile `v2` (compact), spec chapter 10: v1's group and exponent length (alpha, sk and the
    carrier's r_i01, r_i02), plus the length L of the mask exponent r_i of each client and round."""

    profile: str = "v2"
    mask_bits: int = field(kw_only=True)

    @property
    def mask_bound(self) -> int:
        """r_i is drawn from [1, 2^L)."""
        return 1 << self.mask_bits


Params = PaperParams | V1Params | V2Params

MAX_CLIENT_BITS = 32
"""Client ids and |S| fit 32 bits: a v2 set needs L + 32 < |n| so that the mask sum R stays below n."""


def proof_nonce_bits(params: Params) -> int:
    """Bits of the nonce k of a proof of knowledge: |x| + 128 (c) + 128 (slack), x < exponent_bound."""
    return (params.exponent_bound - 1).bit_length() + PROOF_CHALLENGE_BITS + PROOF_SLACK_BITS


def proof_response_bound(params: Params) -> int:
    """z = k + c*x < 2^nonce + 2^(nonce - 128) < 2^(nonce + 1): the bound a verifier checks."""
    return 1 << (proof_nonce_bits(params) + 1)


def derive_paper_group(seed: bytes, bits: int, gamma: int) -> tuple[int, int, int]:
    """Sec. 3.1: (p, q, g) with |p| = bits, p - 1 = gamma*q, q prime, g of order q.

    q is the first prime after a SHAKE-256 value of seed for which gamma*q + 1 is prime,
    and g = h^gamma mod p for the first hashed h with g != 1.
    """
    qbits = bits - gamma.bit_length() + 1
    start = int.from_bytes(shake(b"MPKSA paper q", seed, (qbits + 7) // 8), "big")
    q = gmpy2.next_prime((start >> (8 * ((qbits + 7) // 8) - qbits)) | (1 << (qbits - 1)))
    while not (gmpy2.is_prime(gamma * q + 1) and (gamma * q + 1).bit_length() == bits):
        q = gmpy2.next_prime(q)
    p = int(gamma * q + 1)
    counter = 0
    while True:
        h = 2 + int.from_bytes(shake(b"MPKSA paper g", seed + i2osp(counter, 4), bits // 8 + 16), "big") % (p - 3)
        g = int(gmpy2.powmod(h, gamma, p))
        if g != 1:
            return p, int(q), g
        counter += 1


def derive_v1_generator(n: int) -> int:
    """Review C.2: x = SHAKE-256(n) mod n^2, the first with gcd(x, n) = 1; g = x^{2n} mod n^2."""
    n2 = n * n
    nbytes = (n.bit_length() + 7) // 8
    counter = 0
    while True:
        data = i2osp(n, nbytes) + i2osp(counter, 4)
        x = int.from_bytes(shake(b"MPKSA v1 g", data, 2 * nbytes + 16), "big") % n2
        if gmpy2.gcd(x, n) == 1:
            g = int(gmpy2.powmod(x, 2 * n, n2))
            if g != 1:
                return g
        counter += 1


def derive_test_modulus(seed: bytes, bits: int) -> tuple[int, int]:
    """Two primes whose product has `bits` bits. Known factors: insecure, tests only."""
    half = bits // 2
    primes = []
    for label in (b"P", b"Q"):
        start = int.from_bytes(shake(b"MPKSA test modulus " + label, seed, half // 8), "big")
        primes.append(int(gmpy2.next_prime(start | (3 << (half - 2)))))
    return primes[0], primes[1]


def _paper(name: str, seed: bytes, bits: int) -> PaperParams:
    p, q, g = derive_paper_group(seed, bits, 2)
    return PaperParams(name=name, seed=seed, p=p, q=q, gamma=2, g=g)


def _v1_rsa(name: str, exponent_bits: int) -> V1Params:
    return V1Params(name, RSA_2048, derive_v1_generator(RSA_2048), exponent_bits, insecure=False)


def _v1_test(name: str) -> V1Params:
    p, q = _test_modulus()
    n = p * q
    return V1Params(name, n, derive_v1_generator(n), 128, insecure=True, factors=(p, q))


def _v2_rsa(name: str) -> V2Params:
    return V2Params(name, RSA_2048, derive_v1_generator(RSA_2048), 256, insecure=False, mask_bits=288)


def _v2_test(name: str) -> V2Params:
    p, q = _test_modulus()
    n = p * q
    return V2Params(name, n, derive_v1_generator(n), 128, insecure=True, factors=(p, q), mask_bits=192)


def _test_modulus() -> tuple[int, int]:
    """The 512-bit test modulus of `v1-test-512` and `v2-test-512` (known factors: insecure)."""
    return derive_test_modulus(b"MPKSA v1-test-512", 512)


_BUILDERS = {
    "paper-512": lambda: _paper("paper-512", b"MPKSA paper-512", 512),
    "paper-test": lambda: _paper("paper-test", b"MPKSA paper-test", 64),
    "v1-rsa2048-short": lambda: _v1_rsa("v1-rsa2048-short", 256),
    "v1-rsa2048-full": lambda: _v1_rsa("v1-rsa2048-full", 2048 + 128),
    "v1-test-512": lambda: _v1_test("v1-test-512"),
    "v2-rsa2048": lambda: _v2_rsa("v2-rsa2048"),
    "v2-test-512": lambda: _v2_test("v2-test-512"),
}

PARAMETER_SET_NAMES: tuple[str, ...] = tuple(_BUILDERS)


@cache
def parameter_set(name: str) -> Params:
    """The named parameter set; see spec chapter 3."""
    if name not in _BUILDERS:
        raise ParameterError(f"unknown parameter set {name!r}; known: {', '.join(_BUILDERS)}")
    return _BUILDERS[name]()


def verify_parameters(params: Params) -> None:
    """Re-derive a parameter set and check every stated property with sympy."""
    import sympy

    def require(ok: bool, rule: str) -> None:
        if not ok:
            raise ParameterError(f"parameter set {params.name!r}: {rule}")

    if isinstance(params, PaperParams):
        require(sympy.isprime(params.p) and sympy.isprime(params.q), "p and q must be prime")
        require(params.p - 1 == params.gamma * params.q, "p - 1 must equal gamma*q")
        require(params.g != 1 and pow(params.g, params.q, params.p) == 1, "g must have order q")
        derived = derive_paper_group(params.seed, params.p.bit_length(), params.gamma)
        require(derived == (params.p, params.q, params.g), "(p, q, g) must follow from the seed")
        return
    require(params.g == derive_v1_generator(params.n), "g must follow from n by derive_v1_generator")
    if params.factors is None:
        digest = hashlib.sha256(str(params.n).encode()).hexdigest()
        require(digest == RSA_2048_SHA256, "n must be the RSA-2048 challenge number")
    else:
        p, q = params.factors
        require(params.insecure and p * q == params.n, "a modulus with known factors must be flagged insecure")
        require(sympy.isprime(p) and sympy.isprime(q), "the test modulus factors must be prime")
    if isinstance(params, V2Params):
        require(params.mask_bits + MAX_CLIENT_BITS < params.modulus_bits,
                f"L + {MAX_CLIENT_BITS} must be below |n|, so that the mask sum of any S stays below n")
        require(params.insecure or params.mask_bits >= 288, "a secure v2 set needs L >= 288 (spec 10.2)")
