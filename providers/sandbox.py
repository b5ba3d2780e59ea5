"""The sandbox provider: deterministic, realistic people for the demo, tests and benchmarks.

For a seed and criteria the sandbox has a fixed "population" of ``total`` people, numbered
from 0; a page is a slice of it, so the same (seed, criteria, cursor) always gives the same
page. The population shrinks as criteria narrow, and very narrow criteria run dry:

    total = min(max_results, 2,000,000 x the product of one factor per non-empty facet)

Each person's email status is a function of the email itself (mostly valid, some
accept-all, about 5% invalid, a few unknown), so ``verify_email`` answers exactly what the
search said. About 1% of people reappear later under another id with the same email, so
the pipeline's de-duplication has work to do.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import unicodedata
from bisect import bisect
from functools import lru_cache
from itertools import accumulate

from django.conf import settings

from . import sandbox_data as data
from .base import CallContext, Criteria, PersonRecord, Provider, SearchPage, register

BASE_POPULATION = 2_000_000
# facet -> (share of the population each listed value covers, how many values make "everyone")
_FACET_SHARE = {
    "titles": 0.04,
    "seniorities": 0.15,
    "departments": 0.1,
    "industries": 0.07,
    "countries": 0.12,
    "regions": 0.25,
    "company_sizes": 0.15,
}
_KEYWORD_SHARE = 0.3
_STATUS_CUTS = ((0.78, "valid"), (0.91, "accept_all"), (0.96, "invalid"), (1.01, "unknown"))
DUPLICATE_EVERY = 97  # about 1% of people are re-listed under another id with the same email


def _digest(*parts) -> int:
    raw = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


_MASK64 = (1 << 64) - 1


def _mix(key: int, index: int, salt: int) -> int:
    """SplitMix64 of (key, index, salt): a cheap, well-spread per-person number."""
    z = (key + (index + 1) * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@lru_cache(maxsize=4096)
def ascii_slug(text: str, sep: str = "") -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, text).strip(sep)


def email_status_for(email: str, seed: int) -> str:
    u = (_digest("status", seed, email.lower()) % 10_000) / 10_000
    for cut, status in _STATUS_CUTS:
        if u < cut:
            return status
    return "unknown"


def normalise_seniority(value: str) -> str:
    low = value.strip().lower()
    if low in data.SENIORITY_SYNONYMS:
        return data.SENIORITY_SYNONYMS[low]
    for word, seniority in data.SENIORITY_SYNONYMS.items():
        if re.search(rf"\b{re.escape(word)}\b", low):
            return seniority
    if re.search(r"\bchief\b|\bc[etmfoi]o\b", low):
        return "C-Level"
    return value.strip()


def infer_seniority(title: str) -> str:
    low = title.lower()
    if re.search(r"\bfounder|\bowner\b", low):
        return "Founder/Owner"
    if re.search(r"\bchief\b|\bc[etmfoi]o\b|\bpresident\b", low) and "vice" not in low:
        return "C-Level"
    if re.search(r"\bvp\b|vice president|\bsvp\b|\bevp\b", low):
        return "VP"
    if re.search(r"\bdirector\b|\bhead of\b", low):
        return "Director"
    if re.search(r"\bmanager\b|\blead\b", low):
        return "Manager"
    if re.search(r"\bsenior\b|\bsr\.?\b|\bprincipal\b", low):
        return "Senior"
    return ""


def infer_department(title: str) -> str:
    low = title.lower()
    for word, department in data.DEPARTMENT_SYNONYMS.items():
        if re.search(rf"\b{re.escape(word)}", low):
            return department
    return ""


def normalise_department(value: str) -> str:
    return infer_department(value) or value.strip()


def normalise_industry(value: str) -> str:
    """Maps an industry code of the order vocabulary (``computer_software``) to the sandbox's
    label ("Computer Software"); labels pass through."""
    if value in data.INDUSTRIES:
        return value
    slug = ascii_slug(value, "_")
    for label in data.INDUSTRIES:
        if ascii_slug(label, "_") == slug:
            return label
    return value.replace("_", " ").strip().title()


def _weighted(values, weights):
    cum = list(accumulate(weights))
    return values, cum


class PopulationPlan:
    """Everything about (seed, criteria) that does not depend on the person's number."""

    def __init__(self, seed: int, criteria: Criteria, max_results: int | None = None):
        self.seed = seed
        self.criteria = criteria
        self.key = _digest(seed, json.dumps(criteria.to_dict(), sort_keys=True))
        self.excluded_names = {c.lower() for c in criteria.exclude_companies}
        self.excluded_domains = set(criteria.exclude_domains)
        self.total = self._total(max_results)
        self.locations = self._locations()
        self.roles = self._roles()
        self.industries = [normalise_industry(i) for i in criteria.industries] or list(data.INDUSTRIES)
        self.sizes = criteria.company_sizes or data.COMPANY_SIZES
        self.size_weights = None if criteria.company_sizes else list(accumulate(data.COMPANY_SIZE_WEIGHTS))
        # About six people per company, and never more companies than a real market has.
        self.company_pool = min(20_000, max(40, self.total // 6))

    def _total(self, max_results):
        c = self.criteria
        estimate = float(BASE_POPULATION)
        for facet, share in _FACET_SHARE.items():
            values = getattr(c, facet)
            if values:
                estimate *= min(1.0, share * len(values))
        estimate *= _KEYWORD_SHARE ** len(c.keywords)
        total = int(estimate)
        if max_results is not None:
            total = min(total, max(0, int(max_results)))
        return total

    def _locations(self):
        """(country, region, city, locale, calling code, tld) tuples honouring countries and regions."""
        c = self.criteria
        wanted_regions = {r.lower(): r for r in c.regions}
        countries = c.countries or list(data.DEFAULT_COUNTRY_WEIGHTS)
        out = []
        matched_regions = set()
        for code in countries:
            locale, calling, tld, regions = data.WORLD.get(code, ("en", "", "com", {}))
            for region, cities in regions.items():
                if wanted_regions and region.lower() not in wanted_regions:
                    continue
                matched_regions.add(region.lower())
                weight = 1 if c.countries else data.DEFAULT_COUNTRY_WEIGHTS.get(code, 1)
                for city in cities:
                    out.extend([(code, region, city, locale, calling, tld)] * weight)
        # Regions we have no data for (or in countries we do not know): keep them as given.
        for low, region in wanted_regions.items():
            if low not in matched_regions:
                code = (c.countries or ["US"])[0]
                locale, calling, tld, _regions = data.WORLD.get(code, ("en", "", "com", {}))
                out.append((code, region, region, locale, calling, tld))
        if not out:  # countries outside our reference data, no regions asked
            for code in countries:
                locale, calling, tld, _regions = data.WORLD.get(code, ("en", "", "com", {}))
                out.append((code, "", "", locale, calling, tld))
        return out

    def _roles(self):
        """(title, seniority, department) choices honouring titles, seniorities and departments."""
        c = self.criteria
        seniorities = [normalise_seniority(s) for s in c.seniorities]
        departments = [normalise_department(d) for d in c.departments]
        roles = []
        if c.titles:
            for i, title in enumerate(c.titles):
                seniority = infer_seniority(title) or (seniorities[i % len(seniorities)] if seniorities else "")
                department = infer_department(title) or (departments[i % len(departments)] if departments else "")
                roles.append((title, seniority, department))
            return roles
        levels = seniorities or data.SENIORITIES
        depts = departments or data.DEPARTMENTS
        for level in levels:
            weight = 1 if seniorities else data.SENIORITY_WEIGHTS[data.SENIORITIES.index(level)]
            for dept in depts:
                titles = data.TITLES.get(dept)
                if titles and level in data.SENIORITIES:
                    title = titles[data.SENIORITIES.index(level)]
                elif level in data.SENIORITIES:
                    title = {
                        "Founder/Owner": "Founder",
                        "C-Level": f"Chief {dept} Officer",
                        "VP": f"VP of {dept}",
                        "Director": f"Director of {dept}",
                        "Manager": f"{dept} Manager",
                        "Senior": f"Senior {dept} Specialist",
                        "Entry": f"{dept} Associate",
                    }[level]
                else:
                    title = f"{level} {dept}".strip()
                roles.extend([(title, level, dept)] * weight)
        return roles


class PersonGenerator:
    def __init__(self, seed: int, criteria: Criteria, max_results: int | None = None):
        self.plan = PopulationPlan(seed, criteria, max_results)
        self._companies: dict[int, tuple] = {}

    @property
    def total(self) -> int:
        return self.plan.total

    def company(self, idx: int, location: tuple | None = None) -> tuple:
        """(name, domain, industry, size, location) of company number ``idx``, excluded ones skipped."""
        plan = self.plan
        for probe in range(50):
            cached = self._companies.get(idx + probe)
            if cached is None:
                cached = self._make_company(idx + probe)
                self._companies[idx + probe] = cached
            name, domain = cached[0], cached[1]
            if name.lower() not in plan.excluded_names and domain not in plan.excluded_domains:
                return cached
        return cached

    def _make_company(self, idx: int) -> tuple:
        plan = self.plan
        rng = random.Random(_mix(plan.key, idx, 4))
        location = plan.locations[rng.randrange(len(plan.locations))]
        industry = plan.industries[rng.randrange(len(plan.industries))]
        nouns = data.INDUSTRIES.get(industry, data.INDUSTRY_NOUNS_DEFAULT)
        locale = location[3]
        prefixes = {"zh": data.COMPANY_PREFIXES_ZH, "ja": data.COMPANY_PREFIXES_JA}.get(locale, data.COMPANY_PREFIXES)
        prefix = prefixes[rng.randrange(len(prefixes))]
        noun = nouns[rng.randrange(len(nouns))]
        name = f"{prefix} {noun}"
        tld = location[5] if rng.random() < 0.6 else "com"
        domain = f"{ascii_slug(prefix)}{ascii_slug(noun)}.{tld}"
        if plan.size_weights:
            size = plan.sizes[bisect(plan.size_weights, rng.random() * plan.size_weights[-1])]
        else:
            size = plan.sizes[rng.randrange(len(plan.sizes))]
        return (name, domain, industry, size, location)

    def person(self, index: int, *, company: tuple | None = None) -> PersonRecord:
        plan = self.plan
        seed_key = plan.key
        if index >= DUPLICATE_EVERY and _mix(seed_key, index, 1) % DUPLICATE_EVERY == 0:
            original_index = index - 1 - (_mix(seed_key, index, 2) % 9)
            original = self.person(original_index, company=company)
            original.provider_id = self._provider_id(index)
            original.raw = {**original.raw, "id": original.provider_id, "index": index, "duplicate_of": original_index}
            return original

        rng = random.Random(_mix(seed_key, index, 3))
        if company is None:
            company = self.company(rng.randrange(plan.company_pool))
        name, domain, industry, size, location = company
        country, region, city, locale, calling, _tld = location
        firsts, lasts = data.NAMES.get(locale, data.NAMES["en"])
        first = firsts[rng.randrange(len(firsts))]
        last = lasts[rng.randrange(len(lasts))]
        if isinstance(first, tuple):  # romanised + native script
            first_name, last_name = first[0], last[0]
            native = f"{last[1]}{first[1]}"
            full_name = f"{last_name} {first_name} ({native})"
        else:
            first_name, last_name = first, last
            full_name = f"{first} {last}"
        title, seniority, department = plan.roles[rng.randrange(len(plan.roles))]
        local_first, local_last = ascii_slug(first_name), ascii_slug(last_name)
        local = f"{local_first}.{local_last}" if rng.random() < 0.85 else f"{local_first[:1]}{local_last}"
        email = f"{local}@{domain}"
        provider_id = self._provider_id(index)
        return PersonRecord(
            provider="sandbox",
            provider_id=provider_id,
            full_name=full_name,
            first_name=first_name,
            last_name=last_name,
            title=title,
            seniority=seniority,
            department=department,
            company=name,
            company_domain=domain,
            industry=industry,
            company_size=size,
            email=email,
            email_status=email_status_for(email, plan.seed),
            phone=self._phone(rng, country, calling),
            linkedin_url=f"https://www.linkedin.com/in/{local_first}-{local_last}-{rng.getrandbits(24):06x}",
            country=country,
            region=region,
            city=city,
            raw={"id": provider_id, "index": index, "seed": plan.seed, "locale": locale},
        )

    def _provider_id(self, index: int) -> str:
        return f"sbx-{self.plan.key % 0xFFFFFFFF:08x}-{index}"

    @staticmethod
    def _phone(rng, country, calling) -> str:
        if country in ("US", "CA"):
            return f"+1 {rng.randrange(201, 990)}-555-01{rng.randrange(100):02d}"
        if country == "GB":
            return f"+44 7700 900{rng.randrange(1000):03d}"
        if country == "CN":
            return f"+86 1{rng.randrange(30, 90)} {rng.randrange(10000):04d} {rng.randrange(10000):04d}"
        if not calling:
            return ""
        return f"{calling} {rng.randrange(10, 99)} {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}"

    def page(self, start: int, count: int) -> list[PersonRecord]:
        end = min(self.total, start + max(0, count))
        return [self.person(i) for i in range(max(0, start), end)]


@register
class SandboxProvider(Provider):
    """Deterministic generated people; every page is audited like a real call (cost 0)."""

    name = "sandbox"
    verbose_name = "Sandbox"

    def __init__(self, *, seed: int | None = None, max_results: int | None = None):
        self.seed = seed if seed is not None else int(getattr(settings, "SANDBOX_SEED", 1))
        cap = max_results if max_results is not None else getattr(settings, "SANDBOX_MAX_RESULTS", None)
        self.max_results = int(cap) if cap not in (None, "") else None
        self._generators: dict[Criteria, PersonGenerator] = {}

    def generator(self, criteria: Criteria) -> PersonGenerator:
        gen = self._generators.get(criteria)
        if gen is None:
            gen = self._generators[criteria] = PersonGenerator(self.seed, criteria, self.max_results)
        return gen

    def search(self, criteria: Criteria, *, cursor: str | None, page_size: int, context: CallContext) -> SearchPage:
        from .audit import record_call
        from .models import Operation, Outcome

        started = time.monotonic()
        try:
            start = max(0, int(cursor)) if cursor else 0
        except ValueError:
            start = 0
        page_size = max(1, min(int(page_size), 1000))
        gen = self.generator(criteria)
        records = gen.page(start, page_size)
        next_start = start + page_size
        next_cursor = str(next_start) if next_start < gen.total else None
        record_call(
            provider=self.name,
            operation=Operation.SEARCH,
            outcome=Outcome.OK,
            context=context,
            request_summary={"criteria": criteria.to_dict(), "start": start, "page_size": page_size, "seed": self.seed},
            http_status=None,
            latency_ms=int((time.monotonic() - started) * 1000),
            records_returned=len(records),
            estimated_cost=0,
        )
        return SearchPage(records=records, next_cursor=next_cursor, total=gen.total)

    def verify_email(self, email: str, *, context: CallContext) -> str | None:
        """The same status the search reported for this email (a pure function of seed and email)."""
        return email_status_for(email, self.seed)
