"""Does a domain have anywhere to deliver mail? MX, else A/AAAA (RFC 5321 section 5.1), via dnspython."""

import asyncio
import time
from collections.abc import Iterable
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from refund_service.settings import RefundSettings


class DomainChecker(Protocol):
    async def has_mail_host(self, domain: str) -> bool | None:
        """True/False when DNS answered; None when it could not tell (which never makes a refund eligible)."""
        ...


class NoDomainCheck:
    """Used when DNS checks are switched off: nothing is ever known about a domain."""

    async def has_mail_host(self, domain: str) -> bool | None:
        return None


class DnsDomainChecker:
    """Asks DNS, remembering definite answers for a short while so a burst of bounces asks once."""

    def __init__(
        self,
        nameserver: str | None = None,
        timeout_seconds: float = 3.0,
        cache_seconds: float = 300.0,
        cache_size: int = 10_000,
    ) -> None:
        if nameserver:
            host, _, port = nameserver.rpartition(":") if ":" in nameserver else (nameserver, "", "53")
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [host.strip("[]")]
            self._resolver.port = int(port)
        else:
            self._resolver = dns.asyncresolver.Resolver()
        self._resolver.timeout = timeout_seconds
        self._resolver.lifetime = timeout_seconds
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._cache: dict[str, tuple[float, bool]] = {}

    async def has_mail_host(self, domain: str) -> bool | None:
        key = domain.strip().lower().rstrip(".")
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        answer = await self._lookup(key)
        if answer is not None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + self._cache_seconds, answer)
        return answer

    async def _lookup(self, domain: str) -> bool | None:
        try:
            name = dns.name.from_text(domain)
        except dns.exception.DNSException:
            return None
        if not domain:
            return None
        try:
            mx = await self._resolver.resolve(name, dns.rdatatype.MX, raise_on_no_answer=False)
            if mx.rrset is not None:
                # A lone "0 ." MX is a null MX (RFC 7505): the domain says it takes no mail.
                return any(record.exchange != dns.name.root for record in mx.rrset)
            for address_type in (dns.rdatatype.A, dns.rdatatype.AAAA):
                address = await self._resolver.resolve(name, address_type, raise_on_no_answer=False)
                if address.rrset is not None:
                    return True
            return False
        except dns.resolver.NXDOMAIN:
            return False
        except dns.exception.DNSException:
            return None


def domain_checker(settings: RefundSettings) -> DomainChecker:
    if not settings.dns_check_enabled:
        return NoDomainCheck()
    return DnsDomainChecker(settings.dns_nameserver, settings.dns_timeout_seconds, settings.dns_cache_seconds)


class MailHosts:
    """A poll's DNS answers, asked before its transaction opens (``prepare``), so no lookup waits
    inside it; a domain the poll did not foresee (a reveal meeting a bounce that came first) is asked
    when the handler needs it."""

    def __init__(self, checker: DomainChecker) -> None:
        self.checker = checker
        self._answers: dict[str, bool | None] = {}

    async def prepare(self, domains: Iterable[str]) -> None:
        """Resolve the poll's domains, concurrently; the answers replace the previous poll's."""
        wanted = sorted(set(domains))
        answers = await asyncio.gather(*(self.checker.has_mail_host(domain) for domain in wanted))
        self._answers = dict(zip(wanted, answers, strict=True))

    async def has_mail_host(self, domain: str) -> bool | None:
        if domain in self._answers:
            return self._answers[domain]
        return await self.checker.has_mail_host(domain)
