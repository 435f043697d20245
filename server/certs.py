"""A clinic's own certificate authority, for a server with no public name (`rehab server certs`).

A small clinic's server often lives at a LAN address or an internal name that no public CA will
certify. It can instead run its own CA: one CA certificate (handed to each hub with
``rehab hub pair ... --ca-file ca.pem``) and a server certificate for the server's names and
addresses. Keys are written owner-only; the CA key stays with the clinic (it signs renewals).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from store.config import write_private_file

CA_DAYS = 3650
SERVER_DAYS = 397  # what browsers accept for a server certificate; renew yearly
BACKDATE = dt.timedelta(minutes=5)  # tolerate a hub whose clock is a little behind


@dataclass(frozen=True, slots=True)
class Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def new_authority(common_name: str, *, days: int = CA_DAYS, now: dt.datetime | None = None) -> Authority:
    """A self-signed CA that may sign server certificates only (path length 0)."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False)  # fmt: skip
    cert = (
        x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return Authority(cert, key)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_server_certificate(
    ca: Authority, hosts: tuple[str, ...], *, days: int = SERVER_DAYS, now: dt.datetime | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A TLS server certificate for ``hosts`` (DNS names and/or IP addresses), signed by ``ca``."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(ca.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )  # fmt: skip
    return cert, key


def write_certificate(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """PEM, unencrypted, created owner-only (0600) before a byte is written."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private_file(path, pem)
    return path


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    ca_file: Path
    ca_key_file: Path
    cert_file: Path
    key_file: Path


def make_private_pki(
    out_dir: Path, hosts: tuple[str, ...], *, ca_name: str = "rehab clinic CA", ca: Authority | None = None,
    prefix: str = "",
) -> CertificateFiles:  # fmt: skip
    """Write ``ca.pem`` (+ ``ca-key.pem``) and ``server.pem`` / ``server-key.pem`` for ``hosts`` into
    ``out_dir`` (a new CA unless ``ca`` is given; ``prefix`` names the files, e.g. "replica1-")."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ca = ca or new_authority(ca_name)
    cert, key = issue_server_certificate(ca, hosts)
    return CertificateFiles(
        ca_file=write_certificate(out_dir / f"{prefix}ca.pem", ca.cert),
        ca_key_file=write_private_key(out_dir / f"{prefix}ca-key.pem", ca.key),
        cert_file=write_certificate(out_dir / f"{prefix}server.pem", cert),
        key_file=write_private_key(out_dir / f"{prefix}server-key.pem", key),
    )
