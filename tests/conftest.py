"""Shared fixtures and independent oracles for the reference's tests.

The oracles here (`expected_quantized`, `expected_segments`) are written from the
paper and the review, not from mpksa.encoding, so that a test compares the code
under test with a second derivation rather than with itself.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import pytest

from mpksa.encoding import Encoding
from mpksa.params import PaperParams, V1Params, V2Params, parameter_set
from mpksa.randomness import SeededRandom


@pytest.fixture(scope="session", autouse=True)
def base_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """mpksa.fast keeps v2's segment bases on disk ($MPKSA_CACHE_DIR): the tests, and the commands
    they start, keep theirs in a folder of their own rather than in the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("mpksa-cache")
    before = os.environ.get("MPKSA_CACHE_DIR")
    os.environ["MPKSA_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("MPKSA_CACHE_DIR", None)
    else:
        os.environ["MPKSA_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def paper_test() -> PaperParams:
    params = parameter_set("paper-test")
    assert isinstance(params, PaperParams)
    return params


@pytest.fixture(scope="session")
def paper_512() -> PaperParams:
    params = parameter_set("paper-512")
    assert isinstance(params, PaperParams)
    return params


@pytest.fixture(scope="session")
def v1_test() -> V1Params:
    params = parameter_set("v1-test-512")
    assert isinstance(params, V1Params)
    return params


@pytest.fixture(scope="session")
def v2_test() -> V2Params:
    params = parameter_set("v2-test-512")
    assert isinstance(params, V2Params)
    return params


@pytest.fixture(scope="session", params=["v1-test-512", "v2-test-512"])
def v1_or_v2_test(request: pytest.FixtureRequest) -> V1Params:
    """The insecure test set of `v1`, then of `v2` (a `V2Params` is a `V1Params` with a mask length):
    for the attacks that exist on both profiles."""
    params = parameter_set(request.param)
    assert isinstance(params, V1Params)
    return params


@pytest.fixture(scope="session")
def rsa_short() -> V1Params:
    params = parameter_set("v1-rsa2048-short")
    assert isinstance(params, V1Params)
    return params


@pytest.fixture(scope="session")
def rsa_full() -> V1Params:
    params = parameter_set("v1-rsa2048-full")
    assert isinstance(params, V1Params)
    return params


@pytest.fixture
def seeded(request: pytest.FixtureRequest) -> Callable[[str], SeededRandom]:
    """A seeded stream per test and label, so that every test is reproducible."""
    def make(label: str = "") -> SeededRandom:
        return SeededRandom(f"{request.node.nodeid}/{label}".encode())

    return make


@pytest.fixture
def small_encoding() -> Encoding:
    """Default scale (2^16, clip 1), weight 1, up to 4 clients: 19-bit slots."""
    return Encoding(frac_bits=16, clip=1.0, weight_max=1, max_clients=4)


def expected_quantized(values: Sequence[float], frac_bits: int, clip: float) -> list[int]:
    """Clip to [-clip, clip], scale by 2^f exactly, round half to even (exact rational arithmetic),
    and keep within q_max = floor(clip * 2^f)."""
    q_max = math.floor(Fraction(clip) * 2**frac_bits)
    out = []
    for x in values:
        x_clipped = min(max(Fraction(x), Fraction(-clip)), Fraction(clip))
        out.append(min(max(round(x_clipped * 2**frac_bits), -q_max), q_max))  # Fraction: half to even
    return out


def expected_weighted_sums(updates: Sequence[Sequence[float]], weights: Sequence[int],
                           frac_bits: int, clip: float) -> tuple[list[int], int]:
    """Eq. (1)'s numerator per coordinate and its denominator, from the raw inputs."""
    quantized = [expected_quantized(u, frac_bits, clip) for u in updates]
    dim = len(updates[0]) if updates else 0
    return [sum(w * q[t] for w, q in zip(weights, quantized)) for t in range(dim)], sum(weights)


def expected_segments(quantized: Sequence[int], weight: int, enc: Encoding, modulus_bits: int) -> list[int]:
    """Review C.8 by hand: V = weight_max*q_max, 2^b > max_clients*2V, k = floor((|n|-1)/b),
    slots (w*q_1 + V, ..., w*q_d + V, w + V), slot t of a segment at bit offset t*b."""
    q_max = math.floor(Fraction(enc.clip) * 2**enc.frac_bits)
    v = enc.weight_max * q_max
    b = 1
    while 2**b <= enc.max_clients * 2 * v:
        b += 1
    k = (modulus_bits - 1) // b
    slots = [weight * q + v for q in quantized] + [weight + v]
    return [sum(s << (b * t) for t, s in enumerate(slots[start:start + k])) for start in range(0, len(slots), k)]


MIN_NODE_MAJOR = 20


@functools.cache
def node_binary() -> str:
    """Path of a Node.js >= 20 binary; its absence fails the calling test, never skips it."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not on PATH: the JavaScript parts (javascript/, conformance/examples) "
                    f"needs Node.js >= {MIN_NODE_MAJOR} (install it, e.g. apt-get install nodejs)")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        pytest.fail(f"node {version!r} at {path} is too old: the JavaScript implementation needs Node.js >= {MIN_NODE_MAJOR}")
    return path
