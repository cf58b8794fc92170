"""Safe YAML reading that keeps every node's line and column; policies and record files share it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

import attrs
import yaml

from fineco_rules.errors import Code, FinecoError, Lang, Location, Msg, PolicyError, Problem, tr
from fineco_rules.io._atomic import os_reason
from fineco_rules.io._limits import MAX_YAML_NODES_ENV, MAX_YAML_TEXT, MAX_YAML_TEXT_ENV, how_to_raise, limit
from fineco_rules.io._numbers import MAX_NUMBER, MIN_NUMBER, in_range

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "DocPath",
    "Document",
    "Pos",
    "bad_byte",
    "check_size",
    "load_document",
    "parse_yaml",
    "path_text",
]

DocPath = tuple[str | int, ...]
#: A position in a file: (file, line, column), both counted from 1.
Pos = tuple[str, int, int]

#: A ceiling on values after alias expansion, so a "billion laughs" file cannot run away.
MAX_NODES: Final = 1_000_000
#: A ceiling on nesting (mappings and lists inside each other); policies need fewer than ten levels.
MAX_DEPTH: Final = 64
#: A ceiling on the size of a YAML file or text (2 MiB): the largest shipped policy is 13 kB, and pure-Python
#: YAML parses about 0.15 MB a second, so a larger file would look like a hang. Big record batches go in CSV.
MAX_BYTES: Final = 2 * 1024 * 1024

_TAG = "tag:yaml.org,2002:"
_SCALARS: Final = frozenset({"str", "null", "bool", "int", "float", "timestamp"})
_INTS: Final = yaml.constructor.SafeConstructor()  # only its YAML 1.1 int parsing is used; stateless for that


def path_text(path: DocPath) -> str:
    """``("indicators", "npl", "weight")`` as ``indicators.npl.weight``; list items as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or tr("(document)")  # a Msg: the location shows it in the language it is printed in


@attrs.frozen
class Document:
    """Parsed YAML data plus the position of every value and key.

    A merged policy (a child over its parents) is a Document too: each position then
    names the file it came from.
    """

    file: str
    data: object
    values: dict[DocPath, Pos]
    keys: dict[DocPath, Pos]

    def location(self, path: DocPath, *, key: bool = False) -> Location:
        """The closest known position of ``path`` (its key with ``key=True``)."""
        probe = path
        while True:
            found = (self.keys.get(probe) if key else None) or self.values.get(probe)
            if found is not None:
                return Location(found[0], found[1], found[2], path_text(path))
            if not probe:
                return Location(self.file, path=path_text(path))
            probe = probe[:-1]


def _expanded_size(root: yaml.Node, cap: int = MAX_NODES) -> int:
    """How many values the document holds once aliases are expanded, capped just past ``cap``."""
    return _expanded(root, cap, lambda node: 1)


def _expanded_text(root: yaml.Node, cap: int) -> int:
    """How many characters of keys and values the document holds once aliases are expanded, capped past ``cap``."""
    return _expanded(root, cap, lambda node: len(str(node.value)))


def _expanded(root: yaml.Node, limit: int, leaf: Callable[[yaml.ScalarNode], int]) -> int:
    """The sum of ``leaf`` over every scalar once aliases are expanded, capped just past ``limit``.

    An alias shares its anchor's node, so sizes are memoised per node: a "billion laughs"
    costs a few hundred steps, not a billion conversions.
    """
    cap, sizes = limit + 1, dict[int, int]()

    def size(node: yaml.Node) -> int:
        if isinstance(node, yaml.ScalarNode):
            return min(cap, leaf(node))
        if id(node) not in sizes:
            sizes[id(node)] = cap  # an alias inside its own anchor expands forever
            children = [p for pair in node.value for p in pair] if isinstance(node, yaml.MappingNode) else node.value
            total = 1
            for child in children:
                total = min(cap, total + size(child))
            sizes[id(node)] = total
        return sizes[id(node)]

    return size(root)


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark | None) -> None:
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing to compose nodes nested deeper than ``MAX_DEPTH``.

    The composer recurses once per level; the limit stops it at the first node too deep,
    before the rest of the text is even scanned.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def check_size(file: str, size: int, error: type[FinecoError], subject: str, *, limit: int = MAX_BYTES) -> None:
    """Refuse a YAML file or text of ``size`` bytes above ``limit``, before anything is parsed."""
    if size > limit:
        raise error(
            Problem(
                tr(
                    "the file is {size:,} bytes, more than the {limit:,} bytes allowed for {subject}",
                    size=size,
                    limit=limit,
                    subject=_subject(subject),
                ),
                Location(file),
                tr("a policy is a few kilobytes: check that this is the right file")
                if subject == "policy files"
                else tr("give large batches of records as CSV, JSON or XLSX"),
                Code.TOO_BIG,
            )
        )


class _Builder:
    def __init__(self, file: str, subject: str) -> None:
        self.file = file
        self.subject = subject
        self.values: dict[DocPath, Pos] = {}
        self.keys: dict[DocPath, Pos] = {}
        self.problems: list[Problem] = []

    def _pos(self, node: yaml.Node) -> Pos:
        return (self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _loc(self, node: yaml.Node, path: DocPath) -> Location:
        return Location(*self._pos(node), path_text(path))

    def build(self, node: yaml.Node, path: DocPath) -> object:
        self.values.setdefault(path, self._pos(node))
        tag = node.tag.removeprefix(_TAG)
        if isinstance(node, yaml.MappingNode) and tag == "map":
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and tag == "seq":
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and tag in _SCALARS:
            value = _scalar(node, tag)
            if isinstance(value, int | Decimal) and not isinstance(value, bool) and not in_range(value):
                self.problems.append(
                    Problem(
                        tr(
                            "the number {number} is outside the range the arithmetic allows",
                            number=_short(node.value),
                        ),
                        self._loc(node, path),
                        tr(
                            "write a number of size at most {largest}, and either 0 or at least {smallest}",
                            largest=MAX_NUMBER,
                            smallest=MIN_NUMBER,
                        ),
                        Code.NUMBER_OUT_OF_RANGE,
                    )
                )
                return None
            return value
        self.problems.append(
            Problem(
                tr("the YAML tag {tag!r} is not allowed", tag=node.tag),
                self._loc(node, path),
                tr("{subject} hold plain values only; remove the `!` tag", subject=_subject(self.subject)),
                Code.BAD_TAG,
            )
        )
        return None

    def _mapping(self, node: yaml.MappingNode, path: DocPath) -> object:
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _TAG + "merge":
                self.problems.append(
                    Problem(
                        tr("keys must be plain names"),
                        self._loc(key_node, path),
                        tr("write the key as a plain word such as `weight:`; merge keys (<<) are not supported"),
                        Code.BAD_KEY,
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                self.problems.append(
                    Problem(
                        tr("duplicate key {key!r} (first defined at line {line})", key=key, line=self.keys[child][1]),
                        self._loc(key_node, child),
                        tr("keep one of the two entries; YAML would silently keep only the last"),
                        Code.DUPLICATE_KEY,
                    )
                )
                continue
            self.keys[child] = self._pos(key_node)
            out[key] = self.build(value_node, child)
        return out


def _short(text: object) -> str:
    shown = str(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _scalar(node: yaml.ScalarNode, tag: str) -> object:
    """A scalar with numbers kept exact: floats become the Decimal of the text written."""
    text = str(node.value)
    if tag == "null":
        return None
    if tag == "bool":
        return text.lower() in {"yes", "true", "on", "y"}
    if tag == "int":
        try:
            return int(_INTS.construct_yaml_int(node))  # YAML 1.1 ints: 0x1f, 0o17, 1_000
        except ValueError:  # an explicit `!!int` on text that is no number
            return text
    if tag == "float":
        try:
            number = Decimal(text.replace("_", ""))
        except InvalidOperation:
            return text  # .inf, .nan and sexagesimal stay text; whoever expects a number says so
        return number if number.is_finite() else text
    return text  # strings, and timestamps kept as their source text


#: Full-width punctuation a Chinese input method types where YAML needs the half-width sign, with their names.
_FULL_WIDTH: Final[Mapping[str, tuple[str, Msg]]] = {
    "：": (":", tr("colon")),
    "，": (",", tr("comma")),
    "｛": ("{", tr("brace")),
    "｝": ("}", tr("brace")),
    "［": ("[", tr("bracket")),
    "］": ("]", tr("bracket")),
    "“": ('"', tr("quote")),
    "”": ('"', tr("quote")),
    "‘": ("'", tr("quote")),
    "’": ("'", tr("quote")),
}
#: What each kind of file is called in a message about its size or its YAML.
_SUBJECTS: Final = {
    "policy files": tr("policy files"),
    "record files": tr("record files"),
    "cases files": tr("cases files"),
    "setup files": tr("setup files"),
}


def _subject(subject: str) -> str:
    return _SUBJECTS.get(subject, subject)


# Where a full-width sign stands in for YAML's: after a key, before a key, or opening a value.
_FULL_WIDTH_USE: Final = re.compile(
    r"(?:^|[\s{,\[])[A-Za-z_][\w.-]*\s*(：)|([，])\s*[A-Za-z_][\w-]*\s*[:：]|[:：]\s*([｛［“‘])|([｝］”’])\s*(?:[,，}｝]|$)"
)
# An operator written bare, where YAML reads > as a folded block and ! as a tag.
_BARE_OPERATOR: Final = re.compile(r"(\w+)\s*:\s*(>=|<=|!=|==|>|<)(?=\s*(?:[,}\]#]|$))")


def punctuation_hint(line: str) -> Msg | None:
    """A hint for a YAML line with full-width punctuation where YAML needs half-width, or a bare operator."""
    found = _FULL_WIDTH_USE.search(line)
    if found:
        sign = next(group for group in found.groups() if group)
        half, name = _FULL_WIDTH[sign]
        return tr(
            "use a half-width {name} '{half}' instead of the full-width '{sign}'", name=name, half=half, sign=sign
        )
    bare = _BARE_OPERATOR.search(line)
    if bare:
        key, op = bare.groups()
        return tr(
            'quote the operator: {key}: "{op}" (in YAML a bare > starts a folded text and ! a tag)', key=key, op=op
        )
    return None


#: PyYAML's own words for the common syntax errors, and their Chinese; others are quoted as PyYAML says them.
_YAML_REASONS: Final = (
    (re.compile(r"found character '\\t' that cannot start any token|found a tab character"), tr("a tab character")),
    (re.compile(r"expected (?P<wanted>.+?), but (?:got|found) (?P<got>.+)"), tr("expected {wanted}, found {got}")),
    (re.compile(r"could not find expected (?P<expected>.+)"), tr("could not find the expected {expected}")),
    (re.compile(r"did not find expected (?P<expected>.+)"), tr("could not find the expected {expected}")),
    (re.compile(r"mapping values are not allowed here"), tr("a `key: value` is not allowed here")),
    (re.compile(r"found unexpected end of stream"), tr("the text ends too early")),
    (re.compile(r"found undefined alias (?P<alias>.+)"), tr("the alias {alias} is not defined")),
    (re.compile(r"found unexpected ':'"), tr("an unexpected ':'")),
    (re.compile(r"found unknown escape character (?P<char>.+)"), tr("an unknown escape character {char}")),
    (re.compile(r"found unexpected document separator"), tr("an unexpected document separator (---)")),
)


class _YamlReason:
    """PyYAML's description of a syntax error: its own words in English, the Chinese of the common ones."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, lang: Lang) -> str:
        if lang == "en":
            return self.text
        for pattern, message in _YAML_REASONS:
            found = pattern.match(self.text)
            if found:
                return Msg(message.msgid, _quoted(found.groupdict())).render(lang)
        return f"`{self.text}`"

    def __str__(self) -> str:
        return self.text


def _quoted(groups: Mapping[str, str]) -> dict[str, object]:
    """PyYAML's names of what it expected or found, with its English words (``or``, ``<block end>``) in code quotes."""
    return {key: f"`{value}`" for key, value in groups.items()}


def _syntax_hint(text: str, line: int, problem: str) -> Msg:
    """The hint for a YAML syntax error reported at ``line`` (from 1): punctuation on it or the line before."""
    lines = text.splitlines()
    for number in (line, line - 1):
        if 1 <= number <= len(lines):
            hint = punctuation_hint(lines[number - 1])
            if hint:
                return hint if number == line else tr("line {line}: {hint}", line=number, hint=hint)
    if "\\t" in problem or "tab character" in problem:
        return tr("indent with spaces, never tabs")
    return tr("check the indentation and punctuation here")


def parse_yaml(
    file: str, text: str, *, error: type[FinecoError] = PolicyError, subject: str = "policy files"
) -> Document:
    """Parse one YAML document safely, or raise ``error`` listing every problem.

    Nothing is constructed by PyYAML: the node tree is converted here, refusing tags that
    would build objects, duplicate keys and alias bombs. An empty text gives ``data=None``.
    """
    check_size(file, len(text.encode("utf-8", "surrogatepass")), error, subject)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
        if root is None:
            return Document(file, None, {}, {})
        _check_expansion(file, root, error, subject)
        builder = _Builder(file, subject)
        data = builder.build(root, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = str(exc.problem or exc)
        hint = _syntax_hint(text, mark.line + 1, problem) if mark else tr("check the indentation and punctuation here")
        raise error(
            Problem(tr("not valid YAML: {problem}", problem=_YamlReason(problem)), where, hint, Code.YAML_SYNTAX)
        ) from None
    except yaml.YAMLError as exc:  # e.g. a control character in the text
        raise error(
            Problem(
                tr("not valid YAML: {problem}", problem=_YamlReason(str(exc))),
                Location(file),
                tr("remove unprintable characters"),
                Code.YAML_SYNTAX,
            )
        ) from None
    except _TooDeep as exc:
        where = Location(file, exc.mark.line + 1, exc.mark.column + 1) if exc.mark else Location(file)
        raise error(
            Problem(
                tr("the YAML is nested more than {depth} levels deep", depth=MAX_DEPTH),
                where,
                tr(
                    "{subject} need only a few levels of `key:` and `- item`; remove the extra brackets or indentation",
                    subject=_subject(subject),
                ),
                Code.TOO_DEEP,
            )
        ) from None
    if builder.problems:
        raise error(builder.problems)
    return Document(file, data, builder.values, builder.keys)


def _check_expansion(file: str, root: yaml.Node, error: type[FinecoError], subject: str) -> None:
    """Refuse a document whose values, or whose text, once aliases are expanded, pass their limits."""
    where = Location(file, root.start_mark.line + 1, root.start_mark.column + 1)
    nodes = limit(MAX_YAML_NODES_ENV, MAX_NODES)
    if _expanded_size(root, nodes) > nodes:
        raise error(
            Problem(
                tr("the document expands to more than {nodes} values", nodes=nodes),
                where,
                tr("remove the repeated aliases (*name); {subject} never need them", subject=_subject(subject)),
                Code.TOO_LARGE,
            )
        )
    text = limit(MAX_YAML_TEXT_ENV, MAX_YAML_TEXT)
    if _expanded_text(root, text) > text:
        raise error(
            Problem(
                tr("the document expands to more than {count:,} characters of text", count=text),
                where,
                tr(
                    "remove the repeated aliases (*name) of long text; {raise_it}",
                    raise_it=how_to_raise(MAX_YAML_TEXT_ENV, text),
                ),
                Code.TOO_LARGE,
            )
        )


def bad_byte(raw: bytes, offset: int) -> tuple[int, int, str]:
    """Line and column (in characters) of the first byte at ``offset`` that is not UTF-8, and a guess.

    The guess names GBK/GB18030 (what Chinese Windows writes) when the whole file reads as that.
    """
    start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[start:offset].decode("utf-8", "replace")) + 1
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        guess = ""
    else:
        guess = tr("; it looks like GBK/GB18030, the Chinese Windows encoding")
    return raw[:offset].count(b"\n") + 1, column, guess


def load_document(source: str | Path) -> Document:
    """Read and parse one policy file; raise ``PolicyError`` listing every problem."""
    file = str(source)
    try:
        check_size(file, Path(source).stat().st_size, PolicyError, "policy files")
        raw = Path(source).read_bytes()
    except OSError as exc:
        raise PolicyError(
            Problem(
                tr("cannot read the policy file: {reason}", reason=os_reason(exc)),
                Location(file),
                tr("check the path and that the file is readable"),
                Code.UNREADABLE,
            )
        ) from None
    if b"\x00" in raw:
        raise PolicyError(
            Problem(
                tr("the file is binary, not YAML text"), Location(file), tr("give a .yaml policy file"), Code.BINARY
            )
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)  # the codec counts after the BOM
        line, column, guess = bad_byte(raw, offset)
        raise PolicyError(
            Problem(
                tr(
                    "the file is not UTF-8 text (bad byte 0x{byte:02x} at offset {offset}){guess}",
                    byte=raw[offset],
                    offset=offset,
                    guess=guess,
                ),
                Location(file, line, column),
                tr("save the policy as UTF-8 (in Notepad: Save As, Encoding UTF-8)"),
                Code.NOT_UTF8,
            )
        ) from None
    doc = parse_yaml(file, text)
    if doc.data is None:
        raise PolicyError(
            Problem(
                tr("the file holds no policy (it is empty)"),
                Location(file, 1, 1),
                tr("a policy file holds one mapping starting with `id:`"),
                Code.EMPTY,
            )
        )
    return doc
