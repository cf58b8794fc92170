"""One catalogue of messages: every ``tr(...)`` has Chinese, the compiled catalogue is fresh, and the
command line speaks the language asked for (``--lang``, ``FINECO_LANG``, the locale)."""

from __future__ import annotations

import ast
import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from fineco_rules._i18n import detect_language, use_language  # private unit under test
from fineco_rules.cli import main
from fineco_rules.errors import Location, Problem, join, pct, tr

from .conftest import ROOT, english_words

PACKAGE = ROOT / "fineco_rules"
PLUGINS = ROOT / "plugins"
PO = PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "fineco.po"
MO = PO.with_suffix(".mo")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _placeholders(text: str) -> set[str]:
    return {name.split("!")[0].split(".")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def _catalogue() -> dict[str, str]:
    """Each msgid of fineco.po (``context\x04msgid`` when it has a context) with its Chinese."""
    with PO.open("rb") as fp:
        catalog = read_po(fp)
    return {_key(str(m.id), m.context): str(m.string) for m in catalog if m.id}


def _key(msgid: str, context: str | None) -> str:
    return msgid if context is None else f"{context}\x04{msgid}"


def _used() -> dict[str, str]:
    """Every msgid of a ``tr("...")`` or ``trc("context", "...")`` in the package and the plugins, with where."""
    used: dict[str, str] = {}
    for root in (PACKAGE, PLUGINS):
        for filename, lineno, message, _, context in extract_from_dir(
            str(root), method_map=[("**.py", "python")], keywords={"tr": None, "trc": ((1, "c"), 2)}
        ):
            used.setdefault(_key(str(message), context), f"{root.name}/{filename}:{lineno}")
    return used


class TestCatalogue:
    def test_every_message_has_chinese(self):
        """Each tr(...) msgid of the code has a Chinese text in fineco.po."""
        catalogue = _catalogue()
        missing = [f"{where}: {msgid!r}" for msgid, where in _used().items() if not catalogue.get(msgid)]
        assert not missing, "add these to fineco.po:\n" + "\n".join(missing)

    def test_translations_are_chinese(self):
        """Every msgstr holds Chinese characters (or is only punctuation and placeholders)."""
        odd = [
            msgid
            for msgid, text in _catalogue().items()
            if not CJK.search(text) and re.search(r"[A-Za-z]{2,}", re.sub(r"\{[^}]*\}|--[a-z-]+", "", text))
        ]
        assert not odd

    def test_placeholders_match(self):
        """A translation keeps each placeholder of its English, and adds none."""
        wrong = [
            (msgid, text)
            for msgid, text in _catalogue().items()
            if _placeholders(msgid.split("\x04")[-1]) != _placeholders(text)
        ]
        assert not wrong

    def test_no_stale_entries(self):
        """fineco.po holds no message the code no longer uses."""
        stale = sorted(set(_catalogue()) - set(_used()))
        assert not stale, "remove these from fineco.po:\n" + "\n".join(stale)

    def test_compiled_catalogue_is_fresh(self):
        """fineco.mo is fineco.po compiled (pybabel compile -d fineco_rules/locale -D fineco)."""
        with PO.open("rb") as fp:
            catalog = read_po(fp)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        assert MO.read_bytes() == buffer.getvalue(), "run: pybabel compile -d fineco_rules/locale -D fineco"

    def test_tr_takes_a_literal(self):
        """tr()'s first argument is a plain string literal, so the catalogue can be extracted from the code."""
        bad = []
        for root in (PACKAGE, PLUGINS):
            for path in root.rglob("*.py"):
                for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                    name = (
                        getattr(node.func, "id", getattr(node.func, "attr", "")) if isinstance(node, ast.Call) else ""
                    )
                    if name in ("tr", "trc"):
                        count = 1 if name == "tr" else 2
                        literals = node.args[:count]  # type: ignore[attr-defined]
                        if len(literals) < count or not all(
                            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in literals
                        ):
                            bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        assert not bad


class TestMessages:
    def test_problem_renders_in_each_language(self):
        """A problem made once reads in English by default and in Chinese when asked."""
        problem = Problem(
            tr("unknown command {command!r}", command="evalute"),
            Location(file="p.yaml", line=3, column=5, path="grades", county="320281", field="npl"),
            hint=tr("at {path}", path="x"),
        )
        assert str(problem) == "p.yaml:3:5, at grades, county 320281, field 'npl': unknown command 'evalute' (at x)"
        assert problem.render("zh") == "p.yaml:3:5，grades 处，县（市）320281，字段“npl”：没有“evalute”这个命令（x 处）"
        with use_language("zh"):
            assert str(problem) == problem.render("zh")
        assert problem.message == "unknown command 'evalute'"  # the API's message is still text

    def test_values_render_in_the_same_language(self):
        """A Msg, a list or a ratio given as a value is shown in the language of the message."""
        inner = tr("county {county}", county="320281")
        outer = tr(
            "{message} — the same kind of problem on {count} rows ({code}): {rows}{more}",
            message=inner,
            count=2,
            code="c",
            rows=join(["1", "2"]),
            more="",
        )
        assert outer.render("zh") == "县（市）320281——同类问题共 2 行（c）：第 1、2 行"
        assert str(outer) == "county 320281 — the same kind of problem on 2 rows (c): 1, 2"
        assert pct("0.8349").render("zh") == "83.49%"
        assert pct("0.0362", 1).render("zh") == "3.6%"
        assert pct("0.8349").render("en") == "0.8349"

    def test_pickles(self):
        """A problem keeps both languages across processes (Dask workers, the cohort)."""
        import pickle

        message = pickle.loads(pickle.dumps(tr("county {county}", county="1")))
        assert message.render("zh") == "县（市）1"


class TestLanguageChoice:
    @pytest.mark.parametrize(
        ("env", "lang"),
        [
            ({}, "zh"),
            ({"LANG": "C.UTF-8"}, "zh"),
            ({"LANG": "zh_CN.UTF-8"}, "zh"),
            ({"LANG": "en_US.UTF-8"}, "en"),
            ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
            ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),
            ({"FINECO_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ],
    )
    def test_detect(self, env, lang):
        """FINECO_LANG, then the locale variables in gettext's order; Chinese unless the locale is English."""
        assert detect_language(env) == lang

    def test_every_command_takes_lang(self, capsys):
        """`--lang` is accepted by every command."""
        from fineco_rules.cli._main import _parser  # private unit under test

        parser = _parser()
        commands = next(a for a in parser._actions if a.dest == "command").choices  # noqa: SLF001
        missing = [name for name, sub in commands.items() if "--lang" not in sub.format_usage()]
        assert not missing

    def test_locale_chooses_chinese(self, tmp_path: Path, capsys, monkeypatch):
        """Without --lang, LANG=zh_CN.UTF-8 gives Chinese messages, LANG=en_US.UTF-8 English ones."""
        bad = tmp_path / "p.yaml"
        bad.write_text("id: x\n", "utf-8")
        monkeypatch.delenv("FINECO_LANG")
        monkeypatch.setenv("LANG", "zh_CN.UTF-8")
        assert main(["validate", str(bad)]) == 1
        zh = capsys.readouterr().err
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        assert main(["validate", str(bad)]) == 1
        en = capsys.readouterr().err
        assert zh.startswith("错误：") and en.startswith("error: ")

    def test_usage_error_in_chinese(self, capsys):
        """A usage error the command line raises itself is printed in the language asked for."""
        code = main(
            [
                "evaluate",
                "--lang",
                "zh",
                "--official",
                "--policy",
                str(ROOT / "policies" / "jiangsu"),
                str(ROOT / "examples" / "jiangsu-2008.csv"),
            ]
        )
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith("fineco：错误：")


def test_english_words_finds_english():
    """The checker used by the Chinese-output tests flags English and lets codes, paths and names pass."""
    text = "错误：a/b.yaml:3:1，grades 处：缺少 `id:`（missing-key）the value"
    assert english_words(text, "grades") == ["the", "value"]
