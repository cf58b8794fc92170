"""Shared fixtures: a small policy to vary, and Hypothesis profiles."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import fineco_rules

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite reads the command line's messages in English unless a test asks for ``--lang zh``.

    Without ``--lang`` the language follows ``FINECO_LANG`` and the locale (Chinese unless it is an
    English one); tests of that choice set their own environment.
    """
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FINECO_LANG", "en")


#: What may stay in Latin letters in Chinese output: paths and file names, ``--flags``, `quoted` text,
#: acronyms (CSV, YAML, UTF-8), problem codes; everything else must be a name the user wrote.
_NOT_WORDS = re.compile(
    r"\S*[/\\]\S*|\S+\.(?:ya?ml|csv|json|xlsx|html|txt|py)\b|--[a-z][a-z-]*|`[^`]*`|\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b|\b[A-Z][A-Z0-9-]+\b"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z_]*[A-Za-z]")


def english_words(text: str, *written: str | Path) -> list[str]:
    """The English words of ``text`` that are neither a problem code nor in the files or texts the user wrote.

    ``written`` are the files (policy, data) a command read, or extra allowed names; a word in them
    counts as the user's own (a field name, an id). Used to check that Chinese output is Chinese.
    """
    allowed = {str(code) for code in fineco_rules.errors.Code} | {"fineco", "Excel", "LibreOffice", "WPS", "Windows"}
    for item in written:
        source = item.read_text("utf-8", errors="replace") if isinstance(item, Path) else item
        allowed.update(_WORD.findall(source))
    words = _WORD.findall(_NOT_WORDS.sub(" ", text))
    return sorted({w for w in words if w not in allowed})


SMALL = """\
id: test-policy
version: "1"
label: {zh: 测试政策, en: test policy}
effective_from: 2008-01-01
inputs:
  a: {type: ratio, better: higher, label: {zh: 甲, en: a}}
  b: {type: number, min: 0, max: 100, better: higher, label: {zh: 乙, en: b}}
  npl: {type: ratio, better: lower, label: {zh: 不良贷款率, en: NPL ratio}}
indicators:
  ia:
    label: {zh: 甲指标, en: indicator a}
    scorer: linear
    params: {input: a, worst: 0, best: 1}
    weight: 0.5
  ib:
    label: {zh: 乙指标, en: indicator b}
    scorer: linear
    params: {input: b, worst: 0, best: 100}
    weight: 0.5
aggregation: {method: weighted_mean}
grades:
  pass:
    label: {zh: 达标, en: pass}
    min_total: 60
    gates:
      npl_ok: {input: npl, op: "<", value: 0.06}
  good:
    label: {zh: 良好, en: good}
    min_total: 80
"""

WritePolicy = Callable[..., Path]


@pytest.fixture
def write_policy(tmp_path: Path) -> WritePolicy:
    """Write YAML text (dedented) to a file in tmp_path and return its path."""

    def write(text: str = SMALL, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def small(write_policy: WritePolicy) -> fineco_rules.Policy:
    """The small two-indicator policy, loaded."""
    return fineco_rules.load_policy(write_policy())


@pytest.fixture(scope="session")
def province() -> fineco_rules.Policy:
    return fineco_rules.load_policy(ROOT / "policies" / "jiangsu" / "jiangsu-2008.yaml")


@pytest.fixture(scope="session")
def small_session(tmp_path_factory: pytest.TempPathFactory) -> fineco_rules.CompiledPolicy:
    """The small policy, loaded and compiled once for property tests."""
    path = tmp_path_factory.mktemp("small") / "policy.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return fineco_rules.compile_policy(fineco_rules.load_policy(path))
