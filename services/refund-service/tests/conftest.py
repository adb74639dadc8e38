"""Fixtures of the refund-service tests: a real DNS server on loopback serving a test zone."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from seevee_deploy.localpostgres import LocalPostgres, postgres_bin_dir

TEST_ZONE = """
$ORIGIN example-test.
$TTL 60
@             SOA   ns.example-test. hostmaster.example-test. 1 3600 600 86400 60
@             NS    ns.example-test.
ns            A     127.0.0.1
alive         MX    10 mx.alive.example-test.
mx.alive      A     127.0.0.1
aonly         A     127.0.0.2
v6only        AAAA  ::1
nullmx        MX    0 .
nomail        TXT   "v=spf1 -all"
"""

# Names the server never answers, so the resolver runs out of time.
SILENT_PREFIX = "silent"
# Names the server answers with SERVFAIL.
FAILING_PREFIX = "broken"


class _ZoneProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: dns.zone.Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None
        self.queries: list[tuple[str, str]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        self.queries.append(
            (question.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(question.rdtype))
        )
        if question.name.labels[0].decode().startswith(SILENT_PREFIX):
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if question.name.labels[0].decode().startswith(FAILING_PREFIX):
            response.set_rcode(dns.rcode.SERVFAIL)
        elif self.zone.origin is None or not question.name.is_subdomain(self.zone.origin):
            response.set_rcode(dns.rcode.REFUSED)
        else:
            node = self.zone.get_node(question.name)
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                rdataset = node.get_rdataset(question.rdclass, question.rdtype)
                if rdataset is not None:
                    rrset = response.find_rrset(
                        response.answer, question.name, question.rdclass, question.rdtype, create=True
                    )
                    rrset.update(rdataset)  # type: ignore[no-untyped-call]
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def loopback_dns_server() -> AsyncIterator[tuple[str, _ZoneProtocol]]:
    """Serve TEST_ZONE on a free UDP port of 127.0.0.1; yields ("127.0.0.1:port", protocol)."""
    zone = dns.zone.from_text(TEST_ZONE, relativize=False)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _ZoneProtocol(zone), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        yield f"127.0.0.1:{port}", protocol
    finally:
        transport.close()


@pytest.fixture
async def dns_server() -> AsyncIterator[tuple[str, _ZoneProtocol]]:
    """("host:port", server) of a real DNS server on loopback serving TEST_ZONE."""
    async with loopback_dns_server() as served:
        yield served


@pytest.fixture(scope="module")
async def module_dns_nameserver() -> AsyncIterator[str]:
    """ "host:port" of a loopback DNS server shared by one test module (a running service's lookups)."""
    async with loopback_dns_server() as (address, _):
        yield address


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for the ``postgres`` tests (``TEST_POSTGRES_URL``, else a local one)."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed, and TEST_POSTGRES_URL is unset")
    with LocalPostgres(bin_dir) as server:
        yield server.url
