"""Parameter sets (spec chapter 3; review C.1, C.2, C.6): every stated property, re-derived."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import sympy

from mpksa.errors import ParameterError
from mpksa.params import (
    PARAMETER_SET_NAMES,
    PaperParams,
    V1Params,
    derive_v1_generator,
    parameter_set,
    verify_parameters,
)

# From the review (part C.1): SHA-256 of the decimal string of the RSA-2048 challenge number.
RSA_2048_DECIMAL_SHA256 = "b3c2468add10e2a0c4a251d9d2bac4ba04d4b3527156ceead43a1305e03f1fc0"


def test_the_seven_named_sets_exist() -> None:
    assert set(PARAMETER_SET_NAMES) == {"paper-512", "paper-test", "v1-rsa2048-short", "v1-rsa2048-full",
                                        "v1-test-512", "v2-rsa2048", "v2-test-512"}


@pytest.mark.parametrize("name", PARAMETER_SET_NAMES)
def test_verify_parameters_passes(name: str) -> None:
    verify_parameters(parameter_set(name))


@pytest.mark.parametrize("name", ["paper-512", "paper-test"])
def test_paper_groups(name: str) -> None:
    params = parameter_set(name)
    assert isinstance(params, PaperParams)
    assert sympy.isprime(params.p) and sympy.isprime(params.q)
    assert params.p - 1 == params.gamma * params.q
    assert pow(params.g, params.q, params.p) == 1 != params.g
    assert params.p.bit_length() == {"paper-512": 512, "paper-test": 64}[name]
    assert params.insecure  # the printed scheme is broken whatever the size (E1..E6)


@pytest.mark.parametrize("name", ["v1-rsa2048-short", "v1-rsa2048-full", "v2-rsa2048"])
def test_rsa2048_modulus(name: str) -> None:
    params = parameter_set(name)
    assert isinstance(params, V1Params)
    decimal = str(params.n)
    assert len(decimal) == 617 and params.n.bit_length() == 2048
    assert hashlib.sha256(decimal.encode("ascii")).hexdigest() == RSA_2048_DECIMAL_SHA256
    assert not params.insecure and params.factors is None
    assert params.exponent_bits == {"v1-rsa2048-short": 256, "v1-rsa2048-full": 2048 + 128, "v2-rsa2048": 256}[name]
    assert sympy.gcd(params.g, params.n) == 1 and params.g != 1


@pytest.mark.parametrize("name", ["v1-test-512", "v2-test-512"])
def test_test_512_is_flagged_insecure(name: str) -> None:
    params = parameter_set(name)
    assert isinstance(params, V1Params)
    assert params.insecure
    p, q = params.factors
    assert p * q == params.n and sympy.isprime(p) and sympy.isprime(q)
    assert params.n.bit_length() == 512


def test_unknown_parameter_set() -> None:
    with pytest.raises(ParameterError, match="unknown parameter set 'v2'"):
        parameter_set("v2")


def _tampered() -> list[tuple[str, object, str]]:
    paper = parameter_set("paper-test")
    v1 = parameter_set("v1-test-512")
    rsa = parameter_set("v1-rsa2048-short")
    v2, v2_rsa = parameter_set("v2-test-512"), parameter_set("v2-rsa2048")
    other_n = rsa.n + 2
    return [
        ("paper p", dataclasses.replace(paper, p=paper.p + 2), "must"),
        ("paper q", dataclasses.replace(paper, q=paper.q + 2), "must"),
        ("paper gamma", dataclasses.replace(paper, gamma=4), "p - 1 must equal gamma*q"),
        ("paper g order", dataclasses.replace(paper, g=paper.p - 1), "g must have order q"),
        ("paper g chosen", dataclasses.replace(paper, g=paper.g * paper.g % paper.p), "must follow from the seed"),
        ("paper seed", dataclasses.replace(paper, seed=b"another seed"), "must follow from the seed"),
        ("v1 g chosen", dataclasses.replace(v1, g=v1.g * v1.g % v1.n2), "g must follow from n"),
        ("v1 not flagged", dataclasses.replace(v1, insecure=False), "must be flagged insecure"),
        ("v1 factors", dataclasses.replace(v1, factors=(v1.n, 1)), "factors must be prime"),
        ("rsa g", dataclasses.replace(rsa, g=2), "g must follow from n"),
        ("rsa n", dataclasses.replace(rsa, n=other_n, g=derive_v1_generator(other_n)),
         "n must be the RSA-2048 challenge number"),
        ("v2 g chosen", dataclasses.replace(v2, g=v2.g * v2.g % v2.n2), "g must follow from n"),
        ("v2 mask sum wraps", dataclasses.replace(v2, mask_bits=480), "L + 32 must be below |n|"),
        ("v2 short mask", dataclasses.replace(v2_rsa, mask_bits=256), "needs L >= 288"),
    ]


TAMPERED = _tampered()


@pytest.mark.parametrize(("name", "params", "message"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_parameters_raise(name: str, params, message: str) -> None:
    with pytest.raises(ParameterError) as info:
        verify_parameters(params)
    assert message in str(info.value)
    assert repr(params.name) in str(info.value)
