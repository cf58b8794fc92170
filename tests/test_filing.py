"""Filing city policies with the province: submit, certify, verify, official evaluation, results workflow."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from fineco_rules import PolicyError, load_policy, make_plugin_host
from fineco_rules.cli import main
from fineco_rules.governance import FilingError, Registry, generate_keys, load_private_key, load_public_key
from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
    CityKey,
    canonical,
    certify_city_key,
    sha256,
)

from .conftest import ROOT

SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


@pytest.fixture(autouse=True)
def _checkpoint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered checkpoints go to the test's own folder, not the user's cache."""
    monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_keys(tmp_path / "keys")


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the shipped policies, so tests can tamper with them."""
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def city_key(tmp_path: Path, keys: tuple[Path, Path], city: str = "320500") -> CityKey:
    """A city's key pair, registered by the province (its signed city-key statement)."""
    private, public = generate_keys(tmp_path / "city-keys", city)
    cert = certify_city_key(city, load_public_key(public), load_private_key(keys[0]), "省金融稳定办")
    return CityKey(load_private_key(private), cert)


def filed(tmp_path: Path, policy_path: Path, keys: tuple[Path, Path], *, certify: bool = True):  # type: ignore[no-untyped-def]
    host = make_plugin_host()
    registry = Registry(tmp_path / "registry")
    policy = load_policy(policy_path, host=host)
    subject = registry.submit_filing(policy, host, "苏州市金融稳定办", "备案", key=city_key(tmp_path, keys))
    if certify:
        registry.certify("filing", subject, "省金融稳定办", load_private_key(keys[0]), "审核通过")
    return registry, subject, host


class TestFiling:
    def test_filing_records_every_dependency(self, tmp_path, keys, policies):
        """A filing lists every policy file in the chain and every plugin with distribution, version and code hash."""
        registry, subject, _ = filed(tmp_path, policies / "cities/suzhou/suzhou-2008.yaml", keys)
        record = json.loads((registry.root / "filings" / f"{subject}.json").read_text("utf-8"))
        assert [(f["id"], f["version"]) for f in record["files"]] == [
            ("suzhou-fineco-county", "2008"),
            ("jiangsu-fineco-county", "2008"),
            ("jiangsu-fineco-county", "2007"),
        ]
        plugins = {p["scorer"]: p for p in record["plugins"]}
        assert plugins["suzhou_inclusive_finance"]["distribution"] == "fineco-suzhou"
        assert plugins["suzhou_inclusive_finance"]["distribution_version"] == "1.0.0"
        assert len(plugins["credit_environment"]["sha256"]) == 64

    def test_official_evaluation_of_a_certified_filing(self, tmp_path, keys, policies):
        """A certified, unchanged policy is accepted and the filing named."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, subject, host = filed(tmp_path, path, keys)
        assert registry.official(load_policy(path, host=host), host, load_public_key(keys[1])) == subject

    def refused(self, registry, path, host, keys) -> list[str]:  # type: ignore[no-untyped-def]
        with pytest.raises(FilingError) as info:
            registry.official(load_policy(path, host=host), host, load_public_key(keys[1]))
        return [p.code for p in info.value.problems]

    def test_uncertified_is_refused(self, tmp_path, keys, policies):
        """A filing that was only submitted does not make evaluation official."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, _, host = filed(tmp_path, path, keys, certify=False)
        assert self.refused(registry, path, host, keys) == ["not-certified"]

    def test_tampered_policy_file_is_refused(self, tmp_path, keys, policies):
        """Editing any file of the chain after certification is caught, naming the file."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, _, host = filed(tmp_path, path, keys)
        parent = policies / "jiangsu/jiangsu-2007.yaml"
        parent.write_text(parent.read_text("utf-8").replace("min_total: 60", "min_total: 50"), "utf-8")
        with pytest.raises(FilingError) as info:
            registry.official(load_policy(path, host=host), host, load_public_key(keys[1]))
        assert info.value.problem.code == "not-as-filed"
        assert "policy file jiangsu-2007.yaml (jiangsu-fineco-county 2007) changed" in info.value.problem.message

    def test_tampered_plugin_is_refused(self, tmp_path, keys, monkeypatch):
        """A plugin whose code changed after filing is refused, naming the plugin."""
        package = tmp_path / "src" / "cityplug"
        package.mkdir(parents=True)
        code = """
            from decimal import Decimal
            from fineco_rules import Better, Label, Scored, Scorer, hookimpl

            class Local(Scorer):
                name = "local_method"
                version = "1.0"
                label = Label("本地", "local")
                params_schema = {"type": "object"}

                def reads(self, params):
                    return {"a": Better.HIGHER}

                def build(self, params, max_score):
                    return lambda values: Scored(values["a"] * max_score)

            @hookimpl
            def fineco_scorers():
                return [Local()]
        """
        (package / "__init__.py").write_text(textwrap.dedent(code), "utf-8")
        monkeypatch.syspath_prepend(str(tmp_path / "src"))
        import cityplug  # type: ignore[import-not-found]

        host = make_plugin_host(plugins=[cityplug])
        from .conftest import SMALL

        policy_path = tmp_path / "p.yaml"
        policy_path.write_text(
            SMALL.replace(
                "scorer: linear\n    params: {input: a, worst: 0, best: 1}", "scorer: local_method\n    params: {}"
            ),
            "utf-8",
        )
        registry = Registry(tmp_path / "registry")
        policy = load_policy(policy_path, host=host)
        subject = registry.submit_filing(policy, host, "city", "", key=city_key(tmp_path, keys))
        registry.certify("filing", subject, "province", load_private_key(keys[0]))
        assert registry.official(load_policy(policy_path, host=host), host, load_public_key(keys[1])) == subject
        (package / "__init__.py").write_text(textwrap.dedent(code).replace("* max_score", "* max_score * 1"), "utf-8")
        with pytest.raises(FilingError) as info:
            registry.official(load_policy(policy_path, host=host), host, load_public_key(keys[1]))
        assert "the code of plugin" in info.value.problem.message
        sys.modules.pop("cityplug", None)

    def test_tampered_log_entry_is_detected(self, tmp_path, keys, policies):
        """Editing a past log entry breaks its hash: verify says which line, and official use is refused."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, _, host = filed(tmp_path, path, keys)
        lines = registry.log_path.read_text("utf-8").splitlines()
        lines[0] = lines[0].replace("苏州市金融稳定办", "someone else")
        registry.log_path.write_text("\n".join(lines) + "\n", "utf-8")
        problems = registry.verify(load_public_key(keys[1]))
        assert [(p.code, p.location.line) for p in problems] == [("entry-edited", 1)]
        assert self.refused(registry, path, host, keys) == ["entry-edited"]

    def test_removed_log_entry_breaks_the_chain(self, tmp_path, keys, policies):
        """Dropping an entry from the middle of the log is detected."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry = filed(tmp_path, path, keys)[0]
        registry.revoke(registry.statuses(None)[0].subject, "省办", "test", load_private_key(keys[0]))
        lines = registry.log_path.read_text("utf-8").splitlines()
        registry.log_path.write_text("\n".join([lines[0], lines[2]]) + "\n", "utf-8")
        assert [p.code for p in registry.verify(None)] == ["chain-broken"]

    def test_forged_certification_is_refused(self, tmp_path, keys, policies):
        """Someone who can write the folder but lacks the key cannot certify, even with a valid-looking chain."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, subject, host = filed(tmp_path, path, keys, certify=False)
        impostor = generate_keys(tmp_path / "impostor")
        registry.certify("filing", subject, "省金融稳定办", load_private_key(impostor[0]))
        assert registry.verify(None) == []  # the chain itself is intact
        assert "bad-signature" in self.refused(registry, path, host, keys)

    def test_missing_signature_is_refused(self, tmp_path, keys, policies):
        """A certify entry without a signature, chained correctly, does not certify."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, subject, host = filed(tmp_path, path, keys, certify=False)
        record = json.loads((registry.root / "filings" / f"{subject}.json").read_text("utf-8"))
        registry._append(  # noqa: SLF001  # forging an entry needs the registry's own writer, as an attacker's would
            {
                "kind": "filing",
                "subject": subject,
                "action": "certify",
                "who": "x",
                "why": "",
                "sha256": sha256(canonical(record)),
            }
        )
        assert "bad-signature" in self.refused(registry, path, host, keys)

    def test_revoked_filing_is_refused(self, tmp_path, keys, policies):
        """A revoked filing no longer makes evaluation official."""
        path = policies / "cities/suzhou/suzhou-2008.yaml"
        registry, subject, host = filed(tmp_path, path, keys)
        registry.revoke(subject, "省金融稳定办", "replaced by a new method", load_private_key(keys[0]))
        assert self.refused(registry, path, host, keys) == ["not-certified"]
        [status] = registry.statuses(load_public_key(keys[1]))
        assert status.state == "revoked"
        assert [(e["action"], e["who"], e["why"]) for e in status.history][-1] == (
            "revoke",
            "省金融稳定办",
            "replaced by a new method",
        )

    def test_only_the_submitted_can_be_certified(self, tmp_path, keys, policies):
        """Certifying twice, or an unknown filing, is refused."""
        registry, subject, _ = filed(tmp_path, policies / "cities/suzhou/suzhou-2008.yaml", keys)
        with pytest.raises(FilingError) as info:
            registry.certify("filing", subject, "x", load_private_key(keys[0]))
        assert info.value.problem.code == "wrong-state"
        with pytest.raises(FilingError) as unknown:
            registry.certify("filing", "nope", "x", load_private_key(keys[0]))
        assert unknown.value.problem.code == "unknown-subject"


class TestCityRules:
    """What a city may change, each breach found with both files' places."""

    def city(self, policies: Path, text: str) -> Path:
        path = policies / "cities" / "test" / "city.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = textwrap.dedent("""\
            id: test-city
            version: "2008"
            label: {zh: 测试市, en: test city}
            effective_from: 2008-01-01
            effective_until: 2009-12-31
            extends: {id: jiangsu-fineco-county, version: "2008", path: ../../jiangsu}
        """)
        path.write_text(header + textwrap.dedent(text), "utf-8")
        return path

    def breaches(self, path: Path) -> list[tuple[str, str, str | None]]:
        with pytest.raises(PolicyError) as info:
            load_policy(path)
        return [(p.code, p.message, str(p.see) if p.see else None) for p in info.value.problems]

    def test_stricter_is_allowed(self, policies):
        """Lower NPL ceiling, higher lines, added indicators within bounds: all allowed."""
        assert load_policy(policies / "cities/suzhou/suzhou-2008.yaml").grades[0].min_total == 65

    def test_looser_npl_gate(self, policies):
        """An NPL ceiling above the province's 6 % is refused at both places."""
        path = self.city(policies, "grades:\n  pass:\n    gates:\n      npl_below_6pct: {value: 0.07}\n")
        [(code, message, see)] = self.breaches(path)
        assert code == "not-stricter"
        assert message == "grades.pass.gates.npl_below_6pct is 0.07, looser than the province's 0.06"
        assert see is not None and "jiangsu-2007.yaml" in see

    def test_lower_pass_line(self, policies):
        """A pass line below the province's is refused."""
        path = self.city(policies, "grades:\n  pass:\n    min_total: 55\n")
        assert self.breaches(path)[0][:2] == (
            "not-stricter",
            "grades.pass.min_total is 55, looser than the province's 60",
        )

    def test_changed_operator(self, policies):
        """A gate may not change what it compares."""
        path = self.city(policies, "grades:\n  pass:\n    gates:\n      npl_below_6pct: {op: '<'}\n")
        assert self.breaches(path)[0][0] == "not-stricter"

    def test_removed_required_indicator(self, policies):
        """Dropping awareness and satisfaction is refused twice over: the indicator and its inputs."""
        path = self.city(policies, "indicators:\n  satisfaction: null\n  service: {points: 20}\n")
        codes = {code for code, _, _ in self.breaches(path)}
        assert codes == {"required-indicator", "required-input"}

    def test_removed_veto(self, policies):
        """The one-vote veto must stay."""
        path = self.city(policies, "vetoes:\n  illegal_fundraising: null\n")
        assert [c for c, _, _ in self.breaches(path)] == ["required-veto"]

    def test_points_out_of_bounds(self, policies):
        """Moving points between environments is allowed only within the province's bounds."""
        path = self.city(policies, "indicators:\n  legal: {points: 25}\n  internal: {points: 10}\n")
        found = self.breaches(path)
        assert sorted((c, m) for c, m, _ in found) == [
            ("out-of-bounds", "groups.financial is 10, outside the range 15 to 25 the province allows"),
            ("out-of-bounds", "groups.legal is 25, outside the range 10 to 20 the province allows"),
        ]

    def test_city_cannot_change_the_constraints(self, policies):
        """Only the province writes constraints."""
        path = self.city(policies, "constraints:\n  keep_vetoes: []\n")
        assert "constraint-changed" in [c for c, _, _ in self.breaches(path)]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


class TestWorkflowEndToEnd:
    def test_submit_certify_evaluate_review_certify_publish(self, capsys, tmp_path):
        """The whole workflow from the command line, as the docs show it."""
        reg, keys = tmp_path / "registry", tmp_path / "keys"
        assert run(capsys, "filing", "keygen", "--out", keys)[0] == 0
        assert run(capsys, "filing", "keygen", "--city", "320500", "--out", keys)[0] == 0
        register = ["--public", keys / "320500.pub", "--by", "省办", "--key", keys / "province.key"]
        assert run(capsys, "filing", "register-city", "--city", "320500", *register)[0] == 0
        city = ["--key", keys / "320500.key"]
        code, out, _ = run(
            capsys, "filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市", "--why", "备案", *city
        )
        filing = out.strip()
        assert code == 0 and filing.startswith("suzhou-fineco-county-2008-")
        evaluate = [
            "evaluate",
            "--official",
            "--registry",
            reg,
            "--trust",
            keys / "province.pub",
            "--policy",
            SUZHOU,
            DATA,
            "--city",
            "320500",
            "--format",
            "json",
            "-q",
        ]
        code, _, err = run(capsys, *evaluate)
        assert code == 1 and f"filing {filing} is submitted, not certified by the trusted key" in err
        assert (
            run(capsys, "filing", "certify", filing, "--registry", reg, "--by", "省办", "--key", keys / "province.key")[
                0
            ]
            == 0
        )
        code, out, _ = run(capsys, *evaluate, "-o", tmp_path / "r.json", *city)
        assert code == 0
        results = json.loads((tmp_path / "r.json").read_text("utf-8"))
        assert results["official"] == {"filing": filing}
        assert [r["county"] for r in results["results"]] == ["320581", "320582", "320583", "320584", "320585"]
        trust = ["--trust", keys / "province.pub"]
        code, out, _ = run(
            capsys, "results", "submit", tmp_path / "r.json", "--registry", reg, "--by", "苏州市", *city, *trust
        )
        subject = out.strip()
        code, _, err = run(
            capsys,
            "results",
            "publish",
            subject,
            "--registry",
            reg,
            "--by",
            "省办",
            "--trust",
            keys / "province.pub",
            "--key",
            keys / "province.key",
        )
        assert code == 1 and "only results the province certified are published" in err
        review = ["results", "review", subject, "--registry", reg, "--by", "苏州市初审", "--why", "ok", *city]
        assert run(capsys, *review)[0] == 0
        assert (
            run(
                capsys, "results", "certify", subject, "--registry", reg, "--by", "省办", "--key", keys / "province.key"
            )[0]
            == 0
        )
        code, _, _ = run(
            capsys,
            "results",
            "publish",
            subject,
            "--registry",
            reg,
            "--by",
            "省办",
            "--trust",
            keys / "province.pub",
            "--key",
            keys / "province.key",
            "-o",
            tmp_path / "public.json",
        )
        assert code == 0
        public = json.loads((tmp_path / "public.json").read_text("utf-8"))
        # issue 14: 对外公布 is the list of counties named 良好/达标 with their method, no figures
        assert set(public) == {"kind", "year", "city", "city_name", "method", "set", "results"}
        assert all(set(c) == {"county", "name", "city", "title", "grade"} for c in public["results"])
        assert "intermediaries_not_reported" not in json.dumps(public)  # internal to the offices
        code, out, _ = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys / "province.pub")
        assert code == 0 and "6 log entries, chain intact" in out
        code, out, _ = run(capsys, "filing", "status", "--registry", reg, "--trust", keys / "province.pub")
        assert "certified" in out and "published" in out

    def test_unofficial_results_cannot_be_submitted(self, capsys, tmp_path, keys):
        """Results of an unofficial evaluation say so, and cannot enter review."""
        code, out, _ = run(capsys, "evaluate", "--policy", SUZHOU, DATA, "--format", "json", "-q")
        assert json.loads(out)["official"] is False
        (tmp_path / "r.json").write_text(out, "utf-8")
        city_key(tmp_path, keys)
        cert = certify_city_key(
            "320500", load_public_key(tmp_path / "city-keys/320500.pub"), load_private_key(keys[0]), "省办"
        )
        (tmp_path / "city-keys/320500.cert.json").write_text(json.dumps(cert), "utf-8")
        signed = ["--key", tmp_path / "city-keys/320500.key", "--trust", keys[1]]
        code, _, err = run(
            capsys, "results", "submit", tmp_path / "r.json", "--registry", tmp_path / "reg", "--by", "x", *signed
        )
        assert code == 1 and "unofficial evaluation" in err


class TestReadmeExample:
    def test_the_readme_filing_example_runs_as_written(self, tmp_path):
        """The README's filing block, run verbatim by sh in a copy of the repository, succeeds at every line."""
        import os
        import re
        import subprocess

        text = (ROOT / "README.md").read_text("utf-8")
        block = re.search(r"A city's own method.*?```sh\n(.*?)```", text, re.S)
        assert block is not None
        for name in ("policies", "examples"):
            shutil.copytree(ROOT / name, tmp_path / name)
        env = os.environ | {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "FINECO_CACHE_DIR": str(tmp_path / "cache"),
        }
        done = subprocess.run(
            ["sh", "-e", "-c", block.group(1)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        attestation = json.loads((tmp_path / "suzhou-2008.json.attestation.json").read_text("utf-8"))
        assert attestation["signatures"][0]["certificate"]["city"] == "320500"
        assert [e["action"] for e in Registry(tmp_path / "registry").entries()] == ["submit", "certify", "submit"]
