"""Exponentiation engines of the fast implementation, and a process pool.

Two engines, chosen per `FastV1` / `FastV2` object (`variable_time`):

- constant time (the default): every power with a secret exponent (sk, alpha, the r's, the mask
  sum R) is one `gmpy2.powmod_sec` (GMP's mpz_powm_sec: the same operations whatever the
  exponent's bits; only its length shows).
- variable time (opt-in): fixed-base tables (review C, last paragraph) and combs over stored
  powers, indexed by the secret exponent's digits. Faster, but the sequence of multiplications and
  the table entries read depend on the secret; see `FastV1` for what leaks and when that is
  acceptable.

A table of window w holds base^(d * 2^(w*i)) for every digit d in [1, 2^w) and every position i;
a power with an e-bit exponent is then at most ceil(e/w) modular multiplications. A comb
(`comb_power`) keeps only t powers base^(2^(s*k)), k < t, and raises them together: s squarings
and at most s multiplications by one of the 2^t products of a subset of them. Tables pay off for a
base used many times (g, beta, pk_S); combs for many bases each used once per round (the segment
bases h_j of `v2`, 2 KiB of stored powers each).

Work spreads over processes (concurrent.futures) by segments; each worker keeps its own cache
of tables. This module imports only gmpy2 so that workers start fast.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import gmpy2

T = TypeVar("T")

# Tables above this exponent size would be too large (v1-rsa2048-full: 2176 bits); plain powmod.
MAX_TABLE_EXPONENT_BITS = 512
MAX_WINDOW = 11        # 24 rows of 2047 entries for 256-bit exponents: about 26 MB at 4096 bits
_CACHE_TABLES = 6      # g, beta and pk_S, for up to two parameter sets at once
_SERIAL_BELOW = 48     # fewer exponentiations than this run in-process (pool overhead)
TABLE_MIN_USES = 48    # fewer powers of a base than this in one call: no new table


class FixedBaseTable:
    """rows[i][d] = base^(d * 2^(w*i)) mod modulus, for d in [0, 2^w) and i < ceil(bits / w)."""

    def __init__(self, base: int, modulus: int, exponent_bits: int, window: int) -> None:
        self.modulus = gmpy2.mpz(modulus)
        self.window = window
        self.mask = (1 << window) - 1
        self.limit = 1 << (window * -(-exponent_bits // window))
        rows = []
        step = gmpy2.mpz(base) % self.modulus
        for _ in range(-(-exponent_bits // window)):
            row = [gmpy2.mpz(1), step]
            for _ in range(2, 1 << window):
                row.append(row[-1] * step % self.modulus)
            rows.append(row)
            step = row[-1] * step % self.modulus  # base^(2^(w*(i+1)))
        self.rows = rows

    def times_power(self, acc: Any, exponent: int) -> Any:
        """acc * base^exponent mod modulus: one multiplication per non-zero digit."""
        if not 0 <= exponent < self.limit:
            return acc * gmpy2.powmod(self.rows[0][1], exponent, self.modulus) % self.modulus
        m, mask, w, i = self.modulus, self.mask, self.window, 0
        while exponent:
            digit = exponent & mask
            if digit:
                acc = acc * self.rows[i][digit] % m
            exponent >>= w
            i += 1
        return acc

    def power(self, exponent: int) -> Any:
        return self.times_power(gmpy2.mpz(1), exponent)


def choose_window(uses: int, exponent_bits: int) -> int:
    """The window w minimizing table cost + uses * cost per power, in multiplications; 0 = no table.

    Cost(w) = ceil(bits / w) * (2^w + uses). A plain powmod costs about 1.15 * bits
    multiplications (squarings included, measured ratio 2.26 ms / (256 * 9.3 us) = 0.95, rounded
    up for its cheaper squarings), so a table is kept only where it is cheaper than that.
    """
    if exponent_bits > MAX_TABLE_EXPONENT_BITS or uses <= 0:
        return 0
    best, best_cost = 0, uses * exponent_bits * 0.95
    for w in range(2, MAX_WINDOW + 1):
        cost = -(-exponent_bits // w) * ((1 << w) + uses)
        if cost < best_cost:
            best, best_cost = w, cost
    return best


_TABLES: OrderedDict[tuple[int, int, int, int], FixedBaseTable] = OrderedDict()


def table(base: int, modulus: int, exponent_bits: int, window: int) -> FixedBaseTable:
    """This process's table for (base, modulus, bits, window), built once, least recently used dropped."""
    key = (int(base), int(modulus), exponent_bits, window)
    found = _TABLES.get(key)
    if found is None:
        found = FixedBaseTable(base, modulus, exponent_bits, window)
        _TABLES[key] = found
        while len(_TABLES) > _CACHE_TABLES:
            _TABLES.popitem(last=False)
    _TABLES.move_to_end(key)
    return found


def has_table(base: int, modulus: int, exponent_bits: int) -> int:
    """The largest window of a table this process already holds for the base, or 0."""
    windows = [k[3] for k in _TABLES if k[:3] == (int(base), int(modulus), exponent_bits)]
    return max(windows, default=0)


class Power:
    """base^e mod modulus: by the constant-time gmpy2.powmod_sec, or with `variable_time` by a table
    of the given window (window 0: plain gmpy2.powmod)."""

    def __init__(self, base: int, modulus: int, exponent_bits: int, window: int, variable_time: bool) -> None:
        self.base, self.modulus = gmpy2.mpz(base), gmpy2.mpz(modulus)
        self.function = gmpy2.powmod if variable_time else gmpy2.powmod_sec
        self.table = table(base, modulus, exponent_bits, window) if variable_time and window else None

    def __call__(self, exponent: int) -> Any:
        if self.table is not None:
            return self.table.power(exponent)
        return self.function(self.base, exponent, self.modulus)


# --- Work items, run in a worker or in-process ----------------------------------------------------

EncJob = tuple[int, int, int, int, int, int, tuple[int, int, int], bool]


def enc_segments(job: EncJob, items: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Review C.4 for segments (m, r1, r2): E1 = (1 + m*n) * beta^r1, E2 = (g^r2, g^r1 * pk_S^r2), mod n^2.

    Constant time unless the job says `variable_time`: then fixed-base tables of the given windows
    (0: plain, variable-time powmod). (1 + m*n) * x mod n^2 = x + n * (m*x mod n): no
    exponentiation of (1 + n) is needed.
    """
    n, n2, g, beta, pk_s, bits, (w_g, w_beta, w_pk), variable_time = job
    n, n2 = gmpy2.mpz(n), gmpy2.mpz(n2)
    g_to = Power(g, n2, bits, w_g, variable_time)
    beta_to = Power(beta, n2, bits, w_beta, variable_time)
    pk_s_to = Power(pk_s, n2, bits, w_pk, variable_time)
    return [(int(times_one_plus_mn(beta_to(r1), m, n, n2)), int(g_to(r2)), int(g_to(r1) * pk_s_to(r2) % n2))
            for m, r1, r2 in items]


def times_one_plus_mn(x: Any, m: int, n: Any, n2: Any) -> Any:
    """(1 + m*n) * x mod n^2, as x + n * (m*x mod n)."""
    return (x + n * (m * x % n)) % n2


def powers(exponent: int, modulus: int, bases: Sequence[int]) -> list[int]:
    """[b^exponent mod modulus for b in bases], variable time; gmpy2 releases the GIL inside."""
    return [int(x) for x in gmpy2.powmod_base_list([gmpy2.mpz(b) for b in bases], exponent, gmpy2.mpz(modulus))]


def powers_sec(exponent: int, modulus: int, bases: Sequence[int]) -> list[int]:
    """[b^exponent mod modulus for b in bases], each by the constant-time powmod_sec."""
    m = gmpy2.mpz(modulus)
    return [int(gmpy2.powmod_sec(gmpy2.mpz(b), exponent, m)) for b in bases]


def unmask_segments(n: int, alpha: int, variable_time: bool, triples: Sequence[tuple[int, int, int]]) -> list[int]:
    """Review C.5 per segment: x = E_Agg * (d * T^{-1})^{-alpha} = E_Agg * (T * d^{-1})^alpha mod n^2.

    Returns x itself; the caller applies L after checking x = 1 mod n.
    """
    n = gmpy2.mpz(n)
    n2 = n * n
    power = gmpy2.powmod if variable_time else gmpy2.powmod_sec
    out = []
    for e, d, t in triples:
        base = t * gmpy2.invert(d, n2) % n2
        out.append(int(e * power(base, alpha, n2) % n2))
    return out


# --- Combs over stored powers (profile v2) -----------------------------------------------------------

def stored_powers(base: Any, spacing: int, rows: int, modulus: Any) -> tuple[Any, ...]:
    """(base, base^(2^s), base^(2^(2s)), ..., base^(2^((rows-1)*s))) mod modulus, s = spacing."""
    out = [gmpy2.mpz(base)]
    for _ in range(rows - 1):
        out.append(gmpy2.powmod(out[-1], 1 << spacing, modulus))  # public base and exponent
    return tuple(out)


def comb_columns(exponent: int, spacing: int, rows: int) -> list[int]:
    """The exponent as `rows` rows of `spacing` bits (row k holds bits [k*s, (k+1)*s)), read column by
    column from the top bit down: bit k of column c's index is bit c of row k.

    Raises ValueError when the exponent has more than rows * spacing bits.
    """
    if not 0 <= exponent < 1 << (rows * spacing):
        raise ValueError(f"an exponent of {exponent.bit_length()} bits does not fit {rows} rows of {spacing} bits")
    mask = (1 << spacing) - 1
    row_values = [(exponent >> (k * spacing)) & mask for k in range(rows)]
    return [sum(((row >> c) & 1) << k for k, row in enumerate(row_values)) for c in range(spacing - 1, -1, -1)]


def comb_power(powers: Sequence[Any], columns: Sequence[int], rows: int, modulus: Any) -> Any:
    """prod_k powers[k]^(row k of the exponent) = base^exponent, from `comb_columns`: 2^rows - rows - 1
    multiplications for the subset products, then one squaring and at most one multiplication per column.
    Variable time: the multiplications done and the products read depend on the exponent's bits."""
    subsets = [gmpy2.mpz(1)] * (1 << rows)
    for k in range(rows):
        bit = 1 << k
        subsets[bit] = gmpy2.mpz(powers[k])
        for s in range(1, bit):
            subsets[s | bit] = subsets[s] * subsets[bit] % modulus
    acc, started = gmpy2.mpz(1), False
    for index in columns:
        if started:
            acc = acc * acc % modulus
        if index:
            acc = acc * subsets[index] % modulus
            started = True
    return acc


def mask_segments(n: int, mask: int | tuple[list[int], int], items: Sequence[tuple[int, Sequence[int]]]) -> list[int]:
    """Spec 10.4 for segments (m_j, stored powers of h_j): C_j = (1 + m_j*n) * h_j^r mod n^2.

    `mask` is r itself (constant time: powmod_sec on h_j = powers[0]) or, for the variable-time
    engine, r's comb columns and rows (`comb_columns`)."""
    n = gmpy2.mpz(n)
    n2 = n * n
    out = []
    for m, stored in items:
        if isinstance(mask, int):
            h_r = gmpy2.powmod_sec(gmpy2.mpz(stored[0]), mask, n2)
        else:
            h_r = comb_power(stored, mask[0], mask[1], n2)
        out.append(int(times_one_plus_mn(h_r, m, n, n2)))
    return out


def unmask_v2_segments(n: int, mask_sum: int | tuple[list[int], int],
                       items: Sequence[tuple[int, Sequence[int]]]) -> list[int]:
    """Spec 10.6 for segments (E_Agg,j, stored powers of h_j): x_j = E_Agg,j * h_j^{-R} mod n^2.

    Constant time (`mask_sum` is R): (h_j^{-1})^R by powmod_sec, the public h_j inverted first.
    Variable time (`mask_sum` is R's comb columns and rows): (h_j^R)^{-1} by the comb and one
    inversion. Returns x_j; the caller applies L after checking x_j = 1 mod n."""
    n2 = gmpy2.mpz(n) * n
    out = []
    for e, stored in items:
        if isinstance(mask_sum, int):
            h_minus_r = gmpy2.powmod_sec(gmpy2.invert(gmpy2.mpz(stored[0]), n2), mask_sum, n2)
        else:
            h_minus_r = gmpy2.invert(comb_power(stored, mask_sum[0], mask_sum[1], n2), n2)
        out.append(int(e * h_minus_r % n2))
    return out


# --- The pool -------------------------------------------------------------------------------------

_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0


def default_workers() -> int:
    """Cores this process may use (sched_getaffinity where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOL, _POOL_WORKERS
    if _POOL is None or _POOL_WORKERS != workers:
        shutdown_pool()
        # forkserver/spawn: workers never inherit a parent's threads (PyTorch's, in the demo).
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))
        _POOL_WORKERS = workers
    return _POOL


def shutdown_pool() -> None:
    """Stop the worker processes (they restart on the next parallel call)."""
    global _POOL, _POOL_WORKERS
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
    _POOL, _POOL_WORKERS = None, 0


atexit.register(shutdown_pool)


_WORKER_CPU_SECONDS = 0.0


def worker_cpu_seconds() -> float:
    """CPU seconds the pool's workers have spent on this process's chunks so far (for benchmarks:
    unlike wall-clock time, it does not grow when other processes compete for the cores)."""
    return _WORKER_CPU_SECONDS


def _timed(function: Callable[..., list[T]], head: tuple[Any, ...], chunk: Sequence[Any]) -> tuple[list[T], float]:
    start = time.process_time()
    out = function(*head, chunk)
    return out, time.process_time() - start


def run_chunked(function: Callable[..., list[T]], head: tuple[Any, ...], items: Sequence[Any],
                workers: int) -> list[T]:
    """function(*head, chunk) over chunks of items, in order; in-process for small inputs or 1 worker."""
    global _WORKER_CPU_SECONDS
    if workers <= 1 or len(items) < _SERIAL_BELOW:
        return function(*head, items)
    # About four chunks per worker: balances load without much pickling.
    size = -(-len(items) // (4 * workers))
    chunks = [items[start:start + size] for start in range(0, len(items), size)]
    pool = _pool(workers)
    futures = [pool.submit(_timed, function, head, chunk) for chunk in chunks]
    out: list[T] = []
    for future in futures:
        part, seconds = future.result()
        out.extend(part)
        _WORKER_CPU_SECONDS += seconds
    return out
