"""What several findings share: the public projection lambda, the lift of E2, a recording network,
error codes, JSON records, and the draws and replays of a `v1` round.

A demonstration draws every random value itself (in the order its docstring states) and replays
the draws into the reference: keys through `setup`, whole rounds through `run_round`. Nothing
here re-implements an algorithm of the scheme.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2

from ..dec import l_function
from ..encoding import Encoding, encode_v1, quantize
from ..errors import MpksaError, ParameterError
from ..messages import Announced, Ciphertext, KeyPair, Proof, ServerKey
from ..params import Params, V1Params, V2Params
from ..randomness import RandomSource, ReplayRandom, exponent
from ..round import HONEST_NETWORK, Client, Hardening, Network, RoundResult, T, run_round, setup
from ..segment_bases import segment_bases


def power(x: int, e: int, m: int) -> int:
    """x^e mod m with public values (the attacker's and the verifier's arithmetic)."""
    return int(gmpy2.powmod(x, e, m))


def inverse(x: int, m: int) -> int:
    """x^{-1} mod m."""
    return int(gmpy2.invert(x, m))


def product(values: Sequence[int], m: int) -> int:
    """prod values mod m."""
    out = 1
    for v in values:
        out = out * v % m
    return out


def paper_lambda(x: int, p: int) -> int:
    """Review notation: lambda(x) = L(x^{p-1} mod p^2) / (p-1) mod p, the <1+p> exponent of x."""
    return l_function(power(x, p - 1, p * p), p) * inverse(p - 1, p) % p


def lift(x: int, p: int) -> int:
    """x^p mod p^2: the element of the order-(p-1) subgroup of Z*_{p^2} congruent to x mod p (E2)."""
    return power(x, p, p * p)


def error_code(action: Callable[[], object]) -> str | None:
    """Run `action`; the code of the `MpksaError` it raises, or None when it succeeds."""
    try:
        action()
    except MpksaError as exc:
        return exc.code
    return None


def as_json(demo: object) -> dict[str, Any]:
    """A demo dataclass as a JSON-ready dict (tuples become lists)."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(demo))  # type: ignore[call-overload]


def ciphertext_lists(cts: Sequence[Ciphertext]) -> tuple[list[list[int]], list[list[list[int]]]]:
    """The E_1 and E_2 components of each ciphertext, as plain lists for a record."""
    return [list(c.e1) for c in cts], [[list(pair) for pair in c.e2] for c in cts]


def default_encoding(clients: int, encoding: Encoding | None) -> Encoding:
    """The given encoding, or the default one with room for `clients` (at least 10)."""
    return encoding if encoding is not None else Encoding(max_clients=max(10, clients))


def random_update(encoding: Encoding, dim: int, rng: RandomSource) -> list[int]:
    """Quantized values uniform in [-q_max, q_max]."""
    return [rng.randrange(-encoding.q_max, encoding.q_max + 1) for _ in range(dim)]


def draw_pairs(params: Params, count: int, rng: RandomSource) -> list[list[int]]:
    """`count` pairs (r_j1, r_j2) in the order Enc draws them."""
    return [[exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)] for _ in range(count)]


def draw_mask(params: V2Params, rng: RandomSource) -> list[int]:
    """One `v2` Enc's draws in its order: the mask exponent r_i, then the carrier's r_i01, r_i02."""
    return [exponent(params.mask_bound, rng), exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)]


def draw_enc(params: Params, u: int, rng: RandomSource) -> list[list[int]]:
    """One client's Enc draws for u segments, in Enc's order, grouped by the E_2 pair they serve:
    `v1` (r_j1, r_j2) per segment; `v2` the one triple (r_i, r_i01, r_i02) of its carrier."""
    return [draw_mask(params, rng)] if isinstance(params, V2Params) else draw_pairs(params, u, rng)


def split_draws(groups: Sequence[Sequence[int]]) -> tuple[list[int], list[int], list[int]]:
    """(mask exponents, r1, r2) of one client's grouped Enc draws (`draw_enc`): `v1` has no mask."""
    return [grp[0] for grp in groups if len(grp) == 3], [grp[-2] for grp in groups], [grp[-1] for grp in groups]


def draw_round(params: Params, encoding: Encoding, clients: int, dim: int, rng: RandomSource
               ) -> tuple[int, list[int], list[list[int]], list[list[list[int]]]]:
    """Draws alpha, sk_i, each client's quantized update, then each client's Enc draws (`draw_enc`)."""
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(clients)]
    updates = [random_update(encoding, dim, rng) for _ in range(clients)]
    u = encoding.segment_count(dim, params.modulus_bits)
    draws = [draw_enc(params, u, rng) for _ in range(clients)]
    return alpha, sks, updates, draws


def replayed_keys(params: Params, alpha: int, sks: Sequence[int]) -> tuple[ServerKey, list[KeyPair]]:
    """SysGen and KeyGen (`setup`) on the given alpha and sk_i, for clients 0, 1, ..."""
    key, pairs = setup(params, Encoding(), 0, range(len(sks)), ReplayRandom([alpha, *sks]))
    return key, [pairs[i] for i in range(len(sks))]


def as_update(quantized: Sequence[int], encoding: Encoding) -> list[float]:
    """Quantized values as the gradient q * 2^-f (exact), which `quantize` maps back to q."""
    update = [math.ldexp(q, -encoding.frac_bits) for q in quantized]
    if quantize(update, encoding) != list(quantized):
        raise ParameterError(f"quantized values must lie in [-{encoding.q_max}, {encoding.q_max}]")
    return update


def replay_round(params: Params, encoding: Encoding, key: ServerKey, pairs: Sequence[KeyPair],
                 online: Sequence[int], quantized: Sequence[Sequence[int]], weights: Sequence[int],
                 draws: Sequence[Sequence[Sequence[int]]], *, network: Network = HONEST_NETWORK,
                 hardening: Hardening = Hardening()) -> RoundResult:
    """`run_round` over `online` (indices into the lists) without a model, on the finding's draws:
    client i's update as_update(quantized[i]) with weight weights[i], its Enc drawing draws[i]."""
    clients = [Client(i, pairs[i], as_update(quantized[i], encoding), weights[i]) for i in online]
    rng = ReplayRandom([r for i in online for pair in draws[i] for r in pair])
    result = run_round(params, encoding, key, clients, online, model=None, hardening=hardening, network=network,
                       rng=rng)
    rng.check_all_used("r1/r2")
    return result


class Recorder:
    """A network that keeps every message as it arrives: `received[name][client id]`.

    An attack subclasses it and changes what arrives before calling `keep`.
    """

    def __init__(self) -> None:
        self.received: dict[str, dict[int, Any]] = {}

    def keep(self, client_id: int, name: str, value: T) -> T:
        self.received.setdefault(name, {})[client_id] = value
        return value

    def to_client(self, client_id: int, name: str, value: T) -> T:
        return self.keep(client_id, name, value)

    def to_server(self, client_id: int, name: str, value: T) -> T:
        return self.keep(client_id, name, value)


@dataclass(frozen=True)
class RoundRecord:
    """What a demonstration of E8 to E10 records of its round: the group, the encoding, the keys,
    the quantized updates and their segments, Enc's randomness (`v1`: r1, r2 per segment; `v2`:
    the mask exponent r_i in `masks`, the carrier's r_i01, r_i02 in r1, r2), and the uploads as the
    server received them (`v2`: the carrier first in e1)."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    quantized: list[list[int]]
    segments: list[list[int]]
    masks: list[int]
    r1: list[list[int]]
    r2: list[list[int]]
    e1: list[list[int]]
    e2: list[list[list[int]]]


def round_record(params: V1Params, encoding: Encoding, alpha: int, sks: Sequence[int], pairs: Sequence[KeyPair],
                 pk_s: int, quantized: Sequence[Sequence[int]], draws: Sequence[Sequence[Sequence[int]]],
                 uploads: Sequence[Ciphertext]) -> dict[str, Any]:
    """The fields of a `RoundRecord`, every client of weight 1, for a record's constructor."""
    e1, e2 = ciphertext_lists(uploads)
    split = [split_draws(d) for d in draws]
    return dict(n=params.n, g=params.g, encoding=dataclasses.asdict(encoding), alpha=alpha, sks=list(sks),
                pks=[p.pk for p in pairs], pk_s=pk_s, quantized=[list(q) for q in quantized],
                segments=[encode_v1(q, 1, encoding, params.modulus_bits) for q in quantized],
                masks=[m for masks, _, _ in split for m in masks], r1=[r1 for _, r1, _ in split],
                r2=[r2 for _, _, r2 in split], e1=e1, e2=e2)


def open_upload(params: V1Params, alpha: int, upload: Ciphertext, g_r1: Sequence[int]) -> tuple[list[int], list[int]]:
    """What the server reads from one upload once an attack gave it g^{r_j1} of each E_2 pair:
    L(E_j1 * (g^{r_j1})^{-alpha}) per pair. In `v1` these are the segments; in `v2` the carrier's is
    the mask exponent r_i, which opens every data segment (`unmask_segments`).
    Returns (segments, [r_i] in `v2` or [] in `v1`)."""
    n, n2 = params.n, params.n2
    opened = [l_function(e * power(a, -alpha, n2) % n2, n) for e, a in zip(upload.e1, g_r1)]
    if not isinstance(params, V2Params):
        return opened, []
    return unmask_segments(params, upload, opened[0]), opened[:1]


def unmask_segments(params: V2Params, upload: Ciphertext, mask: int) -> list[int]:
    """`v2`: every data segment of an upload whose mask exponent r_i is known, L(C_ij * h_j^{-r_i}) (spec 10.6)."""
    n, n2 = params.n, params.n2
    bases = segment_bases(params, len(upload.e1) - 1)
    return [l_function(c * power(h, -mask, n2) % n2, n) for c, h in zip(upload.e1[1:], bases)]


def combine(params: Params, cts: Sequence[Ciphertext], exponents: Sequence[int]) -> Ciphertext:
    """prod_k cts[k]^exponents[k], component by component (a colluder's arithmetic on uploads)."""
    n2 = params.group_modulus
    e1 = tuple(product([power(c.e1[j], e, n2) for c, e in zip(cts, exponents)], n2) for j in range(len(cts[0].e1)))
    e2 = tuple(tuple(product([power(c.e2[j][h], e, n2) for c, e in zip(cts, exponents)], n2) for h in (0, 1))
               for j in range(len(cts[0].e2)))
    return Ciphertext(e1, e2)  # type: ignore[arg-type]


class ColludingUpload(Recorder):
    """Client `colluder`, the last of S, colludes with the server: the server receives forge(upload)
    (and, in a hardened round, forge_proofs(proofs)) instead of its upload. The colluder's own client
    code is shown the view its real upload makes (its own g^{r_cj2} and proofs among the announced
    values, and the R_j they give), and the server receives from it R_j^{sk_c} for the R_j the
    server really sent."""

    def __init__(self, params: Params, colluder: int, colluder_sk: int) -> None:
        super().__init__()
        self.params, self.colluder, self.colluder_sk = params, colluder, colluder_sk
        self.upload: Ciphertext | None = None
        self.proofs: tuple[Proof, ...] = ()
        self.challenge: tuple[int, ...] = ()

    def forge(self, upload: Ciphertext) -> Ciphertext:
        """What the server receives instead of the colluder's upload."""
        raise NotImplementedError

    def forge_proofs(self, proofs: tuple[Proof, ...]) -> tuple[Proof, ...]:
        """What the server receives instead of the colluder's proofs: by default the real ones."""
        return proofs

    def to_server(self, client_id: int, name: str, value: Any) -> Any:
        if client_id == self.colluder and name == "E":
            self.upload, value = value, self.forge(value)
        elif client_id == self.colluder and name == "proof g^r2":
            self.proofs, value = value, self.forge_proofs(value)
        elif client_id == self.colluder and name == "T":
            value = tuple(power(r, self.colluder_sk, self.params.group_modulus) for r in self.challenge)
        return self.keep(client_id, name, value)

    def to_client(self, client_id: int, name: str, value: Any) -> Any:
        if client_id == self.colluder and self.upload is not None and name in ("R", "announced g^r2"):
            n2, own = self.params.group_modulus, [a for a, _ in self.upload.e2]
            forged = [a for a, _ in self.received["E"][client_id].e2]
            if name == "R":
                self.challenge = value
                value = tuple(r * inverse(f, n2) * a % n2 for r, f, a in zip(value, forged, own))
            else:
                value = [Announced(a.client_id, tuple(own), self.proofs) if a.client_id == client_id else a
                         for a in value]
        return self.keep(client_id, name, value)
