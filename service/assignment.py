"""Which advertising sensor is the thigh (and which leg) and which the pelvis — found, chosen, remembered.

- `discover()` scans (BleakScanner, any backend) and keeps devices that match a profile by service
  UUID or name prefix.
- `Assignment` / `AssignmentStore` remember the choice in ``<data dir>/sensors.json``.
- `identify_by_motion()` subscribes briefly to every candidate and reports how much each one moved
  (mean gyro norm): the one the patient moves "lights up".
- `assign_by_name()` is the zero-question path for sensors whose advertised name carries the role
  (``RehabIMU-thigh-…``, as the virtual sensors and our DIY firmware do).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from sensors.codec import StreamChecker
from sensors.profiles import PROFILES, Profile, get_profile
from service.datadir import data_dir
from service.errors import AssignmentError, ScanError, SensorNotFoundError
from service.link import start_commands
from store.config import write_private_file
from tracker.conventions import SENSOR_NAMES, SIDES

ASSIGNMENT_FILE = "sensors.json"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sensor seen advertising, matched to a profile."""

    address: str
    name: str | None
    profile: str
    rssi: int | None
    device: BLEDevice = dataclasses.field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SensorRef:
    address: str
    name: str | None
    profile: str


@dataclass(frozen=True, slots=True)
class Assignment:
    thigh: SensorRef
    pelvis: SensorRef
    side: str  # leg the thigh sensor is on

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise AssignmentError(f"assignment: side {self.side!r} is not one of {SIDES}")
        if self.thigh.address == self.pelvis.address:
            raise AssignmentError(f"assignment: thigh and pelvis are the same sensor ({self.thigh.address})")

    def ref(self, sensor: str) -> SensorRef:
        return self.thigh if sensor == "thigh" else self.pelvis

    def to_dict(self) -> dict[str, Any]:
        return {"thigh": dataclasses.asdict(self.thigh), "pelvis": dataclasses.asdict(self.pelvis), "side": self.side}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Assignment:
        return cls(thigh=SensorRef(**raw["thigh"]), pelvis=SensorRef(**raw["pelvis"]), side=raw["side"])


class AssignmentStore:
    """``sensors.json`` in the data directory (atomic writes, owner-only)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / ASSIGNMENT_FILE

    def load(self) -> Assignment | None:
        if not self.path.exists():
            return None
        try:
            return Assignment.from_dict(json.loads(self.path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise AssignmentError(f"{self.path}: unreadable sensor assignment: {exc}") from exc

    def save(self, assignment: Assignment) -> None:
        write_private_file(self.path, json.dumps(assignment.to_dict(), indent=2).encode("utf-8"))


def match_profile(device: BLEDevice, adv: AdvertisementData, profiles: list[Profile]) -> Profile | None:
    uuids = {u.lower() for u in adv.service_uuids}
    name = adv.local_name or device.name or ""
    for p in profiles:
        if p.service_uuid in uuids or (p.name_prefix and name.startswith(p.name_prefix)):
            return p
    return None


async def discover(
    *,
    timeout_s: float = 3.0,
    profiles: list[str] | None = None,
    scanner_kwargs: dict[str, Any] | None = None,
    until: Callable[[dict[str, Candidate]], bool] | None = None,
) -> list[Candidate]:
    """Every advertising sensor that matches one of PROFILES (default: all), strongest first.

    ``until``: stop scanning as soon as it returns True for what was found so far (keyed by
    upper-case address) — a set looking for its two remembered sensors need not wait TIMEOUT_S.
    """
    wanted = [get_profile(p) for p in (profiles or list(PROFILES))]
    seen: dict[str, Candidate] = {}
    enough = asyncio.Event()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        p = match_profile(device, adv, wanted)
        if p is None:
            return
        seen[device.address.upper()] = Candidate(device.address, adv.local_name or device.name, p.name, adv.rssi, device)
        if until is not None and until(seen):
            enough.set()

    try:
        async with BleakScanner(detection_callback=on_advertisement, **(scanner_kwargs or {})):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough.wait(), timeout_s)
    except (BleakError, OSError, RuntimeError) as exc:  # bleak's, the OS's and bumble's (RuntimeError) errors
        raise ScanError(f"scanning failed: {type(exc).__name__}: {exc}") from exc
    return sorted(seen.values(), key=lambda c: -(c.rssi if c.rssi is not None else -999))


def has_assigned(assignment: Assignment) -> Callable[[dict[str, Candidate]], bool]:
    """``discover(until=...)`` for a remembered assignment: both of its sensors are advertising."""
    wanted = {assignment.thigh.address.upper(), assignment.pelvis.address.upper()}
    return lambda seen: wanted <= seen.keys()


def assign_by_name(candidates: list[Candidate], side: str) -> Assignment:
    """Pick the thigh and pelvis sensors by the role in their advertised name."""
    picks: dict[str, Candidate] = {}
    for role in SENSOR_NAMES:
        matches = [c for c in candidates if c.name and f"-{role}-" in c.name]
        if not matches:
            seen = ", ".join(str(c.name) for c in candidates) or "nothing"
            raise SensorNotFoundError(role, f"no advertising sensor named '*-{role}-*' (saw: {seen})")
        picks[role] = matches[0]
    return Assignment(
        thigh=SensorRef(picks["thigh"].address, picks["thigh"].name, picks["thigh"].profile),
        pelvis=SensorRef(picks["pelvis"].address, picks["pelvis"].name, picks["pelvis"].profile),
        side=side,
    )


def resolve(assignment: Assignment, candidates: list[Candidate]) -> dict[str, Candidate]:
    """The advertising device for each assigned sensor; names a missing one."""
    by_address = {c.address.upper(): c for c in candidates}
    out: dict[str, Candidate] = {}
    for role in SENSOR_NAMES:
        ref = assignment.ref(role)
        c = by_address.get(ref.address.upper())
        if c is None:
            raise SensorNotFoundError(role, f"assigned sensor {ref.name or ''} ({ref.address}) is not advertising")
        out[role] = c
    return out


@dataclass(frozen=True, slots=True)
class MotionScore:
    address: str
    name: str | None
    mean_gyro_rad_s: float
    samples: int


async def identify_by_motion(
    candidates: list[Candidate],
    *,
    duration_s: float = 3.0,
    client_kwargs: dict[str, Any] | None = None,
    min_gyro_rad_s: float = 0.5,
) -> tuple[Candidate | None, list[MotionScore]]:
    """Stream from every candidate for DURATION_S; the one moving clearly more than the rest wins.

    Returns (the moving candidate or None if none stands out, every candidate's score).
    A candidate "stands out" with mean gyro norm ≥ MIN_GYRO_RAD_S and ≥ 3× every other.
    """

    async def score(c: Candidate) -> MotionScore:
        p = get_profile(c.profile)
        checker = StreamChecker(p, sensor=c.address)
        norms: list[float] = []

        def on_data(_char: Any, data: bytearray) -> None:
            host_us = int(time.monotonic() * 1e6) if not p.has_sensor_clock else None
            checked = checker.feed(data, host_time_us=host_us)
            if checked is not None and checked.accepted:
                norms.extend(float(np.linalg.norm(s.gyr_rad_s)) for s in checked.packet.samples)

        try:
            async with BleakClient(c.device, **(client_kwargs or {})) as client:
                await client.start_notify(p.data_char_uuid, on_data)
                for uuid, data in start_commands(p, None):
                    await client.write_gatt_char(uuid, data, response=True)
                await asyncio.sleep(duration_s)
        except (TimeoutError, BleakError, OSError) as exc:
            raise SensorNotFoundError(c.name or c.address, f"could not stream to identify it: {exc}") from exc
        return MotionScore(c.address, c.name, float(np.mean(norms)) if norms else 0.0, len(norms))

    scores = list(await asyncio.gather(*(score(c) for c in candidates)))
    best = max(range(len(scores)), key=lambda i: scores[i].mean_gyro_rad_s, default=None)
    if best is None:
        return None, scores
    top = scores[best].mean_gyro_rad_s
    others = [s.mean_gyro_rad_s for i, s in enumerate(scores) if i != best]
    if top >= min_gyro_rad_s and all(top >= 3.0 * o for o in others):
        return candidates[best], scores
    return None, scores
