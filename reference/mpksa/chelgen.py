"""ChelGen (Sec. 3.3): the challenge R, and the client's check of it (hardening against E4)."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ChallengeMismatchError, TooFewClientsError, show
from .messages import Ciphertext
from .params import Params
from .validate import check_carrier_only, check_group_element, check_length, check_pairs


def chel_gen(params: Params, ciphertexts: Sequence[Ciphertext]) -> tuple[int, ...]:
    """R_j = prod_{C_i in S} g^{r_ij2} (one R in `paper`, one per segment in `v1`, one for the carrier in `v2`)."""
    if not ciphertexts:
        raise TooFewClientsError("there are no ciphertexts to challenge: |S| = 0")
    u = len(ciphertexts[0].e2)
    check_carrier_only(params, ciphertexts[0].e2, "E_2 of ciphertext 0")
    challenge = []
    for j in range(u):
        r = 1
        for i, c in enumerate(ciphertexts):
            check_length(c.e2, u, f"E_2 of ciphertext {i}")
            check_pairs(c.e2, f"E_2 of ciphertext {i}")
            r = r * check_group_element(params, c.e2[j][0], f"g^r2[{i}][{j}]") % params.group_modulus
        challenge.append(r)
    return tuple(challenge)


def check_challenge(params: Params, challenge: Sequence[int], announced: Sequence[Sequence[int]],
                    own: Sequence[int]) -> None:
    """Hardening (review C.9): R_j must be the product of the announced g^{r_kj2}, own included."""
    check_carrier_only(params, challenge, "R")
    check_length(own, len(challenge), "own g^r2")
    for k, row in enumerate(announced):
        check_length(row, len(challenge), f"announced g^r2[{k}]")
    for j, r in enumerate(challenge):
        column = [row[j] for row in announced]
        if own[j] not in column:
            raise ChallengeMismatchError(f"own g^r2 of segment {j} is missing from the announced values")
        product = 1
        for k, a in enumerate(column):
            product = product * check_group_element(params, a, f"announced g^r2[{k}][{j}]") % params.group_modulus
        if product != r:
            raise ChallengeMismatchError(f"R_{j} = {show(r)} is not the product {show(product)} of the announced g^r2")
