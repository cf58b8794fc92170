"""Filing and results in Chinese (issue 17): every line of the filing journey and its refusals reads in Chinese
with ``--lang zh``, and stays as it was in English with ``--lang en``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fineco_rules.cli import main

from .conftest import ROOT, english_words

SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
JIANGSU = ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml"
DATA = ROOT / "examples" / "jiangsu-2008.csv"
READ = (SUZHOU, JIANGSU, DATA)


@pytest.fixture(autouse=True)
def _checkpoint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered checkpoints go to the test's own folder, not the user's cache."""
    monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "cache"))


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


class Journey:
    """The filing journey from the command line, each step in one language; ``texts`` keeps what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str], tmp_path: Path, lang: str) -> None:
        self.capsys, self.tmp, self.lang = capsys, tmp_path, lang
        self.reg, self.keys = tmp_path / "registry", tmp_path / "keys"
        self.texts: list[str] = []
        self.names: list[str] = []

    def step(self, *args: object, code: int = 0) -> tuple[str, str]:
        got, out, err = run(self.capsys, *args, "--lang", self.lang)
        self.texts.append(out + err)
        assert got == code, out + err
        return out, err

    @property
    def trust(self) -> list[object]:
        return ["--trust", self.keys / "province.pub"]

    @property
    def province(self) -> list[object]:
        return ["--key", self.keys / "province.key"]

    @property
    def city(self) -> list[object]:
        return ["--key", self.keys / "320500.key"]

    def evaluate(self, *more: object, code: int = 0, registry: Path | None = None) -> tuple[str, str]:
        evaluate = ["evaluate", "--official", "--registry", registry or self.reg, *self.trust, "--policy", SUZHOU, DATA]
        return self.step(*evaluate, "--city", "320500", "--format", "json", "-q", *more, code=code)

    def keys_and_filing(self) -> str:
        self.step("filing", "keygen", "--out", self.keys)
        self.step("filing", "keygen", "--city", "320500", "--out", self.keys)
        register = ["--public", self.keys / "320500.pub", "--by", "省办", *self.province]
        self.step("filing", "register-city", "--city", "320500", *register)
        out, _ = self.step("filing", "submit", SUZHOU, "--registry", self.reg, "--by", "苏州市", *self.city)
        filing = out.strip()
        self.names.append(filing)
        return filing

    def whole(self) -> tuple[str, str]:
        """Keys, filing, certify, official run, results submit, review, certify, publish, status, titles, verify."""
        filing = self.keys_and_filing()
        self.step("filing", "certify", filing, "--registry", self.reg, "--by", "省办", *self.province)
        self.evaluate("-o", self.tmp / "r.json", *self.city)
        submit = ["results", "submit", self.tmp / "r.json", "--registry", self.reg, "--by", "苏州市", "--year", 2008]
        out, _ = self.step(*submit, *self.city, *self.trust)
        subject = out.strip()
        self.names.append(subject)
        review = ["results", "review", subject, "--registry", self.reg, "--by", "苏州市初审", *self.city]
        self.step(*review, "--return", "320582=数据有误")
        self.step("results", "certify", subject, "--registry", self.reg, "--by", "省办", *self.province)
        publish = ["results", "publish", subject, "--registry", self.reg, "--by", "省办", *self.trust, *self.province]
        self.step(*publish, "-o", self.tmp / "public.json")
        self.step("results", "status", subject, "--registry", self.reg, *self.trust)
        self.step("results", "titles", "--registry", self.reg, *self.trust)
        self.step("filing", "status", "--registry", self.reg, *self.trust)
        self.step("filing", "verify", "--registry", self.reg, *self.trust)
        self.step("results", "verify", self.tmp / "r.json", "--registry", self.reg, *self.trust)
        return filing, subject

    def english(self) -> list[str]:
        """English words printed, apart from what the test wrote: paths, ids, key ids and the commands to type."""
        certificates = sorted(self.keys.glob("*.cert.json"))
        commands = "fineco filing register-city"
        return english_words("\n".join(self.texts), *READ, *certificates, *self.names, commands)


class TestJourneyInChinese:
    def test_every_step_prints_chinese(self, capsys, tmp_path):
        """Keys, filing, 审核认定, official run, 报送, 初审, 公布, status, titles and verify print no English."""
        journey = Journey(capsys, tmp_path, "zh")
        journey.whole()
        assert journey.english() == []

    def test_exact_lines(self, capsys, tmp_path):
        """The steps' own lines, in Chinese."""
        journey = Journey(capsys, tmp_path, "zh")
        filing, subject = journey.whole()
        text = "\n".join(journey.texts)
        assert f"{filing}：审核认定已记录\n" in text
        assert f"{subject}：初审已记录（通过 4 个，退回更正 1 个，不予认定 0 个）\n" in text
        assert f"{subject}：审核认定已记录\n" in text
        assert f"公钥：{tmp_path / 'keys' / 'province.pub'}（交给需要核验的各方）\n" in text
        assert "日志共 6 条，哈希链完整，记录一致；签名和检查点均已核验" in text
        assert re.search(r"\n320582 +退回更正 +数据有误\n", text)

    def test_english_is_unchanged(self, capsys, tmp_path):
        """With --lang en the same journey prints today's English lines."""
        journey = Journey(capsys, tmp_path, "en")
        filing, subject = journey.whole()
        text = "\n".join(journey.texts)
        assert f"{filing}: certify recorded\n" in text
        assert f"{subject}: review recorded (通过 approved 4, 退回 returned 1, 不予认定 rejected 0)\n" in text
        assert f"{subject}: certify recorded\n" in text
        assert "6 log entries, chain intact, records match; signatures and checkpoints checked" in text
        assert re.search(r"\n320582 +退回更正 returned for correction +数据有误\n", text)


class TestRefusalsInChinese:
    def test_unfiled_and_uncertified_policy(self, capsys, tmp_path):
        """An official run under a policy never filed, then under one filed but not certified, is refused in
        Chinese."""
        journey = Journey(capsys, tmp_path, "zh")
        filing = journey.keys_and_filing()
        (tmp_path / "empty").mkdir()
        _, err = journey.evaluate(code=1, registry=tmp_path / "empty")
        assert f"suzhou-fineco-county 2008 从未在 {tmp_path / 'empty'} 备案" in err
        _, err = journey.evaluate(code=1)
        assert f"备案 {filing} 的状态为“已报送”，未经受信任密钥审核认定" in err
        assert journey.english() == [], journey.texts

    def test_wrong_key_certifies_nothing(self, capsys, tmp_path):
        """The city's key cannot certify: the refusal names the role in Chinese."""
        journey = Journey(capsys, tmp_path, "zh")
        filing = journey.keys_and_filing()
        _, err = journey.step(
            "filing", "certify", filing, "--registry", journey.reg, "--by", "省办", *journey.city, code=2
        )
        assert "是省辖市 320500 的密钥；只有省里的密钥才能审核认定" in err
        assert journey.english() == [], journey.texts

    def test_tampered_registry(self, capsys, tmp_path):
        """An edited log entry is reported by verify and stops the official run, in Chinese."""
        journey = Journey(capsys, tmp_path, "zh")
        filing = journey.keys_and_filing()
        journey.step("filing", "certify", filing, "--registry", journey.reg, "--by", "省办", *journey.province)
        log = journey.reg / "log.jsonl"
        entries = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
        entries[0]["who"] = "别人"
        log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), "utf-8")
        _, err = journey.step("filing", "verify", "--registry", journey.reg, *journey.trust, code=2)
        assert "日志第 1 条在写入后被改动（请从版本库恢复日志）" in err
        journey.evaluate(code=1)
        assert journey.english() == [], journey.texts

    def test_unknown_results_and_bad_decision(self, capsys, tmp_path):
        """Reviewing a set the registry does not hold, and a return without a reason, are refused in Chinese."""
        journey = Journey(capsys, tmp_path, "zh")
        journey.keys_and_filing()
        review = [
            "results",
            "review",
            "nope-1-000000000000",
            "--registry",
            journey.reg,
            "--by",
            "苏州市",
            *journey.city,
        ]
        _, err = journey.step(*review, code=1)
        assert "备案登记簿中没有结果集“nope-1-000000000000”（已有：无）" in err
        _, err = journey.step(*review, "--return", "320581", code=1)
        assert "--return“320581”没有写理由" in err
        journey.names.append("nope-1-000000000000")
        assert journey.english() == [], journey.texts

    def test_official_run_without_trust(self, capsys, tmp_path):
        """An official run without the province's public key is refused in Chinese."""
        journey = Journey(capsys, tmp_path, "zh")
        _, err = journey.step("evaluate", "--official", "--registry", journey.reg, "--policy", SUZHOU, DATA, code=2)
        assert err.startswith("fineco：错误：")  # the rest of the line is cli/_common's (converted by the lead)

    def test_english_refusal_is_unchanged(self, capsys, tmp_path):
        """With --lang en a refusal reads as before."""
        journey = Journey(capsys, tmp_path, "en")
        filing = journey.keys_and_filing()
        _, err = journey.evaluate(code=1)
        assert f"filing {filing} is submitted, not certified by the trusted key" in err


class TestYearInChinese:
    def test_year_run_prints_chinese(self, capsys, tmp_path):
        """`fineco year --lang zh` prints its problems, verdict line and table in Chinese."""
        setup = ROOT / "examples" / "province" / "2008.yaml"
        code, out, err = run(capsys, "year", setup, "-o", tmp_path / "out", "--lang", "zh")
        assert code == 1  # 2008's Suzhou method needs last year's titles
        assert out.startswith("2008年度：目标是否达成尚无法判定\n省辖市    考核办法")
        assert "但未给出上年度称号登记册（请在年度考核安排中给出 `last_year:`" in err
        assert english_words(out + err, setup, SUZHOU) == []

    def test_year_run_in_english_is_unchanged(self, capsys, tmp_path):
        """With --lang en the year run prints today's English line and table head."""
        setup = ROOT / "examples" / "province" / "2008.yaml"
        code, out, err = run(capsys, "year", setup, "-o", tmp_path / "out", "--lang", "en")
        assert code == 1
        assert out.startswith("2008: targets undecided\n市 city   办法 method")
        assert "gives good only to last year's passing counties (from_pass: last_year)" in err

    def test_bad_setup_in_chinese(self, capsys, tmp_path):
        """A setup with an unknown key, a bad year and a missing file is refused in Chinese."""
        setup = tmp_path / "year.yaml"
        setup.write_text('year: "x"\nroster: nowhere.csv\nprovince: p.yaml\ncities: {}\nextra: 1\n', "utf-8")
        code, _, err = run(capsys, "year", setup, "-o", tmp_path / "out", "--lang", "zh")
        assert code == 1
        assert "year 处：“x”不是年份（如 2008）" in err
        assert english_words(err, setup) == []


class TestRollupInChinese:
    HOUSEHOLDS = ROOT / "examples" / "households-small.csv"
    POLICY = ROOT / "policies" / "households" / "credit-household-2008.yaml"

    def bad_file(self, tmp_path: Path) -> Path:
        """Four good households, one without its village code and one with a negative loan balance."""
        lines = self.HOUSEHOLDS.read_text("utf-8").splitlines()[:5]
        head = lines[0].split(",")
        no_village = lines[1].split(",")
        no_village[head.index("village")] = ""
        negative = lines[2].split(",")
        negative[head.index("loan_balance")] = "-5"
        path = tmp_path / "households.csv"
        path.write_text("\n".join([*lines, ",".join(no_village), ",".join(negative)]) + "\n", "utf-8")
        return path

    def test_bad_rows_in_chinese(self, capsys, tmp_path):
        """`fineco rollup --lang zh` reports bad household rows in Chinese."""
        path = self.bad_file(tmp_path)
        code, _, err = run(capsys, "rollup", "--policy", self.POLICY, path, "--lang", "zh", "-q")
        assert code == 1
        assert "households.csv:6，第 5 条记录，" in err
        assert "缺少村代码，该农户无法计入（请在“village”列填写该农户所属村的代码）" in err
        assert "汇总需要“loan_balance”，但“-5”是负数" in err
        assert english_words(err, path, self.POLICY) == []

    def test_summary_line(self, capsys, tmp_path):
        """The closing line on stderr reads in Chinese, and as before in English."""
        path = self.bad_file(tmp_path)
        _, _, err = run(capsys, "rollup", "--policy", self.POLICY, path, "--lang", "zh")
        assert "共 6 行，不合规 2 行，1 个县（市）（按列计算，每块 50000 行）\n" in err
        _, _, err = run(capsys, "rollup", "--policy", self.POLICY, path, "--lang", "en")
        assert "6 rows, 2 bad, 1 counties (columnar engine, 50000 rows a chunk)\n" in err
