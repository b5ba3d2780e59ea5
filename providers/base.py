"""The provider interface the order pipeline is written against.

A provider turns ``Criteria`` into pages of ``PersonRecord``. Failures are ``ProviderError``
subclasses that tell the caller what to do next: reschedule (``RateLimited``), retry with
backoff (``TransientError``), fail the step (``PermanentError``), pause the order
(``CircuitOpen``), stop using a provider whose quota is spent (``QuotaExhausted``) or that
cannot serve the criteria at all (``Unsupported``). Callers never sleep on a provider's behalf.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields

from django.conf import settings
from django.utils.translation import gettext_lazy as _

EMAIL_STATUSES = ("valid", "accept_all", "invalid", "unknown")


def _str_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    out = []
    for item in value:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


@dataclass(frozen=True)
class Criteria:
    """What the client asked for. Every facet is a list of strings; empty means "any"."""

    titles: list[str] = field(default_factory=list)
    seniorities: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # ISO-3166 alpha-2, upper case
    regions: list[str] = field(default_factory=list)
    company_sizes: list[str] = field(default_factory=list)  # e.g. "51-200"
    keywords: list[str] = field(default_factory=list)
    exclude_companies: list[str] = field(default_factory=list)
    exclude_domains: list[str] = field(default_factory=list)

    def __post_init__(self):
        for f in fields(self):
            values = _str_list(getattr(self, f.name))
            if f.name == "countries":
                values = [v.upper() for v in values]
            elif f.name == "exclude_domains":
                values = [v.lower().removeprefix("www.") for v in values]
            object.__setattr__(self, f.name, values)

    @classmethod
    def from_dict(cls, d: dict | None) -> Criteria:
        """Build from a dict, ignoring unknown keys and tolerating missing ones."""
        d = d or {}
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    def __hash__(self):
        return hash(tuple(tuple(v) for v in asdict(self).values()))


@dataclass
class PersonRecord:
    provider: str
    provider_id: str
    full_name: str = ""
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    seniority: str = ""
    department: str = ""
    company: str = ""
    company_domain: str = ""
    industry: str = ""
    company_size: str = ""
    email: str = ""
    email_status: str = "unknown"  # one of EMAIL_STATUSES
    phone: str = ""
    linkedin_url: str = ""
    country: str = ""  # ISO-2
    region: str = ""
    city: str = ""
    raw: dict = field(default_factory=dict)  # the provider's record, secrets stripped
    # The search answer is a stub (no usable email yet): the full record costs a lookup
    # (``Provider.lookup``), which the pipeline issues once and polls for.
    needs_lookup: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchPage:
    records: list[PersonRecord]
    next_cursor: str | None  # None: nothing more to fetch for these criteria
    total: int | None = None


@dataclass
class CallContext:
    """Who is calling, for the audit trail: the order, the pipeline step and its attempt."""

    order_id: int | None = None
    step: str = ""
    attempt: int = 1


class ProviderError(Exception):
    """A provider call failed. ``reason`` is shown to ops; ``permanent`` says whether retrying can help."""

    permanent = False
    default_reason = _("The data provider call failed.")

    def __init__(self, reason=None, *, provider: str = "", http_status: int | None = None):
        self.reason = reason if reason is not None else self.default_reason
        self.provider = provider
        self.http_status = http_status
        super().__init__(str(self.reason))


class RateLimited(ProviderError):
    """The provider (or our own limiter) refused for now: reschedule the step after ``retry_after`` seconds."""

    default_reason = _("The data provider's rate limit was reached.")

    def __init__(self, reason=None, *, retry_after: float = 60.0, **kwargs):
        self.retry_after = float(retry_after)
        super().__init__(reason, **kwargs)


class TransientError(ProviderError):
    """5xx, timeout, connection failure or malformed response: retry with backoff."""

    default_reason = _("The data provider is temporarily unavailable.")


class PermanentError(ProviderError):
    """Bad key, forbidden, bad request: retrying will not help; fail the step."""

    permanent = True
    default_reason = _("The data provider refused the request.")


class CircuitOpen(ProviderError):
    """The provider's breaker is open: no request was sent; pause the order (or use the fallback)."""

    default_reason = _("The data provider is failing repeatedly; calls are paused.")


class QuotaExhausted(ProviderError):
    """The account's usage quota is spent (e.g. Hunter's 429 "usage limit reached"): unlike a
    rate limit, waiting seconds or minutes does not help, so the caller stops using it."""

    default_reason = _("The data provider's usage limit for this account is reached.")


class Unsupported(ProviderError):
    """This provider cannot serve these criteria at all (no request was sent)."""

    default_reason = _("The data provider cannot search for these criteria.")


class Provider:
    """Base class. Subclasses set ``name`` and implement ``search`` (and ``verify_email`` if they can)."""

    name: str = ""
    fallback_name: str | None = None
    verbose_name = ""

    @classmethod
    def is_configured(cls) -> bool:
        """Whether the provider can be called at all here (for example: its API key is set)."""
        return True

    def search(self, criteria: Criteria, *, cursor: str | None, page_size: int, context: CallContext) -> SearchPage:
        raise NotImplementedError

    def unsupported_reason(self, criteria: Criteria) -> str:
        """Why this provider cannot search for ``criteria`` at all ("" when it can)."""
        return ""

    def verify_email(self, email: str, *, context: CallContext) -> str | None:
        """Return one of EMAIL_STATUSES, or None while the provider is still verifying (ask again later)."""
        raise NotImplementedError(f"{self.name} cannot verify emails")

    @property
    def can_verify_email(self) -> bool:
        return type(self).verify_email is not Provider.verify_email

    def lookup(self, profile_id: str, *, context: CallContext) -> PersonRecord | None:
        """The full record of a search stub (``needs_lookup``), or None while the provider is
        still looking it up (ask again later). Never spends a second credit on one profile."""
        raise NotImplementedError(f"{self.name} has no lookups")

    @property
    def can_lookup(self) -> bool:
        return type(self).lookup is not Provider.lookup


_REGISTRY: dict[str, type[Provider]] = {}
_BUILTINS = ("providers.sandbox", "providers.rocketreach", "providers.hunter")


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: make ``cls`` available to ``get_provider(cls.name)``."""
    if not cls.name:
        raise ValueError("a provider needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    import importlib

    for module in _BUILTINS:
        importlib.import_module(module)


def get_provider(name: str) -> Provider:
    """A fresh provider instance reading the current settings. Unknown name: KeyError."""
    if name not in _REGISTRY:
        _load_builtins()
    return _REGISTRY[name]()


def provider_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def primary_provider_name() -> str:
    """RocketReach when its switch is on and a key is configured, else the sandbox."""
    from solosales.core.flags import PROVIDER_ROCKETREACH, is_on

    if getattr(settings, "ROCKETREACH_API_KEY", "") and is_on(PROVIDER_ROCKETREACH):
        return "rocketreach"
    return "sandbox"


def backoff_delay(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): "full jitter" exponential backoff.

    The delay is uniform in [exp/2, exp] with exp = min(cap, base * 2**(attempt-1)), so
    retries spread out but never collapse to zero.
    """
    attempt = max(1, int(attempt))
    exp = min(cap, base * (2 ** min(attempt - 1, 30)))
    return random.uniform(exp / 2, exp)
