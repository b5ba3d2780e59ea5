"""A fake RocketReach API v2: search with pagination, lookup -> checkStatus, account."""

from __future__ import annotations

import json
import uuid

from ..base import Criteria, PersonRecord
from ..rocketreach import FACETS
from ..sandbox import PersonGenerator
from . import FakeServer

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


def query_to_criteria(query: dict) -> Criteria:
    if not isinstance(query, dict):
        return Criteria()
    values = {attr: query.get(facet, []) for attr, facet in FACETS.items()}
    geo = query.get("geo", [])
    geo = [geo] if isinstance(geo, str) else list(geo or [])
    values["countries"] = [g for g in geo if isinstance(g, str) and len(g) == 2 and g.isalpha()]
    values["regions"] = [g for g in geo if isinstance(g, str) and g not in values["countries"]]
    return Criteria.from_dict(values)


class FakeRocketReach(FakeServer):
    prefix = "/api/v2"
    routes = {
        ("POST", "/person/search"): "search",
        ("POST", "/search"): "search",  # the official client's path
        ("GET", "/person/lookup"): "lookup",
        ("GET", "/person/checkStatus"): "check_status",
        ("GET", "/account"): "account",
    }

    def __init__(self, api_key: str = "test-key", seed: int = 1, population: int | None = 1000, lookup_polls: int = 1):
        super().__init__(api_key=api_key, seed=seed)
        self.population = population  # cap on any search's total (None: the sandbox's estimate)
        self.lookup_polls = lookup_polls  # checkStatus answers "progress" this many times first
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
        gen = PersonGenerator(self.seed, query_to_criteria(body.get("query", {})), self.population)
        profiles = []
        for record in gen.page(start - 1, page_size):
            profile_id = ID_BASE + int(record.raw["index"])
            self.known[profile_id] = record
            profiles.append(record_to_profile(record, profile_id))
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
