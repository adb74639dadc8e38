"""Name-based ids: the same inputs always give the same id, so a replayed event can only ever make the
record (or the outgoing event) it made the first time."""

import hashlib
import uuid


def name_id(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))``, computed straight from the SHA-1 digest: the standard
    library builds and checks a ``UUID`` object on the way, a fifth of what a consumer spends on each
    outgoing event."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
