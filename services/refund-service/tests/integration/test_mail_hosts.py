"""The DNS check asks a real DNS server (on loopback, serving a test zone) and reads its answers right."""

from typing import Any

import pytest

from refund_service.mail_hosts import DnsDomainChecker, NoDomainCheck, domain_checker
from refund_service.settings import RefundSettings


@pytest.mark.parametrize(
    ("domain", "has_mail_host"),
    [
        ("alive.example-test", True),  # MX
        ("ALIVE.example-test.", True),
        ("aonly.example-test", True),  # no MX, an A record (implicit MX)
        ("v6only.example-test", True),  # no MX, an AAAA record
        ("nullmx.example-test", False),  # "MX 0 ." (RFC 7505)
        ("nomail.example-test", False),  # exists, but neither MX nor address
        ("gone.example-test", False),  # NXDOMAIN
        ("broken.example-test", None),  # SERVFAIL: cannot tell
        ("silent.example-test", None),  # no answer at all: cannot tell
        ("", None),
        ("a" * 70 + ".example-test", None),  # not a valid name
    ],
)
async def test_answers(dns_server: tuple[str, Any], domain: str, has_mail_host: bool | None) -> None:
    address, _ = dns_server
    checker = DnsDomainChecker(address, timeout_seconds=0.3)
    assert await checker.has_mail_host(domain) is has_mail_host


async def test_definite_answers_are_cached_and_unknown_ones_are_not(dns_server: tuple[str, Any]) -> None:
    address, server = dns_server
    checker = DnsDomainChecker(address, timeout_seconds=0.3, cache_seconds=60)
    for _ in range(3):
        assert await checker.has_mail_host("gone.example-test") is False
        assert await checker.has_mail_host("broken.example-test") is None
    asked = [name for name, _ in server.queries]
    assert asked.count("gone.example-test") == 1
    assert asked.count("broken.example-test") >= 3


async def test_settings_choose_the_checker(dns_server: tuple[str, Any]) -> None:
    address, _ = dns_server
    assert isinstance(domain_checker(RefundSettings(dns_check_enabled=False)), NoDomainCheck)
    checker = domain_checker(RefundSettings(dns_nameserver=address, dns_timeout_seconds=0.3))
    assert await checker.has_mail_host("nullmx.example-test") is False
    assert await NoDomainCheck().has_mail_host("alive.example-test") is None
