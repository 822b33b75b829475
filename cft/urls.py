"""The one check on a URL a user gives the server to call (a teacher's OpenAI-compatible endpoint).

Locally, any http(s) endpoint works: a llama.cpp or vLLM server on 127.0.0.1 is the common case. On a public
Space (demo mode) a visitor's URL would make the server call whatever it names, its own metadata service or the
operator's private network included (SSRF); there only the endpoints the operator lists in ``CFT_TEACHER_URLS``
(comma-separated prefixes) are allowed, and their host must resolve to public addresses only, unless the operator
sets ``CFT_ALLOW_PRIVATE_URLS=1``.

Credentials never go in the URL: the key has its own field and never reaches a file (cft.redact).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from cft import demo
from cft.errors import UserError

ALLOWED_ENV = "CFT_TEACHER_URLS"
PRIVATE_ENV = "CFT_ALLOW_PRIVATE_URLS"


def allowed_prefixes() -> list[str]:
    return [p.strip() for p in os.environ.get(ALLOWED_ENV, "").split(",") if p.strip()]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def check_base_url(url: str, what: str = "base_url") -> str:
    """``url`` when the server may call it; else a UserError naming the field and the rule. Returns it stripped."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UserError(f"{what} {url[:200]!r}: not a URL (expected e.g. http://127.0.0.1:8080/v1)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{what} {url[:200]!r}: expected an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise UserError(f"{what}: no credentials in the URL; put the key in the API key field (it is never saved)")
    if not demo.is_demo():
        return url
    if not any(url.startswith(prefix) for prefix in allowed_prefixes()):
        listed = ", ".join(allowed_prefixes()) or "none: custom endpoints are off on this Space"
        raise UserError(f"demo mode: {what} {url[:200]!r} is not an endpoint this Space may call (allowed: {listed})")
    if os.environ.get(PRIVATE_ENV) != "1":
        try:
            infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                       type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise UserError(f"{what}: cannot resolve host {parts.hostname!r}") from None
        if not infos or not all(_public(info[4][0]) for info in infos):
            raise UserError(f"demo mode: {what} host {parts.hostname!r} resolves to a private, loopback or "
                            "link-local address, which this Space does not call")
    return url
