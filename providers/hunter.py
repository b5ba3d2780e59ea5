"""Hunter API v2 client: email verification, and domain search as a fallback list source.

Hunter finds people by company domain, not by title or location, so ``search`` needs
domains. They come from the criteria's keywords: an entry that looks like a domain
(``acme.com``) or is written ``domain:acme.com``. Seniorities and departments are passed
as Hunter's own filters where they map (executive/senior/junior; its department names);
titles, industries, sizes and geography cannot be asked of Hunter and are left to the
pipeline's criteria check. The cursor is ``"<domain index>:<offset>"``. Criteria without
any domain cannot be served at all: ``search`` says so (``Unsupported``, audited, no request
sent) instead of answering an empty page that would look like "nobody matches".

Hunter answers 403 for its per-second rate limit and 429 once the account's usage limit
(the plan's monthly quota) is reached: the first is retried after a short wait, the second
raises ``QuotaExhausted`` because waiting will not help.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .audit import record_call, scrub
from .base import CallContext, Criteria, PersonRecord, Provider, SearchPage, Unsupported, register
from .breakers import get_breaker
from .http import MalformedResponse, Parsed, ProviderHttp
from .models import Operation, Outcome
from .ratelimit import get_limiter

MAX_LIMIT = 100
# Estimated list prices in US cents: a domain search is one search credit, a verification
# half of one. Override with settings.PROVIDER_COST_CENTS["hunter"][operation].
DEFAULT_COSTS = {"domain_search": Decimal("4.9"), "email_verify": Decimal("2.45"), "account": Decimal("0")}

_DOMAIN = re.compile(r"^(?:domain:)?\s*(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})/?$", re.I)
_SENIORITY = {
    "C-Level": "executive",
    "Founder/Owner": "executive",
    "VP": "executive",
    "Director": "senior",
    "Manager": "senior",
    "Senior": "senior",
    "Entry": "junior",
}
_HUNTER_DEPARTMENTS = {
    "executive",
    "it",
    "finance",
    "management",
    "sales",
    "legal",
    "support",
    "hr",
    "marketing",
    "communication",
    "education",
    "design",
    "health",
    "operations",
}
_DEPARTMENT = {
    "Information Technology": "it",
    "Engineering": "it",
    "Human Resources": "hr",
    "Customer Success": "support",
    "Finance": "finance",
    "Sales": "sales",
    "Legal": "legal",
    "Marketing": "marketing",
    "Operations": "operations",
    "Product": "management",
}
_VERIFY_STATUS = {
    "valid": "valid",
    "accept_all": "accept_all",
    "invalid": "invalid",
    "disposable": "invalid",
    "webmail": "valid",
    "unknown": "unknown",
}
_VERIFY_RESULT = {"deliverable": "valid", "undeliverable": "invalid"}


def domains_from(criteria: Criteria) -> list[str]:
    out = []
    for keyword in criteria.keywords:
        match = _DOMAIN.match(keyword.strip())
        if match:
            domain = match.group(1).lower()
            if domain not in out and domain not in criteria.exclude_domains:
                out.append(domain)
    return out


def hunter_filters(criteria: Criteria) -> dict:
    from .sandbox import normalise_department, normalise_seniority

    params = {}
    seniorities = sorted({_SENIORITY.get(normalise_seniority(s), "") for s in criteria.seniorities} - {""})
    if seniorities:
        params["seniority"] = ",".join(seniorities)
    departments = set()
    for dep in criteria.departments:
        low = dep.strip().lower()
        departments.add(low if low in _HUNTER_DEPARTMENTS else _DEPARTMENT.get(normalise_department(dep), ""))
    departments.discard("")
    if departments:
        params["department"] = ",".join(sorted(departments))
    return params


def verification_status(data: dict) -> str:
    """Our email status from Hunter's ``status`` (current API) or ``result`` (older answers)."""
    status = str(data.get("status") or "").lower()
    if status in _VERIFY_STATUS:
        return _VERIFY_STATUS[status]
    result = str(data.get("result") or "").lower()
    if result == "risky":
        return "accept_all" if data.get("accept_all") else "unknown"
    return _VERIFY_RESULT.get(result, "unknown")


def email_to_record(entry: dict, domain_data: dict) -> PersonRecord:
    if not isinstance(entry, dict) or not str(entry.get("value") or "").strip():
        raise MalformedResponse("email entry without a value")
    first = str(entry.get("first_name") or "").strip()
    last = str(entry.get("last_name") or "").strip()
    verification = entry.get("verification") if isinstance(entry.get("verification"), dict) else {}
    status = str(verification.get("status") or "").lower()
    email = str(entry["value"]).strip().lower()
    domain = str(domain_data.get("domain") or email.split("@")[-1]).lower()
    country = str(domain_data.get("country") or "").upper()
    return PersonRecord(
        provider="hunter",
        provider_id=email,
        full_name=f"{first} {last}".strip(),
        first_name=first,
        last_name=last,
        title=str(entry.get("position") or ""),
        seniority=str(entry.get("seniority") or ""),
        department=str(entry.get("department") or ""),
        company=str(domain_data.get("organization") or ""),
        company_domain=domain,
        industry=str(domain_data.get("industry") or ""),
        company_size=str(domain_data.get("headcount") or ""),
        email=email,
        email_status=_VERIFY_STATUS.get(status, "unknown"),
        phone=str(entry.get("phone_number") or ""),
        linkedin_url=str(entry.get("linkedin") or ""),
        country=country if len(country) == 2 else "",
        region=str(domain_data.get("state") or ""),
        city=str(domain_data.get("city") or ""),
        raw=scrub(entry),
    )


@register
class HunterProvider(Provider):
    name = "hunter"
    verbose_name = "Hunter"

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None):
        self.api_key = api_key if api_key is not None else getattr(settings, "HUNTER_API_KEY", "")
        self.base_url = base_url or getattr(settings, "HUNTER_API_BASE", "https://api.hunter.io/v2")
        self.http = ProviderHttp(
            self.name,
            base_url=self.base_url,
            auth_params={"api_key": self.api_key},
            secrets=(self.api_key,),
            limiter=get_limiter(self.name),
            breaker=get_breaker(self.name),
            # Hunter: 403 = rate limit reached (come back in a moment), 429 = usage limit
            # reached (the plan's quota: coming back soon will not help).
            rate_limit_statuses=(403,),
            quota_statuses=(429,),
        )
        overrides = getattr(settings, "PROVIDER_COST_CENTS", {}).get(self.name, {})
        self.costs = {k: Decimal(str(v)) for k, v in {**DEFAULT_COSTS, **overrides}.items()}

    @classmethod
    def is_configured(cls) -> bool:
        return bool(getattr(settings, "HUNTER_API_KEY", ""))

    def unsupported_reason(self, criteria: Criteria) -> str:
        if domains_from(criteria):
            return ""
        return str(_("Hunter searches by company domain, and these criteria name none (a keyword like acme.com)."))

    def search(self, criteria: Criteria, *, cursor: str | None, page_size: int, context: CallContext) -> SearchPage:
        domains = domains_from(criteria)
        if not domains:
            reason = self.unsupported_reason(criteria)
            record_call(
                provider=self.name,
                operation=Operation.DOMAIN_SEARCH,
                outcome=Outcome.ERROR,
                context=context,
                request_summary={"criteria": criteria.to_dict()},
                error_message=f"criteria not supported, no request sent: {reason}",
                secrets=(self.api_key,),
            )
            raise Unsupported(reason, provider=self.name)
        domain_index, offset = 0, 0
        if cursor:
            try:
                domain_index, offset = (int(x) for x in cursor.split(":", 1))
            except ValueError:
                domain_index, offset = 0, 0
        if domain_index >= len(domains):
            return SearchPage(records=[], next_cursor=None, total=0 if not domains else None)
        limit = max(1, min(int(page_size), MAX_LIMIT))
        params = {"domain": domains[domain_index], "limit": limit, "offset": offset, "type": "personal"}
        params.update(hunter_filters(criteria))
        excluded = {c.lower() for c in criteria.exclude_companies}

        def parse(data, status):
            if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
                raise MalformedResponse("domain-search answer has no 'data' object")
            domain_data = data["data"]
            emails = domain_data.get("emails") or []
            if not isinstance(emails, list):
                raise MalformedResponse("'emails' is not a list")
            records, skipped = [], 0
            for entry in emails:
                try:
                    records.append(email_to_record(entry, domain_data))
                except MalformedResponse:
                    skipped += 1
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            note = f"skipped {skipped} malformed email entr(y/ies)" if skipped else ""
            return Parsed((records, meta, len(emails)), records=len(records), note=note)

        result = self.http.request(
            "GET",
            "/domain-search",
            operation=Operation.DOMAIN_SEARCH,
            context=context,
            params=params,
            parse=parse,
            cost=self.costs["domain_search"],
        )
        records, meta, returned = result.value
        records = [r for r in records if r.company.lower() not in excluded]
        results = meta.get("results")
        results = int(results) if isinstance(results, int) else None
        if returned and (results is None or offset + returned < results):
            next_cursor = f"{domain_index}:{offset + returned}"
        elif domain_index + 1 < len(domains):
            next_cursor = f"{domain_index + 1}:0"
        else:
            next_cursor = None
        return SearchPage(records=records, next_cursor=next_cursor, total=results if len(domains) == 1 else None)

    def verify_email(self, email: str, *, context: CallContext) -> str | None:
        """valid / accept_all / invalid / unknown; None when Hunter is still verifying (HTTP 202)."""

        def parse(data, status):
            if status == 202:  # still verifying: not charged until it completes
                return Parsed(None, cost=Decimal("0"))
            if status == 222:  # Hunter could not verify this address
                return Parsed("unknown", records=1)
            if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
                raise MalformedResponse("email-verifier answer has no 'data' object")
            return Parsed(verification_status(data["data"]), records=1)

        result = self.http.request(
            "GET",
            "/email-verifier",
            operation=Operation.EMAIL_VERIFY,
            context=context,
            params={"email": email},
            parse=parse,
            cost=self.costs["email_verify"],
        )
        return result.value

    def account(self, *, context: CallContext | None = None) -> dict:
        def parse(data, status):
            if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
                raise MalformedResponse("account answer has no 'data' object")
            return Parsed(data["data"])

        return self.http.request("GET", "/account", operation=Operation.ACCOUNT, context=context, parse=parse).value
