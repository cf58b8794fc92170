"""`fineco year` graded officially: each city under its own certified filing, from a registry with city keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from fineco_rules import load_policy, make_plugin_host
from fineco_rules.governance._filing import (  # private unit under test: the city-key helpers
    CityKey,
    Registry,
    certify_city_key,
    generate_keys,
    load_private_key,
    load_public_key,
)
from fineco_rules.province import load_year, run_year
from fineco_rules.province._titles import titles_from_register  # a private unit: not yet public

from .conftest import ROOT

PROVINCE = ROOT / "examples" / "province"
CITIES = {"320100": "nanjing", "320200": "wuxi"}


@pytest.fixture(autouse=True)
def _checkpoint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered checkpoints go to the test's own folder, not the user's cache."""
    monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "cache"))


def _registry(tmp_path: Path) -> tuple[Path, Path]:
    """The province's keys, a key per city registered by the province, and each city's 2010 method filed by the
    city (signed with its key) and certified by the province."""
    private, public = generate_keys(tmp_path / "keys")
    province = load_private_key(private)
    registry = Registry(tmp_path / "registry")
    host = make_plugin_host()
    for city, folder in CITIES.items():
        city_private, city_public = generate_keys(tmp_path / "city-keys", city)
        cert = certify_city_key(city, load_public_key(city_public), province, "省金融稳定办")
        key = CityKey(load_private_key(city_private), cert)
        policy_path = ROOT / "policies" / "cities" / folder / f"{folder}-2010.yaml"
        subject = registry.submit_filing(
            load_policy(policy_path, host=host), host, f"{city}金融稳定办", "备案", key=key
        )
        registry.certify("filing", subject, "省金融稳定办", province, "审核通过")
    return tmp_path / "registry", public


def _setup(tmp_path: Path, registry: Path, trust: Path, methods: dict[str, str]) -> Path:
    lines = [
        "year: 2010",
        f"roster: {PROVINCE / 'roster.csv'}",
        f"province: {ROOT / 'policies' / 'jiangsu'}",
        "cities:",
    ]
    for city, folder in methods.items():
        lines += [
            f'  "{city}":',
            f"    method: {ROOT / 'policies' / 'cities' / folder}",
            f"    data: {PROVINCE / '2010' / f'{city}.csv'}",
        ]
    lines += ["official:", f"  registry: {registry}", f"  trust: {trust}"]
    path = tmp_path / "2010.yaml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


class TestOfficialYear:
    def test_each_city_under_its_certified_filing(self, tmp_path: Path):
        """Two cities with certified filings grade officially; the eleven others are reported as not handed in."""
        registry, trust = _registry(tmp_path)
        result = run_year(load_year(_setup(tmp_path, registry, trust, CITIES)))
        runs = {r.city: r for r in result.runs}
        assert sorted(runs) == ["320100", "320200"]
        assert all(r.evaluation.official for r in runs.values())
        assert [r.method.id for r in runs.values()] == ["nanjing-fineco-county", "wuxi-fineco-county"]
        assert result.official is True
        assert [p.code for p in result.problems].count("not-submitted") == 11

    def test_another_citys_filing_is_refused(self, tmp_path: Path):
        """Nanjing's certified method named as Wuxi's is refused (wrong-city) and Wuxi is not graded."""
        registry, trust = _registry(tmp_path)
        result = run_year(load_year(_setup(tmp_path, registry, trust, {"320100": "nanjing", "320200": "nanjing"})))
        assert [r.city for r in result.runs] == ["320100"]
        assert "wrong-city" in [p.code for p in result.problems]

    def test_uncertified_method_is_refused(self, tmp_path: Path):
        """A city whose method was never filed is not graded officially: the run names it."""
        registry, trust = _registry(tmp_path)
        result = run_year(load_year(_setup(tmp_path, registry, trust, {"320300": "xuzhou"})))
        assert result.runs == ()
        assert "not-filed" in [p.code for p in result.problems]


class TestRegisteredTitles:
    def test_revoked_title_is_lost(self):
        """A title the province revoked (摘牌) is held no more: it gives no claim to good this year."""
        rows = [
            {"county": "320581", "name": "常熟市", "city": "320500", "grade": "good", "status": "保持 held"},
            {"county": "320584", "name": "吴江市", "city": "320500", "grade": "pass", "status": "摘牌 revoked"},
        ]
        titles = titles_from_register(rows, 2009)
        assert (titles.holds("320581"), titles.holds("320584")) == (True, False)
        assert (titles.entries["320581"].change, titles.entries["320584"].change) == ("kept", "lost")
