"""Order criteria: the vocabularies clients choose from and the one validator every entry
point (form, API, quote, place) goes through.

``clean_order_data`` returns the canonical order body; anything it has not accepted never
reaches a provider. Errors are raised as one ``ValidationFailed`` whose
``extra["fields"]`` maps a field name (``type``, ``target_count``, ``criteria`` or a
criteria key such as ``countries``) to a list of messages, so a form can show them beside
the right input and the API can return them as ``detail.fields``.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from solosales.core.errors import ValidationFailed

SENIORITIES = [
    ("owner", _("Owner")),
    ("founder", _("Founder")),
    ("c_suite", _("C-suite")),
    ("vp", _("Vice president")),
    ("director", _("Director")),
    ("manager", _("Manager")),
    ("senior", _("Senior individual contributor")),
    ("entry", _("Entry level")),
]

DEPARTMENTS = [
    ("sales", _("Sales")),
    ("marketing", _("Marketing")),
    ("engineering", _("Engineering")),
    ("finance", _("Finance")),
    ("hr", _("Human resources")),
    ("operations", _("Operations")),
    ("it", _("Information technology")),
    ("legal", _("Legal")),
    ("product", _("Product")),
    ("customer_success", _("Customer success")),
]

# Codes are slugs of the LinkedIn-style industry names providers use (RocketReach, sandbox).
INDUSTRIES = [
    ("computer_software", _("Computer software")),
    ("information_technology_and_services", _("IT services")),
    ("internet", _("Internet")),
    ("financial_services", _("Financial services")),
    ("banking", _("Banking")),
    ("insurance", _("Insurance")),
    ("marketing_and_advertising", _("Marketing and advertising")),
    ("hospital_health_care", _("Hospitals and health care")),
    ("biotechnology", _("Biotechnology")),
    ("pharmaceuticals", _("Pharmaceuticals")),
    ("manufacturing", _("Manufacturing")),
    ("automotive", _("Automotive")),
    ("retail", _("Retail")),
    ("consumer_goods", _("Consumer goods")),
    ("logistics_and_supply_chain", _("Logistics and supply chain")),
    ("real_estate", _("Real estate")),
    ("construction", _("Construction")),
    ("telecommunications", _("Telecommunications")),
    ("education", _("Education")),
    ("e_learning", _("E-learning")),
    ("management_consulting", _("Management consulting")),
    ("legal_services", _("Legal services")),
    ("hospitality", _("Hospitality")),
    ("media_and_entertainment", _("Media and entertainment")),
    ("oil_and_energy", _("Oil and energy")),
    ("government_administration", _("Government administration")),
    ("nonprofit", _("Non-profit organisations")),
]

COMPANY_SIZES = [
    ("1-10", _("1–10 employees")),
    ("11-50", _("11–50 employees")),
    ("51-200", _("51–200 employees")),
    ("201-500", _("201–500 employees")),
    ("501-1000", _("501–1,000 employees")),
    ("1001-5000", _("1,001–5,000 employees")),
    ("5001-10000", _("5,001–10,000 employees")),
    ("10001+", _("10,001+ employees")),
]

# ISO 3166-1 alpha-2, the full list.
COUNTRIES = [
    ("AD", _("Andorra")),
    ("AE", _("United Arab Emirates")),
    ("AF", _("Afghanistan")),
    ("AG", _("Antigua and Barbuda")),
    ("AI", _("Anguilla")),
    ("AL", _("Albania")),
    ("AM", _("Armenia")),
    ("AO", _("Angola")),
    ("AQ", _("Antarctica")),
    ("AR", _("Argentina")),
    ("AS", _("American Samoa")),
    ("AT", _("Austria")),
    ("AU", _("Australia")),
    ("AW", _("Aruba")),
    ("AX", _("Åland Islands")),
    ("AZ", _("Azerbaijan")),
    ("BA", _("Bosnia and Herzegovina")),
    ("BB", _("Barbados")),
    ("BD", _("Bangladesh")),
    ("BE", _("Belgium")),
    ("BF", _("Burkina Faso")),
    ("BG", _("Bulgaria")),
    ("BH", _("Bahrain")),
    ("BI", _("Burundi")),
    ("BJ", _("Benin")),
    ("BL", _("Saint Barthélemy")),
    ("BM", _("Bermuda")),
    ("BN", _("Brunei")),
    ("BO", _("Bolivia")),
    ("BQ", _("Caribbean Netherlands")),
    ("BR", _("Brazil")),
    ("BS", _("Bahamas")),
    ("BT", _("Bhutan")),
    ("BV", _("Bouvet Island")),
    ("BW", _("Botswana")),
    ("BY", _("Belarus")),
    ("BZ", _("Belize")),
    ("CA", _("Canada")),
    ("CC", _("Cocos (Keeling) Islands")),
    ("CD", _("Congo (DRC)")),
    ("CF", _("Central African Republic")),
    ("CG", _("Congo (Republic)")),
    ("CH", _("Switzerland")),
    ("CI", _("Côte d’Ivoire")),
    ("CK", _("Cook Islands")),
    ("CL", _("Chile")),
    ("CM", _("Cameroon")),
    ("CN", _("China")),
    ("CO", _("Colombia")),
    ("CR", _("Costa Rica")),
    ("CU", _("Cuba")),
    ("CV", _("Cabo Verde")),
    ("CW", _("Curaçao")),
    ("CX", _("Christmas Island")),
    ("CY", _("Cyprus")),
    ("CZ", _("Czechia")),
    ("DE", _("Germany")),
    ("DJ", _("Djibouti")),
    ("DK", _("Denmark")),
    ("DM", _("Dominica")),
    ("DO", _("Dominican Republic")),
    ("DZ", _("Algeria")),
    ("EC", _("Ecuador")),
    ("EE", _("Estonia")),
    ("EG", _("Egypt")),
    ("EH", _("Western Sahara")),
    ("ER", _("Eritrea")),
    ("ES", _("Spain")),
    ("ET", _("Ethiopia")),
    ("FI", _("Finland")),
    ("FJ", _("Fiji")),
    ("FK", _("Falkland Islands")),
    ("FM", _("Micronesia")),
    ("FO", _("Faroe Islands")),
    ("FR", _("France")),
    ("GA", _("Gabon")),
    ("GB", _("United Kingdom")),
    ("GD", _("Grenada")),
    ("GE", _("Georgia")),
    ("GF", _("French Guiana")),
    ("GG", _("Guernsey")),
    ("GH", _("Ghana")),
    ("GI", _("Gibraltar")),
    ("GL", _("Greenland")),
    ("GM", _("Gambia")),
    ("GN", _("Guinea")),
    ("GP", _("Guadeloupe")),
    ("GQ", _("Equatorial Guinea")),
    ("GR", _("Greece")),
    ("GS", _("South Georgia and the South Sandwich Islands")),
    ("GT", _("Guatemala")),
    ("GU", _("Guam")),
    ("GW", _("Guinea-Bissau")),
    ("GY", _("Guyana")),
    ("HK", _("Hong Kong SAR China")),
    ("HM", _("Heard Island and McDonald Islands")),
    ("HN", _("Honduras")),
    ("HR", _("Croatia")),
    ("HT", _("Haiti")),
    ("HU", _("Hungary")),
    ("ID", _("Indonesia")),
    ("IE", _("Ireland")),
    ("IL", _("Israel")),
    ("IM", _("Isle of Man")),
    ("IN", _("India")),
    ("IO", _("British Indian Ocean Territory")),
    ("IQ", _("Iraq")),
    ("IR", _("Iran")),
    ("IS", _("Iceland")),
    ("IT", _("Italy")),
    ("JE", _("Jersey")),
    ("JM", _("Jamaica")),
    ("JO", _("Jordan")),
    ("JP", _("Japan")),
    ("KE", _("Kenya")),
    ("KG", _("Kyrgyzstan")),
    ("KH", _("Cambodia")),
    ("KI", _("Kiribati")),
    ("KM", _("Comoros")),
    ("KN", _("Saint Kitts and Nevis")),
    ("KP", _("North Korea")),
    ("KR", _("South Korea")),
    ("KW", _("Kuwait")),
    ("KY", _("Cayman Islands")),
    ("KZ", _("Kazakhstan")),
    ("LA", _("Laos")),
    ("LB", _("Lebanon")),
    ("LC", _("Saint Lucia")),
    ("LI", _("Liechtenstein")),
    ("LK", _("Sri Lanka")),
    ("LR", _("Liberia")),
    ("LS", _("Lesotho")),
    ("LT", _("Lithuania")),
    ("LU", _("Luxembourg")),
    ("LV", _("Latvia")),
    ("LY", _("Libya")),
    ("MA", _("Morocco")),
    ("MC", _("Monaco")),
    ("MD", _("Moldova")),
    ("ME", _("Montenegro")),
    ("MF", _("Saint Martin")),
    ("MG", _("Madagascar")),
    ("MH", _("Marshall Islands")),
    ("MK", _("North Macedonia")),
    ("ML", _("Mali")),
    ("MM", _("Myanmar (Burma)")),
    ("MN", _("Mongolia")),
    ("MO", _("Macao SAR China")),
    ("MP", _("Northern Mariana Islands")),
    ("MQ", _("Martinique")),
    ("MR", _("Mauritania")),
    ("MS", _("Montserrat")),
    ("MT", _("Malta")),
    ("MU", _("Mauritius")),
    ("MV", _("Maldives")),
    ("MW", _("Malawi")),
    ("MX", _("Mexico")),
    ("MY", _("Malaysia")),
    ("MZ", _("Mozambique")),
    ("NA", _("Namibia")),
    ("NC", _("New Caledonia")),
    ("NE", _("Niger")),
    ("NF", _("Norfolk Island")),
    ("NG", _("Nigeria")),
    ("NI", _("Nicaragua")),
    ("NL", _("Netherlands")),
    ("NO", _("Norway")),
    ("NP", _("Nepal")),
    ("NR", _("Nauru")),
    ("NU", _("Niue")),
    ("NZ", _("New Zealand")),
    ("OM", _("Oman")),
    ("PA", _("Panama")),
    ("PE", _("Peru")),
    ("PF", _("French Polynesia")),
    ("PG", _("Papua New Guinea")),
    ("PH", _("Philippines")),
    ("PK", _("Pakistan")),
    ("PL", _("Poland")),
    ("PM", _("Saint Pierre and Miquelon")),
    ("PN", _("Pitcairn Islands")),
    ("PR", _("Puerto Rico")),
    ("PS", _("Palestinian Territories")),
    ("PT", _("Portugal")),
    ("PW", _("Palau")),
    ("PY", _("Paraguay")),
    ("QA", _("Qatar")),
    ("RE", _("Réunion")),
    ("RO", _("Romania")),
    ("RS", _("Serbia")),
    ("RU", _("Russia")),
    ("RW", _("Rwanda")),
    ("SA", _("Saudi Arabia")),
    ("SB", _("Solomon Islands")),
    ("SC", _("Seychelles")),
    ("SD", _("Sudan")),
    ("SE", _("Sweden")),
    ("SG", _("Singapore")),
    ("SH", _("Saint Helena")),
    ("SI", _("Slovenia")),
    ("SJ", _("Svalbard and Jan Mayen")),
    ("SK", _("Slovakia")),
    ("SL", _("Sierra Leone")),
    ("SM", _("San Marino")),
    ("SN", _("Senegal")),
    ("SO", _("Somalia")),
    ("SR", _("Suriname")),
    ("SS", _("South Sudan")),
    ("ST", _("São Tomé and Príncipe")),
    ("SV", _("El Salvador")),
    ("SX", _("Sint Maarten")),
    ("SY", _("Syria")),
    ("SZ", _("Eswatini")),
    ("TC", _("Turks and Caicos Islands")),
    ("TD", _("Chad")),
    ("TF", _("French Southern Territories")),
    ("TG", _("Togo")),
    ("TH", _("Thailand")),
    ("TJ", _("Tajikistan")),
    ("TK", _("Tokelau")),
    ("TL", _("Timor-Leste")),
    ("TM", _("Turkmenistan")),
    ("TN", _("Tunisia")),
    ("TO", _("Tonga")),
    ("TR", _("Türkiye")),
    ("TT", _("Trinidad and Tobago")),
    ("TV", _("Tuvalu")),
    ("TW", _("Taiwan")),
    ("TZ", _("Tanzania")),
    ("UA", _("Ukraine")),
    ("UG", _("Uganda")),
    ("UM", _("U.S. Outlying Islands")),
    ("US", _("United States")),
    ("UY", _("Uruguay")),
    ("UZ", _("Uzbekistan")),
    ("VA", _("Vatican City")),
    ("VC", _("Saint Vincent and the Grenadines")),
    ("VE", _("Venezuela")),
    ("VG", _("British Virgin Islands")),
    ("VI", _("U.S. Virgin Islands")),
    ("VN", _("Vietnam")),
    ("VU", _("Vanuatu")),
    ("WF", _("Wallis and Futuna")),
    ("WS", _("Samoa")),
    ("YE", _("Yemen")),
    ("YT", _("Mayotte")),
    ("ZA", _("South Africa")),
    ("ZM", _("Zambia")),
    ("ZW", _("Zimbabwe")),
]

ORDER_TYPES = ("list", "mql")

# criteria key -> vocabulary (None: free text)
VOCABULARIES: dict[str, list | None] = {
    "titles": None,
    "seniorities": SENIORITIES,
    "departments": DEPARTMENTS,
    "industries": INDUSTRIES,
    "countries": COUNTRIES,
    "regions": None,
    "company_sizes": COMPANY_SIZES,
    "keywords": None,
    "exclude_companies": None,
    "exclude_domains": None,
}
CRITERIA_KEYS = tuple(VOCABULARIES)
TARGETING_KEYS = (
    "titles",
    "seniorities",
    "departments",
    "industries",
    "countries",
    "regions",
    "company_sizes",
    "keywords",
)
CRITERIA_LABELS = {
    "titles": _("Job titles"),
    "seniorities": _("Seniority"),
    "departments": _("Departments"),
    "industries": _("Industries"),
    "countries": _("Countries"),
    "regions": _("Regions / states"),
    "company_sizes": _("Company size"),
    "keywords": _("Keywords"),
    "exclude_companies": _("Exclude companies"),
    "exclude_domains": _("Exclude domains"),
}
MAX_ITEMS = 50
MAX_ITEM_LENGTH = 200

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_CODES = {key: {code for code, _label in vocab} for key, vocab in VOCABULARIES.items() if vocab is not None}


def label_for(key: str, value: str) -> str:
    """The translated label of a vocabulary value (the value itself for free text)."""
    vocab = VOCABULARIES.get(key)
    if vocab:
        for code, label in vocab:
            if code == value:
                return str(label)
    return value


def criteria_display(criteria: dict) -> list[tuple[str, list[str]]]:
    """[(translated facet label, [translated values])] for the non-empty facets, in a fixed order."""
    out = []
    for key in CRITERIA_KEYS:
        values = criteria.get(key) or []
        if values:
            out.append((str(CRITERIA_LABELS[key]), [label_for(key, v) for v in values]))
    return out


def normalise_domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    return value.removeprefix("www.")


def _clean_list(key: str, value, errors: dict) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.setdefault(key, []).append(gettext("Must be a list of values."))
        return []
    if len(value) > MAX_ITEMS:
        errors.setdefault(key, []).append(gettext("At most %(max)s values.") % {"max": MAX_ITEMS})
        return []
    out: list[str] = []
    vocab = _CODES.get(key)
    for item in value:
        if not isinstance(item, str):
            errors.setdefault(key, []).append(gettext("Every value must be text."))
            return []
        text = " ".join(item.split())
        if not text:
            continue
        if len(text) > MAX_ITEM_LENGTH:
            errors.setdefault(key, []).append(
                gettext("Each value can have at most %(max)s characters.") % {"max": MAX_ITEM_LENGTH}
            )
            return []
        if vocab is not None:
            text = text.upper() if key == "countries" else text.lower()
            if text not in vocab:
                errors.setdefault(key, []).append(gettext("Unknown value: %(value)s.") % {"value": text[:60]})
                continue
        elif key == "exclude_domains":
            text = normalise_domain(text)
            if not _DOMAIN_RE.match(text):
                errors.setdefault(key, []).append(
                    gettext("Not a domain name: %(value)s (write it like example.com).") % {"value": text[:60]}
                )
                continue
        if text.casefold() not in {o.casefold() for o in out}:
            out.append(text)
    return out


def clean_criteria(criteria, errors: dict) -> dict:
    """The canonical criteria dict (only non-empty known facets), adding messages to ``errors``."""
    if not isinstance(criteria, dict):
        errors.setdefault("criteria", []).append(gettext("Criteria must be an object of lists."))
        return {}
    unknown = sorted(str(k) for k in criteria if k not in VOCABULARIES)
    if unknown:
        errors.setdefault("criteria", []).append(
            gettext("Unknown criteria: %(keys)s.") % {"keys": ", ".join(k[:40] for k in unknown[:10])}
        )
    cleaned = {}
    for key in CRITERIA_KEYS:
        values = _clean_list(key, criteria.get(key), errors)
        if values:
            cleaned[key] = values
    if not errors and not any(cleaned.get(k) for k in TARGETING_KEYS):
        errors.setdefault("criteria", []).append(
            gettext(
                "Choose at least one targeting criterion (titles, seniority, departments, industries, "
                "countries, regions, company size or keywords)."
            )
        )
    return cleaned


def clean_order_data(data, *, pricing) -> dict:
    """Validates an order body and returns ``{"type", "target_count", "criteria"}``.

    ``pricing`` is the PricingVersion whose min/max order size bound ``target_count``.
    Raises ValidationFailed with ``extra={"fields": {field: [messages]}}``; never partial.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise ValidationFailed(gettext("The order must be an object."), extra={"fields": {}})
    order_type = data.get("type", "list")
    if order_type not in ORDER_TYPES:
        errors.setdefault("type", []).append(gettext("Choose “list” or “mql”."))
    target = data.get("target_count")
    if target is None or target == "":
        errors.setdefault("target_count", []).append(gettext("How many leads do you want?"))
    elif isinstance(target, bool) or not isinstance(target, int):
        errors.setdefault("target_count", []).append(gettext("Enter a whole number."))
    elif not (pricing.min_order_size <= target <= pricing.max_order_size):
        errors.setdefault("target_count", []).append(
            gettext("Order between %(min)s and %(max)s leads.")
            % {"min": pricing.min_order_size, "max": pricing.max_order_size}
        )
    criteria = clean_criteria(data.get("criteria", {}), errors)
    if errors:
        raise ValidationFailed(gettext("Please correct the errors in the order."), extra={"fields": errors})
    return {"type": order_type, "target_count": target, "criteria": criteria}
