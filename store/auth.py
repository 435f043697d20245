"""Password hashing (argon2id via argon2-cffi) and the access rules the dashboard enforces.

Access rules: a patient sees only their own data; a therapist sees and prescribes for their own
patients; an admin manages accounts but does not read clinical data. Inactive users see nothing.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from store.errors import InvalidValueError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

#: argon2-cffi's defaults (RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4).
DEFAULT_HASHER = PasswordHasher()


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidValueError(
            f"password must be {MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} characters, got {len(password)}"
        )


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    check_password_policy(password)
    return hasher.hash(password)


def verify_password(password_hash: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True if ``password`` matches; False on mismatch or a malformed stored hash (never raises)."""
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True when the stored hash used weaker/different parameters than ``hasher``."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
