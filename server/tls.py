"""Check the configured certificate and key before serving: a clear message now beats a TLS error
in every hub later."""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from server.errors import ServerConfigError


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str
    names: tuple[str, ...]  # subject alternative names (DNS names and IP addresses)
    not_after: dt.datetime


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ServerConfigError(f"{what} {path}: no such file") from exc
    except OSError as exc:
        raise ServerConfigError(f"{what} {path}: cannot read ({exc.strerror})") from exc


def check_certificate(certfile: Path, keyfile: Path, *, now: dt.datetime | None = None) -> CertificateInfo:
    """The certificate's names and expiry; ServerConfigError if it is unreadable, expired, not yet
    valid, does not match the key, or the key file is readable by other users."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        cert = x509.load_pem_x509_certificates(_read(certfile, "certificate"))[0]
    except ValueError as exc:
        raise ServerConfigError(f"certificate {certfile}: not a PEM certificate ({exc})") from exc
    key_pem = _read(keyfile, "key")
    if os.name == "posix" and stat.S_IMODE(os.stat(keyfile).st_mode) & 0o077:
        raise ServerConfigError(f"key {keyfile}: readable by other users; chmod 600 it")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ServerConfigError(f"key {keyfile}: not an unencrypted PEM private key ({exc})") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != cert.public_key().public_bytes(der, public):
        raise ServerConfigError(f"key {keyfile} does not belong to certificate {certfile}")
    if now > cert.not_valid_after_utc:
        raise ServerConfigError(f"certificate {certfile} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if now < cert.not_valid_before_utc:
        raise ServerConfigError(f"certificate {certfile} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(str(n.value) for n in san)
    except x509.ExtensionNotFound:
        names = ()
    return CertificateInfo(subject=cert.subject.rfc4514_string(), names=names, not_after=cert.not_valid_after_utc)
