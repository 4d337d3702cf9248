"""AggPKGen (Sec. 3.2) and the client's check of pk_S."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import AggregateKeyMismatchError, DuplicateClientError, SingleClientAbort, TooFewClientsError, show
from .params import Params
from .validate import check_power_base


def agg_pk_gen(params: Params, public_keys: Sequence[tuple[int, int]]) -> int:
    """pk_S = prod_{C_i in S} pk_i over (client id, pk_i) pairs.

    `paper` accepts |S| = 1 (the client then aborts); `v1` requires |S| >= 2.
    """
    ids = [client_id for client_id, _ in public_keys]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise DuplicateClientError(f"client ids {duplicates} appear more than once in S")
    minimum = 1 if params.profile == "paper" else 2
    if len(ids) < minimum:
        raise TooFewClientsError(f"|S| = {len(ids)}; the {params.profile} profile needs |S| >= {minimum}")
    pk_s = 1
    for client_id, pk in public_keys:
        pk_s = pk_s * check_power_base(params, pk, f"pk_{client_id}") % params.group_modulus
    return pk_s


def check_pk_s(params: Params, pk_s: int, pk_i: int, announced: Sequence[int] | None = None) -> None:
    """Sec. 3.2: abort when pk_S == pk_i. With `announced`, the pk_k of S, also recompute pk_S."""
    check_power_base(params, pk_s, "pk_S")
    if pk_s == pk_i:
        raise SingleClientAbort(f"pk_S = {show(pk_s)} equals the client's own pk_i: it is alone in S")
    if announced is not None:
        if len(set(announced)) != len(announced):
            raise AggregateKeyMismatchError("the announced keys of S repeat a key: pk_S could count one client twice")
        if pk_i not in announced:
            raise AggregateKeyMismatchError(f"own pk_i = {show(pk_i)} is not among the announced keys of S")
        product = agg_pk_gen(params, list(enumerate(announced)))
        if product != pk_s:
            raise AggregateKeyMismatchError(f"pk_S = {show(pk_s)} is not the product {show(product)} of the announced keys")
