"""Plaintext FedAvg on float32: the byte baseline, no protection at all."""

from __future__ import annotations

import numpy as np

from . import Exponentiations, Meter, Outcome, Workload


class PlaintextFloat32:
    name = "plaintext-float32"
    trust = "none: the server sees every update"
    notes = "each client sends its float32 update; the server sums in float32 and sends the sum back"
    slice_full = None
    slice_quick = None

    def unavailable(self) -> str | None:
        return None

    def setup(self, workload: Workload) -> None:
        self.clients = workload.clients

    def units(self, parameters: int) -> int:
        return parameters

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        uploads = []
        for i, x in enumerate(updates):
            with meter.client(i, "serialize"):
                uploads.append(meter.upload(i, x.astype("<f4").tobytes()))
        with meter.server("aggregate"):
            total = np.zeros(len(updates[0]), dtype=np.float32)
            for blob in uploads:
                total += np.frombuffer(blob, dtype="<f4")
            download = total.tobytes()
        for i in range(len(updates)):
            meter.download(i, download)
        with meter.every_client("receive"):
            decoded = np.frombuffer(download, dtype="<f4").astype(np.float64)
        return Outcome(decoded)

    def exponentiations(self) -> list[Exponentiations]:
        return []
