"""Filter designs, computed once: ``scipy.signal.butter`` costs about a millisecond per call, and the
engine asks for the same few designs on every solve, every rep window and every new rep detector."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal


@lru_cache(maxsize=64)
def _design(order: int, cutoff_hz: float, rate_hz: float, btype: str) -> np.ndarray:
    sos: np.ndarray = signal.butter(order, cutoff_hz, btype=btype, fs=rate_hz, output="sos")
    return sos


def butter_sos(order: int, cutoff_hz: float, rate_hz: float, btype: str = "lowpass") -> np.ndarray:
    """Butterworth second-order sections (a copy of the cached design: scipy's filters want it writable)."""
    return _design(order, float(cutoff_hz), float(rate_hz), btype).copy()
