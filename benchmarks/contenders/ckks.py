"""TenSEAL CKKS: approximate homomorphic encryption of float vectors, 4096 values per ciphertext.

Poly modulus degree 8192, coefficient moduli [60, 40, 40, 60] bits, scale 2^40, public-key
encryption. The clients share one secret key; the server holds the context without it (made
public at setup, not per round), adds the ciphertexts and returns the sum; every client decrypts.
"""

from __future__ import annotations

import numpy as np
import tenseal as ts

from . import Exponentiations, Meter, Outcome, Workload

POLY_MODULUS_DEGREE = 8192
COEFF_MODULUS_BITS = [60, 40, 40, 60]
SCALE_BITS = 40
CHUNK = POLY_MODULUS_DEGREE // 2  # CKKS slots per ciphertext


class TensealCkks:
    name = "tenseal-ckks"
    trust = "one secret key shared by all clients: any client (or the server with one client's key) reads every update"
    notes = (f"TenSEAL CKKS, N = {POLY_MODULUS_DEGREE}, coefficient moduli {COEFF_MODULUS_BITS}, scale 2^{SCALE_BITS}, "
             f"{CHUNK} values per ciphertext, serialized with TenSEAL's default compression; approximate, no fixed point")
    slice_full = 200_000
    slice_quick = None

    def unavailable(self) -> str | None:
        return None

    def setup(self, workload: Workload) -> None:
        # One thread: CPU time is counted over all threads anyway; this keeps the machine quieter.
        self.context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=POLY_MODULUS_DEGREE,
                                  coeff_mod_bit_sizes=COEFF_MODULUS_BITS, n_threads=1)
        self.context.global_scale = 2.0**SCALE_BITS
        server = self.context.copy()
        server.make_context_public()
        self.server_context = ts.context_from(server.serialize())

    def units(self, parameters: int) -> int:
        return -(-parameters // CHUNK)

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        uploads = []
        for i, x in enumerate(updates):
            with meter.client(i, "encode"):
                chunks = [x[s:s + CHUNK].astype(np.float64) for s in range(0, len(x), CHUNK)]
            with meter.client(i, "encrypt"):
                vectors = [ts.ckks_vector(self.context, chunk) for chunk in chunks]
            with meter.client(i, "serialize"):
                uploads.append(meter.upload(i, [v.serialize() for v in vectors]))
        with meter.server("receive"):
            received = [[ts.ckks_vector_from(self.server_context, blob) for blob in blobs] for blobs in uploads]
        with meter.server("aggregate"):
            total = received[0]
            for other in received[1:]:
                total = [a + b for a, b in zip(total, other)]
        with meter.server("serialize"):
            download = [v.serialize() for v in total]
        for i in range(len(updates)):
            meter.download(i, download)
        with meter.every_client("receive"):
            aggregate = [ts.ckks_vector_from(self.context, blob) for blob in download]
        with meter.every_client("decrypt"):
            decoded = np.concatenate([np.array(v.decrypt(), dtype=np.float64) for v in aggregate])
        return Outcome(decoded[:len(updates[0])])

    def exponentiations(self) -> list[Exponentiations]:
        return []
