"""A fake RocketReach API v2: search with pagination, lookup -> checkStatus, account.

The search understands RocketReach's own facet values only (``VOCABULARY``: the names shown on
profiles, e.g. "C-Level", "Human Resources", "Computer Software"; countries written out in
``geo``). A value it does not know matches nobody, as a literal search for it would; it is
never translated from some other vocabulary (the order form's codes mean nothing here).
"""

from __future__ import annotations

import hashlib
import json
import uuid

from ..base import Criteria, PersonRecord
from ..geo import COUNTRY_CODES
from ..sandbox import PersonGenerator
from . import FakeServer

# RocketReach facet -> the values it searches by (closed vocabularies; other facets are free text).
VOCABULARY = {
    "management_levels": {"Founder/Owner", "C-Level", "VP", "Director", "Manager", "Senior", "Entry", "Intern"},
    "department": {
        "Sales",
        "Marketing",
        "Engineering",
        "Finance",
        "Human Resources",
        "Operations",
        "Information Technology",
        "Legal",
        "Product",
        "Customer Success",
    },
    "company_industry": {
        "Computer Software",
        "Information Technology and Services",
        "Internet",
        "Financial Services",
        "Banking",
        "Insurance",
        "Marketing and Advertising",
        "Hospital & Health Care",
        "Biotechnology",
        "Pharmaceuticals",
        "Manufacturing",
        "Automotive",
        "Retail",
        "Consumer Goods",
        "Logistics and Supply Chain",
        "Real Estate",
        "Construction",
        "Telecommunications",
        "Education",
        "E-Learning",
        "Management Consulting",
        "Legal Services",
        "Hospitality",
        "Media and Entertainment",
        "Oil & Energy",
        "Government Administration",
        "Nonprofit Organization Management",
    },
    "company_size": {"1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"},
}
# RocketReach facet -> the sandbox generator's criteria attribute.
_ATTRIBUTES = {
    "current_title": "titles",
    "management_levels": "seniorities",
    "department": "departments",
    "company_industry": "industries",
    "company_size": "company_sizes",
    "keyword": "keywords",
    "exclude_current_employer": "exclude_companies",
    "exclude_company_domain": "exclude_domains",
}

ID_BASE = 40_000_000
_SMTP = {"valid": "valid", "accept_all": "accept-all", "invalid": "invalid", "unknown": "unknown"}


def record_to_profile(record: PersonRecord, profile_id: int, status: str = "complete") -> dict:
    """A PersonRecord in RocketReach's profile shape."""
    location = ", ".join(p for p in (record.city, record.region, record.country) if p)
    return {
        "id": profile_id,
        "status": status,
        "name": record.full_name,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "current_title": record.title,
        "current_employer": record.company,
        "current_employer_domain": record.company_domain,
        "current_employer_industry": record.industry,
        "current_employer_size": record.company_size,
        "management_levels": [record.seniority] if record.seniority else [],
        "department": record.department,
        "linkedin_url": record.linkedin_url,
        "location": location,
        "city": record.city,
        "region": record.region,
        "country": record.country,
        "country_code": record.country,
        "emails": [
            {"email": record.email, "type": "professional", "grade": "A", "smtp_valid": _SMTP[record.email_status]},
            {
                "email": f"{record.first_name.lower()}{profile_id % 1000}@gmail.com",
                "type": "personal",
                "grade": "B",
                "smtp_valid": "valid",
            },
        ],
        "phones": [{"number": record.phone, "type": "mobile", "recommended": True}] if record.phone else [],
        "recommended_professional_email": record.email,
    }


def _spread(index: int) -> int:
    # Which people are stubs must not line up with page boundaries (start 1, 101, ...).
    return int.from_bytes(hashlib.blake2b(str(index).encode(), digest_size=4).digest(), "big")


def _strings(value) -> list[str]:
    value = [value] if isinstance(value, str) else value
    return [v for v in (value or []) if isinstance(v, str) and v.strip()] if isinstance(value, list) else []


def query_to_criteria(query: dict) -> Criteria | None:
    """The generator's criteria for a search ``query``, or None when nobody can match (a
    closed facet asked only for values RocketReach does not have)."""
    if not isinstance(query, dict):
        return Criteria()
    values: dict[str, list[str]] = {}
    for facet, attr in _ATTRIBUTES.items():
        asked = _strings(query.get(facet))
        if facet in VOCABULARY and asked:
            asked = [v for v in asked if v in VOCABULARY[facet]]
            if not asked:
                return None
        values[attr] = asked
    countries, regions = [], []
    for place in _strings(query.get("geo")):
        code = COUNTRY_CODES.get(place.strip().casefold())
        if code:
            countries.append(code)
        else:
            regions.append(place)  # a region or city, matched as written
    values["countries"], values["regions"] = countries, regions
    return Criteria.from_dict(values)


def stub_profile(record: PersonRecord, profile_id: int) -> dict:
    """A search result RocketReach has no contact details for yet: a lookup would find them."""
    return {
        "id": profile_id,
        "status": "not queued",
        "name": record.full_name,
        "current_title": record.title,
        "current_employer": record.company,
        "current_employer_domain": record.company_domain,
        "country_code": record.country,
        "city": record.city,
        "region": record.region,
        "linkedin_url": record.linkedin_url,
        "emails": [],
        "phones": [],
    }


class FakeRocketReach(FakeServer):
    prefix = "/api/v2"
    routes = {
        ("POST", "/person/search"): "search",
        ("POST", "/search"): "search",  # the official client's path
        ("GET", "/person/lookup"): "lookup",
        ("GET", "/person/checkStatus"): "check_status",
        ("GET", "/account"): "account",
    }

    def __init__(
        self,
        api_key: str = "test-key",
        seed: int = 1,
        population: int | None = 1000,
        lookup_polls: int = 1,
        stub_every: int = 0,
    ):
        super().__init__(api_key=api_key, seed=seed)
        self.population = population  # cap on any search's total (None: the sandbox's estimate)
        self.lookup_polls = lookup_polls  # checkStatus answers "progress" this many times first
        self.stub_every = stub_every  # about one person in n is a stub without contact details
        self.known: dict[int, PersonRecord] = {}
        self.lookups: dict[int, int] = {}  # id -> checkStatus polls left before "complete"

    def _respond(self, status, body, headers=None):
        response = super()._respond(status, body, headers)
        response.headers["RR-Request-ID"] = uuid.uuid4().hex
        return response

    def authenticate(self, request):
        if self.api_key and request.headers.get("Api-Key") != self.api_key:
            return self.json(401, {"status": 401, "message": "Invalid API Key"})
        return None

    def handle_search(self, request):
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return self.json(400, {"status": 400, "message": "Request body is not valid JSON"})
        start, page_size = body.get("start", 1), body.get("page_size", 10)
        if not isinstance(start, int) or not 1 <= start <= 10_000:
            return self.json(400, {"status": 400, "message": "start must be between 1 and 10000"})
        if not isinstance(page_size, int) or not 1 <= page_size <= 100:
            return self.json(400, {"status": 400, "message": "page_size must be between 1 and 100"})
        criteria = query_to_criteria(body.get("query", {}))
        if criteria is None:
            return self.json(200, {"profiles": [], "pagination": {"start": start, "next": None, "total": 0}})
        gen = PersonGenerator(self.seed, criteria, self.population)
        profiles = []
        for record in gen.page(start - 1, page_size):
            index = int(record.raw["index"])
            profile_id = ID_BASE + index
            self.known[profile_id] = record
            stub = self.stub_every and _spread(index) % self.stub_every == 0
            profiles.append(stub_profile(record, profile_id) if stub else record_to_profile(record, profile_id))
        following = start + page_size
        return self.json(
            200,
            {
                "profiles": profiles,
                "pagination": {
                    "start": start,
                    "next": following if following <= gen.total else None,
                    "total": gen.total,
                },
            },
        )

    def _record(self, profile_id: int) -> PersonRecord | None:
        if profile_id in self.known:
            return self.known[profile_id]
        if profile_id < ID_BASE:
            return None
        return PersonGenerator(self.seed, Criteria()).person(profile_id - ID_BASE)

    def handle_lookup(self, request):
        try:
            profile_id = int(request.args.get("id", ""))
        except ValueError:
            return self.json(400, {"status": 400, "message": "id is required"})
        record = self._record(profile_id)
        if record is None:
            return self.json(404, {"status": 404, "message": "Profile not found"})
        if profile_id not in self.lookups:
            self.lookups[profile_id] = self.lookup_polls
        if self.lookups[profile_id] <= 0:
            return self.json(200, record_to_profile(record, profile_id))
        return self.json(200, {"id": profile_id, "status": "progress", "name": record.full_name})

    def handle_check_status(self, request):
        ids = [i for i in request.args.get("ids", "").split(",") if i.strip()]
        out = []
        for raw_id in ids:
            try:
                profile_id = int(raw_id)
            except ValueError:
                continue
            if profile_id not in self.lookups:
                out.append({"id": profile_id, "status": "not queued"})
                continue
            self.lookups[profile_id] -= 1
            if self.lookups[profile_id] <= 0:
                out.append(record_to_profile(self._record(profile_id), profile_id))
            else:
                out.append({"id": profile_id, "status": "progress"})
        return self.json(200, out)

    def handle_account(self, request):
        return self.json(
            200,
            {
                "id": 1,
                "first_name": "Demo",
                "last_name": "Account",
                "email": "demo@solosales.example",
                "plan": {"name": "Ultimate", "lookup_credit_balance": 10_000 - len(self.lookups)},
                "lookup_credit_balance": 10_000 - len(self.lookups),
                "rate_limits": [
                    {"action": "person_search", "duration": "minute", "limit": 60, "used": self.counts["search"]},
                    {"action": "global", "duration": "second", "limit": 10},
                ],
            },
        )
