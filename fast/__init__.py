"""mpksa.fast: an independent, optimized implementation of profile `v1`.

Quantization, packing, Enc, ChelGen, ResGen, Agg, Dec and decoding are written anew from the
review and the spec, so that passing the conformance vectors means something. What it shares with
the reference is the contract, not the algorithms: parameter sets (`mpksa.params`), the encoding
settings (`mpksa.encoding.Encoding`), message shapes (`mpksa.messages`), typed errors, the checks
every implementation applies to what it receives (spec 5.4, the client's checks of pk_S and R) and
the wire contract (`mpksa.wire`).

- `encoding`: vectorized quantize / weigh / offset / pack (numpy bits and int.from_bytes).
- `group`: fixed-base tables for g, beta and pk_S, and a process pool over segments.
- `v1`: the operations, with every received element checked (review C.7).
- `wire`: the operations behind the wire contract.

It is trusted only because it passes the conformance runner:
`mpksa conformance run --adapter mpksa.fast:ADAPTER`.
"""

from __future__ import annotations

from mpksa.errors import ParameterError
from mpksa.params import V1Params, parameter_set

from .encoding import average, decode, encode, quantize
from .group import shutdown_pool, worker_cpu_seconds
from .v1 import FastV1
from .wire import FastAdapter, handle

ADAPTER = FastAdapter()


def for_parameter_set(name: str, workers: int | None = None, clients_hint: int = 10) -> FastV1:
    """The fast implementation over a named `v1` parameter set (e.g. v1-rsa2048-short)."""
    params = parameter_set(name)
    if not isinstance(params, V1Params):
        raise ParameterError(f"parameter set {name!r} is of profile {params.profile!r}; the fast implementation is v1 only")
    return FastV1(params, workers=workers, clients_hint=clients_hint)


__all__ = [
    "ADAPTER", "FastAdapter", "FastV1", "average", "decode", "encode", "for_parameter_set", "handle", "quantize",
    "shutdown_pool", "worker_cpu_seconds",
]
