"""Checks on every received element (review C.7). A failure is a typed error."""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from .errors import (
    DegenerateElementError,
    DimensionMismatchError,
    ElementOutOfRangeError,
    ExponentRangeError,
    MalformedInputError,
    NonUnitError,
    show,
)
from .params import Params, V2Params


def check_integer(x: object, name: str) -> int:
    """An integer (not a boolean). The message names the type only: x may be a secret or a plaintext."""
    if isinstance(x, bool) or not isinstance(x, int | type(gmpy2.mpz(0))):
        raise MalformedInputError(f"{name} must be an integer, got {type(x).__name__}")
    return int(x)


def check_unit(x: object, n: int, modulus: int, name: str) -> int:
    """0 < x < modulus and gcd(x, n) = 1; a non-unit would reveal a factor of n."""
    x = check_integer(x, name)
    if not 0 < x < modulus:
        raise ElementOutOfRangeError(f"{name} = {show(x)} must lie in [1, {show(modulus)})")
    if gmpy2.gcd(x, n) != 1:
        raise NonUnitError(f"{name} = {show(x)} must be a unit: gcd({name}, n) = {show(int(gmpy2.gcd(x, n)))}")
    return x


def check_group_element(params: Params, x: object, name: str) -> int:
    """An element of the group of g: mod p in `paper`, mod n^2 in `v1`."""
    return check_unit(x, params.message_modulus, params.group_modulus, name)


def check_nondegenerate(params: Params, x: object, name: str) -> int:
    """A group element whose value mod n is 0, 1 or n - 1 is refused (E8; always in `v2`, spec 10.5).

    Such an element is +-1 times an element of <1 + n> (the kernel of reduction mod n): a beta or
    pk_S there leaks the plaintext, a challenge there leaks sk_i. `paper`: mod p.
    """
    x = check_group_element(params, x, name)
    n = params.message_modulus
    if x % n in (0, 1, n - 1):
        raise DegenerateElementError(f"{name} = {show(x)} is {show(x % n)} mod n: an element of +-<1 + n> is refused")
    return x


def check_power_base(params: Params, x: object, name: str) -> int:
    """An element raised to a secret power (beta, pk_S, a challenge R by a client; pk_i by the server):
    a group element, and in `v2` also non-degenerate, whose powers would reveal the exponent (spec 10.5).
    In `paper` and `v1` the non-degeneracy check is the hardening option `check_elements` (E8)."""
    if params.profile == "v2":
        return check_nondegenerate(params, x, name)
    return check_group_element(params, x, name)


def check_e1_element(params: Params, x: object, name: str) -> int:
    """A first ciphertext component: mod p^2 in `paper`, mod n^2 in `v1`."""
    return check_unit(x, params.message_modulus, params.big_modulus, name)


def check_exponent(params: Params, x: object, name: str) -> int:
    """A secret exponent must lie in [1, bound): zero would leave an element unmasked.

    The message names the range only, never the value: exponents are secrets.
    """
    x = check_integer(x, name)
    if not 0 < x < params.exponent_bound:
        raise ExponentRangeError(f"{name} must lie in [1, {show(params.exponent_bound)})")
    return x


def check_mask_exponent(params: V2Params, x: object, name: str) -> int:
    """`v2`: a mask exponent r_i must lie in [1, 2^L). The message names the range, never the value."""
    x = check_integer(x, name)
    if not 0 < x < params.mask_bound:
        raise ExponentRangeError(f"{name} must lie in [1, {show(params.mask_bound)})")
    return x


def check_length(items: Sequence[object], expected: int, name: str) -> None:
    if len(items) != expected:
        raise DimensionMismatchError(f"{name} has {len(items)} entries, expected {expected}")


def check_pairs(pairs: Sequence[Sequence[object]], name: str) -> None:
    """E_2 components come in pairs (g^{r2}, g^{r1} * pk_S^{r2})."""
    for j, pair in enumerate(pairs):
        check_length(pair, 2, f"{name}[{j}]")


def check_carrier_only(params: Params, items: Sequence[object], name: str) -> None:
    """`v2`: second components, challenges and responses exist for the carrier only: exactly one."""
    if params.profile == "v2":
        check_length(items, 1, f"{name} (v2: the carrier only)")
