"""What several benchmarks share: best-of-N timing and a seeded sample clinic (imported by the
scripts in this folder, which put the checkout on sys.path first)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher

from rehab.clinic import SessionFactory, sample_clinic, seed_clinic
from store import Store

PASSWORD = "benchmark-password"
#: Account creation and sign-in are not what is measured: the cheapest Argon2 parameters.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def best_of(n: int, fn: Callable[[], object]) -> float:
    """The fastest of ``n`` runs of ``fn``, seconds (the least disturbed by other load)."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def seed_sample_clinic(data_dir: Path, pool: SessionFactory, what: str, **plan: int) -> None:
    """Seed ``sample_clinic(**plan)`` into ``data_dir`` (sessions from ``pool``, no raw files); prints the time."""
    with Store(data_dir=data_dir, password_hasher=FAST) as store:
        t0 = time.perf_counter()
        seed_clinic(store, sample_clinic(**plan), password=PASSWORD, factory=pool, with_raw=False)
        print(f"seeded {what} in {time.perf_counter() - t0:.1f} s", flush=True)
