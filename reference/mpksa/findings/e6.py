"""E6 (Sec. 3.1, Algorithm 2): negative values, through Eq. (2) and Algorithm 2 and through `v1`'s
offset encoding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..encoding import Encoding, check_super_increasing, decode_v1, encode_v1, pack, recover
from ..params import PaperParams


@dataclass(frozen=True)
class E6Demo:
    """Signed values through Eq. (2) and Algorithm 2 (`paper`), and through v1's offset encoding."""

    p: int
    values: list[int]
    bound: int
    a: list[int]
    packed: int
    packed_mod_p: int
    paper_decoded: list[int]
    frac_bits: int
    clip: float
    weight_max: int
    max_clients: int
    offset_v: int
    v1_segments: list[int]
    v1_decoded: list[int]
    v1_weight: int


def minimal_super_increasing(bound: int, k: int) -> list[int]:
    """Sec. 3.1 with equality plus one: a_1 = 1, a_i = 1 + bound * sum_{j<i} a_j (here (bound+1)^{i-1})."""
    a = [1]
    while len(a) < k:
        a.append(1 + bound * sum(a))
    return a


def e6_negative_values(params: PaperParams, values: Sequence[int] = (7, -2, -5, 10),
                       bound: int = 400) -> E6Demo:
    """E6: [7, -2, -5, 10] packs under a = (1, 401, 401^2, 401^3) and decodes as [7, 399, 395, 9];
    v1's offset encoding (V = 200 here, frac_bits 0) gives the values back."""
    a = minimal_super_increasing(bound, len(values))
    check_super_increasing(a, bound, params.p)
    packed = pack(values, a)
    encoding = Encoding(frac_bits=0, clip=float(bound // 2), weight_max=1, max_clients=1)
    segments = encode_v1(values, 1, encoding, params.modulus_bits)
    decoded, weight = decode_v1(segments, encoding, 1, len(values), params.modulus_bits)
    return E6Demo(
        p=params.p, values=list(values), bound=bound, a=a, packed=packed, packed_mod_p=packed % params.p,
        paper_decoded=recover(packed % params.p, a), frac_bits=encoding.frac_bits, clip=encoding.clip,
        weight_max=encoding.weight_max, max_clients=encoding.max_clients, offset_v=encoding.value_bound,
        v1_segments=segments, v1_decoded=decoded, v1_weight=weight,
    )
