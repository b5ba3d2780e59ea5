"""RocketReach API v2 client: people search, lookups (polled with checkStatus), account.

Wire facts are in /work/shared/EXTERNAL_APIS.md. Search pages are addressed by ``start``
(1-based); our cursor is that number as a string. A lookup costs a credit, so every lookup
issued is remembered in ``LookupRecord`` and a second request for the same profile within
an order polls ``checkStatus`` instead of looking up again.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from .audit import scrub
from .base import CallContext, Criteria, PersonRecord, Provider, SearchPage, register
from .breakers import get_breaker
from .geo import COUNTRY_NAMES
from .http import MalformedResponse, Parsed, ProviderHttp
from .models import LookupRecord, LookupStatus, Operation
from .ratelimit import get_limiter

log = logging.getLogger(__name__)

MAX_START = 10_000
MAX_PAGE_SIZE = 100
MAX_LOOKUP_ISSUES = 2  # a lookup RocketReach reports "not queued" is sent once more, no more
# Estimated list prices in US cents (RocketReach bills lookups; search pages count against
# the plan's quota). Override with settings.PROVIDER_COST_CENTS["rocketreach"][operation].
DEFAULT_COSTS = {
    "search": Decimal("0"),
    "search_record": Decimal("1.5"),
    "lookup": Decimal("35"),
    "check_status": Decimal("0"),
    "account": Decimal("0"),
}

_SMTP_RANK = {"valid": 0, "accept-all": 1, "accept_all": 1, "unknown": 2, "": 2, "invalid": 3}
_SMTP_STATUS = {"valid": "valid", "accept-all": "accept_all", "accept_all": "accept_all", "invalid": "invalid"}

# Criteria attribute -> RocketReach facet.
FACETS = {
    "titles": "current_title",
    "seniorities": "management_levels",
    "departments": "department",
    "industries": "company_industry",
    "company_sizes": "company_size",
    "keywords": "keyword",
    "exclude_companies": "exclude_current_employer",
    "exclude_domains": "exclude_company_domain",
}

# The order form's codes (orders.criteria) -> the facet values RocketReach searches by, which
# are the names it shows on profiles ("C-Level", "Human Resources", LinkedIn's industry
# names). A value that is not a known code is passed on as written (already RocketReach's).
MANAGEMENT_LEVELS = {
    "owner": "Founder/Owner",
    "founder": "Founder/Owner",
    "c_suite": "C-Level",
    "vp": "VP",
    "director": "Director",
    "manager": "Manager",
    "senior": "Senior",
    "entry": "Entry",
}
DEPARTMENTS = {
    "sales": "Sales",
    "marketing": "Marketing",
    "engineering": "Engineering",
    "finance": "Finance",
    "hr": "Human Resources",
    "operations": "Operations",
    "it": "Information Technology",
    "legal": "Legal",
    "product": "Product",
    "customer_success": "Customer Success",
}
INDUSTRIES = {
    "computer_software": "Computer Software",
    "information_technology_and_services": "Information Technology and Services",
    "internet": "Internet",
    "financial_services": "Financial Services",
    "banking": "Banking",
    "insurance": "Insurance",
    "marketing_and_advertising": "Marketing and Advertising",
    "hospital_health_care": "Hospital & Health Care",
    "biotechnology": "Biotechnology",
    "pharmaceuticals": "Pharmaceuticals",
    "manufacturing": "Manufacturing",
    "automotive": "Automotive",
    "retail": "Retail",
    "consumer_goods": "Consumer Goods",
    "logistics_and_supply_chain": "Logistics and Supply Chain",
    "real_estate": "Real Estate",
    "construction": "Construction",
    "telecommunications": "Telecommunications",
    "education": "Education",
    "e_learning": "E-Learning",
    "management_consulting": "Management Consulting",
    "legal_services": "Legal Services",
    "hospitality": "Hospitality",
    "media_and_entertainment": "Media and Entertainment",
    "oil_and_energy": "Oil & Energy",
    "government_administration": "Government Administration",
    "nonprofit": "Nonprofit Organization Management",
}
# company_size codes already are RocketReach's ranges ("51-200").
VALUE_MAPS = {"seniorities": MANAGEMENT_LEVELS, "departments": DEPARTMENTS, "industries": INDUSTRIES}


def _facet_values(attr: str, values: list[str]) -> list[str]:
    mapping = VALUE_MAPS.get(attr, {})
    out = []
    for value in values:
        mapped = mapping.get(value.strip().lower(), value) if mapping else value
        if mapped not in out:
            out.append(mapped)
    return out


def criteria_to_query(criteria: Criteria) -> dict:
    """RocketReach ``query`` facets with RocketReach's values; countries (ISO-2 codes in the
    criteria) are written out as the country names ``geo`` matches, regions go as given."""
    query = {
        facet: _facet_values(attr, getattr(criteria, attr)) for attr, facet in FACETS.items() if getattr(criteria, attr)
    }
    geo = [COUNTRY_NAMES.get(code, code) for code in criteria.countries] + list(criteria.regions)
    if geo:
        query["geo"] = geo
    return query


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    return ""


def choose_email(profile: dict) -> tuple[str, str]:
    """(email, status): professional before personal, then valid > accept-all > unknown > invalid."""
    candidates = []
    for entry in profile.get("emails") or []:
        if not isinstance(entry, dict) or not _text(entry.get("email")):
            continue
        smtp = _text(entry.get("smtp_valid")).lower()
        is_personal = _text(entry.get("type")).lower() == "personal"
        candidates.append((is_personal, _SMTP_RANK.get(smtp, 2), _text(entry.get("email")), smtp))
    if candidates:
        candidates.sort(key=lambda c: (c[0], c[1]))
        _personal, _rank, email, smtp = candidates[0]
        return email.lower(), _SMTP_STATUS.get(smtp, "unknown")
    fallback = _text(profile.get("recommended_professional_email") or profile.get("recommended_email"))
    return fallback.lower(), "unknown"


def choose_phone(profile: dict) -> str:
    phones = [p for p in profile.get("phones") or [] if isinstance(p, dict) and _text(p.get("number"))]
    phones.sort(key=lambda p: (not p.get("recommended"), _text(p.get("type")).lower() == "personal"))
    return _text(phones[0]["number"]) if phones else ""


def profile_to_record(profile: dict, *, looked_up: bool = False) -> PersonRecord:
    """One RocketReach profile as a PersonRecord; missing fields stay empty. Needs an id or a name.

    A search profile that is not ``complete`` or carries no email is a stub: the record says
    ``needs_lookup`` (when it has an id to look up), so the caller can pay for its lookup.
    ``looked_up`` marks the answer of a lookup, which is final whatever it holds."""
    if not isinstance(profile, dict):
        raise MalformedResponse("profile is not an object")
    provider_id = _text(profile.get("id"))
    name = _text(profile.get("name"))
    if not provider_id and not name:
        raise MalformedResponse("profile has neither id nor name")
    first = _text(profile.get("first_name"))
    last = _text(profile.get("last_name"))
    if name and not (first or last):
        parts = name.split()
        first, last = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else (name, "")
    email, status = choose_email(profile)
    levels = profile.get("management_levels") or []
    country = _text(profile.get("country_code")).upper()
    if len(country) != 2:
        country = _text(profile.get("country")).upper() if len(_text(profile.get("country"))) == 2 else ""
    domain = _text(profile.get("current_employer_domain")).lower().removeprefix("www.")
    status_text = _text(profile.get("status")).lower()
    needs_lookup = not looked_up and bool(provider_id) and (not email or status_text not in ("", "complete"))
    return PersonRecord(
        provider="rocketreach",
        provider_id=provider_id,
        full_name=name or f"{first} {last}".strip(),
        first_name=first,
        last_name=last,
        title=_text(profile.get("current_title")),
        seniority=_text(levels[0]) if isinstance(levels, list) and levels else _text(profile.get("management_level")),
        department=_text(profile.get("department")),
        company=_text(profile.get("current_employer")),
        company_domain=domain,
        industry=_text(profile.get("current_employer_industry")),
        company_size=_text(profile.get("current_employer_size") or profile.get("company_size")),
        email=email,
        email_status=status,
        phone=choose_phone(profile),
        linkedin_url=_text(profile.get("linkedin_url")),
        country=country,
        region=_text(profile.get("region")),
        city=_text(profile.get("city")),
        raw=scrub(profile),
        needs_lookup=needs_lookup,
    )


def parse_profiles(profiles) -> tuple[list[PersonRecord], list[str]]:
    """Records for the usable profiles, and a note for each skipped one."""
    if not isinstance(profiles, list):
        raise MalformedResponse("'profiles' is not a list")
    records, skipped = [], []
    for position, profile in enumerate(profiles):
        try:
            records.append(profile_to_record(profile))
        except MalformedResponse as exc:
            skipped.append(f"#{position}: {exc}")
    return records, skipped


@register
class RocketReachProvider(Provider):
    name = "rocketreach"
    fallback_name = "hunter"
    verbose_name = "RocketReach"

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None):
        self.api_key = api_key if api_key is not None else getattr(settings, "ROCKETREACH_API_KEY", "")
        self.base_url = base_url or getattr(settings, "ROCKETREACH_API_BASE", "https://api.rocketreach.co/api/v2")
        self.http = ProviderHttp(
            self.name,
            base_url=self.base_url,
            headers={"Api-Key": self.api_key},
            secrets=(self.api_key,),
            limiter=get_limiter(self.name),
            breaker=get_breaker(self.name),
        )
        overrides = getattr(settings, "PROVIDER_COST_CENTS", {}).get(self.name, {})
        self.costs = {k: Decimal(str(v)) for k, v in {**DEFAULT_COSTS, **overrides}.items()}

    @classmethod
    def is_configured(cls) -> bool:
        return bool(getattr(settings, "ROCKETREACH_API_KEY", ""))

    # --- search -------------------------------------------------------------------------
    def search(self, criteria: Criteria, *, cursor: str | None, page_size: int, context: CallContext) -> SearchPage:
        try:
            start = max(1, int(cursor)) if cursor else 1
        except ValueError:
            start = 1
        page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        body = {"query": criteria_to_query(criteria), "start": start, "page_size": page_size, "order_by": "relevance"}

        def parse(data, status):
            if not isinstance(data, dict):
                raise MalformedResponse("search answer is not an object")
            records, skipped = parse_profiles(data.get("profiles", []))
            pagination = data.get("pagination") if isinstance(data.get("pagination"), dict) else {}
            note = f"skipped {len(skipped)} malformed profile(s): {', '.join(skipped[:5])}" if skipped else ""
            cost = self.costs["search"] + self.costs["search_record"] * len(records)
            return Parsed((records, pagination), records=len(records), note=note, cost=cost)

        result = self.http.request(
            "POST", "/person/search", operation=Operation.SEARCH, context=context, json_body=body, parse=parse
        )
        records, pagination = result.value
        total = pagination.get("total")
        total = int(total) if isinstance(total, int | float | str) and str(total).isdigit() else None
        next_start = pagination.get("next")
        try:
            next_start = int(next_start) if next_start not in (None, "") else None
        except (TypeError, ValueError):
            next_start = None
        if next_start is None and total is not None and start + page_size <= total:
            next_start = start + page_size  # some answers omit "next"; derive it from the total
        if next_start is not None and (
            next_start <= start or next_start > MAX_START or (total is not None and next_start > total)
        ):
            next_start = None
        if not records and not (pagination.get("total") or 0):
            next_start = None
        return SearchPage(records=records, next_cursor=str(next_start) if next_start else None, total=total)

    # --- lookups ------------------------------------------------------------------------
    def lookup(self, profile_id: str | int, *, context: CallContext) -> PersonRecord | None:
        """The full profile, or None while RocketReach is still looking it up (ask again later).

        A lookup is issued at most once per (order, profile): afterwards ``checkStatus`` is
        polled. Only when RocketReach says it never queued the lookup (so no credit was spent)
        is it issued again, and never more than ``MAX_LOOKUP_ISSUES`` times.
        """
        profile_id = str(profile_id)
        key = LookupRecord.key_for(context.order_id, profile_id)
        record = LookupRecord.objects.filter(key=key).first()
        if record is None:
            try:
                with transaction.atomic():
                    record = LookupRecord.objects.create(
                        provider=self.name, key=key, order_id=context.order_id, profile_id=profile_id
                    )
            except IntegrityError:  # another worker issued it first: poll instead
                record = LookupRecord.objects.get(key=key)
            else:
                return self._issue_lookup(record, context)
        if record.status == LookupStatus.COMPLETE:
            return profile_to_record(record.profile, looked_up=True)
        statuses = self.check_status([profile_id], context=context)
        profile = statuses.get(profile_id)
        if profile is None:
            return None  # not in the answer: we cannot tell whether a credit was spent; ask again later
        status = _text(profile.get("status")).lower()
        if status == LookupStatus.NOT_QUEUED:
            if record.issue_count >= MAX_LOOKUP_ISSUES:
                return None
            # RocketReach has no lookup queued for this id (our earlier request never reached
            # it), so no credit was spent and issuing it now is safe.
            return self._issue_lookup(record, context)
        return self._store(record, profile)

    def _issue_lookup(self, record: LookupRecord, context: CallContext) -> PersonRecord | None:
        # Counted before the request: a timed-out lookup may still have spent the credit.
        LookupRecord.objects.filter(pk=record.pk).update(issue_count=record.issue_count + 1)
        record.issue_count += 1

        def parse(data, status):
            if not isinstance(data, dict):
                raise MalformedResponse("lookup answer is not an object")
            return Parsed(data, records=1 if _text(data.get("status")).lower() == "complete" else 0)

        result = self.http.request(
            "GET",
            "/person/lookup",
            operation=Operation.LOOKUP,
            context=context,
            params={"id": record.profile_id},
            parse=parse,
            cost=self.costs["lookup"],
        )
        return self._store(record, result.value)

    def _store(self, record: LookupRecord, profile: dict) -> PersonRecord | None:
        status = _text(profile.get("status")).lower() or LookupStatus.PROGRESS
        if status not in LookupStatus.values:
            status = LookupStatus.PROGRESS
        fields = {"status": status}
        if status == LookupStatus.COMPLETE:
            fields["profile"] = profile
        LookupRecord.objects.filter(pk=record.pk).update(**fields)
        for name, value in fields.items():
            setattr(record, name, value)
        return profile_to_record(profile, looked_up=True) if status == LookupStatus.COMPLETE else None

    def check_status(self, ids: list[str | int], *, context: CallContext) -> dict[str, dict]:
        """Profile id -> status object (``{"id", "status", ...}``) for the given lookups."""

        def parse(data, status):
            items = data.get("profiles", data) if isinstance(data, dict) else data
            if not isinstance(items, list):
                raise MalformedResponse("checkStatus answer is not a list")
            found = {_text(i.get("id")): i for i in items if isinstance(i, dict) and _text(i.get("id"))}
            done = sum(1 for i in found.values() if _text(i.get("status")).lower() == "complete")
            return Parsed(found, records=done)

        result = self.http.request(
            "GET",
            "/person/checkStatus",
            operation=Operation.CHECK_STATUS,
            context=context,
            params={"ids": ",".join(str(i) for i in ids)},
            parse=parse,
            cost=self.costs["check_status"],
        )
        return result.value

    def account(self, *, context: CallContext | None = None) -> dict:
        """The account's plan, credit usage and rate limits, as RocketReach reports them."""

        def parse(data, status):
            if not isinstance(data, dict):
                raise MalformedResponse("account answer is not an object")
            return Parsed(data)

        result = self.http.request("GET", "/account/", operation=Operation.ACCOUNT, context=context, parse=parse)
        return result.value
