"""Process-wide resources for the app: the store and the ingestion-service client (cached once).

Both are configured only from the environment the launcher sets (``REHAB_DATA_DIR``,
``REHAB_DATABASE_URL``, ``REHAB_INGEST_URL``); the cache key is that configuration, so two
configurations in one process (tests) never share a store.
"""

from __future__ import annotations

import os

import streamlit as st

from dashboard.live_client import DEFAULT_SERVICE_URL, SERVICE_URL_ENV, LiveClient
from store import Store
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV


@st.cache_resource(show_spinner=False)
def _store(url: str | None, data_dir: str | None) -> Store:
    return Store(url, data_dir=data_dir)


def get_store() -> Store:
    return _store(os.environ.get(DATABASE_URL_ENV) or None, os.environ.get(DATA_DIR_ENV) or None)


@st.cache_resource(show_spinner=False)
def _live_client(url: str, data_dir: str | None) -> LiveClient:
    return LiveClient(url, data_dir=data_dir)


def get_live_client() -> LiveClient:
    """The ingestion service's client (``$REHAB_INGEST_URL``, else `rehab serve`'s default URL); it
    reads the service's secret from the data directory."""
    return _live_client(os.environ.get(SERVICE_URL_ENV) or DEFAULT_SERVICE_URL, os.environ.get(DATA_DIR_ENV) or None)
