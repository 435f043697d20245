"""How often the hub talks to the clinic and how it backs off (named constants, validated)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """Exponential backoff with jitter: ``initial · multiplier^(failures−1)``, capped, ±``jitter``."""

    poll_interval_s: float = 60.0  # when all is well: look for new sessions and plan changes
    initial_backoff_s: float = 5.0
    multiplier: float = 2.0
    max_backoff_s: float = 900.0  # 15 min: a hub offline for days still retries four times an hour
    jitter: float = 0.2  # so a thousand hubs do not come back at the same second after an outage
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 120.0  # a bundle of a long session on a slow home uplink
    digest_retries: int = 2  # a bundle damaged in transit is sent again this many times at once
    #: A session is sent once the patient has given its "pain after" score, or this long after it
    #: ended (the score travels with the session). 0: at once (`rehab hub sync`, tests).
    settle_s: float = 600.0

    def __post_init__(self) -> None:
        for name in ("poll_interval_s", "initial_backoff_s", "max_backoff_s", "connect_timeout_s", "request_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SyncPolicy.{name} must be > 0, got {getattr(self, name)}")
        if self.multiplier < 1:
            raise ValueError(f"SyncPolicy.multiplier must be ≥ 1, got {self.multiplier}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"SyncPolicy.jitter must be in [0, 1), got {self.jitter}")
        if self.settle_s < 0:
            raise ValueError(f"SyncPolicy.settle_s must be ≥ 0, got {self.settle_s}")
        if self.digest_retries < 0:
            raise ValueError(f"SyncPolicy.digest_retries must be ≥ 0, got {self.digest_retries}")

    def backoff_s(self, failures: int, rng: random.Random | None = None) -> float:
        grown = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** max(failures - 1, 0))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return grown * (1.0 + spread)
