"""The public face: one façade, an honest __all__."""

from __future__ import annotations

import fineco_rules


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
