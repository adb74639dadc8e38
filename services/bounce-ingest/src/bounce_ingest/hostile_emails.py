"""Emails built to hurt the parser, for the tests and the measuring script (``bench/hostile_email.py``)."""

HEAD = (
    b"From: MAILER-DAEMON@mx.hostile.test\nTo: sam@seevee.test\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"Message-ID: <hostile@mx.hostile.test>\nMIME-Version: 1.0\n"
)


def nested_multiparts(depth: int, size: int) -> bytes:
    """``depth`` multiparts each opening inside the last, padded with text lines to about ``size`` bytes."""
    opening = b"".join(
        f'Content-Type: multipart/mixed; boundary="level{i}"\n\n--level{i}\n'.encode() for i in range(depth)
    )
    leaf = b"Content-Type: text/plain\n\n"
    closing = b"".join(f"\n--level{i}--\n".encode() for i in reversed(range(depth)))
    line = b"x" * 76 + b"\n"
    lines = max(0, (size - len(HEAD) - len(opening) - len(leaf) - len(closing)) // len(line))
    return HEAD + opening + leaf + line * lines + closing


def large_header_block(size: int) -> bytes:
    """A header block of about ``size`` bytes (the standard library reads it line by line)."""
    line = b"X-Padding: " + b"y" * 68 + b"\n"
    return HEAD + line * (size // len(line)) + b"\nbody\n"
