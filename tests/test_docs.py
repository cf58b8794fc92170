"""The docs are tested: example policies grade their records, API examples run, hooks and keys are documented."""

from __future__ import annotations

import argparse
import re
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

import fineco_rules
import fineco_rules.policy
from fineco_rules.cli import _main  # private unit under test
from fineco_rules.scoring import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDE = DOCS / "policy-guide.md"
API = DOCS / "api.md"
HOOKS = DOCS / "hooks.md"

_OPEN = re.compile(r"^(?P<indent> {0,3})```(?P<info>[^`]*)$")
_CLOSE = re.compile(r"^ {0,3}```\s*$")


@attrs.frozen
class Block:
    """One fenced code block: its file, the line its fence opens on, info string and text."""

    doc: Path
    line: int
    info: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"


def fenced_blocks(doc: Path) -> list[Block]:
    """Every fenced block in ``doc``, in order, with the fence's indentation removed."""
    found: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not _CLOSE.match(lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        found.append(Block(doc, i + 1, opening["info"].strip(), "\n".join(body) + "\n"))
        i = j + 1
    return found


def docs() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def blocks_with(info: str, *paths: Path) -> list[Block]:
    return [b for doc in (paths or docs()) for b in fenced_blocks(doc) if b.info == info]


def records_after(policy: Block) -> Block | None:
    """The ``csv records`` block that follows ``policy``, before the next ``yaml policy`` block."""
    following = [b for b in fenced_blocks(policy.doc) if b.line > policy.line]
    for block in following:
        if block.info == "yaml policy":
            return None
        if block.info == "csv records":
            return block
    return None


def doc_plugins(doc: Path) -> list[types.ModuleType]:
    """The ``python plugin`` blocks of ``doc``, each executed as a module."""
    modules = []
    for n, block in enumerate(blocks_with("python plugin", doc)):
        module = types.ModuleType(f"docs_plugin_{doc.stem.replace('-', '_')}_{n}")
        exec(compile(block.text, block.id, "exec"), module.__dict__)
        modules.append(module)
    return modules


def section(text: str, heading: str) -> str:
    """The text under the line ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    lines = text.splitlines()
    start = lines.index(heading)
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(rf"^#{{1,{len(level)}}} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start + 1 : end])


def schema_property_names(node: Any) -> Iterator[str]:
    """Every name under a ``properties`` keyword anywhere in a JSON Schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from schema_property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from schema_property_names(item)


def yaml_keys(node: Any) -> Iterator[str]:
    """Every mapping key in parsed YAML."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from yaml_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from yaml_keys(item)


def cli_options(parser: argparse.ArgumentParser, command: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(command, option) for every option of every ``fineco`` command and sub-command, help left out."""
    # argparse has no public way to walk a parser's options and sub-commands.
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                yield " ".join((*command, name)), ""
                yield from cli_options(sub, (*command, name))
        else:
            for option in action.option_strings:
                if option not in {"-h", "--help"}:
                    yield " ".join(command), option


def hook_names() -> list[str]:
    return sorted(name for name, obj in vars(hookspecs).items() if name.startswith("fineco_") and callable(obj))


POLICIES = blocks_with("yaml policy")
FRAGMENTS = [b for doc in docs() for b in fenced_blocks(doc) if b.info in {"yaml", "yaml policy"}]
API_EXAMPLES = blocks_with("python", API) if API.exists() else []
SCORERS = sorted(fineco_rules.make_plugin_host().scorers)
SCHEMA_NAMES = sorted(set(schema_property_names(fineco_rules.policy.policy_schema())))
CLI = sorted(set(cli_options(_main._parser())))  # noqa: SLF001  # the whole parser: a unit of the private CLI module


class TestPolicyExamples:
    """Whole policies in the docs load and grade the records shown after them."""

    def test_the_guide_has_a_complete_example(self) -> None:
        """The policy guide holds at least one whole policy with records after it."""
        in_guide = [b for b in POLICIES if b.doc == GUIDE]
        assert in_guide
        assert records_after(in_guide[0]) is not None

    @pytest.mark.parametrize("block", POLICIES, ids=[b.id for b in POLICIES])
    def test_policy_grades_every_county(self, block: Block, tmp_path: Path) -> None:
        """The policy loads from a file and grades every county of the csv records that follow it."""
        # All policies of one document share a folder, so a child finds the parent it extends.
        files = {b.line: tmp_path / f"policy-{b.line:04d}.yaml" for b in blocks_with("yaml policy", block.doc)}
        for other in blocks_with("yaml policy", block.doc):
            files[other.line].write_text(other.text, encoding="utf-8")
        records = records_after(block)
        assert records is not None, f"no `csv records` block after the policy at {block.id}"
        data = tmp_path / "records.csv"
        data.write_text(records.text, encoding="utf-8")
        host = fineco_rules.make_plugin_host(plugins=doc_plugins(block.doc))

        policy = fineco_rules.load_policy(files[block.line], host=host)
        read = fineco_rules.read_records(data)
        evaluation = fineco_rules.evaluate(policy, read.records, host=host)

        assert read.problems == ()
        assert len(evaluation) == len(read.records) > 0
        assert [(r.county, [str(p) for p in r.errors]) for r in evaluation if not r.graded or r.errors] == []
        assert evaluation.ok


class TestYamlFragments:
    """Every YAML block in the docs is valid YAML."""

    @pytest.mark.parametrize("block", FRAGMENTS, ids=[b.id for b in FRAGMENTS])
    def test_block_parses(self, block: Block) -> None:
        """The block parses as one YAML document: a mapping, a list, or only a comment like the editor line."""
        data = yaml.safe_load(block.text)
        assert isinstance(data, dict | list) or (data is None and block.text.lstrip().startswith("#"))


class TestApiExamples:
    """The Python examples in the API guide run as written from the repository root."""

    def test_the_api_guide_has_examples(self) -> None:
        """docs/api.md holds Python examples to run."""
        assert len(API_EXAMPLES) >= 5

    @pytest.mark.parametrize("block", API_EXAMPLES, ids=[b.id for b in API_EXAMPLES])
    def test_example_runs(self, block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
        """The block runs without error in a fresh namespace with the repository root as working folder."""
        monkeypatch.chdir(ROOT)
        monkeypatch.delenv("FINECO_BLOCK_PLUGINS", raising=False)
        exec(compile(block.text, block.id, "exec"), {"__name__": "__docs__"})


class TestApiReference:
    """docs/api.md names every public name, every command and every flag."""

    @pytest.mark.parametrize("name", sorted(fineco_rules.__all__))
    def test_public_name_is_documented(self, name: str) -> None:
        """Each name in fineco_rules.__all__ is named in backticks in api.md or hooks.md."""
        text = API.read_text(encoding="utf-8") + HOOKS.read_text(encoding="utf-8")
        assert re.search(rf"`(fineco_rules\.)?{re.escape(name)}\b", text)

    @pytest.mark.parametrize(("command", "option"), CLI, ids=[f"{c}{' ' + o if o else ''}" for c, o in CLI])
    def test_command_and_flag_are_documented(self, command: str, option: str) -> None:
        """Each command has its usage in the CLI reference, and each of its flags is named there."""
        text = API.read_text(encoding="utf-8")
        assert f"fineco {command}" in text
        if option:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text)

    @pytest.mark.parametrize("command", sorted({c.split()[0] for c, _ in CLI if c}))
    def test_command_has_a_section(self, command: str) -> None:
        """Each top-level command has a section headed by its name in backticks."""
        assert f"### `fineco {command}`" in API.read_text(encoding="utf-8").splitlines()


class TestHookReference:
    """docs/hooks.md documents every hook and every installed scorer."""

    def test_hookspecs_define_hooks(self) -> None:
        """The hookspecs module defines at least the scorer hook."""
        assert "fineco_scorers" in hook_names()

    @pytest.mark.parametrize("name", hook_names())
    def test_hook_has_a_section(self, name: str) -> None:
        """Each hook has a level-two section headed by its name in backticks."""
        assert f"## `{name}`" in HOOKS.read_text(encoding="utf-8").splitlines()

    @pytest.mark.parametrize("name", SCORERS)
    def test_scorer_has_a_section(self, name: str) -> None:
        """Each installed scorer has a level-three section headed by its name in backticks."""
        assert f"### `{name}`" in HOOKS.read_text(encoding="utf-8").splitlines()

    @pytest.mark.parametrize("name", SCORERS)
    def test_scorer_section_lists_every_param(self, name: str) -> None:
        """Each param in a scorer's params_schema is named in backticks in the scorer's section."""
        text = section(HOOKS.read_text(encoding="utf-8"), f"### `{name}`")
        params = fineco_rules.make_plugin_host().scorers[name].scorer.params_schema["properties"]
        assert [p for p in params if f"`{p}`" not in text] == []

    def test_worked_example_uses_the_entry_point_group(self) -> None:
        """The worked example's pyproject registers its module in the fineco_rules entry-point group."""
        (toml,) = blocks_with("toml", HOOKS)
        groups = tomllib.loads(toml.text)["project"]["entry-points"]
        assert list(groups) == [hookspecs.PROJECT]
        (module,) = groups[hookspecs.PROJECT].values()
        assert f"`{module}.py`" in HOOKS.read_text(encoding="utf-8")

    def test_worked_example_provides_its_scorer(self) -> None:
        """The worked example plugin registers with a host and provides a scorer documented in the reference."""
        plugins = doc_plugins(HOOKS)
        host = fineco_rules.make_plugin_host(plugins=plugins)
        added = sorted(set(host.scorers) - set(SCORERS))
        assert len(plugins) == 1
        assert added == ["credit_rereview"]


class TestSchemaCoverage:
    """docs/policy-guide.md covers every key of the policy schema."""

    @pytest.mark.parametrize("name", SCHEMA_NAMES)
    def test_key_is_named(self, name: str) -> None:
        """The key appears in backticks in the guide's text."""
        assert f"`{name}`" in GUIDE.read_text(encoding="utf-8")

    @pytest.mark.parametrize("name", SCHEMA_NAMES)
    def test_key_has_a_yaml_example(self, name: str) -> None:
        """The key is used as a key in at least one YAML example of the guide."""
        used = {key for b in FRAGMENTS if b.doc == GUIDE for key in yaml_keys(yaml.safe_load(b.text) or {})}
        assert name in used

    def test_top_level_and_defs_are_included(self) -> None:
        """The names checked include every top-level property and every property under $defs."""
        schema = fineco_rules.policy.policy_schema()
        defs = {p for d in schema["$defs"].values() for p in d.get("properties", {})}
        assert set(schema["properties"]) | defs <= set(SCHEMA_NAMES)


ARCHITECTURE = DOCS / "architecture.md"


class TestArchitecture:
    """docs/architecture.md names real modules and every subpackage."""

    def test_every_named_module_exists(self) -> None:
        """Each `fineco_rules/...py` path in the document is a file of the package."""
        text = ARCHITECTURE.read_text(encoding="utf-8")
        named = set(re.findall(r"`(fineco_rules/[\w/]+\.py)`", text))
        assert named
        assert sorted(p for p in named if not (ROOT / p).is_file()) == []

    def test_every_subpackage_is_in_the_table(self) -> None:
        """Each subpackage of fineco_rules has a row in the layer table."""
        text = ARCHITECTURE.read_text(encoding="utf-8")
        subpackages = sorted(p.parent.name for p in (ROOT / "fineco_rules").glob("*/__init__.py"))
        assert [s for s in subpackages if f"| `fineco_rules.{s}` |" not in text] == []

    def test_layer_modules_are_listed(self) -> None:
        """Every module of a subpackage is named in that subpackage's row."""
        text = ARCHITECTURE.read_text(encoding="utf-8")
        rows = {m[0]: m[1] for m in re.findall(r"^\| `fineco_rules\.(\w+)` \| ([^|]*) \|", text, re.M)}
        missing = [
            f"{p.parent.name}/{p.stem}"
            for p in (ROOT / "fineco_rules").glob("*/*.py")
            if p.stem != "__init__" and f"`{p.stem}`" not in rows.get(p.parent.name, "")
        ]
        assert missing == []
