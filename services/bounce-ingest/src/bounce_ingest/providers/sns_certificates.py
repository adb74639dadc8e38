"""SNS signing certificates: only from the pinned AWS host, cached by URL, optionally seeded from a folder.

A valid SNS signature is only worth something if the certificate really is Amazon's; a loose host rule
(any ``*.amazonaws.com``) lets anyone serve a self-signed certificate from an S3 bucket. Nothing that
fails the pin is ever fetched.

Folder layout for ``SES_SNS_CERT_DIR`` (how tests and the sandbox verify offline):
``<dir>/<host>/SimpleNotificationService-<hex>.pem`` serves exactly ``https://<host>/SimpleNotificat...``;
a flat ``<dir>/SimpleNotificationService-<hex>.pem`` serves that file name on any pinned host.
"""

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from bounce_ingest.providers.base import ProviderUnavailable, Unauthorized

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


MAX_KEYS = 256
"""AWS signs with a handful of certificates; more than this many distinct ones is not SNS."""
MAX_FAILURES = 1024
FAILURE_TTL_SECONDS = 60.0
"""A URL that failed is not fetched again for this long: anyone who knows an allow-listed TopicArn
could otherwise make us fetch on every request. Short, so a real AWS outage heals within SNS's retries."""


class SnsCertificates:
    """Certificates by URL: seeded ones first, then fetched once through the injected fetcher and kept.

    Both caches are bounded: good keys (LRU, ``MAX_KEYS``) and failed URLs (``MAX_FAILURES``, each
    remembered ``FAILURE_TTL_SECONDS``). Fetches run one at a time, so a burst of requests naming
    the same unknown URL costs one fetch.
    """

    def __init__(
        self,
        fetcher: SnsFetcher,
        seeded: dict[tuple[str | None, str], bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._seeded = dict(seeded or {})
        self._keys: OrderedDict[str, RSAPublicKey] = OrderedDict()
        self._failures: OrderedDict[str, tuple[float, Unauthorized | ProviderUnavailable]] = OrderedDict()
        self._clock = clock
        self._fetching = asyncio.Lock()

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
        known = self._known(canonical)
        if known is not None:
            return known
        async with self._fetching:
            known = self._known(canonical)
            if known is not None:
                return known
            try:
                pem = self._seeded.get((host, name)) or self._seeded.get((None, name))
                if pem is None:
                    pem = await self._fetcher.get(canonical)
                key = load_public_key(pem)
            except (Unauthorized, ProviderUnavailable) as error:
                self._remember_failure(canonical, error)
                raise
            self._keys[canonical] = key
            if len(self._keys) > MAX_KEYS:
                self._keys.popitem(last=False)
            return key

    def _known(self, canonical: str) -> RSAPublicKey | None:
        """The cached key, or None; a URL that failed lately raises that failure again without a fetch."""
        key = self._keys.get(canonical)
        if key is not None:
            self._keys.move_to_end(canonical)
            return key
        failed = self._failures.get(canonical)
        if failed is not None:
            at, error = failed
            if self._clock() - at < FAILURE_TTL_SECONDS:
                raise type(error)(f"{error.detail} (remembered, not fetched again yet)")
            del self._failures[canonical]
        return None

    def _remember_failure(self, canonical: str, error: Unauthorized | ProviderUnavailable) -> None:
        self._failures[canonical] = (self._clock(), error)
        self._failures.move_to_end(canonical)
        while len(self._failures) > MAX_FAILURES:
            self._failures.popitem(last=False)
