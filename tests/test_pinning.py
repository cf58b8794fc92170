"""The grading code is part of what is certified: the core's and every loaded plugin's files are pinned (issue 13).

Tests of the private unit ``fineco_rules.governance._pinning``: the core folder it pins is pointed at
a copy so that the copy can be tampered with, and a plugin distribution is installed into a folder
on ``sys.path`` for the length of a test.
"""

from __future__ import annotations

import py_compile
import shutil
import sys
from pathlib import Path

import pytest

from fineco_rules import load_policy, make_plugin_host
from fineco_rules.cli import main
from fineco_rules.governance import (  # private unit under test
    FilingError,
    Registry,
    _pinning,
    generate_keys,
    load_private_key,
    load_public_key,
)
from fineco_rules.governance._filing import (  # private unit under test (fineco_rules.governance._filing)
    CityKey,
    certify_city_key,
)

from .conftest import ROOT

SUZHOU = ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml"
CORE = Path(_pinning.__file__).resolve().parent.parent
ENGINE = Path("engine") / "_engine.py"


@pytest.fixture(autouse=True)
def _checkpoint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered checkpoints go to the test's own folder, not the user's cache."""
    monkeypatch.setenv("FINECO_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the core package (without its bytecode cache), pinned in place of the running one."""
    copy = tmp_path / "site" / "fineco_rules"
    shutil.copytree(CORE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_pinning, "core_root", lambda: copy)
    return copy


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_keys(tmp_path / "keys")


def certified(tmp_path: Path, keys: tuple[Path, Path]) -> Registry:
    """A registry with the Suzhou policy filed by its city and certified by the province."""
    private, public = generate_keys(tmp_path / "city-keys", "320500")
    cert = certify_city_key("320500", load_public_key(public), load_private_key(keys[0]), "省金融稳定办")
    host = make_plugin_host()
    registry = Registry(tmp_path / "registry")
    policy = load_policy(SUZHOU, host=host)
    subject = registry.submit_filing(policy, host, "苏州市", "备案", key=CityKey(load_private_key(private), cert))
    registry.certify("filing", subject, "省办", load_private_key(keys[0]), "审核通过")
    return registry


def refusal(registry: Registry, keys: tuple[Path, Path]) -> FilingError:
    host = make_plugin_host()
    with pytest.raises(FilingError) as info:
        registry.official(load_policy(SUZHOU, host=host), host, load_public_key(keys[1]))
    return info.value


def official(registry: Registry, keys: tuple[Path, Path]) -> str:
    host = make_plugin_host()
    return registry.official(load_policy(SUZHOU, host=host), host, load_public_key(keys[1]))


class TestCorePinned:
    """A core whose files differ from the filed ones is refused."""

    def test_the_filing_pins_the_core_and_every_loaded_plugin(self, tmp_path, keys, core):
        """The filed record names the core and each entry-point plugin with a SHA-256 of its files."""
        registry = certified(tmp_path, keys)
        subject = official(registry, keys)
        pins = registry.record("filing", subject)[1]["code"]
        assert pins["core"]["name"] == "fineco_rules" and pins["core"]["distribution"] == "fineco-rules"
        assert pins["core"]["sha256"] == _pinning.tree_sha256(core)[0]
        names = [p["name"] for p in pins["plugins"]]
        assert {"fineco_credit", "fineco_suzhou"} <= set(names) and names == sorted(names)

    def test_an_edited_core_module_is_refused(self, tmp_path, keys, core):
        """Editing `engine/_engine.py` of the same version after certification makes official runs refuse."""
        registry = certified(tmp_path, keys)
        engine = core / ENGINE
        engine.write_text(engine.read_text("utf-8") + "\n# patched\n", "utf-8")
        error = refusal(registry, keys)
        assert error.problem.code == "not-as-filed"
        assert "the core fineco_rules (fineco-rules " in error.problem.message
        assert "is not the code that was filed: its files differ" in error.problem.message

    def test_an_added_core_file_is_refused(self, tmp_path, keys, core):
        """A new module dropped into the core (a sourceless `x.pyc` too) is refused."""
        registry = certified(tmp_path, keys)
        (core / "engine" / "_extra.pyc").write_bytes(b"planted")
        assert refusal(registry, keys).problem.code == "not-as-filed"

    def test_an_unchanged_core_is_official(self, tmp_path, keys, core):
        """Re-pinning an unchanged core gives the filed pins: the run is official."""
        registry = certified(tmp_path, keys)
        assert official(registry, keys).startswith("suzhou")


class TestBytecode:
    """Bytecode Python would load instead of a source must be that source's."""

    def pyc(self, core: Path, optimize: str = "") -> Path:
        return core / "engine" / "__pycache__" / f"_engine.{sys.implementation.cache_tag}{optimize}.pyc"

    def test_a_planted_pyc_beside_an_unchanged_source_is_refused(self, tmp_path, keys, core):
        """A `__pycache__/_engine.*.pyc` compiled from other code is refused, naming the file and the fix."""
        registry = certified(tmp_path, keys)
        evil = tmp_path / "evil.py"
        evil.write_text((core / ENGINE).read_text("utf-8").replace("def ", "def _x_", 1), "utf-8")
        py_compile.compile(str(evil), cfile=str(self.pyc(core)), doraise=True)
        error = refusal(registry, keys)
        assert [p.code for p in error.problems] == ["stray-bytecode"]
        assert f"compiled bytecode that is not its source's: {self.pyc(core)}" in error.problem.message
        assert "delete the file (or the whole __pycache__ folder under" in (error.problem.hint or "")

    def test_bytecode_of_the_source_itself_is_accepted(self, tmp_path, keys, core):
        """The `.pyc` Python itself writes for the source (plain and -O) does not stop an official run."""
        registry = certified(tmp_path, keys)
        source = str(core / ENGINE)
        py_compile.compile(source, cfile=str(self.pyc(core)), doraise=True)
        py_compile.compile(source, cfile=str(self.pyc(core, ".opt-1")), doraise=True, optimize=1)
        assert official(registry, keys).startswith("suzhou")

    def test_another_interpreters_cache_is_ignored(self, core):
        """A `.pyc` for another interpreter's tag is never loaded by this one, so it is not refused."""
        other = core / "engine" / "__pycache__" / "_engine.cpython-20.pyc"
        other.parent.mkdir(parents=True, exist_ok=True)
        other.write_bytes(b"x" * 64)
        assert _pinning.stray_bytecode(core) == []

    def test_filing_with_stray_bytecode_is_refused(self, tmp_path, keys, core):
        """A filing cannot even be submitted from an install that holds stray bytecode."""
        (tmp_path / "evil.py").write_text("x = 1\n", "utf-8")
        py_compile.compile(str(tmp_path / "evil.py"), cfile=str(self.pyc(core)), doraise=True)
        with pytest.raises(FilingError) as info:
            certified(tmp_path, keys)
        assert info.value.problem.code == "stray-bytecode"


PLUGIN = """
from fineco_rules import hookimpl

import fineco_rules

fineco_rules.PATCHED = True  # a plugin that patches the core on import


@hookimpl
def fineco_scorers():
    return []
"""


@pytest.fixture
def unnamed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A way to install, mid-test, a `fineco_rules` entry-point plugin distribution the filing does not name."""
    site = tmp_path / "plugins-site"

    def install() -> None:
        site.mkdir()
        (site / "sneaky_plugin.py").write_text(PLUGIN, "utf-8")
        info = site / "sneaky_plugin-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sneaky-plugin\nVersion: 0.1\n", "utf-8")
        (info / "entry_points.txt").write_text("[fineco_rules]\nsneaky = sneaky_plugin\n", "utf-8")
        monkeypatch.syspath_prepend(str(site))

    yield install
    sys.modules.pop("sneaky_plugin", None)
    import fineco_rules

    vars(fineco_rules).pop("PATCHED", None)


class TestUnnamedPlugins:
    """An installed `fineco_rules` plugin the filing does not name stops official runs."""

    def test_an_unnamed_installed_plugin_is_refused(self, tmp_path, keys, unnamed_plugin):
        """A plugin installed after certification (it patches the core on import) is refused, by name."""
        registry = certified(tmp_path, keys)
        unnamed_plugin()
        error = refusal(registry, keys)
        assert error.problem.code == "not-as-filed"
        assert (
            "plugin sneaky (sneaky-plugin 0.1) is installed but the filing does not name it: uninstall or block it"
            in error.problem.message
        )

    def test_a_blocked_plugin_is_never_loaded_and_does_not_count(self, tmp_path, keys, unnamed_plugin, monkeypatch):
        """Blocking the unnamed plugin (FINECO_BLOCK_PLUGINS) keeps it out of the process: the run is official."""
        registry = certified(tmp_path, keys)
        unnamed_plugin()
        monkeypatch.setenv("FINECO_BLOCK_PLUGINS", "sneaky")
        assert official(registry, keys).startswith("suzhou")
        assert "sneaky_plugin" not in sys.modules

    def test_a_filed_plugin_that_is_missing_is_refused(self, tmp_path, keys, unnamed_plugin, monkeypatch):
        """A plugin the filing pinned but this install lacks is named as missing."""
        unnamed_plugin()
        registry = certified(tmp_path, keys)
        monkeypatch.setenv("FINECO_BLOCK_PLUGINS", "sneaky")
        message = refusal(registry, keys).problem.message
        assert "plugin sneaky (sneaky-plugin 0.1) was filed but is not installed" in message

    def test_the_cli_refuses_without_a_traceback(self, tmp_path, keys, unnamed_plugin, capsys):
        """`fineco evaluate --official` with an unnamed plugin installed exits non-zero with the reason."""
        registry = certified(tmp_path, keys)
        unnamed_plugin()
        argv = [
            "evaluate",
            "--official",
            "--registry",
            registry.root,
            "--trust",
            keys[1],
            "--policy",
            SUZHOU,
            "--city",
            "320500",
        ]
        code = main([str(a) for a in [*argv, ROOT / "examples" / "jiangsu-2008.csv", "-q"]])
        _, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in err
        assert "is installed but the filing does not name it" in err


class TestOldFilings:
    """A filing made before code was pinned is not official until filed again."""

    def test_a_filing_without_pins_is_refused(self):
        """No `code` in the filed record: the difference says to file again."""
        now = {"core": {"name": "fineco_rules", "sha256": "x"}, "plugins": []}
        assert _pinning.pin_differences(None, now) == [
            "the filing pins no grading code (filed before code was pinned): file it again"
        ]
