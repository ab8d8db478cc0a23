"""Full-text search over stored items: SQLite FTS5, or PostgreSQL's full-text search.

The documents hold text already normalised by the rules' normaliser (``monitor.alerts.search`` writes
them), and queries arrive normalised the same way, so ي/ك and ی/ک, ZWNJ and spaces, digits of every
script are one. Each function takes a Session and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from storage.console_models import SearchDoc
from storage.models import Item

# Made by the migration, not by a model: alembic/env.py keeps autogenerate away from them.
UNMODELLED = ("search_fts", "ix_search_docs_fts")


@dataclass(frozen=True)
class SearchFilters:
    source_id: str | None = None
    lang: str | None = None


def stale_items(session: Session, *, limit: int) -> list[Item]:
    """Items with no search document, or one of an older version, oldest first."""
    query = (
        select(Item)
        .outerjoin(SearchDoc, SearchDoc.item_id == Item.id)
        .where(or_(SearchDoc.item_id.is_(None), SearchDoc.version != Item.version))
        .order_by(Item.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_stale(session: Session) -> int:
    query = (
        select(func.count())
        .select_from(Item)
        .outerjoin(SearchDoc, SearchDoc.item_id == Item.id)
        .where(or_(SearchDoc.item_id.is_(None), SearchDoc.version != Item.version))
    )
    return int(session.scalar(query) or 0)


def put_documents(session: Session, documents: Sequence[tuple[int, int, str]]) -> None:
    """Write (item id, version, body) documents, replacing older ones (one query to find them)."""
    ids = [item_id for item_id, _, _ in documents]
    existing = {doc.item_id: doc for doc in session.scalars(select(SearchDoc).where(SearchDoc.item_id.in_(ids)))}
    for item_id, version, body in documents:
        doc = existing.get(item_id)
        if doc is None:
            session.add(SearchDoc(item_id=item_id, version=version, body=body))
        else:
            doc.version, doc.body = version, body


def _fts5_query(phrases: Sequence[str]) -> str:
    """Each phrase quoted (FTS5's own syntax is never taken from the user), all of them required."""
    return " ".join('"' + phrase.replace('"', '""') + '"' for phrase in phrases)


def _filter_sql(filters: SearchFilters) -> tuple[str, dict[str, str]]:
    clauses, params = [], {}
    if filters.source_id:
        clauses.append("items.source_id = :source_id")
        params["source_id"] = filters.source_id
    if filters.lang:
        clauses.append("items.lang = :lang")
        params["lang"] = filters.lang
    return "".join(f" AND {clause}" for clause in clauses), params


def _pg_match(phrases: Sequence[str]) -> tuple[ColumnElement[bool], ColumnElement[float]]:
    # The same expression as the GIN index, with the configuration as a constant, or the index is not used.
    vector = func.to_tsvector(literal_column("'simple'::regconfig"), SearchDoc.body)
    query: Any = func.phraseto_tsquery(literal_column("'simple'::regconfig"), phrases[0])
    for phrase in phrases[1:]:
        query = query.op("&&")(func.phraseto_tsquery(literal_column("'simple'::regconfig"), phrase))
    return vector.op("@@")(query), func.ts_rank(vector, query)


def search(session: Session, phrases: Sequence[str], *, filters: SearchFilters | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[int], int]:
    """Ids of the items containing every phrase (best first), and how many there are in all."""
    phrases = [p for p in phrases if p.strip()]
    filters = filters or SearchFilters()
    if not phrases:
        return [], 0
    if session.get_bind().dialect.name == "sqlite":
        where, params = _filter_sql(filters)
        base = ("FROM search_fts JOIN items ON items.id = search_fts.rowid "
                f"WHERE search_fts MATCH :query{where}")
        params["query"] = _fts5_query(phrases)
        total = session.execute(text(f"SELECT count(*) {base}"), params).scalar_one()
        rows = session.execute(text(f"SELECT items.id {base} ORDER BY search_fts.rank, items.id DESC "
                                    "LIMIT :limit OFFSET :offset"), {**params, "limit": limit, "offset": offset})
        return [int(row[0]) for row in rows], int(total)
    matches, rank = _pg_match(phrases)
    query = select(Item.id).join(SearchDoc, SearchDoc.item_id == Item.id).where(matches)
    if filters.source_id:
        query = query.where(Item.source_id == filters.source_id)
    if filters.lang:
        query = query.where(Item.lang == filters.lang)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    ids = session.scalars(query.order_by(rank.desc(), Item.id.desc()).limit(limit).offset(offset))
    return list(ids), int(total or 0)
