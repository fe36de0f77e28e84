"""Base URLs from the environment: checked once, when a backend is made, and shown redacted.

A bad ``OPENAI_BASE_URL`` ('not a url', ``ftp://...``, port 99999) used to be retried six
times and end in exit 1 or an ``ExceptionGroup``; now it is one line naming the variable, exit
2, before any request. A URL shown in a message never carries its user:password part or its
query string (either may hold a key).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError


def display_url(url: str) -> str:
    """A URL fit for messages and logs: user:password, query and fragment removed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # unparsable: show only what comes before any query
        return url.split("?", 1)[0].split("#", 1)[0]
    if parts.username or parts.password:
        parts = parts._replace(netloc=f"{host}:{port}" if port else host)
    return urlunsplit(parts._replace(query="", fragment=""))


def check_base_url(url: str, variable: str) -> str:
    """``url`` if it can be a base URL (http or https, a host, a valid port); otherwise a
    `ConfigError` naming ``variable``."""
    shown = display_url(url)
    if any(ch.isspace() for ch in url) or any(ord(ch) < 0x20 for ch in url):
        raise ConfigError(f"{variable}={shown!r}: not a URL (it holds spaces or control characters)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise ConfigError(f"{variable}={shown!r}: not a valid URL ({err})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{variable}={shown!r}: expected an http:// or https:// URL")
    if not parts.hostname:
        raise ConfigError(f"{variable}={shown!r}: the URL names no host")
    if port == 0:
        raise ConfigError(f"{variable}={shown!r}: port 0 is not a port a server listens on")
    return url
