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

    def test_version_with_dot_dot_writes_nothing_outside(self, capsys, tmp_path):
        """A policy version `x/../../../outside/planted` is refused at submit; nothing is written anywhere."""
        path = planted_policy(tmp_path, "x/../../../outside/planted")
        reg = tmp_path / "a" / "b" / "registry"
        code, out, err = run(capsys, "filing", "submit", path, "--registry", reg, "--by", "苏州市")
        assert code == 2 and out == ""
        assert "unsafe policy version 'x/../../../outside/planted'" in err
        assert not reg.exists() or list(reg.rglob("*.json")) == []
        assert list(tmp_path.rglob("*planted*")) == []

    def test_newline_in_version_is_refused(self, capsys, tmp_path):
        """A newline in a version (a fake row in `filing status`) is refused."""
        path = planted_policy(tmp_path, "2008\nfiling  fake-2008  certified")
        code, _, err = run(capsys, "filing", "submit", path, "--registry", tmp_path / "reg", "--by", "苏州市")
        assert code == 2 and "unsafe policy version" in err

    @pytest.mark.parametrize("policy_id", ["/tmp/absolute", "../../escape", "a/../../b", ".hidden"])
    def test_results_policy_id_cannot_name_a_path(self, capsys, tmp_path, policy_id):
        """A results file whose policy.id is absolute or climbs with `../` is refused; nothing is written."""
        results = {"policy": {"id": policy_id, "version": "1"}, "official": {"filing": "x-1-000000000000"}}
        (tmp_path / "r.json").write_text(json.dumps(results), "utf-8")
        reg = tmp_path / "reg"
        code, _, err = run(capsys, "results", "submit", tmp_path / "r.json", "--registry", reg, "--by", "苏州市")
        assert code == 2 and "unsafe policy id in the results" in err
        assert list(reg.rglob("*.json")) == [] if reg.exists() else True
        assert not Path("/tmp/absolute-1").exists()

    def test_revoke_of_a_path_is_refused(self, capsys, tmp_path):
        """`revoke ../filings/<id>` is refused as an unsafe id before any file is opened."""
        from fineco_rules.governance._filing import generate_keys

        private, _ = generate_keys(tmp_path / "keys")
        code, _, err = run(
            capsys, "filing", "revoke", "../filings/x", "--registry", tmp_path / "reg", "--by", "省办", "--key", private
        )
        assert code == 2 and "unsafe filing id '../filings/x'" in err

    @pytest.mark.parametrize("who", ["", " ", "a\nb", "../x", "x" * 65])
    def test_blank_or_hostile_by_is_refused(self, capsys, tmp_path, who):
        """`--by ""`, a blank, a line break, a path or an over-long name is refused at submit."""
        code, _, err = run(capsys, "filing", "submit", SUZHOU, "--registry", tmp_path / "reg", "--by", who)
        assert code == 2 and "unsafe name (--by)" in err
        assert not (tmp_path / "reg" / "log.jsonl").exists()

    def test_line_break_in_why_is_refused(self, capsys, tmp_path):
        """`--why` is one line of text."""
        code, _, err = run(
            capsys, "filing", "submit", SUZHOU, "--registry", tmp_path / "reg", "--by", "苏州市", "--why", "a\nb"
        )
        assert code == 2 and "unsafe reason (--why)" in err

    def test_key_name_cannot_name_a_path(self, capsys, tmp_path):
        """`keygen --name ../x` is refused."""
        code, _, err = run(capsys, "filing", "keygen", "--out", tmp_path / "keys", "--name", "../x")
        assert code == 2 and "unsafe key name '../x'" in err
        assert not (tmp_path / "x.key").exists()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    from fineco_rules.governance._filing import generate_keys

    return generate_keys(tmp_path / "keys")


def certified(capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: tuple[Path, Path]) -> tuple[Path, str]:
    """A registry holding the Suzhou policy, filed and certified through the CLI; returns (registry, filing id)."""
    reg = tmp_path / "registry"
    code, out, _ = run(capsys, "filing", "submit", SUZHOU, "--registry", reg, "--by", "苏州市")
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
            capsys, "evaluate", "--official", "--registry", reg, "--trust", keys[1], "--policy", jiangsu, DATA, "-q"
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
    from fineco_rules.governance._filing import GENESIS, canonical, sha256

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
        run(capsys, "filing", "submit", ROOT / "policies/jiangsu/jiangsu-2008.yaml", "--registry", reg, "--by", "省")
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
