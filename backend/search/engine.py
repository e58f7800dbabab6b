"""The search engine: a tantivy index of the published jobs, beside PostgreSQL.

PostgreSQL stays the source of truth. The index holds each published job's search vector
as PostgreSQL made it (lexemes at their positions, by weight: title A, tags B, company
name C, description D) and the values searches filter on; it is fed from the outbox
(`search_outbox`, written by triggers in the same transaction as the change) by one
process per index directory, the one holding tantivy's writer lock (see `backend.search.feed`).
Each commit records how far into the outbox it has read (`Position`), in the same commit as
the documents, so that after any restart the index resumes from exactly there.

What the engine answers is the ids of the best matches in relevance order, from the
tier down: each job is in one tier (4 its title holds the words as a phrase, 3 its title
holds the query, 2 its tags do, 1 its company name does, 0 the words are somewhere in
it; `backend.db.repository.job_search.tier` is the same definition in SQL), newest first
within a tier, at the second, then the highest id. The repository reads those rows back
from PostgreSQL, testing each against the search there, together with every job changed
since the index's position (which the index may not hold yet), and orders them the same
way: results are exactly what PostgreSQL alone would return, whatever the index's lag.
"""

import calendar
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tantivy

from backend.db.repository.search_outbox import Document, Position
from backend.search.query import And, Lexeme, Node, Not, Phrase, Unsupported

# The index's layout: the documents' fields and what they hold.
VERSION = "6"
# A process reads the directory's newest commit at most this often (the jobs changed since
# are PostgreSQL's to add: see backend.db.repository.job_search).
VIEW_KEPT_SECONDS = 0.1
# How often the writer removes the documents of expired jobs.
SWEEP_SECONDS = 60.0
# A tier is searched first among the jobs of the newest days that hold this share of the
# index, then among the rest (`View.ranked`): a common word's newest matches are found
# without ordering every match. Not below NEWEST_FROM jobs, nor over more than NEWEST_DAYS.
NEWEST_SHARE = 0.04
NEWEST_FROM = 20_000
NEWEST_DAYS = 400
# Only a tier that may match this share of the index is searched that way
# (`Tier.at_most`): one that matches fewer costs little in one go.
NEWEST_WHEN = 0.1
_NEVER = 2**63 - 1
# The fields of the weights the tiers test: title (A), tags (B), company name (C).
_WEIGHTED = {"A": "title", "B": "tags_text", "C": "company"}


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    # (published second << 32) | (id & 0xffffffff): the order within a tier.
    builder.add_unsigned_field("key", indexed=True, fast=True)
    # The published day (UTC, since the epoch): the newest days are searched first.
    builder.add_unsigned_field("day", indexed=True)
    # Every lexeme at its position, whatever its weight (what `@@` tests), then each
    # weight's own (what the tiers test).
    for name in ("all", "title", "tags_text", "company"):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    # The title's lexemes in pairs at most PAIR_REACH positions apart (`_pair`): a phrase
    # in the title without reading positions (see `title_phrase`).
    builder.add_text_field("title_pairs", tokenizer_name="whitespace", index_option="basic")
    builder.add_text_field("workplace", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("employment_type", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("tag", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("location", tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("company_id", indexed=True)
    builder.add_integer_field("salary", indexed=True, fast=True)
    builder.add_integer_field("published", indexed=True, fast=True)
    builder.add_integer_field("expires", indexed=True, fast=True)
    # The one document that is not a job: where the index has read the outbox to.
    builder.add_text_field("meta", tokenizer_name="raw", stored=True, index_option="basic")
    builder.add_text_field("position", tokenizer_name="raw", stored=True, index_option="basic")
    builder.add_float_field("caught_up_at", stored=True)
    # No job's day is later (the writer's account; removals leave it as it was).
    builder.add_unsigned_field("last_day", stored=True)
    builder.add_text_field("version", tokenizer_name="raw", stored=True, index_option="basic")
    return builder.build()


SCHEMA = _schema()


def seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, as PostgreSQL's `floor(extract(epoch FROM ...))`."""
    return calendar.timegm(moment.utctimetuple())


def _micros(moment: datetime) -> int:
    return seconds(moment) * 1_000_000 + moment.microsecond


def key_of(second: int, job_id: int) -> int:
    """The order within a tier: the published second, then the id (below 2**32)."""
    return (second << 32) | (job_id & 0xFFFFFFFF)


def key(published_at: datetime, job_id: int) -> int:
    return key_of(seconds(published_at), job_id)


def day(published_at: datetime) -> int:
    return seconds(published_at) // 86_400


# A location's mark that PostgreSQL's case folding might turn some of it into ASCII
# letters that Python's does not (no three-character piece is this).
_NOT_ASCII = "\x02"


def _folds_uncertainly(location: str) -> bool:
    """Whether a character of `location` that is not ASCII has a case form or a
    compatibility form holding ASCII ('İ', 'ß', the Kelvin sign): where PostgreSQL's
    `ILIKE` and Python's `lower` may disagree on an ASCII filter. Other letters ('ã',
    'ü', 'ø') fold to letters that are not ASCII either way, so the location's pieces
    decide, as an ASCII one's do."""
    return any(
        not character.isascii()
        and any(
            part.isascii()
            for form in (character.lower(), character.upper(), character.casefold())
            for part in unicodedata.normalize("NFKC", form)
        )
        for character in location
    )


def trigrams(text: str) -> set[str]:
    """The three-character pieces of `text` lower-cased: what a location filter must
    find every one of (a superset of `ILIKE '%text%'`, which PostgreSQL then applies)."""
    folded = text.lower()
    return {folded[start : start + 3] for start in range(len(folded) - 2)}


# A lexeme as PostgreSQL prints a tsvector: quoted, a quote doubled and a backslash
# escaping the next character; then its positions, each with its weight (D unprinted).
_LEXEME = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::([0-9A-D,]+))?")
_UNESCAPE = re.compile(r"''|\\(.)")


def lexemes(vector: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """A tsvector's text read back: each lexeme with its (position, weight) pairs."""
    found = []
    for match in _LEXEME.finditer(vector):
        lexeme = _UNESCAPE.sub(lambda escaped: escaped.group(1) or "'", match.group(1))
        positions = []
        if match.group(2):
            for item in match.group(2).split(","):
                if item[-1].isdigit():
                    positions.append((int(item), "D"))
                else:
                    positions.append((int(item[:-1]), item[-1]))
        found.append((lexeme, positions))
    return found


def _tokens(words: Iterable[tuple[int, str]]) -> tantivy.PreTokenizedString:
    return tantivy.PreTokenizedString(
        "", [tantivy.Token(text, position, 0, 0) for position, text in words]
    )


# Stands in the text for a position PostgreSQL left empty (a stop word), so that each
# lexeme lands at its own position; no lexeme is ever this.
_GAP = "\x01"


def _text(words: list[tuple[int, str]]) -> str | None:
    """`words` (position, lexeme) as text whose whitespace-separated tokens sit at the
    positions PostgreSQL gave them (minus one); None where two share a position."""
    words.sort()
    slots: list[str] = []
    last = 0
    for position, lexeme in words:
        if position <= last:
            return None
        slots.extend([_GAP] * (position - last - 1))
        slots.append(lexeme)
        last = position
    return " ".join(slots)


def _add_words(made: tantivy.Document, name: str, words: list[tuple[int, str]]) -> None:
    text = _text(words)
    if text is not None:
        made.add_text(name, text)
    else:  # lexemes sharing a position (PostgreSQL caps positions at 16383)
        made.add_pre_tokenized_text(
            name, _tokens((position - 1, lexeme) for position, lexeme in words)
        )


def document(job: Document) -> tantivy.Document:
    made = tantivy.Document()
    made.add_unsigned("id", job.id)
    made.add_unsigned("key", key(job.published_at, job.id))
    made.add_unsigned("day", day(job.published_at))
    every: list[tuple[int, str]] = []
    weighted: dict[str, list[tuple[int, str]]] = {name: [] for name in _WEIGHTED.values()}
    unplaced: list[str] = []
    for lexeme, positions in lexemes(job.vector):
        if not positions:
            unplaced.append(lexeme)
            continue
        for position, weight in positions:
            every.append((position, lexeme))
            field_name = _WEIGHTED.get(weight)
            if field_name is not None:
                weighted[field_name].append((position, lexeme))
    last = max((position for position, _ in every), default=0)
    every += [(last + 1 + offset, lexeme) for offset, lexeme in enumerate(unplaced)]
    _add_words(made, "all", every)
    for name, words in weighted.items():
        if words:
            _add_words(made, name, words)
    title = sorted(weighted["title"])
    pairs = {
        _pair(first, second, at - before)
        for index, (before, first) in enumerate(title)
        for at, second in title[index + 1 :]
        if 0 < at - before <= PAIR_REACH
    }
    if pairs:
        made.add_text("title_pairs", " ".join(sorted(pairs)))
    made.add_text("workplace", job.workplace)
    made.add_text("employment_type", job.employment_type)
    for tag in job.tags:
        made.add_text("tag", tag)
    pieces = sorted(trigrams(job.location))
    if _folds_uncertainly(job.location):
        pieces.append(_NOT_ASCII)
    made.add_pre_tokenized_text("location", _tokens(enumerate(pieces)))
    made.add_unsigned("company_id", job.company_id)
    if job.salary is not None:
        made.add_integer("salary", job.salary)
    made.add_integer("published", _micros(job.published_at))
    made.add_integer("expires", _NEVER if job.expires_at is None else _micros(job.expires_at))
    return made


def _position_document(position: Position, caught_up_at: float, last_day: int) -> tantivy.Document:
    made = tantivy.Document()
    made.add_text("meta", "position")
    made.add_text("version", VERSION)
    made.add_text("position", position.snapshot)
    made.add_float("caught_up_at", caught_up_at)
    made.add_unsigned("last_day", last_day)
    return made


# --- queries


def _all() -> tantivy.Query:
    """Every job (not the position's document, which has no key)."""
    return tantivy.Query.exists_query("key")


def _boolean(clauses: Sequence[tuple[tantivy.Occur, tantivy.Query]]) -> tantivy.Query:
    return tantivy.Query.boolean_query(list(clauses))


def _term(name: str, value: Any) -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, name, value)


PAIR_REACH = 3


def _pair(first: str, second: str, distance: int) -> str:
    return f"{first}\x03{second}\x03{distance}"


def title_phrase(phrase: Lexeme | Phrase) -> tantivy.Query:
    """Tier 4's condition: the title holds `phrase`. Each word and the next at their
    distance, as pairs (a phrase of three words or more so matched may hold the pairs
    apart: the engine then ranks a job above its tier, which the search allows for, see
    `backend.db.repository.job_search`); a phrase with wider gaps reads positions."""
    if isinstance(phrase, Lexeme):
        return _term("title", phrase.text)
    if len(phrase.words) == 1:
        return _term("title", phrase.words[0][1])
    steps = list(zip(phrase.words, phrase.words[1:], strict=False))
    if any(not 0 < after - before <= PAIR_REACH for (before, _), (after, _) in steps):
        return matching(phrase, "title")
    return _boolean(
        [
            (tantivy.Occur.Must, _term("title_pairs", _pair(first, second, after - before)))
            for (before, first), (after, second) in steps
        ]
    )


def matching(node: Node, name: str) -> tantivy.Query:
    """The documents whose field `name` matches `node` as PostgreSQL's `@@` would."""
    if isinstance(node, Lexeme):
        return _term(name, node.text)
    if isinstance(node, Phrase):
        if len(node.words) == 1:
            return _term(name, node.words[0][1])
        return tantivy.Query.phrase_query(SCHEMA, name, list(node.words))
    if isinstance(node, Not):
        return _boolean(
            [(tantivy.Occur.Must, _all()), (tantivy.Occur.MustNot, matching(node.operand, name))]
        )
    if isinstance(node, And):
        clauses = []
        for operand in node.operands:
            if isinstance(operand, Not):
                clauses.append((tantivy.Occur.MustNot, matching(operand.operand, name)))
            else:
                clauses.append((tantivy.Occur.Must, matching(operand, name)))
        if all(occur == tantivy.Occur.MustNot for occur, _ in clauses):
            clauses.append((tantivy.Occur.Must, _all()))
        return _boolean(clauses)
    return _boolean([(tantivy.Occur.Should, matching(operand, name)) for operand in node.operands])


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search narrows to, as the engine can test it (PostgreSQL tests them all
    again exactly)."""

    workplace: str | None = None
    employment_type: str | None = None
    company_id: int | None = None
    tags: Sequence[str] = ()
    salary_min: int | None = None
    posted_after: datetime | None = None
    location: str | None = None


# A term (field, value) every match of a query holds.
Term = tuple[str, Any]


def required(node: Node, name: str) -> frozenset[Term]:
    """Terms of field `name` that every document matching `node` holds (maybe none)."""
    if isinstance(node, Lexeme):
        return frozenset({(name, node.text)})
    if isinstance(node, Phrase):
        return frozenset((name, word) for _, word in node.words)
    if isinstance(node, And):
        return frozenset().union(
            *(required(operand, name) for operand in node.operands if not isinstance(operand, Not))
        )
    return frozenset()


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier's query, and terms each of its matches holds (how many it may match)."""

    tier: int
    query: tantivy.Query
    holds: frozenset[Term]

    def at_most(self, searcher: tantivy.Searcher) -> int:
        return min((searcher.doc_freq(*term) for term in self.holds), default=searcher.num_docs)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A search's queries: every match, and each tier's, best tier first."""

    match: tantivy.Query
    tiers: tuple[Tier, ...]


def compile_search(words: Node, phrase: Node | None, filters: Filters) -> Compiled:
    """The engine's queries for a search: `words` from `websearch_to_tsquery`, `phrase`
    from `phraseto_tsquery` (None when only stop words), narrowed by `filters`."""
    if phrase is not None and not isinstance(phrase, Lexeme | Phrase):
        raise Unsupported("a phrase query of more than one chain")
    base: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, matching(words, "all"))]
    base += [(tantivy.Occur.Must, clause) for clause in _filter_clauses(filters)]
    holds = required(words, "all") | _filter_terms(filters)
    conditions = [
        (4, None if phrase is None else (title_phrase(phrase), required(phrase, "title"))),
        # One word: tier 3's condition is tier 4's, and tier 3 is empty.
        (3, None if phrase == words else (matching(words, "title"), required(words, "title"))),
        (2, (matching(words, "tags_text"), required(words, "tags_text"))),
        (1, (matching(words, "company"), required(words, "company"))),
    ]
    tiers: list[Tier] = []
    higher: list[tantivy.Query] = []
    for tier, condition in conditions:
        if condition is None:
            continue
        query, its = condition
        clauses = [*base, (tantivy.Occur.Must, query)]
        clauses += [(tantivy.Occur.MustNot, above) for above in higher]
        tiers.append(Tier(tier, _boolean(clauses), holds | its))
        higher.append(query)
    rest = _boolean(base + [(tantivy.Occur.MustNot, above) for above in higher])
    tiers.append(Tier(0, rest, holds))
    return Compiled(_boolean(base), tuple(tiers))


def _range(name: str, kind: tantivy.FieldType, low: int | None, high: int | None) -> Any:
    return tantivy.Query.range_query(SCHEMA, name, kind, low, high)


def _filter_clauses(filters: Filters) -> list[tantivy.Query]:
    clauses = []
    if filters.workplace is not None:
        clauses.append(_term("workplace", filters.workplace))
    if filters.employment_type is not None:
        clauses.append(_term("employment_type", filters.employment_type))
    if filters.company_id is not None:
        clauses.append(_term("company_id", filters.company_id))
    clauses += [_term("tag", tag) for tag in filters.tags]
    if filters.salary_min is not None:
        clauses.append(_range("salary", tantivy.FieldType.Integer, filters.salary_min, None))
    if filters.posted_after is not None:
        clauses.append(
            _range("published", tantivy.FieldType.Integer, _micros(filters.posted_after), None)
        )
    if filters.location is not None:
        pieces = [
            (tantivy.Occur.Must, _term("location", piece)) for piece in _pieces(filters.location)
        ]
        if pieces:
            clauses.append(
                _boolean(
                    [
                        (tantivy.Occur.Should, _boolean(pieces)),
                        (tantivy.Occur.Should, _term("location", _NOT_ASCII)),
                    ]
                )
            )
    return clauses


_ASCII_RUN = re.compile(r"[\x00-\x7f]{3,}")


def _pieces(location: str) -> list[str]:
    """What a location filter's matches hold: the first, middle and last three-character
    pieces of its longest ASCII run, lower-cased. A location that matches holds them where
    it holds that run, unless PostgreSQL folded it there into ASCII otherwise than Python
    (a location so marked, `_folds_uncertainly`, is a match to test). Only ASCII is folded
    here, where both fold alike; more pieces would cost more than the few jobs they rule
    out (PostgreSQL narrows the superset)."""
    run = max(_ASCII_RUN.findall(location), key=len, default="").lower()
    starts = sorted({0, (len(run) - 3) // 2, len(run) - 3}) if run else []
    return [run[at : at + 3] for at in starts]


def _filter_terms(filters: Filters) -> frozenset[Term]:
    """Terms every job passing `filters` holds."""
    terms: set[Term] = {("tag", tag) for tag in filters.tags}
    if filters.workplace is not None:
        terms.add(("workplace", filters.workplace))
    if filters.employment_type is not None:
        terms.add(("employment_type", filters.employment_type))
    if filters.company_id is not None:
        terms.add(("company_id", filters.company_id))
    return frozenset(terms)


@dataclass(frozen=True, slots=True, order=True)
class Ranked:
    """A job's place in the relevance order: (tier, key) descending."""

    tier: int
    key: int
    id: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class View:
    """One searcher of the index and where its documents are in the outbox."""

    searcher: tantivy.Searcher
    position: Position
    caught_up_at: float
    last_day: int
    # The jobs of the newest days (every day from the last one down to where they hold
    # NEWEST_SHARE of the index), or None for a small index.
    newest: tantivy.Query | None

    def ranked(self, compiled: Compiled, *, after: Ranked | None, limit: int) -> list[Ranked]:
        """Up to `limit` matches after `after`, best first. Jobs expired since the writer
        last removed them (`SearchIndex.commit`) are among them: PostgreSQL drops them.

        Each tier is searched among the newest days' jobs, then, if they are too few, among
        the others: every job of those days is newer than every other (the order within a
        tier is by the published second first), so the two lists follow one another.
        """
        found: list[Ranked] = []
        for each in compiled.tiers:
            if after is not None and each.tier > after.tier:
                continue
            clauses = [(tantivy.Occur.Must, each.query)]
            if after is not None and each.tier == after.tier:
                below = tantivy.Query.range_query(
                    SCHEMA, "key", tantivy.FieldType.Unsigned, None, after.key, include_upper=False
                )
                clauses.append((tantivy.Occur.Must, below))
            wanted = limit - len(found)
            newest: list[Ranked] = []
            if (
                self.newest is not None
                and each.at_most(self.searcher) >= NEWEST_WHEN * self.searcher.num_docs
            ):
                newest = self._ordered(
                    each.tier, _boolean([*clauses, (tantivy.Occur.Must, self.newest)]), wanted
                )
            if len(newest) < wanted:
                # The newest days' matches come first here too: the ones after them follow.
                every = self._ordered(each.tier, _boolean(clauses), wanted)
                newest += every[len(newest) :]
            found += newest
            if len(found) >= limit:
                return found
            # Nothing in the best tier: one look at whether anything matches at all spares
            # each lower tier's search the same answer.
            if (
                not found
                and after is None
                and each is compiled.tiers[0]
                and not self.searcher.search(compiled.match, 1, count=False).hits
            ):
                break
        return found

    def _ordered(self, tier: int, query: tantivy.Query, limit: int) -> list[Ranked]:
        hits = self.searcher.search(query, limit, count=False, order_by_field="key").hits
        ids = self.searcher.fast_field_values("id", [address for _, address in hits])
        return [
            Ranked(tier, int(hit_key), int(job_id or 0))
            for (hit_key, _), job_id in zip(hits, ids, strict=True)
        ]


def _newest(searcher: tantivy.Searcher, last_day: int) -> tantivy.Query | None:
    """The jobs of the days from `last_day` down to where they hold NEWEST_SHARE of the
    index (each day's count includes documents removed but not yet merged away: a share
    near enough)."""
    if searcher.num_docs < NEWEST_FROM:
        return None
    days: list[int] = []
    held = 0
    for each in range(last_day, max(last_day - NEWEST_DAYS, -1), -1):
        days.append(each)
        held += searcher.doc_freq("day", each)
        if held >= searcher.num_docs * NEWEST_SHARE:
            return tantivy.Query.term_set_query(SCHEMA, "day", days)
    return None


def _micros_now() -> int:
    now = time.time()
    return int(now) * 1_000_000 + int((now % 1) * 1_000_000)


class SearchIndex:
    """The index in a directory: readable by every process, written by the one holding its
    writer lock. Each layout (`VERSION`) has its own subdirectory, so that during an
    upgrade the processes of each release keep their own index; a release's is removed by
    hand once none runs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / f"v{VERSION}"
        self.directory.mkdir(parents=True, exist_ok=True)
        path = str(self.directory)
        self.index = tantivy.Index(SCHEMA, path=path, reuse=tantivy.Index.exists(path))
        self.writer: tantivy.IndexWriter | None = None
        self.lock = threading.Lock()
        self._view: tuple[float, View] | None = None
        self._swept_at = -SWEEP_SECONDS
        # The writer's: no document's day is later.
        self._last_day = 0

    def try_to_write(self) -> bool:
        """Take the writer lock if no process holds it; whether this process has it."""
        if self.writer is None:
            try:
                self.writer = self.index.writer(heap_size=50_000_000, num_threads=1)
            except ValueError:
                return False
            committed = self._read_view()
            self._last_day = 0 if committed is None else committed.last_day
        return True

    def view(self) -> View | None:
        """The newest committed state (as of VIEW_KEPT_SECONDS ago at most), or None for an
        index never built."""
        taken = self._view
        if taken is not None and time.monotonic() - taken[0] < VIEW_KEPT_SECONDS:
            return taken[1]
        view = self._read_view()
        self._view = None if view is None else (time.monotonic(), view)
        return view

    def _read_view(self) -> View | None:
        self.index.reload()
        searcher = self.index.searcher()
        hits = searcher.search(_term("meta", "position"), 1).hits
        if not hits:
            return None
        stored = searcher.doc(hits[0][1])
        if stored.get_first("version") != VERSION:
            return None
        position = Position(str(stored.get_first("position")))
        last_day = int(stored.get_first("last_day") or 0)
        return View(
            searcher,
            position,
            float(stored.get_first("caught_up_at") or 0.0),
            last_day,
            _newest(searcher, last_day),
        )

    def _writing(self) -> tantivy.IndexWriter:
        assert self.writer is not None, "only the process holding the writer lock writes"
        return self.writer

    def reset(self) -> None:
        """Every document gone at the next commit (a rebuild then adds them all)."""
        with self.lock:
            self._writing().delete_all_documents()
            self._last_day = 0

    def remove(self, job_ids: Iterable[int]) -> None:
        with self.lock:
            writer = self._writing()
            for job_id in job_ids:
                writer.delete_documents_by_query(_term("id", job_id))

    def add(self, jobs: Iterable[Document]) -> None:
        with self.lock:
            writer = self._writing()
            for job in jobs:
                writer.add_document(document(job))
                self._last_day = max(self._last_day, day(job.published_at))

    def commit(self, position: Position) -> None:
        """What was removed and added since the last commit, with the outbox read up to
        `position`, published at once (to this process and the others reading the
        directory) and on disk; at most every SWEEP_SECONDS, the jobs expired by then
        removed too."""
        with self.lock:
            writer = self._writing()
            if time.monotonic() - self._swept_at >= SWEEP_SECONDS:
                # Expiry comes with time, not with a change in the outbox.
                expired = _range("expires", tantivy.FieldType.Integer, None, _micros_now())
                writer.delete_documents_by_query(expired)
                self._swept_at = time.monotonic()
            writer.delete_documents_by_term("meta", "position")
            writer.add_document(_position_document(position, time.time(), self._last_day))
            writer.commit()
            self._view = None

    def discard(self) -> None:
        """What was removed and added since the last commit, dropped."""
        with self.lock:
            self._writing().rollback()

    def close(self) -> None:
        if self.writer is not None:
            with self.lock:
                self.writer.rollback()
                self.writer = None
