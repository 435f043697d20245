"""Bytes → samples. One vectorised algorithm; ``decode_packet`` is the one-packet case of it.

Packets are grouped by length, each group becomes a (P, L) uint8 matrix, and every check and
every scale runs as numpy over the whole group. A packet that fails a check is either reported as
a typed ``DecodeError`` naming profile, field and byte offset (``on_error="raise"``: the bad
packet with the lowest index) or dropped (``on_error="skip"``; the errors are listed in
``DecodeResult.rejected``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from sensors.codec._layout import Layout, layout_for
from sensors.errors import DecodeError, HeaderError, PacketLengthError, ValueRangeError
from sensors.profiles import FieldSpec, Profile
from sensors.samples import (
    FLAG_CLIPPED,
    FLAG_HOST_CLOCK,
    FLAG_NO_SEQ,
    NO_SEQ,
    NO_TIME,
    ImuBatch,
    ImuSample,
)

_U32 = np.int64(1 << 32)


@dataclass(frozen=True, slots=True)
class DecodedPacket:
    """One notification, decoded. ``sensor_time_us`` is the first sample's (raw, wrapping) time."""

    profile: str
    seq: int
    sensor_time_us: int
    samples: tuple[ImuSample, ...]
    accel_range_g: float | None = None
    gyro_range_dps: float | None = None
    rate_hz: float | None = None  # carried in the packet (rehab_imu_v1) or None
    flags: int = 0
    euler_deg: tuple[tuple[float, float, float], ...] | None = None  # WitMotion angles as sent


@dataclass(slots=True)
class _Check:
    """Bookkeeping for the first failed check of each packet in a group."""

    n: int
    first: np.ndarray = field(init=False)
    infos: list[tuple[type[DecodeError], str | np.ndarray, int | np.ndarray, str | Callable[..., str]]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        self.first = np.full(self.n, -1, np.int64)

    def add(
        self, mask: np.ndarray, cls: type[DecodeError], fld: str | np.ndarray, offset: int | np.ndarray,
        reason: str | Callable[..., str],
    ) -> None:
        """fld/offset: one value or a (P,) array; reason: str or callable(i) -> str."""
        if not mask.any():
            return
        new = mask & (self.first < 0)
        if new.any():
            self.first[new] = len(self.infos)
            self.infos.append((cls, fld, offset, reason))

    @property
    def bad(self) -> np.ndarray:
        return self.first >= 0

    def error(self, i: int, lay: Layout, packet: bytes, index: int | None) -> DecodeError:
        cls, fld, offset, reason = self.infos[int(self.first[i])]
        off = int(offset[i]) if isinstance(offset, np.ndarray) else int(offset)
        name = str(fld[i]) if isinstance(fld, np.ndarray) else fld
        text = reason(i) if callable(reason) else reason
        err: DecodeError = cls(lay.name, name, off, text, packet, index)
        return err


def _word(arr: np.ndarray, off: int, ftype: str, lay: Layout) -> np.ndarray:
    dt = lay.word_dtype(ftype)
    return np.ascontiguousarray(arr[:, off : off + dt.itemsize]).view(dt).reshape(-1).astype(np.int64)


def _decode_group(
    lay: Layout,
    arr: np.ndarray,
    host_time_us: np.ndarray | None,
) -> tuple[dict[str, np.ndarray], _Check]:
    """Decode P packets of the same length L. Returns per-sample arrays + the failure record."""
    p = lay.profile
    P, L = arr.shape
    chk = _Check(P)
    # --- length -----------------------------------------------------------------------------
    if p.count_field is not None:
        n = (L - p.header_size) // p.sample_size if p.header_size <= L else 0
        ok_len = p.header_size + n * p.sample_size == L and 1 <= n <= p.max_samples
        want = f"{p.header_size} + {p.sample_size}·N bytes with 1 ≤ N ≤ {p.max_samples}"
    elif p.trailing:
        n = 1
        ok_len = int(p.trailing["min_total"]) <= L <= int(p.trailing["max_total"])
        want = f"{p.trailing['min_total']}..{p.trailing['max_total']} bytes"
    else:
        n = 1
        ok_len = p.header_size + p.sample_size == L
        want = f"{p.header_size + p.sample_size} bytes"
    if not ok_len:
        chk.add(np.ones(P, bool), PacketLengthError, "length", L, f"length {L} bytes, expected {want}")
        return {}, chk
    # --- header -----------------------------------------------------------------------------
    words = {(off, typ): _word(arr, off, typ, lay) for off, typ in lay.header_words}
    hv: dict[str, np.ndarray] = {}
    for f in p.header_fields:
        v = words[(f.offset, f.type)]
        if f.mask is not None:
            v = (v & f.mask) >> f.shift
        hv[f.name] = v
        if f.const is not None:
            chk.add(v != f.const, HeaderError, f.name, f.offset,
                    lambda i, v=v, f=f: f"value {int(v[i])}, expected {f.const} ({f.description})")
        if f.codes is not None:
            valid = lay.code_valid[f.name][v]
            chk.add(~valid, HeaderError, f.name, f.offset,
                    lambda i, v=v, f=f: f"invalid code {int(v[i])}; valid codes {dict(f.codes)} ({f.description})")
    if p.count_field is not None:
        cnt = hv[p.count_field]
        cf = p.header_field(p.count_field)
        chk.add(cnt != n, PacketLengthError, cf.name, cf.offset,
                lambda i, cnt=cnt: f"header says {int(cnt[i])} samples but the {L}-byte packet holds {n}")
    body_end = p.header_size + n * p.sample_size
    if p.trailing and body_end < L and p.trailing.get("must_be_zero"):
        tail = arr[:, body_end:]
        nz = tail != 0
        bad_tail = nz.any(axis=1)
        first_nz = body_end + np.argmax(nz, axis=1)
        chk.add(bad_tail, HeaderError, "padding", first_nz,
                lambda i, first_nz=first_nz: f"unused trailing byte is 0x{int(arr[i, first_nz[i]]):02x}, must be 0x00")
    # --- samples ----------------------------------------------------------------------------
    body = arr[:, p.header_size : body_end].reshape(P, n, p.sample_size)
    out: dict[str, np.ndarray] = {}
    flags = np.zeros((P, n), np.uint16)
    for q, fields in lay.quantity_fields.items():
        # The three axes of a quantity are adjacent words (checked when the layout compiles).
        off, dt = lay.quantity_view[q]
        raw = np.ascontiguousarray(body[:, :, off : off + 3 * dt.itemsize]).view(dt)  # (P, n, 3)
        if q in lay.const_factor:
            val = raw.astype(np.float64) * lay.const_factor[q]
        else:
            factor = lay.code_factor_table[q][hv[lay.range_field[q]]]
            val = raw.astype(np.float64) * factor[:, None, None]
        if q in lay.int_quantities:
            lo, hi = lay.int_bounds[q]
            clipped = ((raw == lo) | (raw == hi)).any(axis=-1)
            if q != "angle":
                flags[clipped] |= FLAG_CLIPPED
        else:
            finite = np.isfinite(val)
            bad = np.asarray(~finite.all(axis=(1, 2)))
            if not finite.all():
                names, offs = _first_bad(~finite, fields, p)
                chk.add(bad, ValueRangeError, names, offs,
                        lambda i, val=val, q=q: f"non-finite {q} value {val[i][~np.isfinite(val[i])][0]!r}")
        limit_key = {"acc": "acc_m_s2", "gyr": "gyr_rad_s"}.get(q)
        if limit_key and limit_key in p.limits:
            over = np.abs(val) > p.limits[limit_key]  # NaN compares False; inf is caught above
            if over.any():
                bad = np.asarray(over.any(axis=(1, 2)))
                names, offs = _first_bad(over, fields, p)
                chk.add(bad, ValueRangeError, names, offs,
                        lambda i, val=val, q=q, lk=limit_key, over=over:
                        f"{q} value {float(val[i][over[i]][0]):.6g} exceeds the plausible limit ±{p.limits[lk]:g} {lk.split('_', 1)[1]}")
        out[q] = val.reshape(P * n, 3)
    # --- time and sequence --------------------------------------------------------------------
    k = np.arange(n, dtype=np.int64)
    if p.has_sensor_clock:
        assert p.clock_field is not None
        t0 = hv[p.clock_field]
        if "rate" in hv:  # per-sample time = t0 + k × period, period from the packet's rate code
            period = lay.period_table_us[hv["rate"]]
            t = (t0[:, None] + k[None, :] * period[:, None]) % _U32
        else:
            t = t0[:, None] + 0 * k[None, :]
    else:
        flags |= FLAG_HOST_CLOCK
        ht = host_time_us if host_time_us is not None else np.full(P, NO_TIME, np.int64)
        t = ht[:, None] + 0 * k[None, :]
    if p.has_sequence:
        assert p.seq_field is not None
        seq = np.repeat(hv[p.seq_field], n)
    else:
        seq = np.full(P * n, NO_SEQ, np.int64)
        flags |= FLAG_NO_SEQ
    out["t"] = t.reshape(-1).astype(np.int64)
    out["seq"] = seq.astype(np.int64)
    out["flags"] = flags.reshape(-1)
    out["n"] = np.array([n])
    for name in ("accel_range", "gyro_range", "rate"):
        if name in hv:
            out["hdr_" + name] = lay.code_value_table[name][hv[name]]
    return out, chk


def _first_bad(mask: np.ndarray, fields: Sequence[FieldSpec], p: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Field name and byte offset of the first flagged value in each packet; mask is (P, n, 3)."""
    P, n, _ = mask.shape
    j = np.argmax(mask.reshape(P, n * 3), axis=1)
    k, axis = j // 3, j % 3
    names = np.array([f.name for f in fields], dtype=object)[axis]
    offsets = p.header_size + k * p.sample_size + np.array([f.offset for f in fields])[axis]
    return names, offsets


def _euler_to_quat(euler_deg: np.ndarray) -> np.ndarray:
    """Z-Y-X (yaw, pitch, roll) Euler angles in degrees → unit quaternions (w, x, y, z)."""
    half = np.deg2rad(euler_deg) / 2.0
    cr, cp, cy = np.cos(half[:, 0]), np.cos(half[:, 1]), np.cos(half[:, 2])
    sr, sp, sy = np.sin(half[:, 0]), np.sin(half[:, 1]), np.sin(half[:, 2])
    return np.stack(
        [
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ],
        axis=1,
    )


@dataclass(slots=True)
class DecodeResult:
    """Output of the vectorised path: the batch plus per-packet metadata and rejected packets."""

    batch: ImuBatch
    n_per_packet: np.ndarray  # (P,) samples per input packet (0 for rejected ones)
    accel_range_g: np.ndarray  # (P,) float, nan where not carried / rejected
    gyro_range_dps: np.ndarray
    rate_hz: np.ndarray
    euler_deg: np.ndarray | None
    rejected: list[DecodeError]


def decode_many(
    profile: str | Profile,
    packets: Sequence[bytes | bytearray | memoryview],
    *,
    host_time_us: Sequence[int] | np.ndarray | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> DecodeResult:
    """The one decoding algorithm (see module docstring)."""
    lay = layout_for(profile)
    p = lay.profile
    P = len(packets)
    lengths = np.fromiter((len(x) for x in packets), np.int64, count=P)
    ht_all = None if host_time_us is None else np.asarray(host_time_us, dtype=np.int64).reshape(-1)
    if ht_all is not None and ht_all.shape[0] != P:
        raise ValueError(f"{p.name}: {ht_all.shape[0]} host times for {P} packets")
    uniq = np.unique(lengths)
    parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
    n_per = np.zeros(P, np.int64)
    acc_rng = np.full(P, np.nan)
    gyr_rng = np.full(P, np.nan)
    rate = np.full(P, np.nan)
    rejected: list[tuple[int, DecodeError]] = []
    for L in uniq.tolist():
        if len(uniq) == 1:
            idx = np.arange(P)
            group = packets
        else:
            idx = np.flatnonzero(lengths == L)
            group = [packets[i] for i in idx.tolist()]
        if L == 0:
            arr = np.zeros((len(idx), 0), np.uint8)
        else:
            arr = np.frombuffer(b"".join(group), np.uint8).reshape(len(idx), L)
        # Garbage floats (signalling NaNs, infinities) must become a ValueRangeError, not a
        # RuntimeWarning: the checks below test finiteness explicitly.
        with np.errstate(all="ignore"):
            out, chk = _decode_group(lay, arr, None if ht_all is None else ht_all[idx])
        bad = chk.bad
        for i in np.flatnonzero(bad).tolist():
            rejected.append((int(idx[i]), chk.error(i, lay, bytes(group[i]), int(idx[i]))))
        if not out:
            continue
        good = ~bad
        n = int(out["n"][0])
        keep = np.repeat(good, n)
        gidx = idx[good]
        n_per[gidx] = n
        for name, target in (("hdr_accel_range", acc_rng), ("hdr_gyro_range", gyr_rng), ("hdr_rate", rate)):
            if name in out:
                target[gidx] = out[name][good]
        rows = {key: val[keep] for key, val in out.items() if key in ("acc", "gyr", "angle", "t", "seq", "flags")}
        rows["packet_index"] = np.repeat(gidx, n)
        parts.append((rows["packet_index"], rows))
    if not parts:
        batch = ImuBatch.empty(with_quat="angle" in lay.quantity_fields)
        euler = np.zeros((0, 3)) if "angle" in lay.quantity_fields else None
    else:
        pk = np.concatenate([x[0] for x in parts])
        if len(parts) > 1:
            order = np.argsort(pk, kind="stable")
        else:
            order = None

        def cat(key: str) -> np.ndarray:
            a = np.concatenate([x[1][key] for x in parts]) if len(parts) > 1 else parts[0][1][key]
            return a[order] if order is not None else a

        euler = cat("angle") if "angle" in lay.quantity_fields else None
        batch = ImuBatch(
            sensor_time_us=cat("t"),
            seq=cat("seq"),
            acc_m_s2=cat("acc"),
            gyr_rad_s=cat("gyr"),
            flags=cat("flags"),
            packet_index=cat("packet_index"),
            quat=_euler_to_quat(euler) if euler is not None else None,
        )
    rejected.sort(key=lambda x: x[0])
    if rejected and on_error == "raise":
        raise rejected[0][1]
    if "acc" not in lay.range_field:  # fixed-range sensors: the spec's ranges apply
        acc_rng[n_per > 0] = p.default_accel_range_g
    if "gyr" not in lay.range_field:
        gyr_rng[n_per > 0] = p.default_gyro_range_dps
    return DecodeResult(batch, n_per, acc_rng, gyr_rng, rate, euler, [e for _, e in rejected])


def decode_packets(
    profile: str | Profile,
    packets: Sequence[bytes | bytearray | memoryview],
    *,
    host_time_us: Sequence[int] | np.ndarray | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> ImuBatch:
    """Vectorised path: many notifications → one ``ImuBatch`` (rows in packet, then sample order)."""
    return decode_many(profile, packets, host_time_us=host_time_us, on_error=on_error).batch


def decode_packet(
    profile: str | Profile,
    data: bytes | bytearray | memoryview,
    *,
    host_time_us: int | None = None,
) -> DecodedPacket:
    """Per-packet path (the live radio loop): one notification → ``DecodedPacket``.

    Raises only ``DecodeError`` subclasses for bad bytes. ``host_time_us`` is the arrival time,
    used as the timestamp for profiles without a sensor clock (WitMotion). Runs the same
    ``_decode_group`` as ``decode_packets`` on a 1-row matrix.
    """
    lay = layout_for(profile)
    p = lay.profile
    raw = bytes(data)
    arr = np.frombuffer(raw, np.uint8).reshape(1, len(raw))
    ht = None if host_time_us is None else np.array([host_time_us], np.int64)
    with np.errstate(all="ignore"):
        out, chk = _decode_group(lay, arr, ht)
    if chk.bad[0]:
        raise chk.error(0, lay, raw, None)
    t = out["t"].tolist()
    seq = out["seq"].tolist()
    acc = out["acc"].tolist()
    gyr = out["gyr"].tolist()
    flags = out["flags"].tolist()
    euler = None
    quats: list[list[float]] | None = None
    if "angle" in out:
        euler = tuple(tuple(row) for row in out["angle"].tolist())
        quats = _euler_to_quat(out["angle"]).tolist()
    samples = tuple(
        ImuSample(
            sensor_time_us=t[i],
            seq=seq[i],
            acc_m_s2=tuple(acc[i]),
            gyr_rad_s=tuple(gyr[i]),
            quat=(quats[i][0], quats[i][1], quats[i][2], quats[i][3]) if quats is not None else None,
            flags=flags[i],
        )
        for i in range(len(t))
    )
    fl = 0
    for f in flags:
        fl |= f
    rate = float(out["hdr_rate"][0]) if "hdr_rate" in out else None
    acc_g = float(out["hdr_accel_range"][0]) if "hdr_accel_range" in out else p.default_accel_range_g
    gyr_dps = float(out["hdr_gyro_range"][0]) if "hdr_gyro_range" in out else p.default_gyro_range_dps
    return DecodedPacket(
        profile=p.name,
        seq=seq[0],
        sensor_time_us=t[0],
        samples=samples,
        accel_range_g=acc_g,
        gyro_range_dps=gyr_dps,
        rate_hz=rate,
        flags=fl,
        euler_deg=euler,
    )
