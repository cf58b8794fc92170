"""Official means official: every attack of issue 13 that is defended, reproduced (the catalogue is docs/security.md).

Each attack is tried as an attacker without a private key would; each must be refused with a clear
message (through the CLI: exit 2 or 1, never a traceback) and be reported by ``fineco filing verify``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import ROOT

SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"


@pytest.fixture(autouse=True)
def _checkpoint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The remembered checkpoints go to the test's own folder, not the user's cache."""
    monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def planted_policy(tmp_path: Path, version: str) -> Path:
    """The shipped Suzhou policy with its version replaced (the file loads; only the name is hostile)."""
    target = tmp_path / "policies"

    shutil.copytree(ROOT / "policies", target)
    path = target / "cities" / "suzhou" / "suzhou-2008.yaml"
    text = path.read_text("utf-8")
    path.write_text(re.sub(r"(?m)^version: .*$", f"version: {json.dumps(version)}", text, count=1), "utf-8")
    return path


class TestSafeNames:
    """Ids, versions and names are checked before they touch a path or a line of output."""

    def test_version_with_dot_dot_writes_nothing_outside(self, capsys, tmp_path, keys):
        """A policy version `x/../../../outside/planted` is refused at submit; nothing is written anywhere."""
        path = planted_policy(tmp_path, "x/../../../outside/planted")
        reg = tmp_path / "a" / "b" / "registry"
        capsys.readouterr()
        code, out, err = run(capsys, "filing", "submit", path, "--registry", reg, "--by", "苏州市", *city(keys))
        assert code == 2 and out == ""
        assert "unsafe policy version 'x/../../../outside/planted'" in err
        assert not reg.exists() or list(reg.rglob("*.json")) == []
        assert list(tmp_path.rglob("*planted*")) == []

    def test_newline_in_version_is_refused(self, capsys, tmp_path, keys):
        """A newline in a version (a fake row in `filing status`) is refused."""
        path = planted_policy(tmp_path, "2008\nfiling  fake-2008  certified")
        argv = ["filing", "submit", path, "--registry", tmp_path / "reg", "--by", "苏州市", *city(keys)]
        code, _, err = run(capsys, *argv)
        assert code == 2 and "unsafe policy version" in err

    @pytest.mark.parametrize("policy_id", ["/tmp/absolute", "../../escape", "a/../../b", ".hidden"])
    def test_results_policy_id_cannot_name_a_path(self, capsys, tmp_path, keys, policy_id):
        """A results file whose policy.id is absolute or climbs with `../` is refused; nothing is written."""
        results = {"policy": {"id": policy_id, "version": "1"}, "official": {"filing": "x-1-000000000000"}}
        (tmp_path / "r.json").write_text(json.dumps(results), "utf-8")
        reg = tmp_path / "reg"
        signed = [*city(keys), "--trust", keys[1]]
        code, _, err = run(
            capsys, "results", "submit", tmp_path / "r.json", "--registry", reg, "--by", "苏州市", *signed
        )
        assert code == 2 and "unsafe policy id in the results" in err
        assert list(reg.rglob("*.json")) == [] if reg.exists() else True
        assert not Path("/tmp/absolute-1").exists()

    def test_revoke_of_a_path_is_refused(self, capsys, tmp_path):
        """`revoke ../filings/<id>` is refused as an unsafe id before any file is opened."""
        from fineco_rules.governance import generate_keys

        private, _ = generate_keys(tmp_path / "keys")
        code, _, err = run(
            capsys, "filing", "revoke", "../filings/x", "--registry", tmp_path / "reg", "--by", "省办", "--key", private
        )
        assert code == 2 and "unsafe filing id '../filings/x'" in err

    @pytest.mark.parametrize("who", ["", " ", "a\nb", "../x", "x" * 65])
    def test_blank_or_hostile_by_is_refused(self, capsys, tmp_path, keys, who):
        """`--by ""`, a blank, a line break, a path or an over-long name is refused at submit."""
        argv = ["filing", "submit", SUZHOU, "--registry", tmp_path / "reg", "--by", who, *city(keys)]
        code, _, err = run(capsys, *argv)
        assert code == 2 and "unsafe name (--by)" in err
        assert not (tmp_path / "reg" / "log.jsonl").exists()

    def test_line_break_in_why_is_refused(self, capsys, tmp_path, keys):
        """`--why` is one line of text."""
        argv = ["filing", "submit", SUZHOU, "--registry", tmp_path / "reg", "--by", "苏州市", "--why", "a\nb"]
        code, _, err = run(capsys, *argv, *city(keys))
        assert code == 2 and "unsafe reason (--why)" in err

    def test_key_name_cannot_name_a_path(self, capsys, tmp_path):
        """`keygen --name ../x` is refused."""
        code, _, err = run(capsys, "filing", "keygen", "--out", tmp_path / "keys", "--name", "../x")
        assert code == 2 and "unsafe key name '../x'" in err
        assert not (tmp_path / "x.key").exists()


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """The province's key pair, and city 320500's (keys/320500.key), registered by it through the CLI."""
    from fineco_rules.governance import generate_keys

    province = generate_keys(tmp_path / "keys")
    generate_keys(tmp_path / "keys", "320500")
    register = ["--public", tmp_path / "keys/320500.pub", "--by", "省办", "--key", province[0]]
    assert main([str(a) for a in ["filing", "register-city", "--city", "320500", *register]]) == 0
    capsys.readouterr()
    return province


def city(keys: tuple[Path, Path], code: str = "320500") -> list[object]:
    """``--key`` with the city's private key."""
    return ["--key", keys[0].parent / f"{code}.key"]


def certified(capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: tuple[Path, Path]) -> tuple[Path, str]:
    """A registry holding the Suzhou policy, filed and certified through the CLI; returns (registry, filing id)."""
    reg = tmp_path / "registry"
    capsys.readouterr()
    code, out, _ = run(capsys, "filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市", *city(keys))
    assert code == 0
    filing = out.strip()
    assert run(capsys, "filing", "certify", filing, "--registry", reg, "--by", "省办", "--key", keys[0])[0] == 0
    return reg, filing


def official(capsys: pytest.CaptureFixture[str], reg: Path, keys: tuple[Path, Path], *more: object) -> tuple:
    return run(
        capsys, "evaluate", "--official", "--registry", reg, "--trust", keys[1], "--policy", SUZHOU, DATA,
        "--city", "320500", "--format", "json", "-q", *more,
    )  # fmt: skip


class TestRecordsBySubject:
    """Records are found through the log by their id, never by scanning for a file that claims a field."""

    def test_stray_record_claiming_a_certified_filing_is_ignored_and_reported(self, capsys, tmp_path, keys):
        """An extra filings/*.json naming a certified id with another policy does not make that policy official."""
        reg, filing = certified(capsys, tmp_path, keys)
        record = json.loads((reg / "filings" / f"{filing}.json").read_text("utf-8"))
        jiangsu = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
        record["policy"] = {"id": "jiangsu-fineco-county", "version": "2008"}
        (reg / "filings" / "zz-stray.json").write_text(json.dumps(record), "utf-8")
        code, _, err = run(
            capsys,
            "evaluate",
            "--official",
            "--registry",
            reg,
            "--trust",
            keys[1],
            "--policy",
            jiangsu,
            DATA,
            "-q",
            "--city",
            "320500",
        )
        assert code == 1 and "jiangsu-fineco-county 2008 has never been filed" in err
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "zz-stray.json is in filings/ but no log entry submitted it" in err

    @pytest.mark.parametrize("line", [b"[]", b"null", b"42", b"\xff\xfe{", b"{oops"])
    def test_log_line_that_is_not_an_entry(self, capsys, tmp_path, keys, line):
        """A log line that is not a JSON object (or not UTF-8) is a clear error at that line, exit 2."""
        reg, _ = certified(capsys, tmp_path, keys)
        with (reg / "log.jsonl").open("ab") as log:
            log.write(line + b"\n")
        for argv in (["filing", "verify"], ["filing", "status"]):
            code, _, err = run(capsys, *argv, "--registry", reg, "--trust", keys[1])
            assert code == 2 and "log.jsonl:3: log line 3 is not" in err and "the log is damaged" in err
        code, _, err = official(capsys, reg, keys)
        assert code == 1 and "log line 3 is not" in err

    def test_log_that_is_a_folder(self, capsys, tmp_path):
        """A log.jsonl that is a folder is a clear error, exit 2."""
        (tmp_path / "reg" / "log.jsonl").mkdir(parents=True)
        code, _, err = run(capsys, "filing", "verify", "--registry", tmp_path / "reg")
        assert code == 2 and "cannot read the log: Is a directory" in err

    def test_stray_unparsable_file_in_filings(self, capsys, tmp_path, keys):
        """A stray `{oops` file in filings/ blocks nothing: official runs go on; verify reports it."""
        reg, filing = certified(capsys, tmp_path, keys)
        (reg / "filings" / "oops.json").write_text("{oops", "utf-8")
        code, out, _ = official(capsys, reg, keys)
        assert code == 0 and json.loads(out)["official"] == {"filing": filing}
        code, _, err = run(capsys, "filing", "verify", "--registry", reg)
        assert code == 2 and "oops.json is in filings/ but no log entry submitted it" in err

    def test_damaged_record_of_a_logged_filing(self, capsys, tmp_path, keys):
        """A filed record overwritten with junk is reported as damaged, and no longer certifies anything."""
        reg, filing = certified(capsys, tmp_path, keys)
        (reg / "filings" / f"{filing}.json").write_text("[1, 2]", "utf-8")
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and f"the record of filing {filing} is damaged" in err
        code, _, err = official(capsys, reg, keys)
        assert code == 1 and "has never been filed" in err


def lines(reg: Path) -> list[str]:
    return (reg / "log.jsonl").read_text("utf-8").splitlines()


def rechain(reg: Path, kept: list[dict]) -> None:
    """Rewrite the log as an attacker with write access but no key would: renumber and recompute every hash."""
    from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
        GENESIS,
        canonical,
        sha256,
    )

    prev, out = GENESIS, []
    for n, entry in enumerate(kept, 1):
        body = {k: v for k, v in entry.items() if k != "hash"} | {"seq": n, "prev": prev}
        body["hash"] = prev = sha256(canonical(body))
        out.append(json.dumps(body, ensure_ascii=False, sort_keys=True))
    (reg / "log.jsonl").write_text("\n".join(out) + "\n", "utf-8")


class TestAnchoredLog:
    """A signed checkpoint (log length and head hash) at each certify and revoke; the log must hold it."""

    def revoked(self, capsys, tmp_path, keys) -> tuple[Path, str]:
        reg, filing = certified(capsys, tmp_path, keys)
        argv = ["filing", "revoke", filing, "--registry", reg, "--by", "省办", "--why", "撤销", "--key", keys[0]]
        assert run(capsys, *argv)[0] == 0
        return reg, filing

    def test_deleting_the_trailing_revoke_is_caught(self, capsys, tmp_path, keys):
        """Without its last line the chain is intact, but the checkpoint written at revoke vouches for 3 entries."""
        reg, _ = self.revoked(capsys, tmp_path, keys)
        (reg / "log.jsonl").write_text("\n".join(lines(reg)[:2]) + "\n", "utf-8")
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "the log has 2 entries but a checkpoint signed at" in err and "vouches for 3" in err
        code, _, err = official(capsys, reg, keys)
        assert code == 1 and "entries were removed" in err

    def test_trailing_revoke_deleted_with_the_checkpoint_is_caught_by_the_cache(self, capsys, tmp_path, keys):
        """Deleting the revoke line and checkpoint.json too: the checkpoint remembered at revoke still catches it."""
        reg, _ = self.revoked(capsys, tmp_path, keys)
        (reg / "log.jsonl").write_text("\n".join(lines(reg)[:2]) + "\n", "utf-8")
        (reg / "checkpoint.json").unlink()
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "vouches for 3: entries were removed" in err

    def test_an_older_checkpoint_put_back_is_caught_by_a_given_one(self, capsys, tmp_path, keys, monkeypatch):
        """Putting back the checkpoint of the certify (and no cache): --checkpoint FILE kept elsewhere catches it."""
        reg, filing = certified(capsys, tmp_path, keys)
        older = (reg / "checkpoint.json").read_bytes()
        argv = ["filing", "revoke", filing, "--registry", reg, "--by", "省办", "--key", keys[0]]
        assert run(capsys, *argv)[0] == 0
        kept = tmp_path / "kept-checkpoint.json"
        kept.write_bytes((reg / "checkpoint.json").read_bytes())
        (reg / "log.jsonl").write_text("\n".join(lines(reg)[:2]) + "\n", "utf-8")
        (reg / "checkpoint.json").write_bytes(older)
        monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "fresh-cache"))
        assert run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])[0] == 0  # nothing to hold it to
        monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "another-cache"))
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1], "--checkpoint", kept)
        assert code == 2 and "vouches for 3: entries were removed" in err
        code, _, err = official(capsys, reg, keys, "--checkpoint", kept)
        assert code == 1 and "entries were removed" in err

    def test_mid_log_deletion_with_recomputed_hashes_is_caught(self, capsys, tmp_path, keys):
        """Deleting the revoke from the middle and re-chaining: the chain verifies, the checkpoint does not."""
        reg, _ = self.revoked(capsys, tmp_path, keys)
        jiangsu = ROOT / "policies/jiangsu/jiangsu-2008.yaml"
        run(capsys, "filing", "submit", jiangsu, "--registry", reg, "--by", "省", *city(keys))
        entries = [json.loads(line) for line in lines(reg)]
        rechain(reg, [entries[0], entries[1], entries[3]])
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "log entry 3 is not the one the checkpoint signed at" in err
        assert "the log was rewritten" in err
        code, _, err = official(capsys, reg, keys)
        assert code == 1 and "the log was rewritten" in err

    def test_rewriting_who_and_when_is_caught(self, capsys, tmp_path, keys):
        """Changing who submitted and when, then recomputing every hash: the checkpoint's head no longer matches."""
        reg, _ = certified(capsys, tmp_path, keys)
        entries = [json.loads(line) for line in lines(reg)]
        entries[0] |= {"who": "南京市", "time": "2000-01-01T00:00:00+00:00"}
        rechain(reg, entries)
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "log entry 2 is not the one the checkpoint signed at" in err

    def test_dropping_a_submit_is_caught(self, capsys, tmp_path, keys):
        """Dropping a submit and re-chaining the rest is caught by the checkpoint."""
        reg, _ = certified(capsys, tmp_path, keys)
        entries = [json.loads(line) for line in lines(reg)]
        rechain(reg, entries[1:])
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "vouches for 2: entries were removed" in err

    def test_a_checkpoint_not_signed_by_the_province_is_refused(self, capsys, tmp_path, keys):
        """--checkpoint with a file the trusted key did not sign is refused, exit 2."""
        reg, _ = certified(capsys, tmp_path, keys)
        forged = json.loads((reg / "checkpoint.json").read_text("utf-8")) | {"size": 1}
        (tmp_path / "forged.json").write_text(json.dumps(forged), "utf-8")
        code, _, err = run(
            capsys, "filing", "verify", "--registry", reg, "--trust", keys[1], "--checkpoint", tmp_path / "forged.json"
        )
        assert code == 2 and "not a checkpoint signed by the trusted key" in err


def test_every_test_named_in_the_catalogue_exists():
    """docs/security.md names only tests that exist, and every test of this file is named there."""
    import importlib

    text = (ROOT / "docs" / "security.md").read_text("utf-8")
    named = set(re.findall(r"`tests/(test_\w+)\.py::(\w+)::(\w+)`", text))
    assert named
    for module, cls, test in named:
        found = getattr(importlib.import_module(f"tests.{module}"), cls)
        assert callable(getattr(found, test, None)), f"{module}::{cls}::{test} does not exist"
    here = {
        ("test_security", name, attr)
        for name, value in list(globals().items())
        if name.startswith("Test") and isinstance(value, type)
        for attr in vars(value)
        if attr.startswith("test_")
    }
    assert here - named == set(), "tests missing from docs/security.md"


def evaluated(capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: tuple[Path, Path], *more: object) -> tuple:
    """A certified filing and the output of an official run signed by city 320500: (registry, filing, output)."""
    reg, filing = certified(capsys, tmp_path, keys)
    output = tmp_path / "r.json"
    code, _, err = official(capsys, reg, keys, "-o", output, *more)
    assert code == 0, err
    return reg, filing, output


def submit(capsys: pytest.CaptureFixture[str], reg: Path, keys: tuple[Path, Path], output: Path, code: str = "320500"):
    return run(
        capsys, "results", "submit", output, "--registry", reg, "--by", "苏州市", *city(keys, code), "--trust", keys[1]
    )


def register(capsys: pytest.CaptureFixture[str], keys: tuple[Path, Path], code: str) -> None:
    """Make and register another city's key pair (keys/<code>.key)."""
    from fineco_rules.governance import generate_keys

    generate_keys(keys[0].parent, code)
    argv = ["--public", keys[0].parent / f"{code}.pub", "--by", "省办", "--key", keys[0]]
    assert run(capsys, "filing", "register-city", "--city", code, *argv)[0] == 0


def append_entry(reg: Path, entry: dict) -> None:
    """Append an entry with a correct hash chain, as someone with write access but no key would."""
    from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
        canonical,
        sha256,
    )

    last = json.loads(lines(reg)[-1])
    body = {"seq": last["seq"] + 1, "time": last["time"], **entry, "prev": last["hash"]}
    body["hash"] = sha256(canonical(body))
    with (reg / "log.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")


class TestAttestedResults:
    """`results submit` accepts only an output whose attestation (signed by the city) verifies against the registry."""

    def test_the_attestation_names_output_filing_fingerprint_inputs_and_city(self, capsys, tmp_path, keys):
        """`evaluate --official -o FILE --key` writes FILE.attestation.json: an in-toto statement, signed."""
        from fineco_rules.governance import load_private_key
        from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
            canonical,
            key_id,
            sha256,
        )

        reg, filing, output = evaluated(capsys, tmp_path, keys, *city(keys))
        att = json.loads((tmp_path / "r.json.attestation.json").read_text("utf-8"))
        statement = att["statement"]
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["subject"] == [{"name": "r.json", "digest": {"sha256": sha256(output.read_bytes())}}]
        record = json.loads((reg / "filings" / f"{filing}.json").read_text("utf-8"))
        predicate = statement["predicate"]
        assert predicate["filing"] == filing and predicate["city"] == "320500"
        assert predicate["policy_fingerprint"] == sha256(canonical(record))
        assert predicate["inputs"] == [{"name": DATA.name, "sha256": sha256(DATA.read_bytes())}]
        [signature] = att["signatures"]
        assert signature["keyid"] == key_id(load_private_key(keys[0].parent / "320500.key").public_key())

    def test_hand_edited_output_is_refused_and_reported(self, capsys, tmp_path, keys):
        """An official output with every grade set to good no longer matches its attestation: refused, exit 2."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        data = json.loads(output.read_text("utf-8"))
        for row in data["results"]:
            row["grade"] = "good"
        output.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
        code, out, err = submit(capsys, reg, keys, output)
        assert code == 2 and out == ""
        assert "the results are not the output that was attested: they were changed after the run" in err
        assert not (reg / "results").exists()
        code, _, err = run(capsys, "results", "verify", output, "--registry", reg, "--trust", keys[1])
        assert code == 2 and "r.json: the results are not the output that was attested" in err

    def test_unofficial_run_edited_to_claim_a_filing_is_refused(self, capsys, tmp_path, keys):
        """An unofficial run hand-edited to name a certified filing has no attestation: refused."""
        reg, filing = certified(capsys, tmp_path, keys)
        code, out, _ = run(capsys, "evaluate", "--policy", SUZHOU, DATA, "--city", "320500", "--format", "json", "-q")
        data = json.loads(out) | {"official": {"filing": filing}}
        (tmp_path / "r.json").write_text(json.dumps(data), "utf-8")
        code, _, err = submit(capsys, reg, keys, tmp_path / "r.json")
        assert code == 1 and "no attestation of an official evaluation" in err

    def test_unsigned_attestation_is_refused(self, capsys, tmp_path, keys):
        """Without --key the run writes an unsigned statement, which `results submit` refuses."""
        reg, _, output = evaluated(capsys, tmp_path, keys)
        assert json.loads((tmp_path / "r.json.attestation.json").read_text("utf-8"))["signatures"] == []
        code, _, err = submit(capsys, reg, keys, output)
        assert code == 1 and "the attestation is not signed by a city's key" in err

    def test_attestation_signed_by_an_unregistered_key_is_refused(self, capsys, tmp_path, keys):
        """A city-key statement the city signed itself (not the province) does not make a signature count."""
        from fineco_rules.governance import generate_keys, load_private_key, load_public_key
        from fineco_rules.governance._filing import (
            certify_city_key,  # private unit under test (fineco_rules.governance._filing)
        )

        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        rogue, rogue_pub = generate_keys(tmp_path / "rogue", "320500")
        cert = certify_city_key("320500", load_public_key(rogue_pub), load_private_key(rogue), "苏州市")
        (tmp_path / "rogue" / "320500.cert.json").write_text(json.dumps(cert), "utf-8")
        code, _, err = run(
            capsys, "evaluate", "--official", "--registry", reg, "--trust", keys[1], "--policy", SUZHOU, DATA,
            "--city", "320500", "--format", "json", "-q", "-o", output, "--key", rogue,
        )  # fmt: skip
        assert code == 0
        code, _, err = run(
            capsys, "results", "submit", output, "--registry", reg, "--by", "苏州市", "--key", rogue, "--trust", keys[1]
        )
        assert code == 2 and "the attestation's signature is not by a city key the province registered" in err

    def test_another_citys_key_cannot_submit_its_results(self, capsys, tmp_path, keys):
        """Suzhou's attested output submitted with Nanjing's registered key is refused as the wrong role."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        register(capsys, keys, "320100")
        code, _, err = submit(capsys, reg, keys, output, "320100")
        assert code == 2 and "these results were attested by city 320500" in err and "city 320100's" in err

    def test_result_set_changed_in_the_registry_is_reported_by_results_verify(self, capsys, tmp_path, keys):
        """`results verify` is clean on an honest registry and exit 2 once a stored set is edited."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        code, out, _ = submit(capsys, reg, keys, output)
        assert code == 0
        subject = out.strip()
        code, out, _ = run(capsys, "results", "verify", output, "--registry", reg, "--trust", keys[1])
        assert code == 0 and "1 result sets and 1 files match their attestations" in out
        stored = reg / "results" / f"{subject}.json"
        data = json.loads(stored.read_text("utf-8"))
        data["results"][0]["score"] = "100"
        stored.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and f"results {subject} changed after entry 3 (submit)" in err


def published(capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: tuple[Path, Path]) -> tuple[Path, str, Path]:
    """Submitted, reviewed, certified (not yet published): (registry, result set id, output)."""
    reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
    subject = submit(capsys, reg, keys, output)[1].strip()
    argv = ["results", "review", subject, "--registry", reg, "--by", "苏州市初审", *city(keys)]
    assert run(capsys, *argv)[0] == 0
    argv = ["results", "certify", subject, "--registry", reg, "--by", "省办", "--key", keys[0]]
    assert run(capsys, *argv)[0] == 0
    return reg, subject, output


class TestPublish:
    """Publishing uses the filed policy's internal list, writes before it logs, and never moves a set backwards."""

    def test_the_internal_list_is_the_filed_policys(self):
        """`public_export` leaves out the inputs the filing lists, whatever the submitted file's `internal` says."""
        from fineco_rules.governance._filing import (
            public_export,  # private unit under test (fineco_rules.governance._filing)
        )

        record = {
            "policy": {"id": "p", "version": "1", "internal": []},
            "results": [{"county": "320581", "indicators": {"a": {"score": 1, "inputs": {"x": 1, "y": 2}}}}],
        }
        export = public_export(record, ["x"])
        assert export["results"][0]["indicators"]["a"]["inputs"] == {"y": 2}
        assert export["policy"] == {"id": "p", "version": "1"}

    def test_the_filing_records_the_internal_inputs(self, capsys, tmp_path, keys):
        """The filed record lists the policy's internal inputs, so publishing never needs the submitted file's."""
        reg, filing = certified(capsys, tmp_path, keys)
        record = json.loads((reg / "filings" / f"{filing}.json").read_text("utf-8"))
        assert "intermediaries_not_reported" in record["internal"]

    def test_publish_into_a_missing_folder_logs_nothing(self, capsys, tmp_path, keys):
        """`publish -o missing/x.json` fails before logging, and publishing properly afterwards works."""
        reg, subject, _ = published(capsys, tmp_path, keys)
        before = lines(reg)
        argv = ["results", "publish", subject, "--registry", reg, "--by", "省办", "--trust", keys[1], "--key", keys[0]]
        code, _, err = run(capsys, *argv, "-o", tmp_path / "missing" / "public.json")
        assert code == 1 and "the folder of" in err and "nothing was published" in err
        assert lines(reg) == before
        code, _, _ = run(capsys, *argv, "-o", tmp_path / "public.json")
        assert code == 0 and "intermediaries_not_reported" not in (tmp_path / "public.json").read_text("utf-8")
        assert json.loads(lines(reg)[-1])["action"] == "publish"

    def test_a_failed_write_logs_nothing(self, tmp_path, capsys, keys):
        """When writing the export fails, the publish entry is not appended."""
        from fineco_rules.governance import FilingError, Registry, load_private_key, load_public_key

        reg, subject, _ = published(capsys, tmp_path, keys)
        before = lines(reg)

        def deliver(export: dict) -> None:
            raise OSError(28, "No space left on device")

        with pytest.raises(FilingError, match="cannot write the public export: No space left on device"):
            Registry(reg).publish(subject, "省办", load_public_key(keys[1]), deliver, key=load_private_key(keys[0]))
        assert lines(reg) == before

    def test_resubmitting_a_published_set_is_refused(self, capsys, tmp_path, keys):
        """Submitting a published set again is refused; it stays published."""
        reg, subject, output = published(capsys, tmp_path, keys)
        argv = ["results", "publish", subject, "--registry", reg, "--by", "省办", "--trust", keys[1], "--key", keys[0]]
        assert run(capsys, *argv, "-o", tmp_path / "public.json")[0] == 0
        code, _, err = submit(capsys, reg, keys, output)
        assert code == 1 and f"results {subject} were submitted already and are published" in err
        code, out, _ = run(capsys, "filing", "status", "--registry", reg, "--trust", keys[1])
        assert [row.split()[2] for row in out.splitlines() if row.startswith("results")] == ["published"]


class TestSignedRoles:
    """Cities sign their submits and reviews with keys the province registered; the province certifies; no swaps."""

    def test_a_city_key_cannot_certify(self, capsys, tmp_path, keys):
        """`filing certify --key <city key>` is refused as the wrong role; nothing is logged."""
        reg = tmp_path / "registry"
        filing = run(capsys, "filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市", *city(keys))[1].strip()
        before = lines(reg)
        code, _, err = run(capsys, "filing", "certify", filing, "--registry", reg, "--by", "苏州市", *city(keys))
        assert code == 2 and "is city 320500's key; only the province's key may certify" in err
        assert lines(reg) == before

    def test_one_city_cannot_review_anothers_results(self, capsys, tmp_path, keys):
        """Nanjing's registered key reviewing Suzhou's result set is refused as the wrong role."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        subject = submit(capsys, reg, keys, output)[1].strip()
        register(capsys, keys, "320100")
        argv = ["results", "review", subject, "--registry", reg, "--by", "南京市", *city(keys, "320100")]
        code, _, err = run(capsys, *argv)
        assert code == 2 and "were submitted by city 320500; key" in err and "is city 320100's" in err

    def test_a_hand_appended_review_is_ignored_and_reported(self, capsys, tmp_path, keys):
        """An unsigned review appended with a correct chain is reported by verify and certifies nothing."""
        from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
            canonical,
            sha256,
        )

        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        subject = submit(capsys, reg, keys, output)[1].strip()
        stored = json.loads((reg / "results" / f"{subject}.json").read_text("utf-8"))
        entry = {"kind": "results", "subject": subject, "action": "review", "who": "苏州市初审", "why": ""}
        append_entry(reg, entry | {"sha256": sha256(canonical(stored))})
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and f"the review entry 4 for {subject} is not signed by a city key" in err
        argv = ["results", "certify", subject, "--registry", reg, "--by", "省办", "--key", keys[0]]
        code, _, err = run(capsys, *argv)
        assert code == 2 and "only a reviewed one can be certified" in err

    def test_an_unsigned_submit_never_becomes_official(self, capsys, tmp_path, keys):
        """A filing submitted without a city signature cannot be certified, and never makes a run official."""
        from fineco_rules import load_policy, make_plugin_host
        from fineco_rules.governance import FilingError, Registry, load_private_key

        host = make_plugin_host()
        reg = tmp_path / "registry"
        with pytest.raises(FilingError, match="a city's step must be signed with its key"):
            Registry(reg).submit_filing(load_policy(SUZHOU, host=host), host, "苏州市")
        subject = Registry(reg, signed_steps=False).submit_filing(load_policy(SUZHOU, host=host), host, "苏州市")
        with pytest.raises(FilingError, match="is not signed by a city key"):
            Registry(reg).certify("filing", subject, "省办", load_private_key(keys[0]))
        Registry(reg, signed_steps=False).certify("filing", subject, "省办", load_private_key(keys[0]))
        code, _, err = official(capsys, reg, keys)
        assert code == 1 and f"the submit entry 1 for {subject} is not signed by a city key" in err
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "is not signed by a city key the province registered" in err

    def test_a_city_key_the_province_never_registered_is_refused(self, capsys, tmp_path, keys):
        """A city key without the province's city-key statement cannot sign anything."""
        from fineco_rules.governance import generate_keys

        generate_keys(tmp_path / "other", "320100")
        argv = ["filing", "submit", SUZHOU, "--registry", tmp_path / "reg", "--by", "南京市"]
        code, _, err = run(capsys, *argv, "--key", tmp_path / "other" / "320100.key")
        assert code == 1 and "this key was never registered by the province" in err

    def test_a_self_signed_city_statement_certifies_nothing(self, capsys, tmp_path, keys):
        """A submit signed with a key whose city-key statement the city signed itself is ignored under --trust."""
        from fineco_rules.governance import generate_keys, load_private_key, load_public_key
        from fineco_rules.governance._filing import (
            certify_city_key,  # private unit under test (fineco_rules.governance._filing)
        )

        rogue, rogue_pub = generate_keys(tmp_path / "rogue", "320500")
        cert = certify_city_key("320500", load_public_key(rogue_pub), load_private_key(rogue), "苏州市")
        (tmp_path / "rogue" / "320500.cert.json").write_text(json.dumps(cert), "utf-8")
        reg = tmp_path / "registry"
        code, out, _ = run(capsys, "filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市", "--key", rogue)
        assert code == 0
        run(capsys, "filing", "certify", out.strip(), "--registry", reg, "--by", "省办", "--key", keys[0])
        code, _, err = official(capsys, reg, keys)
        assert code == 1 and "is not signed by a city key the province registered" in err

    def test_status_names_the_key_that_signed_each_step(self, capsys, tmp_path, keys):
        """`filing status` lists each step with the id of the key that signed it."""
        from fineco_rules.governance import load_private_key
        from fineco_rules.governance._filing import key_id  # private unit under test (fineco_rules.governance._filing)

        reg, _ = certified(capsys, tmp_path, keys)
        province = key_id(load_private_key(keys[0]).public_key())
        suzhou = key_id(load_private_key(keys[0].parent / "320500.key").public_key())
        code, out, _ = run(capsys, "filing", "status", "--registry", reg, "--trust", keys[1])
        assert code == 0 and f"submit:{suzhou} certify:{province}" in out

    def test_rewriting_a_signed_step_after_the_checkpoint_is_caught(self, capsys, tmp_path, keys):
        """A city step after the newest checkpoint, rewritten and re-chained, no longer carries a valid signature."""
        reg, _ = certified(capsys, tmp_path, keys)
        jiangsu = ROOT / "policies/jiangsu/jiangsu-2008.yaml"
        assert run(capsys, "filing", "submit", jiangsu, "--registry", reg, "--by", "苏州市", *city(keys))[0] == 0
        entries = [json.loads(line) for line in lines(reg)]
        entries[2] |= {"who": "南京市"}
        rechain(reg, entries)
        code, _, err = run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "log.jsonl:3: the submit entry 3" in err and "is not signed by a city key" in err


class TestCrashSafety:
    """A step killed half-way can be done again."""

    def test_a_record_left_without_its_entry_does_not_block_resubmit(self, capsys, tmp_path, keys):
        """A filing record written by a process killed before it logged: submitting again files it."""
        first = tmp_path / "first"
        filing = run(capsys, "filing", "submit", SUZHOU, "--registry", first, "--by", "苏州市", *city(keys))[1].strip()
        reg = tmp_path / "registry"
        (reg / "filings").mkdir(parents=True)
        shutil.copy(first / "filings" / f"{filing}.json", reg / "filings")
        code, out, _ = run(capsys, "filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市", *city(keys))
        assert code == 0 and out.strip() == filing
        assert run(capsys, "filing", "certify", filing, "--registry", reg, "--by", "省办", "--key", keys[0])[0] == 0
        assert run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])[0] == 0


def province(keys: tuple[Path, Path]) -> list[object]:
    """``--key`` with the province's private key and ``--trust`` with its public key."""
    return ["--key", keys[0], "--trust", keys[1]]


def grades(output: Path) -> dict[str, str]:
    return {r["county"]: r["grade"] for r in json.loads(output.read_text("utf-8"))["results"]}


class TestJurisdiction:
    """A filing records its city; an official run grades only that city's counties under that city's filing."""

    def test_the_filing_records_the_city_of_the_key_that_signed_it(self, capsys, tmp_path, keys):
        """The filed record names city 320500, the city of the key that submitted it."""
        reg, filing = certified(capsys, tmp_path, keys)
        assert json.loads((reg / "filings" / f"{filing}.json").read_text("utf-8"))["city"] == "320500"

    def test_official_run_needs_city(self, capsys, tmp_path, keys):
        """`evaluate --official` without `--city` is refused (exit 2), never a province-wide official run."""
        reg, _ = certified(capsys, tmp_path, keys)
        argv = ["evaluate", "--official", "--registry", reg, "--trust", keys[1], "--policy", SUZHOU, DATA, "-q"]
        code, out, err = run(capsys, *argv)
        assert code == 2 and "give --city CODE" in err and out == ""

    def test_another_citys_official_run_under_this_filing_is_refused(self, capsys, tmp_path, keys):
        """`--city 320100` under Suzhou's certified filing is `wrong-city`: it grades nothing."""
        reg, filing = certified(capsys, tmp_path, keys)
        argv = ["evaluate", "--official", "--registry", reg, "--trust", keys[1], "--policy", SUZHOU, DATA]
        code, out, err = run(capsys, *argv, "--city", "320100", "--format", "json", "-q")
        assert code == 1 and f"filing {filing} is city 320500's method, not city 320100's" in err and out == ""

    def test_unknown_city_is_an_error_not_zero_counties(self, capsys, tmp_path, keys):
        """`--city 325000` (no such city) is a clear error, exit 2, not "0 counties" and exit 0."""
        code, out, err = run(capsys, "evaluate", "--policy", SUZHOU, DATA, "--city", "325000", "-q")
        assert code == 2 and "no prefecture city has code 325000" in err and out == ""

    def test_official_run_grades_only_the_citys_counties(self, capsys, tmp_path, keys):
        """The official output holds exactly Suzhou's five counties (matched on the first four digits)."""
        _, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        assert sorted(grades(output)) == ["320581", "320582", "320583", "320584", "320585"]

    def test_no_key_is_made_or_registered_for_an_unknown_city(self, capsys, tmp_path, keys):
        """`keygen --city 325000` and `register-city --city 325000` are refused (`unknown-city`, exit 2)."""
        code, _, err = run(capsys, "filing", "keygen", "--city", "325000", "--out", tmp_path / "k")
        assert code == 2 and "no prefecture city has code 325000" in err and not (tmp_path / "k").exists()
        argv = ["--public", keys[1], "--by", "省办", "--key", keys[0], "-o", tmp_path / "c.json"]
        code, _, err = run(capsys, "filing", "register-city", "--city", "325000", *argv)
        assert code == 2 and "no prefecture city has code 325000" in err and not (tmp_path / "c.json").exists()


def reviewed(capsys, tmp_path, keys, *decisions: object) -> tuple[Path, str, Path]:
    """A Suzhou set submitted (year 2008) and reviewed with ``decisions``: (registry, set id, output)."""
    reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
    code, out, err = run(capsys, "results", "submit", output, "--registry", reg, "--by", "苏州市", *city(keys),
                         "--trust", keys[1], "--year", "2008")  # fmt: skip
    assert code == 0, err
    subject = out.strip()
    code, _, err = run(capsys, "results", "review", subject, "--registry", reg, "--by", "苏州市初审", *city(keys),
                       *decisions)  # fmt: skip
    assert code == 0, err
    return reg, subject, output


def county_status(capsys, reg: Path, subject: str, keys) -> dict[str, str]:
    code, out, _ = run(capsys, "results", "status", subject, "--registry", reg, "--trust", keys[1])
    assert code == 0
    return {row.split()[0]: row.split()[1] for row in out.splitlines()[2:]}


class TestPerCountyDecisions:
    """初审 and 审核认定 decide each county: approve, return with a reason, or reject; returned ones are corrected."""

    def test_review_and_certify_decide_each_county(self, capsys, tmp_path, keys):
        """The city returns one county and rejects one; the province certifies two and returns one."""
        reg, subject, _ = reviewed(
            capsys, tmp_path, keys, "--approve", "320581,320582,320584", "--return", "320583=数据待核实",
            "--reject", "320585=材料不全",
        )  # fmt: skip
        argv = ["results", "certify", subject, "--registry", reg, "--by", "省办", "--key", keys[0]]
        assert run(capsys, *argv, "--return", "320584=复核")[0] == 0
        assert county_status(capsys, reg, subject, keys) == {
            "320581": "审核认定", "320582": "审核认定", "320583": "退回更正", "320584": "退回更正",
            "320585": "不予认定",
        }  # fmt: skip
        review = next(json.loads(x) for x in lines(reg) if json.loads(x)["action"] == "review")
        assert review["decisions"]["320583"] == {"decision": "return", "reason": "数据待核实"}

    def test_with_approve_every_county_must_be_named(self, capsys, tmp_path, keys):
        """`--approve` with a county left undecided is refused (`bad-decision`), nothing logged."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        subject = submit(capsys, reg, keys, output)[1].strip()
        before = lines(reg)
        argv = ["results", "review", subject, "--registry", reg, "--by", "苏州市", *city(keys), "--approve", "320581"]
        code, _, err = run(capsys, *argv)
        assert code == 1 and "320582, 320583, 320584, 320585 are not decided" in err and lines(reg) == before

    def test_a_return_needs_a_reason(self, capsys, tmp_path, keys):
        """`--return 320583=` (blank reason) is refused."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        subject = submit(capsys, reg, keys, output)[1].strip()
        argv = ["results", "review", subject, "--registry", reg, "--by", "苏州市", *city(keys), "--return", "320583="]
        code, _, err = run(capsys, *argv)
        assert code == 1 and "county 320583: a return needs a reason" in err

    def test_a_returned_county_is_corrected_without_redoing_the_rest(self, capsys, tmp_path, keys):
        """A new attested run for the returned county alone is submitted with `--corrects` and certified."""
        reg, subject, _ = reviewed(capsys, tmp_path, keys, "--return", "320583=数据待核实")
        rows = DATA.read_text("utf-8").splitlines()
        fixed = tmp_path / "fixed.csv"
        fixed.write_text(
            "\n".join([rows[0], *(r.replace(",synthetic", ",corrected") for r in rows if r.startswith("320583")), ""]),
            "utf-8",
        )
        output = tmp_path / "fix.json"
        code, _, err = run(capsys, "evaluate", "--official", "--registry", reg, "--trust", keys[1], "--policy", SUZHOU,
                           fixed, "--city", "320500", "--format", "json", "-q", "-o", output, *city(keys))  # fmt: skip
        assert code == 0, err
        argv = ["results", "submit", output, "--registry", reg, "--by", "苏州市", *city(keys), "--trust", keys[1]]
        code, out, err = run(capsys, *argv, "--corrects", subject, "--year", "2008")
        assert code == 0, err
        fix = out.strip()
        assert county_status(capsys, reg, subject, keys)["320583"] == "已更正重报"
        assert run(capsys, "results", "review", fix, "--registry", reg, "--by", "苏州市", *city(keys))[0] == 0
        assert run(capsys, "results", "certify", fix, "--registry", reg, "--by", "省办", "--key", keys[0])[0] == 0
        assert county_status(capsys, reg, fix, keys) == {"320583": "审核认定"}
        assert run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])[0] == 0

    def test_only_returned_counties_can_be_corrected(self, capsys, tmp_path, keys):
        """A correction of a set that returned nothing is refused (`not-returned`), nothing written."""
        reg, subject, output = reviewed(capsys, tmp_path, keys)
        argv = ["results", "submit", output, "--registry", reg, "--by", "苏州市", *city(keys), "--trust", keys[1]]
        code, _, err = run(capsys, *argv, "--corrects", subject)
        assert code == 1 and "returned: none" in err
        assert sorted(p.name for p in (reg / "results").iterdir()) == [f"{subject}.json"]


class TestTitlesAndPublication:
    """Published sets make the register of titles; 摘牌 and a later lower grade lose a title; 对外公布 is a list."""

    def publish(self, capsys, tmp_path, keys, *certify: object) -> tuple[Path, str, Path]:
        reg, subject, output = reviewed(capsys, tmp_path, keys)
        assert run(capsys, "results", "certify", subject, "--registry", reg, "--by", "省办", "--key", keys[0],
                   *certify)[0] == 0  # fmt: skip
        argv = ["results", "publish", subject, "--registry", reg, "--by", "省办", *province(keys)]
        code, _, err = run(capsys, *argv, "-o", tmp_path / "public.json")
        assert code == 0, err
        return reg, subject, output

    def test_publication_lists_titled_counties_with_their_method_and_no_figures(self, capsys, tmp_path, keys):
        """The export names each 良好/达标 county with year, city and filing; no score, no input, no failing county."""
        _reg, _subject, output = self.publish(capsys, tmp_path, keys)
        public = json.loads((tmp_path / "public.json").read_text("utf-8"))
        titled = {c: g for c, g in grades(output).items() if g in ("good", "pass")}
        assert {c["county"]: c["grade"] for c in public["results"]} == titled
        assert public["year"] == 2008 and public["city"] == "320500" and public["city_name"] == "苏州市"
        assert public["method"]["filing"] == json.loads(output.read_text("utf-8"))["official"]["filing"]
        assert "score" not in json.dumps(public) and "npl_ratio" not in json.dumps(public)

    def test_a_publication_reads_as_last_years_titled_counties(self, capsys, tmp_path, keys):
        """`LastYear.from_mapping` reads a publication: exactly the counties named 良好/达标, with their grades."""
        from fineco_rules.analysis import LastYear

        _, _, output = self.publish(capsys, tmp_path, keys)
        last = LastYear.from_mapping(json.loads((tmp_path / "public.json").read_text("utf-8")))
        titled = {c: g for c, g in grades(output).items() if g in ("good", "pass")}
        assert {c: r.grade.value for c, r in last.results.items() if r.grade} == titled

    def test_publish_is_signed_by_the_province_with_a_checkpoint(self, capsys, tmp_path, keys):
        """The publish entry carries the province's signature and the checkpoint covers it."""
        reg, _, _ = self.publish(capsys, tmp_path, keys)
        entry = json.loads(lines(reg)[-1])
        assert entry["action"] == "publish" and "signature" in entry
        assert json.loads((reg / "checkpoint.json").read_text("utf-8"))["size"] == entry["seq"]

    def test_an_unsigned_publish_entry_is_ignored(self, capsys, tmp_path, keys):
        """A hand-appended publish entry does not publish the set, and verify reports it (exit 2)."""
        reg, subject, _ = published(capsys, tmp_path, keys)
        append_entry(reg, {"kind": "results", "subject": subject, "action": "publish", "who": "x", "why": "",
                           "sha256": json.loads(lines(reg)[-1])["sha256"]})  # fmt: skip
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "only the province's private key can publish" in err

    def test_titles_register_and_revocation(self, capsys, tmp_path, keys):
        """`results titles` lists each title held; after `results revoke` (摘牌) the county shows as revoked."""
        reg, subject, output = self.publish(capsys, tmp_path, keys)
        titled = sorted(c for c, g in grades(output).items() if g in ("good", "pass"))
        code, out, _ = run(capsys, "results", "titles", "--registry", reg, "--trust", keys[1], "--format", "json")
        rows = json.loads(out)
        assert code == 0 and [r["county"] for r in rows] == titled and {r["status"] for r in rows} == {"保持 held"}
        argv = ["results", "revoke", subject, "--county", f"{titled[0]}=违规", "--registry", reg, "--by", "省办"]
        assert run(capsys, *argv, *province(keys))[0] == 0
        code, out, _ = run(capsys, "results", "titles", "--registry", reg, "--trust", keys[1], "--year", "2008")
        first = next(row for row in out.splitlines() if titled[0] in row)
        assert code == 0 and "摘牌 revoked" in first and "违规" in first

    def test_a_title_is_lost_when_a_later_year_is_lower(self):
        """A county 良好 in 2008 and published 未达标 in 2009 shows as lost in the 2008 row."""
        from fineco_rules.governance._decisions import (
            titles,  # private unit under test (fineco_rules.governance._decisions)
        )

        def one(year: int, grade: str) -> dict:
            meta = {"year": year, "city": "320500", "filing": "f", "policy": None, "set": f"s{year}"}
            rec = {"results": [{"county": "320581", "name": "常熟市", "grade": grade}]}
            return {"record": rec, "states": {"320581": {"state": "published", "reason": ""}}, "meta": meta}

        rows = titles([one(2008, "good"), one(2009, "fail")])
        assert [(r["year"], r["status"], r["reason"]) for r in rows] == [
            (2008, "失去 lost", "2009年评为未达标 / rated fail in 2009")
        ]


def killed(tmp_path: Path, point: str, *argv: object) -> int:
    """Run ``fineco ARGV`` in a subprocess that dies at ``point`` (``$FINECO_TEST_KILL_AT``); its exit code."""
    import os
    import subprocess
    import sys

    env = os.environ | {"FINECO_TEST_KILL_AT": point, "FINECO_CACHE_DIR": str(tmp_path / "cache")}
    code = "import sys; from fineco_rules.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], env=env, timeout=300).returncode


class TestKilledAtEachStep:
    """A process killed at each step boundary leaves a registry that verifies once the step is done again."""

    def test_killed_at_every_boundary_then_verify_resubmit_certify(self, capsys, tmp_path, keys):
        """Submit killed after its record, certify before its checkpoint, publish after its export: all recover."""
        reg, _, output = evaluated(capsys, tmp_path, keys, *city(keys))
        submit_argv = [
            "results",
            "submit",
            output,
            "--registry",
            reg,
            "--by",
            "苏州市",
            *city(keys),
            "--trust",
            keys[1],
        ]
        assert killed(tmp_path, "record-written", *submit_argv) == 137
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "no log entry submitted it" in err  # the record left behind, reported until redone
        code, out, _ = run(capsys, *submit_argv)
        subject = out.strip()
        assert code == 0 and run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])[0] == 0
        assert run(capsys, "results", "review", subject, "--registry", reg, "--by", "苏州市", *city(keys))[0] == 0
        certify = ["results", "certify", subject, "--registry", reg, "--by", "省办", "--key", keys[0]]
        assert killed(tmp_path, "entry-appended", *certify) == 137
        assert run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])[0] == 0
        assert county_status(capsys, reg, subject, keys)["320581"] == "审核认定"
        publish = ["results", "publish", subject, "--registry", reg, "--by", "省办", *province(keys)]
        assert killed(tmp_path, "export-written", *publish, "-o", tmp_path / "p.json") == 137
        assert json.loads(lines(reg)[-1])["action"] == "certify"
        assert run(capsys, *publish, "-o", tmp_path / "p.json")[0] == 0
        assert run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])[0] == 0

    def test_filing_submit_and_certify_killed_then_redone(self, capsys, tmp_path, keys):
        """A filing submit killed after its record and a certify killed before its checkpoint both recover."""
        reg = tmp_path / "registry"
        submit_argv = ["filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市", *city(keys)]
        assert killed(tmp_path, "record-written", *submit_argv) == 137
        code, out, _ = run(capsys, *submit_argv)
        filing = out.strip()
        assert code == 0 and run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])[0] == 0
        certify = ["filing", "certify", filing, "--registry", reg, "--by", "省办", "--key", keys[0]]
        assert killed(tmp_path, "entry-appended", *certify) == 137
        assert run(capsys, "filing", "verify", "--registry", reg, "--trust", keys[1])[0] == 0
        _, _, output = evaluated_in(capsys, tmp_path, reg, keys)
        assert sorted(grades(output)) == ["320581", "320582", "320583", "320584", "320585"]


def evaluated_in(capsys, tmp_path: Path, reg: Path, keys) -> tuple:
    """An official run against ``reg`` (its Suzhou filing certified): (registry, None, output)."""
    output = tmp_path / "r.json"
    code, _, err = official(capsys, reg, keys, "-o", output, *city(keys))
    assert code == 0, err
    return reg, None, output


def gated_on_an_internal_input(tmp_path: Path) -> Path:
    """Jiangsu 2007 with a 良好 gate on its internal input (every bad intermediary reported), so gaps name it."""
    text = (ROOT / "policies" / "jiangsu" / "jiangsu-2007.yaml").read_text("utf-8")
    gate = (
        "    min_total: 80\n    gates:\n      all_reported:\n"
        "        label: {zh: 不良中介全部通报, en: every bad intermediary reported}\n"
        "        input: intermediaries_not_reported\n"
        '        op: "<="\n        value: 0\n'
    )
    assert text.count("    min_total: 80\n    gates:\n") == 1
    path = tmp_path / "jiangsu-2007.yaml"
    path.write_text(text.replace("    min_total: 80\n    gates:\n", gate), "utf-8")
    return path


class TestInternalInReports:
    """No report format prints an internal input's value or target, gap text included."""

    LABEL_ZH = "查实有不良行为但未在金融机构内部通报的中介机构数"
    # County 320282 has 4 such intermediaries; its gap to 良好 requires 0.
    LEAK_ZH = "查实有不良行为但未在金融机构内部通报的中介机构数 从 4 降低到至多 0"

    def reports(self, capsys, tmp_path: Path, lang: str = "zh") -> dict[str, Path]:
        policy = gated_on_an_internal_input(tmp_path)
        out = {kind: tmp_path / f"report.{kind}" for kind in ("html", "xlsx", "csv", "json")}
        args = ["report", "--policy", policy, ROOT / "examples" / "jiangsu-2007.csv", "--lang", lang, "-q"]
        code, _, err = run(capsys, *args, *(x for o in out.values() for x in ("-o", o)))
        assert code == 0, err
        return out

    def test_the_unredacted_step_would_name_the_value(self, tmp_path):
        """The step text without redaction carries the value and target (what the reports must not print)."""
        from fineco_rules import load_policy, read_records
        from fineco_rules.analysis import find_gaps
        from fineco_rules.analysis._explain import step_text  # private unit under test: the gap step text

        policy = load_policy(gated_on_an_internal_input(tmp_path))
        gaps = find_gaps(policy, read_records(ROOT / "examples" / "jiangsu-2007.csv").records)
        step = next(s for s in gaps["320282"].required if s.input == "intermediaries_not_reported")
        assert step_text(step, "zh").startswith(self.LEAK_ZH)

    def test_html_csv_and_json_name_the_input_but_not_its_value(self, capsys, tmp_path):
        """HTML, CSV and JSON say the internal input is not shown, and never its value or target."""
        out = self.reports(capsys, tmp_path)
        for kind in ("html", "csv"):
            text = out[kind].read_text("utf-8")
            assert self.LEAK_ZH not in text
            assert f"{self.LABEL_ZH}（内部指标，不公开）" in text
        data = json.loads(out["json"].read_text("utf-8"))
        gap = next(c["gap"] for c in data["counties"] if c["county"] == "320282")
        hidden = [s for s in gap["required"] if s["input"] == "intermediaries_not_reported"]
        assert hidden == [{"input": "intermediaries_not_reported", "label": hidden[0]["label"], "internal": True}]

    def test_workbook_gap_sheet_hides_value_and_target(self, capsys, tmp_path):
        """The workbook's gap sheet puts "internal figure, not shown" where the value and target would be."""
        from openpyxl import load_workbook

        out = self.reports(capsys, tmp_path, lang="en")
        sheet = load_workbook(out["xlsx"])["Gaps"]
        rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
        internal = [r for r in rows if r[0] == "320282" and r[6] and "not reported" in str(r[6])]
        assert len(internal) == 1
        assert internal[0][7:10] == ["internal figure, not shown", "internal figure, not shown", None]


class TestLocalWitness:
    """After each step it makes, a machine remembers the log's length and head; it refuses a log that lost them."""

    def cut_the_review(self, capsys, tmp_path, keys) -> tuple[Path, str]:
        """A set submitted and reviewed by city 320500 (after the newest checkpoint), then its review line deleted."""
        reg, subject, _ = reviewed(capsys, tmp_path, keys)
        kept = lines(reg)
        assert json.loads(kept[-1])["action"] == "review"
        (reg / "log.jsonl").write_text("\n".join(kept[:-1]) + "\n", "utf-8")
        return reg, subject

    def test_a_removed_review_is_caught_by_the_machine_that_made_it(self, capsys, tmp_path, keys):
        """`filing verify`, `results verify` and `evaluate --official` refuse the log (`log-truncated`)."""
        from fineco_rules.governance import Registry, load_public_key
        from fineco_rules.governance._filing import anchors_for  # private unit under test

        reg, _ = self.cut_the_review(capsys, tmp_path, keys)
        for argv in (["filing", "verify"], ["results", "verify"]):
            code, _, err = run(capsys, *argv, "--registry", reg, "--trust", keys[1])
            assert code == 2
            assert "the log has 3 entries but the head this machine saw at " in err
            assert " 4: entries were removed" in err
        code, _, err = run(capsys, "filing", "verify", "--registry", reg)
        assert code == 2 and " 4: entries were removed" in err
        code, out, err = official(capsys, reg, keys)  # refused as for a checkpoint the log does not hold
        assert code == 1 and out == "" and " 4: entries were removed" in err
        problems = Registry(reg).verify(load_public_key(keys[1]), anchors_for(reg, load_public_key(keys[1])))
        assert [p.code for p in problems] == ["log-truncated"]

    def test_a_replaced_city_step_is_caught_as_diverged(self, capsys, tmp_path, keys):
        """The review line replaced by another entry (the chain recomputed) is `log-diverged`, exit 2."""
        reg, subject = self.cut_the_review(capsys, tmp_path, keys)
        append_entry(reg, {"kind": "results", "subject": subject, "action": "note", "by": "x"})
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "log entry 4 is not the one the head this machine saw at " in err

    def test_a_step_made_on_a_cut_log_does_not_replace_the_head(self, capsys, tmp_path, keys):
        """Reviewing again after the cut leaves the remembered head as it was, so verify still refuses."""
        reg, subject = self.cut_the_review(capsys, tmp_path, keys)
        argv = ["--registry", reg, "--by", "苏州市初审", "--why", "再次初审", *city(keys)]
        code, _, err = run(capsys, "results", "review", subject, *argv)
        assert code == 0, err
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 2 and "log entry 4 is not the one the head this machine saw at " in err

    def test_another_machine_does_not_notice(self, capsys, tmp_path, keys, monkeypatch):
        """The witness is local: with another cache (another machine), the removed review goes unnoticed."""
        reg, _ = self.cut_the_review(capsys, tmp_path, keys)
        monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "another-machine"))
        code, _, err = run(capsys, "results", "verify", "--registry", reg, "--trust", keys[1])
        assert code == 0, err
