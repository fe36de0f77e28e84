"""Errors a user can cause or a provider can return.

`ImprovError` is the base of every error the front ends turn into one readable line and exit
code 2. `ProviderError` carries what the retry policy needs (status, retryable, Retry-After).
"""

from __future__ import annotations

import re
from collections.abc import Callable


class ImprovError(Exception):
    """A problem the user can fix (bad model string, missing key, malformed file).

    The CLI prints ``str(err)`` as one line and exits with ``exit_code``.
    """

    exit_code = 2


class ConfigError(ImprovError):
    """A setting is missing or wrong: model string, key, base URL, generation option."""


class CapabilityError(ConfigError):
    """A request asks a backend for something it has declared it cannot do."""


class ProviderError(Exception):
    """A provider call failed.

    ``retryable`` says whether the retry policy may try again (429, 5xx, timeouts, dropped
    connections); ``retry_after`` is the server's Retry-After in seconds, if it sent one.
    Permanent failures that the user caused (401, 404 on the model) are raised as
    ``ProviderConfigError`` so the CLI exits with code 2.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        dropped: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        #: the server closed an accepted request's connection without answering (it may have died)
        self.dropped = dropped


class ProviderConfigError(ProviderError, ConfigError):
    """A permanent provider failure the user can fix: bad key (401/403), unknown model (404)."""

    exit_code = 2


class RequestRefused(ProviderConfigError):
    """The server refused this request as sent (400/413/422: a prompt over the context, a
    max_tokens it will not honour). The request must change; the settings may be fine, so an
    interactive chat goes on with the next message."""


class SettingError(ConfigError):
    """A setting's value is wrong. ``setting`` is the library's name for it (``model``,
    ``temperature``, ``turn``...), never a CLI flag or a screen field: each front end words the
    error in its own terms (`improv.options.cli_error` names the flag). ``value``, when given,
    is the offending value as it should be shown (already quoted where that helps). ``detail``
    may name other settings as ``$name`` (``continue it with $resume``); they are worded the same
    way."""

    def __init__(self, setting: str, detail: str, value: str | None = None) -> None:
        self.setting = setting
        self.detail = detail
        self.value = value
        super().__init__(self.worded())

    def worded(self, name: Callable[[str], str] | None = None) -> str:
        """The message with every setting called ``name(setting)`` (a flag, a field label);
        by default, the setting's own name with spaces."""
        name = name or (lambda s: s.replace("_", " "))
        detail = _MENTION.sub(lambda m: name(m.group(1)), self.detail)
        head = name(self.setting)
        return f"{head} {self.value}: {detail}" if self.value is not None else f"{head}: {detail}"


_MENTION = re.compile(r"\$([a-z][a-z_]*)")
