"""mpksa.fast: an independent, optimized implementation of profiles `v1` and `v2`.

Quantization, packing, Enc, ChelGen, ResGen, Agg, Dec and decoding, and `v2`'s segment bases, are
written anew from the review and the spec, so that passing the conformance vectors means something. What it shares with
the reference is the contract, not the algorithms: parameter sets (`mpksa.params`), the encoding
settings (`mpksa.encoding.Encoding`), message shapes (`mpksa.messages`), typed errors, the checks
every implementation applies to what it receives (spec 5.4, the client's checks of pk_S and R) and
the wire contract (`mpksa.wire`).

- `encoding`: vectorized quantize / weigh / offset / pack (numpy bits and int.from_bytes).
- `group`: the exponentiation engines (constant time by default; fixed-base tables and combs as
  a variable-time opt-in) and a process pool over segments.
- `v1`: the operations, with every received element checked (review C.7).
- `bases`: `v2`'s segment bases h_j (spec 10.3), derived once and kept on disk, checked when loaded.
- `v2`: `v2`'s Enc and Dec (spec chapter 10) on top of `v1`'s other operations.
- `wire`: the operations behind the wire contract.

It is trusted only because it passes the conformance runner:
`mpksa conformance run --adapter mpksa.fast:ADAPTER`.
"""

from __future__ import annotations

from mpksa.errors import ParameterError
from mpksa.params import V1Params, V2Params, parameter_set

from .bases import BaseCacheError, SegmentBases, default_cache_dir
from .encoding import average, decode, encode, quantize
from .group import shutdown_pool, worker_cpu_seconds
from .v1 import FastV1
from .v2 import FastV2
from .wire import FastAdapter, handle

ADAPTER = FastAdapter()
VARIABLE_TIME_ADAPTER = FastAdapter(variable_time=True)


def for_parameter_set(name: str, workers: int | None = None, clients_hint: int = 10,
                      variable_time: bool = False) -> FastV1:
    """The fast implementation over a named `v1` or `v2` parameter set (e.g. v1-rsa2048-short,
    v2-rsa2048): a `FastV1` or a `FastV2`, constant time unless `variable_time` (see `FastV1`)."""
    params = parameter_set(name)
    if isinstance(params, V2Params):
        return FastV2(params, workers=workers, clients_hint=clients_hint, variable_time=variable_time)
    if not isinstance(params, V1Params):
        raise ParameterError(f"parameter set {name!r} is of profile {params.profile!r}; the fast implementation is v1 and v2 only")
    return FastV1(params, workers=workers, clients_hint=clients_hint, variable_time=variable_time)


__all__ = [
    "ADAPTER", "VARIABLE_TIME_ADAPTER", "BaseCacheError", "FastAdapter", "FastV1", "FastV2", "SegmentBases", "average", "decode",
    "default_cache_dir", "encode", "for_parameter_set", "handle", "quantize", "shutdown_pool", "worker_cpu_seconds",
]
