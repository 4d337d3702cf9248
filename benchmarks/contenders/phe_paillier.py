"""python-paillier (`phe`), one 2048-bit Paillier ciphertext per parameter, as FL frameworks use it.

The clients share one key pair (BatchCrypt's baseline, FATE style): the server multiplies the
ciphertexts and returns the product; every client decrypts it. Values are the shared fixed-point
integers (exponent 0 in phe's encoding), so the server's additions need no exponent alignment.
"""

from __future__ import annotations

import numpy as np
from phe import paillier

from . import Exponentiations, Meter, Outcome, Workload, parse_elements, quantize, serialize_elements

KEY_BITS = 2048


class PhePaillier:
    name = "phe-paillier"
    trust = "one key pair shared by all clients: any client (or the server with one client's key) reads every update"
    notes = ("phe 2048-bit keys, one ciphertext per parameter (public-key encryption, r^n per value), "
             "server sums with phe's EncryptedNumber addition, every client decrypts the sum (CRT)")
    slice_full = 50
    slice_quick = 4

    def unavailable(self) -> str | None:
        return None

    def setup(self, workload: Workload) -> None:
        self.enc = workload.encoding
        self.public, self.private = paillier.generate_paillier_keypair(n_length=KEY_BITS)
        self.nbytes = (self.public.nsquare.bit_length() + 7) // 8

    def units(self, parameters: int) -> int:
        return parameters

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        pk, nbytes = self.public, self.nbytes
        uploads = []
        for i, x in enumerate(updates):
            with meter.client(i, "encode"):
                q = quantize(x, self.enc).tolist()
            with meter.client(i, "encrypt"):
                ciphertexts = [pk.encrypt(v) for v in q]
            with meter.client(i, "serialize"):
                blob = serialize_elements([c.ciphertext(be_secure=False) for c in ciphertexts], nbytes)
            uploads.append(meter.upload(i, blob))
        with meter.server("receive"):
            received = [[paillier.EncryptedNumber(pk, c, 0) for c in parse_elements(blob, nbytes)] for blob in uploads]
        with meter.server("aggregate"):
            total = received[0]
            for other in received[1:]:
                total = [a + b for a, b in zip(total, other)]
        with meter.server("serialize"):
            download = serialize_elements([c.ciphertext(be_secure=False) for c in total], nbytes)
        for i in range(len(updates)):
            meter.download(i, download)
        with meter.every_client("receive"):
            aggregate = [paillier.EncryptedNumber(pk, c, 0) for c in parse_elements(download, nbytes)]
        with meter.every_client("decrypt"):
            sums = [self.private.decrypt(c) for c in aggregate]
        with meter.every_client("decode"):
            decoded = np.ldexp(np.array(sums, dtype=np.float64), -self.enc.frac_bits)
        expected = sum(quantize(x, self.enc) for x in updates)
        return Outcome(decoded, bool(np.array_equal(np.array(sums, dtype=np.int64), expected)))

    def exponentiations(self) -> list[Exponentiations]:
        n_bits = self.public.n.bit_length()
        return [Exponentiations("client", "encrypt: r^n mod n^2", 1, n_bits, 2 * n_bits),
                Exponentiations("client", "decrypt (CRT): c^(p-1) mod p^2 and c^(q-1) mod q^2", 2, n_bits // 2, n_bits)]
