"""A fast implementation of profile `v1`, separate from the reference (issue 6).

Quantization, packing, Enc, ChelGen, ResGen, Agg, Dec and decoding are written anew from the
review and the spec, so that passing the conformance vectors means something. What is shared with
the reference is the contract, not the algorithms: typed errors (`mpksa.errors`), parameter sets
(`mpksa.params`), the encoding settings object (`mpksa.encoding.Encoding`) and the wire parsing
helpers of `mpksa.ops` (params/encoding objects, fixed-length hex).

- `fast_encoding`: vectorized quantize / weigh / offset / pack (numpy bits and int.from_bytes).
- `fast_group`: fixed-base tables for g, beta and pk_S, and a process pool over segments.
- `fast_v1`: the operations with every received element checked (review C.7).
- `fast_wire`: the JSON wire contract of `mpksa.ops`.

`ADAPTER` is the conformance adapter: `mpksa conformance run --adapter mpksa.demo.fast:ADAPTER`.
"""

from __future__ import annotations

from mpksa.params import V1Params, parameter_set

from .fast_encoding import FastEncoding, average, decode, encode, quantize
from .fast_group import shutdown_pool
from .fast_v1 import FastAggregate, FastCiphertext, FastV1, Group, draw_exponent
from .fast_wire import FastAdapter, handle

ADAPTER = FastAdapter()


def for_parameter_set(name: str, workers: int | None = None, clients_hint: int = 10) -> FastV1:
    """The fast implementation over a named `v1` parameter set (e.g. v1-rsa2048-short)."""
    params = parameter_set(name)
    if not isinstance(params, V1Params):
        from mpksa.errors import ParameterError

        raise ParameterError(f"parameter set {name!r} is of profile {params.profile!r}; the fast implementation is v1 only")
    return FastV1(Group.of(params), workers=workers, clients_hint=clients_hint)


__all__ = [
    "ADAPTER", "FastAdapter", "FastAggregate", "FastCiphertext", "FastEncoding", "FastV1", "Group",
    "average", "decode", "draw_exponent", "encode", "for_parameter_set", "handle", "quantize", "shutdown_pool",
]
