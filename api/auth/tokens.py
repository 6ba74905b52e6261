"""Token minting and checking. Staff tokens are random and stored hashed; receipt tokens are signed."""

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from api.settings import Settings

STAFF_TOKEN_PREFIX = "hqs_"
RECEIPT_TOKEN_PREFIX = "hqr_"


def new_staff_token() -> str:
    """A fresh staff bearer token (256 bits of randomness)."""
    return STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored; a fast hash suffices for random tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_receipt_salt() -> str:
    """Per-demand randomness that makes its receipt token unguessable from its id."""
    return secrets.token_hex(16)


def receipt_token(secret: bytes, demand_id: int, salt: str) -> str:
    """The receipt token of a demand; derived, so a retried submission gets the same one back."""
    digest = hmac.new(secret, f"receipt:{demand_id}:{salt}".encode(), hashlib.sha256).digest()
    return RECEIPT_TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def receipt_matches(secret: bytes, demand_id: int, salt: str, token: str) -> bool:
    """Whether ``token`` is the receipt token of the demand (constant-time comparison)."""
    return secrets_equal(receipt_token(secret, demand_id, salt), token)


def secrets_equal(expected: str, given: str) -> bool:
    """Constant-time comparison of a secret with what a client sent, whatever characters it holds.

    As bytes: ``hmac.compare_digest`` refuses str with non-ASCII characters (a TypeError, so a 500, for
    a header or form field holding "é"), and such a value never matches anyway.
    """
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogateescape"), given.encode("utf-8", "surrogateescape")
    )


def resolve_secret(settings: Settings) -> bytes:
    """The signing key: ``HUIQI_SECRET_KEY`` or a random key kept in ``data_dir/secret_key``."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several processes starting at once, exactly one writes the key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty; delete it or set HUIQI_SECRET_KEY")
    return key.encode()
