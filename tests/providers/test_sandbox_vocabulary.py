"""The sandbox understands every code of the order form's vocabularies (orders.criteria)."""

import pytest

from orders.criteria import DEPARTMENTS, INDUSTRIES, SENIORITIES
from providers import sandbox_data as data
from providers.sandbox import normalise_department, normalise_industry, normalise_seniority


@pytest.mark.parametrize("code", [c for c, _ in SENIORITIES])
def test_every_seniority_code_maps_to_a_sandbox_level(code):
    assert normalise_seniority(code) in data.SENIORITIES


@pytest.mark.parametrize("code", [c for c, _ in DEPARTMENTS])
def test_every_department_code_maps_to_a_sandbox_department(code):
    assert normalise_department(code) in data.DEPARTMENTS


@pytest.mark.parametrize("code", [c for c, _ in INDUSTRIES])
def test_every_industry_code_maps_to_a_readable_label(code):
    label = normalise_industry(code)
    assert "_" not in label and label[0].isupper()


def test_known_industry_codes_use_the_sandbox_companies():
    assert normalise_industry("computer_software") == "Computer Software"
    assert normalise_industry("hospital_health_care") == "Hospital & Health Care"
