"""SNS signing certificates: only from the pinned AWS host, cached by URL, optionally seeded from a folder.

A valid SNS signature is only worth something if the certificate really is Amazon's; a loose host rule
(any ``*.amazonaws.com``) lets anyone serve a self-signed certificate from an S3 bucket. Nothing that
fails the pin is ever fetched.

Folder layout for ``SES_SNS_CERT_DIR`` (how tests and the sandbox verify offline):
``<dir>/<host>/SimpleNotificationService-<hex>.pem`` serves exactly ``https://<host>/SimpleNotificat...``;
a flat ``<dir>/SimpleNotificationService-<hex>.pem`` serves that file name on any pinned host.
"""

import re
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from bounce_ingest.providers.base import Unauthorized

SNS_HOST = re.compile(r"^sns\.([a-z0-9-]{3,})\.amazonaws\.com(\.cn)?$")
CERTIFICATE_PATH = re.compile(r"^/SimpleNotificationService-[0-9a-f]+\.pem$")


class SnsFetcher(Protocol):
    """GETs a pinned SNS URL; raises ``ProviderUnavailable`` when SNS cannot be reached."""

    async def get(self, url: str) -> bytes: ...


def sns_region(url: str) -> str | None:
    """The region of an https URL on the pinned SNS host, or None when the URL is not on it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port is not None or parts.username is not None or parts.password:
        return None
    match = SNS_HOST.match(parts.hostname or "")
    if match is None or parts.netloc.lower() != parts.hostname:
        return None
    return match.group(1)


def pinned_certificate_url(url: str) -> tuple[str, str]:
    """(host, file name) of an allowed SigningCertURL; Unauthorized for anything else."""
    parts = urlsplit(url)
    if sns_region(url) is None or not CERTIFICATE_PATH.match(parts.path) or parts.query or parts.fragment:
        raise Unauthorized("SigningCertURL is not an SNS certificate URL")
    return parts.netloc.lower(), parts.path.removeprefix("/")


def load_public_key(pem: bytes) -> RSAPublicKey:
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError as error:
        raise Unauthorized("the SNS signing certificate cannot be read") from error
    if not isinstance(key, RSAPublicKey):
        raise Unauthorized("the SNS signing certificate has no RSA key")
    return key


class SnsCertificates:
    """Certificates by URL: seeded ones first, then fetched once through the injected fetcher and kept."""

    def __init__(
        self, fetcher: SnsFetcher, seeded: dict[tuple[str | None, str], bytes] | None = None
    ) -> None:
        self._fetcher = fetcher
        self._seeded = dict(seeded or {})
        self._keys: dict[str, RSAPublicKey] = {}

    @classmethod
    def from_dir(cls, fetcher: SnsFetcher, folder: Path | None) -> "SnsCertificates":
        seeded: dict[tuple[str | None, str], bytes] = {}
        if folder is not None:
            for path in folder.glob("SimpleNotificationService-*.pem"):
                seeded[(None, path.name)] = path.read_bytes()
            for path in folder.glob("*/SimpleNotificationService-*.pem"):
                seeded[(path.parent.name.lower(), path.name)] = path.read_bytes()
        return cls(fetcher, seeded)

    async def public_key(self, url: str) -> RSAPublicKey:
        host, name = pinned_certificate_url(url)
        canonical = f"https://{host}/{name}"
        known = self._keys.get(canonical)
        if known is not None:
            return known
        pem = self._seeded.get((host, name)) or self._seeded.get((None, name))
        if pem is None:
            pem = await self._fetcher.get(canonical)
        key = load_public_key(pem)
        self._keys[canonical] = key
        return key
