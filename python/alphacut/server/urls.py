"""Fetching an image from a URL without letting a client reach the server's own network (SSRF).

:func:`fetch` takes http(s) URLs only; it resolves the host once, refuses the request when any
address the name resolves to is private, loopback, link-local, multicast, reserved, unspecified
or otherwise not global (IPv4, IPv6, and IPv4 carried in IPv6: mapped, 6to4, Teredo, NAT64), and
connects to the address it checked (no second lookup a DNS rebinding could answer differently;
TLS still verifies the certificate against the host name). Each redirect (at most 3) is checked
the same way. The download is limited in bytes and in time. Proxies from the environment are
not used.

Every refusal is a :class:`UrlRefused` and every failure a :class:`UrlFetchError`, both with a
message fit for the client.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable, FrozenSet, List, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit

__all__ = ["UrlError", "UrlFetchError", "UrlPolicy", "UrlRefused", "blocked_reason", "check_url", "fetch"]

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Resolver = Callable[[str, int], List[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECTS = (301, 302, 303, 307, 308)


class UrlError(Exception):
    """A URL input that cannot be used; the message is written for the client."""


class UrlRefused(UrlError):
    """The URL is not allowed: its scheme, or an address it leads to."""


class UrlFetchError(UrlError):
    """The download failed: no answer, an HTTP error, too large, too slow."""


@dataclass(frozen=True)
class UrlPolicy:
    """Limits of one download: ``max_bytes``, ``timeout_s`` (redirects included), at most
    ``max_redirects`` redirects. ``test_endpoints`` are (address, port) pairs exempt from the
    address check, for tests with a local server; the CLI and requests never set it."""

    max_bytes: int = 25_000_000
    timeout_s: float = 15.0
    max_redirects: int = 3
    test_endpoints: FrozenSet[Tuple[str, int]] = frozenset()


def _embedded_ipv4(ip: IPAddress) -> Optional[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _why(ip: IPAddress) -> Optional[str]:
    for attr, what in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(ip, attr):
            return what
    if not ip.is_global:
        return "not a public"
    return None


def blocked_reason(address: Union[str, IPAddress]) -> Optional[str]:
    """Why a client may not make the server connect to ``address`` (None: it may). Both the address
    and the IPv4 address carried inside an IPv6 one have to be public."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    why = _why(ip)
    inner = _embedded_ipv4(ip)
    if why is None and inner is not None:
        why = _why(inner)
    return None if why is None else f"{why} address"


def _system_resolver(host: str, port: int) -> List[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # as written in the URL (a name, or an address without brackets)
    address: str  # the checked address to connect to
    port: int
    path: str  # path and query


def check_url(url: str, policy: UrlPolicy = UrlPolicy(), resolve: Optional[Resolver] = None) -> _Target:
    """Parse, resolve once and check a URL; the target to connect to, or :class:`UrlRefused`."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("the URL is empty")
    if len(url) > 4096:
        raise UrlRefused("the URL is longer than 4096 characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UrlRefused("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused(f"only http and https URLs are accepted, not {scheme or 'a URL without a scheme'}")
    host = parts.hostname
    if not host:
        raise UrlRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("URLs with a user name or password are not accepted")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = []
    if not addresses:
        try:
            addresses = (resolve or _system_resolver)(host, port)
        except (OSError, UnicodeError):
            raise UrlFetchError(f"cannot resolve the host {host!r}") from None
        if not addresses:
            raise UrlFetchError(f"cannot resolve the host {host!r}")
    for a in addresses:
        if (a, port) in policy.test_endpoints:
            continue
        why = blocked_reason(a)
        if why:
            raise UrlRefused(f"the URL leads to a {why} ({host}); only public addresses are fetched")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(scheme, host, addresses[0], port, path)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate for the host name (SNI)."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(address, port, timeout=timeout, context=self._tls)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_name)


def _host_header(t: _Target) -> str:
    h = f"[{t.host}]" if ":" in t.host else t.host
    default = 443 if t.scheme == "https" else 80
    return h if t.port == default else f"{h}:{t.port}"


def fetch(url: str, policy: UrlPolicy = UrlPolicy(), *, resolve: Optional[Resolver] = None) -> bytes:
    """The body of ``url`` (see the module docstring for the checks).

    Raises
    ------
    UrlRefused
        Not http(s), credentials in the URL, or a host that resolves to an address that is not
        public (checked again for every redirect).
    UrlFetchError
        Cannot resolve or connect, an HTTP status other than 200, more than ``max_redirects``
        redirects, more than ``max_bytes``, or slower than ``timeout_s`` in all.
    """
    deadline = time.monotonic() + policy.timeout_s
    current = url
    for _ in range(policy.max_redirects + 1):
        target = check_url(current, policy, resolve)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise UrlFetchError(f"the download took longer than {policy.timeout_s:g} s")
        if target.scheme == "https":
            conn: http.client.HTTPConnection = _PinnedHTTPSConnection(
                target.address, target.port, target.host, remaining
            )
        else:
            conn = http.client.HTTPConnection(target.address, target.port, timeout=remaining)
        try:
            try:
                conn.putrequest("GET", target.path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", _host_header(target))
                conn.putheader("Accept", "image/*, */*;q=0.5")
                conn.putheader("Accept-Encoding", "identity")
                conn.putheader("User-Agent", "alphacut-server")
                conn.endheaders()
                resp = conn.getresponse()
            except ssl.SSLError as exc:
                raise UrlFetchError(f"TLS failed with {target.host}: {exc.reason or 'handshake error'}") from None
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, (socket.timeout, TimeoutError)):
                    raise UrlFetchError(f"no answer from {target.host} within {policy.timeout_s:g} s") from None
                raise UrlFetchError(f"cannot connect to {target.host}") from None
            if resp.status in _REDIRECTS:
                location = resp.getheader("Location")
                if not location:
                    raise UrlFetchError(f"redirect ({resp.status}) without a Location")
                current = urljoin(current, location)
                continue
            if resp.status != 200:
                raise UrlFetchError(f"HTTP status {resp.status}")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise UrlFetchError(f"the image is {int(length):,} bytes, above the limit of {policy.max_bytes:,}")
            chunks, total = [], 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UrlFetchError(f"the download took longer than {policy.timeout_s:g} s")
                if conn.sock is not None:
                    conn.sock.settimeout(left)
                try:
                    chunk = resp.read1(min(1 << 16, policy.max_bytes + 1 - total))
                except (OSError, http.client.HTTPException):
                    raise UrlFetchError(f"the download from {target.host} was cut off or too slow") from None
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > policy.max_bytes:
                    raise UrlFetchError(f"the image is above the limit of {policy.max_bytes:,} bytes")
            return b"".join(chunks)
        finally:
            conn.close()
    raise UrlFetchError(f"more than {policy.max_redirects} redirects")
