"""Packed Paillier in the style of BatchCrypt (Zhang et al., USENIX ATC 2020), on gmpy2.

Packing: the slots of MPKSA's v1 encoding (offset value q + V per parameter, then a weight slot
w + V, slot radix 2^b with 2^b > |S| * 2V, k slots per plaintext below 2^(|n|-1)), taken from the
shared `Encoding` settings; the packing code is this module's own (gmpy2.pack / gmpy2.unpack).
Paillier with g = 1 + n: c = (1 + m*n) * rho mod n^2 where rho is
- `full`: r^n for a fresh random r in Z*_n (textbook, a 2048-bit exponent per plaintext);
- `fixed-base`: h^s for a fixed h = x^n mod n^2 and a fresh short s (256 bits), with a fixed-base
  table for h (the common speed-up; its security rests on a short-exponent assumption).
Decryption by CRT (mod p^2 and q^2). One key pair is shared by all clients: the server
multiplies ciphertexts and returns the product, every client decrypts it.
"""

from __future__ import annotations

import secrets

import gmpy2
import numpy as np

from . import Exponentiations, Meter, Outcome, Workload, parse_elements, serialize_elements
from . import quantize as fixed_point
from mpksa.fast.group import FixedBaseTable, choose_window

KEY_BITS = 2048
SHORT_EXPONENT_BITS = 256


def random_prime(bits: int) -> gmpy2.mpz:
    """A prime of exactly `bits` bits with the top two bits set (so p*q has 2*bits bits)."""
    return gmpy2.next_prime(secrets.randbits(bits) | (3 << (bits - 2)))


class PaillierKey:
    """n = p*q with CRT decryption constants (g = 1 + n)."""

    def __init__(self, bits: int = KEY_BITS) -> None:
        while True:
            p, q = random_prime(bits // 2), random_prime(bits // 2)
            n = p * q
            if p != q and n.bit_length() == bits and gmpy2.gcd(n, (p - 1) * (q - 1)) == 1:
                break
        self.p, self.q, self.n, self.n2 = p, q, n, n * n
        self.p2, self.q2 = p * p, q * q
        self.hp = gmpy2.invert(self._l(gmpy2.powmod(1 + n, p - 1, self.p2), p), p)
        self.hq = gmpy2.invert(self._l(gmpy2.powmod(1 + n, q - 1, self.q2), q), q)
        self.q_inv_p = gmpy2.invert(q, p)

    @staticmethod
    def _l(x: gmpy2.mpz, m: gmpy2.mpz) -> gmpy2.mpz:
        return (x - 1) // m

    def decrypt(self, c: int) -> int:
        """m = CRT(L_p(c^(p-1) mod p^2) * hp mod p, L_q(c^(q-1) mod q^2) * hq mod q)."""
        c = gmpy2.mpz(c)
        mp = self._l(gmpy2.powmod(c, self.p - 1, self.p2), self.p) * self.hp % self.p
        mq = self._l(gmpy2.powmod(c, self.q - 1, self.q2), self.q) * self.hq % self.q
        return int(mq + self.q * ((mp - mq) * self.q_inv_p % self.p))


class PackedPaillier:
    """Shared by both variants; `mask` draws rho."""

    trust = "one key pair shared by all clients: any client (or the server with one client's key) reads every update"
    slice_quick = None

    def unavailable(self) -> str | None:
        return None

    def setup(self, workload: Workload) -> None:
        self.enc = workload.encoding
        self.key = PaillierKey()
        self.b = self.enc.slot_bits
        self.k = self.enc.slots_per_segment(KEY_BITS)
        self.nbytes = (self.key.n2.bit_length() + 7) // 8

    def units(self, parameters: int) -> int:
        return -(-(parameters + 1) // self.k)

    def pack(self, x: np.ndarray) -> list[int]:
        """Slots (q_1 + V, ..., q_d + V, 1 + V), k per plaintext, slot t at bits [t*b, (t+1)*b)."""
        v = self.enc.value_bound
        slots = (fixed_point(x, self.enc) + v).tolist() + [1 + v]
        return [int(gmpy2.pack(slots[s:s + self.k], self.b)) for s in range(0, len(slots), self.k)]

    def unpack(self, sums: list[int], clients: int, parameters: int) -> np.ndarray:
        """Slot sums minus |S|*V; the weight slot must come out as |S| (every weight is 1)."""
        slots: list[int] = []
        for j, m in enumerate(sums):
            width = min(self.k, parameters + 1 - j * self.k)
            chunk = gmpy2.unpack(gmpy2.mpz(m), self.b)[:width] if m else []
            slots.extend(chunk + [0] * (width - len(chunk)))
        values = np.array([int(s) for s in slots], dtype=np.int64) - clients * self.enc.value_bound
        if values[-1] != clients:
            raise ValueError(f"weight slot decodes to {values[-1]}, expected {clients}: a slot overflowed")
        return values[:-1]

    def mask(self) -> gmpy2.mpz:
        raise NotImplementedError

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        key, nbytes = self.key, self.nbytes
        n, n2 = key.n, key.n2
        uploads = []
        for i, x in enumerate(updates):
            with meter.client(i, "encode"):
                plaintexts = self.pack(x)
            with meter.client(i, "encrypt"):
                ciphertexts = [(1 + m * n) % n2 * self.mask() % n2 for m in plaintexts]
            with meter.client(i, "serialize"):
                uploads.append(meter.upload(i, serialize_elements(ciphertexts, nbytes)))
        with meter.server("receive"):
            received = [parse_elements(blob, nbytes) for blob in uploads]
        with meter.server("aggregate"):
            total = [gmpy2.mpz(c) for c in received[0]]
            for other in received[1:]:
                total = [a * b % n2 for a, b in zip(total, other)]
        with meter.server("serialize"):
            download = serialize_elements(total, nbytes)
        for i in range(len(updates)):
            meter.download(i, download)
        with meter.every_client("receive"):
            aggregate = parse_elements(download, nbytes)
        with meter.every_client("decrypt"):
            sums = [key.decrypt(c) for c in aggregate]
        with meter.every_client("decode"):
            integers = self.unpack(sums, len(updates), len(updates[0]))
            decoded = np.ldexp(integers.astype(np.float64), -self.enc.frac_bits)
        expected = sum(fixed_point(x, self.enc) for x in updates)
        return Outcome(decoded, bool(np.array_equal(integers, expected)))

    def decrypt_exponentiations(self) -> Exponentiations:
        return Exponentiations("client", "decrypt (CRT): c^(p-1) mod p^2 and c^(q-1) mod q^2", 2, KEY_BITS // 2, KEY_BITS)


class PackedPaillierFull(PackedPaillier):
    name = "packed-paillier-full"
    notes = "BatchCrypt-style packing, rho = r^n with a fresh full-size r per plaintext, CRT decryption by every client"
    slice_full = 5_000

    def mask(self) -> gmpy2.mpz:
        r = 1 + secrets.randbelow(int(self.key.n) - 1)
        return gmpy2.powmod(r, self.key.n, self.key.n2)

    def exponentiations(self) -> list[Exponentiations]:
        return [Exponentiations("client", "encrypt: r^n mod n^2", 1, KEY_BITS, 2 * KEY_BITS),
                self.decrypt_exponentiations()]


class PackedPaillierFixedBase(PackedPaillier):
    name = "packed-paillier-fixed-base"
    notes = (f"BatchCrypt-style packing, rho = h^s with a fixed h = x^n and a fresh {SHORT_EXPONENT_BITS}-bit s "
             "through a fixed-base table (built at setup), CRT decryption by every client")
    slice_full = 200_000

    def setup(self, workload: Workload) -> None:
        super().setup(workload)
        x = 1 + secrets.randbelow(int(self.key.n) - 1)
        h = gmpy2.powmod(x, self.key.n, self.key.n2)
        # h serves every round: size its table like MPKSA's long-lived g and beta tables.
        window = choose_window(max(self.units(workload.parameters), 4096), SHORT_EXPONENT_BITS)
        self.table = FixedBaseTable(h, self.key.n2, SHORT_EXPONENT_BITS, window)

    def mask(self) -> gmpy2.mpz:
        return self.table.power(secrets.randbits(SHORT_EXPONENT_BITS))

    def exponentiations(self) -> list[Exponentiations]:
        return [Exponentiations("client", "encrypt: h^s mod n^2 (fixed base)", 1, SHORT_EXPONENT_BITS, 2 * KEY_BITS,
                                fixed_base=True),
                self.decrypt_exponentiations()]
