"""The streaming test across two processes: virtual sensors in a child process
(`python -m sensors.virtual`), reached over loopback HCI/TCP by this process's bumble host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sensors.codec import StreamChecker
from sensors.virtual import VirtualSensorProcess
from sensors.virtual.runner import read_sent_log

STREAM_S = 10.0
RATE_HZ = 100.0


@pytest.mark.slow
async def test_two_sensors_stream_across_processes_without_loss(tmp_path: Path, ble) -> None:
    sent_log = tmp_path / "sent.jsonl"
    async with VirtualSensorProcess(["--synthetic-seed", "21", "--sent-log", str(sent_log)]) as proc:
        assert proc.transport.startswith("tcp-client:127.0.0.1:")
        links = [await ble.connect(proc.transport, name) for name in proc.sensor_names]
        for link in links:
            assert link.client.mtu_size == 247
            await ble.start(link, RATE_HZ)
        await asyncio.sleep(STREAM_S)
        for link in links:
            await ble.stop(link)
        await asyncio.sleep(0.3)
        for link in links:
            await link.client.disconnect()
    sent = read_sent_log(sent_log)
    counters = {c["name"]: c for c in proc.stopped["sensors"]}
    assert sorted(sent) == sorted(link.name for link in links)
    for link in links:
        sent_bytes = [bytes.fromhex(r["hex"]) for r in sent[link.name] if r["kind"] == "data"]
        assert link.collector.payloads == sent_bytes  # every notification, byte for byte, in order
        assert counters[link.name]["packets_sent"] == len(sent_bytes)
        checker = StreamChecker(ble.PROFILE, sensor=link.name)
        for data in link.collector.payloads:
            checker.feed(data)
        stats = checker.stats
        assert (stats.malformed, stats.gaps, stats.missing_samples, stats.duplicates, stats.resets) == (0, 0, 0, 0, 0)
        assert abs(stats.samples - STREAM_S * RATE_HZ) <= 19 + 2  # within one 247-MTU packet


async def test_recorder_leaving_frees_the_sensors(ble) -> None:
    """A central that vanishes (closed HCI socket) must not leave sensors bound to it."""
    async with VirtualSensorProcess(["--synthetic-seed", "5"]) as proc:
        name = proc.sensor_names[0]
        link = await ble.connect(proc.transport, name)
        await ble.start(link)
        await asyncio.sleep(0.2)
        await link.client.disconnect()  # last user: the HCI TCP connection closes
        again = await ble.connect(proc.transport, name)  # sensor advertises again, reachable
        assert again.client.is_connected
        await again.client.disconnect()
