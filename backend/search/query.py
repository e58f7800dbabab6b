"""A PostgreSQL text-search query (`tsquery`, as PostgreSQL prints it) read into a tree, so
that the engine matches exactly what PostgreSQL's `@@` matches: the same lexemes, made by
PostgreSQL from the same words (`websearch_to_tsquery`, `phraseto_tsquery`).

    or      := and ("|" and)*
    and     := phrase ("&" phrase)*
    phrase  := unary (("<->" | "<N>") unary)*
    unary   := "!" unary | "(" or ")" | 'lexeme'

A query this grammar does not cover (prefixes `:*`, weights `:AB`, a phrase of anything but
lexemes) is `Unsupported`; the search then runs on PostgreSQL alone.
"""

import re
from dataclasses import dataclass


class Unsupported(ValueError):
    """A tsquery the engine cannot match exactly."""


@dataclass(frozen=True, slots=True)
class Lexeme:
    text: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Node"


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Phrase:
    """Lexemes at these offsets from the first one's position."""

    words: tuple[tuple[int, str], ...]


Node = Lexeme | Not | And | Or | Phrase

# A quoted lexeme ('' for a quote, \ escaping any character), or an operator.
_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|''|\\.)*)'(:[*A-D]+)?|(<->|<\d+>|[&|!()]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(f"cannot read the query at {position}")
        lexeme, suffix, operator = match.groups()
        if suffix:
            raise Unsupported("prefix or weighted lexemes")
        if operator is None:
            tokens.append(("lexeme", re.sub(r"\\(.)", r"\1", lexeme.replace("''", "'"))))
        else:
            tokens.append(("operator", operator))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        if self.at < len(self.tokens) and self.tokens[self.at][0] == "operator":
            return self.tokens[self.at][1]
        return None

    def take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise Unsupported("the query ends early")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def any(self) -> Node:
        operands = [self.all()]
        while self.peek() == "|":
            self.take()
            operands.append(self.all())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def all(self) -> Node:
        operands = [self.phrase()]
        while self.peek() == "&":
            self.take()
            operands.append(self.phrase())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def phrase(self) -> Node:
        first = self.unary()
        words: list[tuple[int, Node]] = [(0, first)]
        offset = 0
        while (operator := self.peek()) is not None and operator.startswith("<"):
            self.take()
            offset += 1 if operator == "<->" else int(operator[1:-1])
            words.append((offset, self.unary()))
        if len(words) == 1:
            return first
        chained: list[tuple[int, str]] = []
        for at, node in words:
            if not isinstance(node, Lexeme):
                raise Unsupported("a phrase of more than lexemes")
            chained.append((at, node.text))
        return Phrase(tuple(chained))

    def unary(self) -> Node:
        kind, value = self.take()
        if kind == "lexeme":
            return Lexeme(value)
        if value == "!":
            return Not(self.unary())
        if value == "(":
            inner = self.any()
            if self.take() != ("operator", ")"):
                raise Unsupported("an unclosed parenthesis")
            return inner
        raise Unsupported(f"an operator where a lexeme belongs: {value}")


def parse(text: str) -> Node | None:
    """The tree of a tsquery's text; None for the empty query (only stop words), which
    matches nothing."""
    tokens = _tokens(text)
    if not tokens:
        return None
    reader = _Reader(tokens)
    node = reader.any()
    if reader.at != len(tokens):
        raise Unsupported("text after the query")
    return node
