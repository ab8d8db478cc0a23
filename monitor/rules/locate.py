"""Where a character of a YAML string value sits in its file, for errors inside queries.

A query may be a plain, quoted, folded (``>``) or literal (``|``) scalar. Folding only changes the
whitespace between words, so the n-th word of the value is the n-th word of the scalar's source
text; the offending character is found as "word n, character k" and mapped back to a line
and a column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

_WORD = re.compile(r"\S+")


def _find_node(root: yaml.Node, keypath: Sequence[str | int], in_key: bool) -> yaml.Node | None:
    node: yaml.Node | None = root
    for depth, part in enumerate(keypath):
        last = depth == len(keypath) - 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                    node = key_node if (last and in_key) else value_node
                    break
            else:
                return None
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            return None
    return node


def locate_in_value(
    path: Path, keypath: Sequence[str | int], offset: int, *, in_key: bool = False
) -> tuple[int, int] | None:
    """1-based (line, column) of character ``offset`` of the string at ``keypath`` in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    node = _find_node(root, keypath, in_key) if root is not None else None
    if not isinstance(node, yaml.ScalarNode):
        return None
    begin, finish = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        newline = text.find("\n", begin)
        begin = finish if newline < 0 else newline + 1
    elif node.style in ("'", '"'):
        begin += 1
    value_words = list(_WORD.finditer(node.value))
    source_words = list(_WORD.finditer(text, begin, finish))
    if not value_words or len(source_words) < len(value_words):
        return _line_column(text, node.start_mark.index)
    index, inner = len(value_words) - 1, len(value_words[-1].group())
    for position, word in enumerate(value_words):
        if offset < word.end():
            index, inner = position, max(0, offset - word.start())
            break
    source = source_words[index]
    return _line_column(text, min(source.start() + inner, source.end()))


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
