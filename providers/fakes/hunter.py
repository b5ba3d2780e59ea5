"""A fake Hunter API v2: domain-search, email-verifier (202 first, then 200) and account."""

from __future__ import annotations

import hashlib

from .. import sandbox_data as data
from ..base import Criteria
from ..sandbox import PersonGenerator, email_status_for
from . import FakeServer

_RESULT = {"valid": "deliverable", "invalid": "undeliverable", "accept_all": "risky", "unknown": "risky"}
_SENIORITY = {
    "C-Level": "executive",
    "Founder/Owner": "executive",
    "VP": "executive",
    "Director": "senior",
    "Manager": "senior",
    "Senior": "senior",
    "Entry": "junior",
}
_DEPARTMENT = {
    "Sales": "sales",
    "Marketing": "marketing",
    "Engineering": "it",
    "Finance": "finance",
    "Human Resources": "hr",
    "Operations": "operations",
    "Information Technology": "it",
    "Legal": "legal",
    "Product": "management",
    "Customer Success": "support",
}


def _number(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


class FakeHunter(FakeServer):
    prefix = "/v2"
    routes = {
        ("GET", "/domain-search"): "domain_search",
        ("GET", "/email-verifier"): "email_verifier",
        ("GET", "/account"): "account",
    }

    def __init__(self, api_key: str = "test-key", seed: int = 1, verify_pending: int = 1):
        super().__init__(api_key=api_key, seed=seed)
        self.verify_pending = verify_pending  # 202 answers before the verification is done
        self._verifications: dict[str, int] = {}

    def not_found_body(self):
        return {"errors": [{"id": "not_found", "code": 404, "details": "This route does not exist"}]}

    def error(self, status: int, error_id: str, details: str):
        return self.json(status, {"errors": [{"id": error_id, "code": status, "details": details}]})

    def authenticate(self, request):
        key = request.args.get("api_key") or request.headers.get("X-API-KEY")
        if self.api_key and key != self.api_key:
            return self.error(401, "authentication_failed", "No user found for the API key supplied")
        return None

    def _company(self, domain: str):
        tld = domain.rsplit(".", 1)[-1].upper()
        country = tld if tld in data.WORLD else "US"
        locale, calling, _tld, regions = data.WORLD[country]
        region = sorted(regions)[_number(domain) % len(regions)]
        location = (country, region, regions[region][0], locale, calling, _tld)
        stem = domain.split(".")[0]
        industry = sorted(data.INDUSTRIES)[_number(domain + "i") % len(data.INDUSTRIES)]
        size = data.COMPANY_SIZES[_number(domain + "s") % len(data.COMPANY_SIZES)]
        return (stem.replace("-", " ").title(), domain, industry, size, location)

    def handle_domain_search(self, request):
        domain = (request.args.get("domain") or "").strip().lower()
        if not domain:
            return self.error(400, "wrong_params", "You are missing the domain or company parameter")
        try:
            limit = int(request.args.get("limit", 10))
            offset = int(request.args.get("offset", 0))
        except ValueError:
            return self.error(400, "wrong_params", "limit and offset must be integers")
        if not 1 <= limit <= 100 or offset < 0:
            return self.error(400, "wrong_params", "limit must be between 1 and 100")
        company = self._company(domain)
        gen = PersonGenerator(self.seed, Criteria())
        people = [gen.person(i, company=company) for i in range(10 + _number(domain) % 60)]
        seniority = set(filter(None, request.args.get("seniority", "").split(",")))
        department = set(filter(None, request.args.get("department", "").split(",")))
        if seniority:
            people = [p for p in people if _SENIORITY.get(p.seniority) in seniority]
        if department:
            people = [p for p in people if _DEPARTMENT.get(p.department) in department]
        emails = [
            {
                "value": p.email,
                "type": "personal",
                "confidence": 80 + _number(p.email) % 20,
                "sources": [],
                "first_name": p.first_name,
                "last_name": p.last_name,
                "position": p.title,
                "seniority": _SENIORITY.get(p.seniority),
                "department": _DEPARTMENT.get(p.department),
                "linkedin": p.linkedin_url,
                "twitter": None,
                "phone_number": p.phone or None,
                "verification": {"date": "2026-11-20", "status": p.email_status},
            }
            for p in people[offset : offset + limit]
        ]
        name, _domain, industry, size, location = company
        return self.json(
            200,
            {
                "data": {
                    "domain": domain,
                    "disposable": False,
                    "webmail": False,
                    "accept_all": False,
                    "pattern": "{first}.{last}",
                    "organization": name,
                    "industry": industry,
                    "headcount": size,
                    "country": location[0],
                    "state": location[1],
                    "city": location[2],
                    "emails": emails,
                },
                "meta": {"results": len(people), "limit": limit, "offset": offset, "params": {"domain": domain}},
            },
        )

    def handle_email_verifier(self, request):
        email = (request.args.get("email") or "").strip().lower()
        if "@" not in email:
            return self.error(400, "wrong_params", "You are missing the email parameter")
        pending = self._verifications.setdefault(email, self.verify_pending)
        if pending > 0:
            self._verifications[email] = pending - 1
            return self.json(202, {"data": {"email": email, "status": None}, "meta": {"params": {"email": email}}})
        status = email_status_for(email, self.seed)
        return self.json(
            200,
            {
                "data": {
                    "status": status,
                    "result": _RESULT[status],
                    "score": {"valid": 95, "accept_all": 70, "unknown": 50, "invalid": 5}[status],
                    "email": email,
                    "regexp": True,
                    "gibberish": False,
                    "disposable": False,
                    "webmail": False,
                    "mx_records": True,
                    "smtp_server": True,
                    "smtp_check": status == "valid",
                    "accept_all": status == "accept_all",
                    "block": False,
                    "sources": [],
                },
                "meta": {"params": {"email": email}},
            },
        )

    def handle_account(self, request):
        return self.json(
            200,
            {
                "data": {
                    "first_name": "Demo",
                    "last_name": "Account",
                    "email": "demo@solosales.example",
                    "plan_name": "Starter",
                    "plan_level": 1,
                    "reset_date": "2027-01-01",
                    "requests": {
                        "searches": {"used": self.counts["domain_search"], "available": 500},
                        "verifications": {"used": self.counts["email_verifier"], "available": 1000},
                    },
                }
            },
        )
