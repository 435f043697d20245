"""Keep the radio loop thin: a notify callback that only records ``(host_time_s, bytes)``.

Decoding happens downstream (sensors.codec), never inside the BLE callback — bleak's
``async_callback_with_queue`` pattern. ``NotificationCollector`` both appends to a list (for
tests and short captures) and, if given one, puts onto an ``asyncio.Queue`` (for live use).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any


@dataclasses.dataclass(slots=True)
class NotificationCollector:
    """Pass ``collector.on_notify`` to ``BleakClient.start_notify``."""

    sensor: str = ""
    queue: asyncio.Queue[tuple[float, bytes]] | None = None
    keep: bool = True
    packets: list[tuple[float, bytes]] = dataclasses.field(default_factory=list)
    count: int = 0

    def on_notify(self, _characteristic: Any, data: bytearray) -> None:
        item = (time.monotonic(), bytes(data))
        self.count += 1
        if self.keep:
            self.packets.append(item)
        if self.queue is not None:
            self.queue.put_nowait(item)

    @property
    def payloads(self) -> list[bytes]:
        return [data for _t, data in self.packets]
