"""Safe YAML reading that keeps every node's line and column."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

import attrs
import yaml

from ._errors import Location, PolicyError, Problem

__all__ = ["DocPath", "Document", "Pos", "load_document", "path_text"]

DocPath = tuple[str | int, ...]

#: A ceiling on converted nodes, so alias expansion ("billion laughs") cannot run away.
MAX_NODES: Final = 200_000

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def path_text(path: DocPath) -> str:
    """``("indicators", "npl", "weight")`` as ``indicators.npl.weight``; list items as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(document)"


#: A position in a file: (file, line, column), both counted from 1.
Pos = tuple[str, int, int]


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


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[DocPath, Pos] = {}
        self.keys: dict[DocPath, Pos] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def _loc(self, node: yaml.Node, path: DocPath) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1, path_text(path))

    def build(self, node: yaml.Node, path: DocPath) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise PolicyError(
                Problem(
                    f"the document expands to more than {MAX_NODES} values",
                    self._loc(node, path),
                    "remove the repeated aliases (*name); a policy never needs this many values",
                    "too-large",
                )
            )
        self.values.setdefault(path, (self.file, node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self._bad_tag(node, path)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: DocPath) -> object:
        if node.tag != _MAP:
            return self._bad_tag(node, path)
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(
                        "keys must be plain names",
                        self._loc(key_node, path),
                        "write the key as a plain word such as `weight:`",
                        "bad-key",
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                first = self.keys[child]
                self.problems.append(
                    Problem(
                        f"duplicate key {key!r} (first defined at line {first[1]})",
                        self._loc(key_node, child),
                        "keep one of the two entries; YAML would silently keep only the last",
                        "duplicate-key",
                    )
                )
                continue
            self.keys[child] = (self.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: DocPath) -> object:
        tag, text = node.tag, node.value
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() in {"yes", "true", "on", "y"}
        if tag == _INT:
            try:
                return int(text.replace("_", ""), 0)
            except ValueError:
                return text
        if tag == _FLOAT:
            try:
                value = Decimal(text.replace("_", ""))
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite():
                self.problems.append(
                    Problem(
                        f"{text!r} is not a finite number",
                        self._loc(node, path),
                        "write an ordinary number such as 0.06",
                        "not-finite",
                    )
                )
                return None
            return value
        if tag == _TIMESTAMP:
            # Dates stay text; the policy model parses them and reports bad ones with a position.
            return text
        return self._bad_tag(node, path)

    def _bad_tag(self, node: yaml.Node, path: DocPath) -> object:
        self.problems.append(
            Problem(
                f"the YAML tag {node.tag!r} is not allowed",
                self._loc(node, path),
                "policy files hold plain values only; remove the `!` tag",
                "bad-tag",
            )
        )
        return None  # the problem is reported; the value is dropped


def load_document(source: str | Path, *, text: str | None = None) -> Document:
    """Parse one YAML document safely; raise ``PolicyError`` listing every problem."""
    file = str(source)
    if text is None:
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise PolicyError(
                Problem(
                    f"cannot read the policy file: {exc.strerror or exc}",
                    Location(file),
                    "check the path and that the file is readable",
                    "unreadable",
                )
            ) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise PolicyError(
                Problem(
                    f"the file is not UTF-8 text (bad byte at offset {exc.start})",
                    Location(file, line),
                    "save the policy as UTF-8 (in Notepad: Save As, Encoding UTF-8)",
                    "not-utf8",
                )
            ) from None
    if "\x00" in text:
        raise PolicyError(
            Problem("the file is binary, not YAML text", Location(file), "give a .yaml policy file", "binary")
        )
    try:
        nodes = list(_compose_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        hint = (
            "YAML indents with spaces, never tabs"
            if "\\t" in str(exc.problem)
            else ("check the indentation and the punctuation on this line")
        )
        raise PolicyError(Problem(f"not valid YAML: {exc.problem or exc}", where, hint, "yaml-syntax")) from None
    except yaml.YAMLError as exc:
        raise PolicyError(Problem(f"not valid YAML: {exc}", Location(file), None, "yaml-syntax")) from None
    if len(nodes) != 1:
        found = "no document (the file is empty)" if not nodes else f"{len(nodes)} documents"
        raise PolicyError(
            Problem(
                f"expected one YAML document, found {found}",
                Location(file, 1, 1),
                "a policy file holds exactly one mapping starting with `id:`",
                "document-count",
            )
        )
    builder = _Builder(file)
    data = builder.build(nodes[0], ())
    if builder.problems:
        raise PolicyError(builder.problems)
    return Document(file, data, builder.values, builder.keys)


def _compose_all(text: str) -> Iterator[yaml.Node]:
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    finally:
        loader.dispose()
