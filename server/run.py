"""Run the clinic server: uvicorn with TLS on a pre-bound socket; a ready file once it accepts."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from server.app import create_app
from server.config import ServerConfig
from server.errors import ServerConfigError
from server.tls import CertificateInfo, check_certificate
from store import Store

logger = logging.getLogger("server")


class _Server(uvicorn.Server):
    """uvicorn that tells us when its socket accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._on_ready()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def write_ready_file(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(path)


def serve(
    config: ServerConfig,
    *,
    database_url: str | None,
    data_dir: Path | None,
    files_url: str | None,
    ready_file: Path | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Check the certificate, open the store, serve until SIGINT/SIGTERM."""
    cert: CertificateInfo | None = None
    if config.tls:
        assert config.certfile is not None and config.keyfile is not None
        cert = check_certificate(config.certfile, config.keyfile)
    store = Store(database_url, data_dir=data_dir, files_url=files_url, clean_on_open=False)
    sock = bind(config.host, config.port)
    port = int(sock.getsockname()[1])
    host = f"[{config.host}]" if ":" in config.host else config.host
    info = {"event": "ready", "url": f"{config.scheme}://{host}:{port}", "pid": os.getpid(),
            "files": store.files.location}  # fmt: skip

    def ready() -> None:
        if ready_file is not None:
            write_ready_file(ready_file, info)
        if on_ready is not None:
            on_ready(info)
        logger.info("clinic server on %s (files: %s%s)", info["url"], store.files.location,
                    f"; certificate for {', '.join(cert.names) or cert.subject}, valid until {cert.not_after:%Y-%m-%d}"
                    if cert else "; TLS terminated by a proxy")  # fmt: skip

    uv_config = uvicorn.Config(
        create_app(store, config),
        ssl_certfile=str(config.certfile) if config.tls else None,
        ssl_keyfile=str(config.keyfile) if config.tls else None,
        proxy_headers=config.forwarded_allow_ips is not None,
        forwarded_allow_ips=config.forwarded_allow_ips,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
        backlog=4096,
        limit_concurrency=config.max_connections,
        timeout_keep_alive=15,
        server_header=False,
    )
    try:
        _Server(uv_config, ready).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
