"""Request counts per key and fixed time window, in the database so every server replica shares them."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from store._base import StoreBase
from store.errors import InvalidValueError
from store.models import RateLimitRow

KEY_MAX = 120


def window_start(now_s: float, window_s: int) -> int:
    return int(now_s // window_s) * window_s


class RateLimitsMixin(StoreBase):
    """Count requests (one atomic upsert each), read counts, forget old windows."""

    def count_request(self, key: str, *, window_s: int, now_s: float | None = None) -> int:
        """Add one request to ``key``'s current window; the window's count including this one."""
        if not key or len(key) > KEY_MAX:
            raise InvalidValueError(f"rate-limit key must be 1–{KEY_MAX} characters")
        start = window_start(time.time() if now_s is None else now_s, window_s)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(RateLimitRow).values(key=key, window_start=start, count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[RateLimitRow.key, RateLimitRow.window_start], set_={"count": RateLimitRow.count + 1}
        ).returning(RateLimitRow.count)
        with self._tx() as s:
            return int(s.execute(stmt).scalar_one())

    def request_count(self, key: str, *, window_s: int, now_s: float | None = None) -> int:
        start = window_start(time.time() if now_s is None else now_s, window_s)
        with self._read() as s:
            return int(
                s.scalar(select(RateLimitRow.count).where(RateLimitRow.key == key, RateLimitRow.window_start == start))
                or 0
            )

    def prune_rate_limits(self, *, older_than_s: float, now_s: float | None = None) -> int:
        """Delete windows that started more than ``older_than_s`` ago; how many were deleted."""
        cutoff = (time.time() if now_s is None else now_s) - older_than_s
        with self._tx() as s:
            result = s.execute(delete(RateLimitRow).where(RateLimitRow.window_start < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)
