"""The public face: one façade, an honest __all__."""

from __future__ import annotations

import importlib

import pytest

import fineco_rules
from fineco_rules._deprecated import MOVED, REMOVED_IN  # the deprecation table itself is under test


class TestAll:
    def test_all_is_sorted(self):
        """__all__ is kept sorted so additions are easy to review."""
        assert list(fineco_rules.__all__) == sorted(fineco_rules.__all__)

    def test_all_names_exist(self):
        """Every name in __all__ is importable from the package."""
        missing = [name for name in fineco_rules.__all__ if not hasattr(fineco_rules, name)]
        assert missing == []

    def test_no_public_name_left_out(self):
        """Every public attribute that is not a module is listed in __all__."""
        public = {
            name
            for name, value in vars(fineco_rules).items()
            if not name.startswith("_") and type(value).__name__ != "module" and name != "annotations"
        }
        assert public - set(fineco_rules.__all__) == set()

    def test_errors_inherit_builtins(self):
        """Each error also is the builtin error a caller would catch."""
        assert issubclass(fineco_rules.PolicyError, ValueError)
        assert issubclass(fineco_rules.DataFileError, OSError)
        assert issubclass(fineco_rules.RecordError, ValueError)
        assert issubclass(fineco_rules.PluginError, RuntimeError)
        for cls in (fineco_rules.PolicyError, fineco_rules.DataFileError, fineco_rules.PluginError):
            assert issubclass(cls, fineco_rules.FinecoError)


SUBPACKAGES = [
    "fineco_rules.analysis",
    "fineco_rules.cli",
    "fineco_rules.engine",
    "fineco_rules.governance",
    "fineco_rules.io",
    "fineco_rules.policy",
    "fineco_rules.province",
    "fineco_rules.report",
    "fineco_rules.scale",
    "fineco_rules.scoring",
]


class TestSubpackages:
    """Each public subpackage says what it owns and hands on its public names."""

    @pytest.mark.parametrize("name", SUBPACKAGES)
    def test_docstring_says_what_it_owns_and_may_import(self, name: str) -> None:
        """The subpackage opens with a docstring naming what it may import (or that nothing may import it)."""
        doc = importlib.import_module(name).__doc__ or ""
        assert "import" in doc, name

    @pytest.mark.parametrize("name", SUBPACKAGES)
    def test_all_is_sorted_and_importable(self, name: str) -> None:
        """__all__ is sorted (constants, then classes, then functions) and every name in it exists."""
        module = importlib.import_module(name)
        assert list(module.__all__) == sorted(module.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
        assert [n for n in module.__all__ if not hasattr(module, n)] == []


class TestDeprecated:
    """Names that moved out of the top level still work for one release, with a warning naming their home."""

    @pytest.mark.parametrize("name", sorted(MOVED))
    def test_moved_name_warns_and_resolves(self, name: str) -> None:
        """The old top-level name warns once with the new path and gives the same object."""
        home = importlib.import_module(MOVED[name])
        with pytest.warns(DeprecationWarning, match=rf"fineco_rules\.{name} has moved to {MOVED[name]}\.{name}"):
            old = getattr(fineco_rules, name)
        assert old is getattr(home, name)
        assert name not in fineco_rules.__all__

    def test_unknown_name_is_an_attribute_error(self) -> None:
        """A name that never existed is an AttributeError, not a warning."""
        with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
            fineco_rules.nonsense  # noqa: B018

    def test_removal_release_is_stated(self) -> None:
        """The warning says when the old name goes."""
        with pytest.warns(DeprecationWarning, match=REMOVED_IN):
            fineco_rules.find_gaps  # noqa: B018


class TestTestsUsePublicNames:
    """The suite imports public names; a test of a private unit says so on its import line."""

    def test_every_private_import_says_why(self) -> None:
        """Each import of a private module (or a private name) in tests/ carries a comment saying why."""
        import ast
        from pathlib import Path

        bare = []
        for path in sorted((Path(__file__).parent).glob("*.py")):
            source = path.read_text("utf-8")
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source)):
                if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fineco_rules")):
                    continue
                private = any(part.startswith("_") for part in (node.module or "").split(".")[1:]) or any(
                    alias.name.startswith("_") for alias in node.names
                )
                if private and "#" not in "\n".join(lines[node.lineno - 1 : node.end_lineno]):
                    bare.append(f"{path.name}:{node.lineno}")
        assert bare == []
