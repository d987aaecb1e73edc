"""What every remote source does the same way when the network fails: how long it waits, which
answers it tries again, and how a failure is said in one line.

Timeouts (seconds, from the environment as it is when a source starts):
- AISBOM_CONNECT_TIMEOUT (default 15): to open a connection (TCP and TLS handshake), proxy included;
- AISBOM_READ_TIMEOUT (default 60): between two reads of an answer, headers or body.

Retries: an answer of 429 or 500/502/503/504 is asked again, at most MAX_ATTEMPTS times in all,
after the server's Retry-After (seconds or an HTTP date) or else 1 s, then 2 s. A Retry-After
longer than MAX_RETRY_WAIT is not waited for: the source gives up at once and says so.
Nothing else is retried: a refused connection, a timeout, an unknown host are answers in
themselves, and a TLS failure is never retried or downgraded.
"""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from aisbom.sources.base import BadSpecError

CONNECT_TIMEOUT_ENV = "AISBOM_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "AISBOM_READ_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_READ_TIMEOUT = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 3
MAX_RETRY_WAIT = 30.0
_BACKOFF = 1.0  # the first wait without Retry-After; doubled each time


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float

    @classmethod
    def from_env(cls) -> Timeouts:
        return cls(
            _seconds(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT),
            _seconds(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT),
        )


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise BadSpecError(f"{name}={raw!r}: expected a number of seconds above 0")
    return value


@dataclass(frozen=True)
class Retry:
    """What to do after a 429/5xx answer: wait `wait` seconds and ask again, or give up (`wait`
    is None) for the reason `why` (words that complete "HTTP 503 … from URL")."""

    wait: float | None
    why: str


def retry_after(status: int, header: str | None, attempt: int) -> Retry:
    """After attempt number `attempt` (1-based) was answered `status` with Retry-After `header`."""
    asked = _parse_retry_after(header)
    if attempt >= MAX_ATTEMPTS:
        waits = f"waits as Retry-After asks, at most {MAX_RETRY_WAIT:.0f} s each"
        return Retry(None, f" after {attempt} attempts ({waits})")
    if asked is not None and asked > MAX_RETRY_WAIT:
        return Retry(
            None,
            f", which asks to retry after {asked:.0f} s, longer than aisbom waits ({MAX_RETRY_WAIT:.0f} s)",
        )
    return Retry(asked if asked is not None else _BACKOFF * 2 ** (attempt - 1), "")


def _parse_retry_after(header: str | None) -> float | None:
    if header is None or not header.strip():
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def failure(exc: BaseException, timeouts: Timeouts) -> str:
    """A network exception (requests', httpx's, or a bare OSError) in a few plain words,
    judged by the OS-level error at the bottom of its chain."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({error.verify_message or _words(error)})"
        if isinstance(error, ssl.SSLError):
            return f"TLS failure ({getattr(error, 'reason', None) or _words(error)})"
        if isinstance(error, socket.gaierror):
            return f"host not found (DNS: {error.strerror or _words(error)})"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, ConnectionResetError):
            return "connection reset by the other end"
    if names & {"ConnectTimeout", "ConnectTimeoutError"}:
        return f"no connection within {timeouts.connect:g} s ({CONNECT_TIMEOUT_ENV})"
    if names & {"ReadTimeout", "ReadTimeoutError", "WriteTimeout", "PoolTimeout"}:
        return f"no answer within {timeouts.read:g} s ({READ_TIMEOUT_ENV})"
    if "ProxyError" in names:  # the proxy answered, but would not open the tunnel (407, 502 ...)
        return (
            f"the proxy did not open a tunnel: {_words(chain[-1]).removeprefix('Tunnel connection failed: ')}"
        )
    if any("certificate" in _words(e).lower() or "ssl" in _words(e).lower() for e in chain):
        return f"TLS failure ({_words(chain[-1])})"
    if names & {"RemoteProtocolError", "ProtocolError", "IncompleteRead", "ChunkedEncodingError"}:
        return "the other end closed the connection early"
    for error in reversed(chain):
        if isinstance(error, OSError) and error.strerror:
            return error.strerror[0].lower() + error.strerror[1:]
    return _words(chain[-1])


def through(reason: str, url: str) -> str:
    """`reason` (from `failure`) naming the proxy the environment gives for `url`, if any."""
    proxy = proxy_for(url)
    if proxy is None:
        return reason
    if reason.startswith("the proxy "):
        return f"the proxy {proxy} {reason.removeprefix('the proxy ')}"
    return f"{reason} via the proxy {proxy}"


def proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) gives for `url`,
    without credentials; None when the connection is direct. requests and httpx read the same
    variables."""
    from requests.utils import get_environ_proxies, select_proxy

    proxy = select_proxy(url, get_environ_proxies(url))
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (args, .reason, __cause__, __context__), outermost first."""
    out: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(out) < 20:
        error = pending.pop(0)
        if any(error is seen for seen in out):
            continue
        out.append(error)
        inner = [a for a in error.args if isinstance(a, BaseException)]
        reason = getattr(error, "reason", None)
        if isinstance(reason, BaseException):
            inner.append(reason)
        for linked in (error.__cause__, error.__context__):
            if linked is not None:
                inner.append(linked)
        pending.extend(inner)
    return out


def _words(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = " ".join(str(error).split())
    return text or type(error).__name__
