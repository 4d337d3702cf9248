"""Every import of MPKSA's fast implementation by the benchmarks, in one place.

The fast implementation moves from `mpksa.demo.fast*` to `mpksa.fast` (modules `group`,
`encoding`, `v1`, `wire`) with the same API: re-point the imports below, nothing else.
"""

from __future__ import annotations

from mpksa.demo import fast
from mpksa.demo.fast_encoding import segment_count
from mpksa.demo.fast_group import FixedBaseTable, choose_window, default_workers, shutdown_pool, worker_cpu_seconds

__all__ = ["FixedBaseTable", "choose_window", "default_workers", "fast", "segment_count", "shutdown_pool",
           "worker_cpu_seconds"]
