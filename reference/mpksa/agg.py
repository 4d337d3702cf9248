"""Agg (Sec. 3.3): multiply the ciphertexts and responses of S."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import TooFewClientsError
from .messages import Aggregate, Ciphertext
from .params import Params
from .validate import check_carrier_only, check_e1_element, check_group_element, check_length, check_pairs


def agg(params: Params, ciphertexts: Sequence[Ciphertext], responses: Sequence[Sequence[int]]) -> Aggregate:
    """E_Agg,j = prod_i E_ij1 (mod p^2 | n^2); d_j = prod_i E_ij2[1]; T_j = prod_i T_ij (mod p | n^2)."""
    if not ciphertexts:
        raise TooFewClientsError("there are no ciphertexts to aggregate: |S| = 0")
    check_length(responses, len(ciphertexts), "responses")
    u, w = len(ciphertexts[0].e1), len(ciphertexts[0].e2)
    check_carrier_only(params, ciphertexts[0].e2, "E_2 of ciphertext 0")
    e_agg, d, t = [1] * u, [1] * w, [1] * w
    for i, (c, t_i) in enumerate(zip(ciphertexts, responses)):
        check_length(c.e1, u, f"E_1 of ciphertext {i}")
        check_length(c.e2, w, f"E_2 of ciphertext {i}")
        check_pairs(c.e2, f"E_2 of ciphertext {i}")
        check_length(t_i, w, f"response {i}")
        for j in range(u):
            e_agg[j] = e_agg[j] * check_e1_element(params, c.e1[j], f"E1[{i}][{j}]") % params.big_modulus
        for j in range(w):
            d[j] = d[j] * check_group_element(params, c.e2[j][1], f"E2[{i}][{j}]") % params.group_modulus
            t[j] = t[j] * check_group_element(params, t_i[j], f"T[{i}][{j}]") % params.group_modulus
    return Aggregate(tuple(e_agg), tuple(d), tuple(t))
