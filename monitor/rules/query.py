"""The query language: tokens, a recursive-descent parser and the syntax tree.

    query    := or_expr
    or_expr  := and_expr ( OR and_expr )*
    and_expr := unary ( AND unary )*
    unary    := NOT unary | near
    near     := primary ( ( NEAR/n | BEFORE/n ) primary )*
    primary  := [ title: | text: ] ( '(' or_expr ')' | term | "phrase" | «phrase» | @list | /regex/
    )

Operators are upper case (``and`` is an ordinary word). Two terms side by side are an error, not an
implicit AND or OR: the message suggests quoting them as a phrase. Every node keeps its place in
the query string, so errors and explanations can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from config.errors import QuerySyntaxError as QuerySyntaxError  # the errors tree's; raised here

FIELDS = ("title", "text", "lead", "main")
DEFAULT_NEAR = 5


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # LPAREN RPAREN AND OR NOT NEAR BEFORE FIELD TERM PHRASE LIST REGEX END
    text: str
    start: int
    end: int
    value: str = ""
    number: int = 0


_OPERATOR = re.compile(r"(AND|OR|NOT|NEAR|BEFORE)(?:/(\d+))?(?=[\s()]|$)")
_FIELD = re.compile(r"([A-Za-z]+):(?=\S)")
_LIST = re.compile(r"@(?:(watchlist):)?([A-Za-z0-9_.\-]+)")
_TERM_END = re.compile(r"[\s()\"«»]")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char.isspace():
            index += 1
            continue
        if char in "()":
            tokens.append(Token("LPAREN" if char == "(" else "RPAREN", char, index, index + 1))
            index += 1
            continue
        if char in '"«':
            tokens.append(_phrase(query, index))
            index = tokens[-1].end
            continue
        if char == "/":
            tokens.append(_regex(query, index))
            index = tokens[-1].end
            continue
        if char == "@":
            found = _LIST.match(query, index)
            if not found:
                raise QuerySyntaxError(
                    "expected a list name after '@' (letters, digits, _ . -)", index
                )
            tokens.append(Token("LIST", found.group(), index, found.end(), value=found.group(2)))
            index = found.end()
            continue
        operator = _OPERATOR.match(query, index)
        if operator:
            kind, number = operator.group(1), operator.group(2)
            if number is not None and kind not in ("NEAR", "BEFORE"):
                raise QuerySyntaxError(
                    f"{kind} takes no distance (only NEAR/n and BEFORE/n do)", index
                )
            distance = int(number) if number is not None else DEFAULT_NEAR
            tokens.append(Token(kind, operator.group(), index, operator.end(), number=distance))
            index = operator.end()
            continue
        scope = _FIELD.match(query, index)
        if scope:
            name = scope.group(1)
            if name.lower() not in FIELDS:
                raise QuerySyntaxError(
                    f"unknown field '{name}:'; fields are {', '.join(f + ':' for f in FIELDS)}",
                    index,
                )
            tokens.append(Token("FIELD", scope.group(), index, scope.end(), value=name.lower()))
            index = scope.end()
            continue
        end_match = _TERM_END.search(query, index)
        end = end_match.start() if end_match else len(query)
        text = query[index:end]
        tokens.append(Token("TERM", text, index, end, value=text))
        index = end
    tokens.append(Token("END", "", len(query), len(query)))
    return tokens


def _phrase(query: str, start: int) -> Token:
    closing = '"' if query[start] == '"' else "»"
    index = start + 1
    chars: list[str] = []
    while index < len(query):
        char = query[index]
        if char == "\\" and index + 1 < len(query) and query[index + 1] in '"\\»':
            chars.append(query[index + 1])
            index += 2
            continue
        if char == closing:
            end = index + 1
            if end < len(query) and query[end] == "*":
                chars.append("*")
                end += 1
            return Token("PHRASE", query[start:end], start, end, value="".join(chars))
        chars.append(char)
        index += 1
    raise QuerySyntaxError(f"unterminated phrase: expected a closing {closing}", start)


def _regex(query: str, start: int) -> Token:
    index = start + 1
    while index < len(query):
        if query[index] == "\\":
            index += 2
            continue
        if query[index] == "/":
            body = query[start + 1 : index].replace("\\/", "/")
            if not body:
                raise QuerySyntaxError("empty regex //", start)
            return Token("REGEX", query[start : index + 1], start, index + 1, value=body)
        index += 1
    raise QuerySyntaxError("unterminated regex: expected a closing /", start)


# -------------------------------------------------------------------------------------- syntax tree
@dataclass(eq=False)
class Node:
    start: int
    end: int

    def children(self) -> list[Node]:
        return []


@dataclass(eq=False)
class Term(Node):
    """A word or phrase, maybe with a trailing ``*``; the compiler fills in ``term_ids``."""

    raw: str = ""
    prefix: bool = False
    strict: bool = False  # =word: the whole word only, no Persian affixes
    term_ids: frozenset[int] = frozenset()


@dataclass(eq=False)
class ListRef(Node):
    name: str = ""
    term_ids: frozenset[int] = frozenset()


@dataclass(eq=False)
class Regex(Node):
    pattern: str = ""
    index: int = -1  # position in the engine's regex table


@dataclass(eq=False)
class And(Node):
    parts: list[Node] = field(default_factory=list)

    def children(self) -> list[Node]:
        return self.parts


@dataclass(eq=False)
class Or(Node):
    parts: list[Node] = field(default_factory=list)

    def children(self) -> list[Node]:
        return self.parts


@dataclass(eq=False)
class Not(Node):
    part: Node | None = None

    def children(self) -> list[Node]:
        return [self.part] if self.part else []


@dataclass(eq=False)
class Near(Node):
    left: Node | None = None
    right: Node | None = None
    distance: int = DEFAULT_NEAR
    ordered: bool = False

    def children(self) -> list[Node]:
        return [node for node in (self.left, self.right) if node is not None]


@dataclass(eq=False)
class Field(Node):
    name: str = ""
    part: Node | None = None

    def children(self) -> list[Node]:
        return [self.part] if self.part else []


def walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.children():
        out.extend(walk(child))
    return out


# ------------------------------------------------------------------------------------------- parser
_OPERAND = "a term, a \"phrase\", an @list, a /regex/ or '('"


def _describe(token: Token) -> str:
    return "the end of the query" if token.kind == "END" else f"'{token.text}'"


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.position = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> Node:
        if self.current.kind == "END":
            raise QuerySyntaxError(f"empty query: expected {_OPERAND}", 0)
        node = self.or_expr()
        token = self.current
        if token.kind == "RPAREN":
            raise QuerySyntaxError("unbalanced ')': no '(' opens it", token.start)
        if token.kind != "END":
            previous = self.tokens[self.position - 1]
            hint = ""
            if token.kind in ("TERM", "PHRASE") and previous.kind in ("TERM", "PHRASE"):
                words = f"{previous.value.strip(chr(34))} {token.value}"
                hint = f' (for a phrase write "{words}")'
            raise QuerySyntaxError(
                f"expected AND, OR, NEAR/n or BEFORE/n after {_describe(previous)}, "
                f"got {_describe(token)}{hint}",
                token.start,
            )
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.current.kind == "OR":
            self.advance()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(parts[0].start, parts[-1].end, parts)

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.current.kind == "AND":
            self.advance()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(parts[0].start, parts[-1].end, parts)

    def unary(self) -> Node:
        if self.current.kind == "NOT":
            token = self.advance()
            part = self.unary()
            return Not(token.start, part.end, part=part)
        return self.near()

    def near(self) -> Node:
        node = self.primary()
        while self.current.kind in ("NEAR", "BEFORE"):
            operator = self.advance()
            if self.current.kind == "NOT":
                raise QuerySyntaxError(
                    f"{operator.kind} needs words on both sides; a NOT has no position",
                    self.current.start,
                )
            right = self.primary()
            for side in (node, right):
                if _has_top_level_not(side):
                    raise QuerySyntaxError(
                        f"{operator.kind} needs words on both sides; a NOT has no position",
                        side.start,
                    )
            node = Near(
                node.start,
                right.end,
                left=node,
                right=right,
                distance=operator.number,
                ordered=operator.kind == "BEFORE",
            )
        return node

    def primary(self) -> Node:
        token = self.current
        if token.kind == "FIELD":
            self.advance()
            part = self.primary()
            return Field(token.start, part.end, name=token.value, part=part)
        if token.kind == "LPAREN":
            self.advance()
            if self.current.kind == "RPAREN":
                raise QuerySyntaxError(
                    f"empty parentheses: expected {_OPERAND}", self.current.start
                )
            node = self.or_expr()
            if self.current.kind != "RPAREN":
                raise QuerySyntaxError(
                    f"expected ')' to close the '(' opened before, got {_describe(self.current)}",
                    self.current.start,
                )
            closing = self.advance()
            node.start, node.end = token.start, closing.end
            return node
        if token.kind in ("TERM", "PHRASE"):
            self.advance()
            return _term(token)
        if token.kind == "LIST":
            self.advance()
            return ListRef(token.start, token.end, name=token.value)
        if token.kind == "REGEX":
            self.advance()
            return Regex(token.start, token.end, pattern=token.value)
        raise QuerySyntaxError(f"expected {_OPERAND}, got {_describe(token)}", token.start)


def _term(token: Token) -> Term:
    raw = token.value
    strict = token.kind == "TERM" and raw.startswith("=")
    if strict:
        raw = raw[1:]
        if not raw or raw.endswith("*"):
            raise QuerySyntaxError("'=' takes one whole word (=زن), without '*'", token.start)
    prefix = raw.endswith("*")
    if prefix:
        raw = raw.rstrip("*")
    if "*" in raw:
        raise QuerySyntaxError(
            "'*' is only allowed at the end of a term (execut*)", token.start + raw.index("*")
        )
    if prefix and not raw.strip():
        raise QuerySyntaxError(
            "a lone '*' matches everything; give at least one letter before it", token.start
        )
    return Term(token.start, token.end, raw=raw, prefix=prefix, strict=strict)


def _has_top_level_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Field) and node.part is not None:
        return _has_top_level_not(node.part)
    return False


def parse(query: str) -> Node:
    """Parse ``query`` into a syntax tree; raises QuerySyntaxError with the offending offset."""
    return _Parser(query).parse()


def parse_primary(text: str) -> Node:
    """Parse a single term, phrase or @list (weights, negation cues); anything else is an error."""
    node = parse(text)
    if not isinstance(node, Term | ListRef | Regex):
        raise QuerySyntaxError(
            'expected a single term, "phrase", @list or /regex/ here, not an expression', node.start
        )
    return node
