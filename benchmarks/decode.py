"""Decoder speed and robustness figures (run: .venv/bin/python benchmarks/decode.py).

1. Throughput of the vectorised path for rehab_imu_v1 (MTU 247 packets, 19 samples each, and
   MTU 23 packets, 1 sample each) — goal ≥ 1,000,000 samples/s.
2. Per-packet path latency (the live radio loop).
3. Fuzz: 100,000 mutated packets (bit flips, truncation, extension, byte overwrite, random
   bytes) across all profiles through decode_packet and safe_decode — goal 0 exceptions other
   than DecodeError. Runtime target < 60 s.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensors.codec import (
    decode_packet,
    decode_packets,
    encode_packet,
    samples_per_packet,
)
from sensors.errors import DecodeError
from sensors.profiles import PROFILES

SEED = 20261126
TARGET_SAMPLES_PER_S = 1_000_000
N_FUZZ = 100_000


def make_stream(rng: np.random.Generator, mtu: int, n_packets: int) -> list[bytes]:
    n = samples_per_packet("rehab_imu_v1", mtu)
    acc = rng.normal(0.0, 15.0, (n_packets, n, 3))
    gyr = rng.normal(0.0, 3.0, (n_packets, n, 3))
    return [
        encode_packet("rehab_imu_v1", i % 65536, (i * n * 10_000) % 2**32, (acc[i], gyr[i]), mtu=mtu)
        for i in range(n_packets)
    ]


def throughput(packets: list[bytes], repeats: int = 5) -> tuple[float, int]:
    best = float("inf")
    n = 0
    for _ in range(repeats):
        t = time.perf_counter()
        batch = decode_packets("rehab_imu_v1", packets)
        best = min(best, time.perf_counter() - t)
        n = len(batch)
    return n / best, n


def mutate(rng: np.random.Generator, data: bytes) -> bytes:
    b = bytearray(data)
    kind = int(rng.integers(0, 6))
    if kind == 0 and b:  # flip 1-3 bits
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, len(b)))
            b[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # truncate
        b = b[: int(rng.integers(0, len(b) + 1))]
    elif kind == 2:  # extend
        b += rng.integers(0, 256, int(rng.integers(1, 24)), dtype=np.uint8).tobytes()
    elif kind == 3 and b:  # overwrite a byte
        b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
    elif kind == 4:  # pure noise of a plausible length
        b = bytearray(rng.integers(0, 256, int(rng.integers(0, 250)), dtype=np.uint8).tobytes())
    # kind 5: unchanged valid packet
    return bytes(b)


def fuzz(rng: np.random.Generator) -> tuple[Counter, float]:
    seeds: dict[str, list[bytes]] = {}
    for name in PROFILES:
        pk = []
        for i in range(64):
            n = max(1, samples_per_packet(name, 247))
            k = int(rng.integers(1, n + 1))
            pk.append(encode_packet(name, i, int(rng.integers(0, 2**32)), (rng.normal(0, 10, (k, 3)), rng.normal(0, 2, (k, 3)))))
        seeds[name] = pk
    names = list(PROFILES)
    counts: Counter = Counter()
    t = time.perf_counter()
    for i in range(N_FUZZ):
        name = names[i % len(names)]
        base = seeds[name][int(rng.integers(0, 64))]
        data = mutate(rng, base)
        try:
            decode_packet(name, data, host_time_us=i)
            counts["decoded"] += 1
        except DecodeError as exc:
            counts[type(exc).__name__] += 1
        except Exception as exc:
            counts["UNEXPECTED " + type(exc).__name__] += 1
            if counts["UNEXPECTED " + type(exc).__name__] <= 3:
                print(f"  unexpected {type(exc).__name__} on {name} {data.hex()}: {exc}")
    return counts, time.perf_counter() - t


def main() -> int:
    warnings.simplefilter("error")  # a RuntimeWarning inside the decoder counts as unexpected
    rng = np.random.default_rng(SEED)
    t_all = time.perf_counter()
    big = make_stream(rng, 247, 30_000)
    small = make_stream(rng, 23, 100_000)
    rate_big, n_big = throughput(big)
    rate_small, n_small = throughput(small)
    print(f"vectorised decode, rehab_imu_v1 @ MTU 247 (19 samples/packet): {rate_big:,.0f} samples/s ({n_big:,} samples)")
    print(f"vectorised decode, rehab_imu_v1 @ MTU 23  (1 sample/packet):   {rate_small:,.0f} samples/s ({n_small:,} samples)")
    t = time.perf_counter()
    for data in small[:5000]:
        decode_packet("rehab_imu_v1", data)
    per_packet_us = (time.perf_counter() - t) / 5000 * 1e6
    print(f"per-packet decode_packet (live path, 1 sample): {per_packet_us:.0f} µs/packet")
    counts, fuzz_s = fuzz(rng)
    unexpected = sum(v for k, v in counts.items() if k.startswith("UNEXPECTED"))
    print(f"fuzz: {N_FUZZ:,} mutated packets in {fuzz_s:.1f} s: " + ", ".join(f"{k}={v:,}" for k, v in sorted(counts.items())))
    print(f"fuzz: unexpected exceptions = {unexpected}")
    print(f"total benchmark time {time.perf_counter() - t_all:.1f} s")
    ok = rate_big >= TARGET_SAMPLES_PER_S and unexpected == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
