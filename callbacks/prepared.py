"""Statements that run on every event, compiled by the ORM once per process instead of once per run.

Django compiles a queryset to SQL each time it runs it. For the reads on the push and routing paths (the free
agents with their four anti-joins, the line of waiting callbacks, an offer's card, an interaction's window) the
compiling cost several times what the database spent running them. A `Prepared` query is written as an ordinary
queryset, built once with stand-in values for its parameters; its SQL and Django's reading of its columns are
kept, and each run swaps the real values in and hands the rows to Django's own model iterator, so instances,
`select_related` objects and annotations come back exactly as the queryset would give them.

A stand-in must reach the SQL's parameters unchanged (an id, a string, a time), be found there, and never clash
with a constant of the query: the values below are chosen so. A list parameter (`pk__in`) is compiled once per
length; longer lists than `MAX_LIST` run through the ORM as usual.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

MAX_LIST = 8


class Stand:
    """Stand-in values, one per kind of parameter: distinct, and unlike anything a query holds as a constant."""

    @staticmethod
    def id(n: int) -> int:
        return -734_000_000 - n  # inside every integer column's range (a 32-bit one too: the ORM drops one outside)

    @staticmethod
    def text(n: int) -> str:
        return f"\x1fprepared-{n}\x1f"

    @staticmethod
    def time(n: int) -> datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 700_000 + n, tzinfo=UTC)


class Prepared:
    """`build(**params)` → a queryset; `run(**params)` → its rows, compiled once per database and list length.

    `kinds` names each parameter's kind: "id", "text", "time", or "ids" (a list of ids)."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: str) -> None:
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def run(self, **params: Any) -> list:
        if any(kind == "ids" and len(params[name]) > MAX_LIST for name, kind in self.kinds.items()):
            return list(self.build(**params))  # a long list: the ORM as usual
        bound = self.bind(**params)
        return [] if bound is None else bound.objects()

    def bind(self, **params: Any) -> Bound | None:
        """The statement with these values in it (None when no row can match), to run alone (`objects()`) or as a
        part of a larger statement whose rows are handed back (`objects(rows)`). Lists longer than MAX_LIST are
        `run`'s alone."""
        for name, kind in self.kinds.items():
            if kind == "text":  # as the ORM prepares a text column's value
                params[name] = str(params[name])
            if kind == "id":
                params[name] = int(params[name])
                if not _fits(params[name]):  # an id no 64-bit column holds matches no row (the ORM says the same)
                    return None
            if kind == "ids":
                params[name] = [int(i) for i in params[name] if _fits(int(i))]
                if not params[name]:
                    return None
                if len(params[name]) > MAX_LIST:
                    raise ValueError("prepared query: a list longer than MAX_LIST is run by the ORM, not bound")
        shape = tuple(len(params[name]) if kind == "ids" else 0 for name, kind in self.kinds.items())
        compiled = self._compiled.get(shape)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(shape) or self._compile(shape)
                self._compiled[shape] = compiled
        queryset, template, sql, slots = compiled
        connection = connections[queryset.db]
        values = list(template.params_template)
        for position, name, index in slots:
            value = params[name][index] if index is not None else params[name]
            values[position] = connection.ops.adapt_datetimefield_value(value) if self.kinds[name] == "time" else value
        return Bound(queryset, template, connection, sql, tuple(values))

    def first(self, **params: Any):
        found = self.run(**params)
        return found[0] if found else None

    @classmethod
    def locked_row(cls, model, *related: str) -> Prepared:
        """One row by primary key (`first(pk=…)`), locked for the transaction, with the related rows named."""
        return cls(
            lambda pk: model.objects.select_for_update(of=("self",)).select_related(*related).filter(pk=pk).order_by()[:1],
            pk="id",
        )

    def _stand_ins(self, shape: tuple) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n, ((name, kind), length) in enumerate(zip(self.kinds.items(), shape, strict=True)):
            if kind == "ids":
                out[name] = [Stand.id(100 * n + i) for i in range(length)]
            else:
                out[name] = getattr(Stand, kind)(n)
        return out

    def _compile(self, shape: tuple) -> tuple:
        stand_ins = self._stand_ins(shape)
        queryset = self.build(**stand_ins)
        connection = connections[queryset.db]
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()  # fills the compiler's reading of the columns (select, klass_info, …)
        wanted: dict[Any, tuple[str, int | None]] = {}
        for name, value in stand_ins.items():
            kind = self.kinds[name]
            for index, one in enumerate(value) if kind == "ids" else [(None, value)]:
                wanted[connection.ops.adapt_datetimefield_value(one) if kind == "time" else one] = (name, index)
        slots = [(position, *wanted[value]) for position, value in enumerate(params) if _hashable(value) in wanted]
        if {(name, index) for _, name, index in slots} != set(wanted.values()):
            raise ValueError(f"prepared query: a parameter is missing from its compiled SQL: {sql}")
        compiler.params_template = params
        compiler.connection = None  # each run takes its own thread's connection
        return queryset, compiler, sql, slots


class Bound:
    """A prepared statement with its values: its SQL, its parameters, its width, and its rows as model instances."""

    def __init__(self, queryset: QuerySet, template, connection, sql: str, params: tuple) -> None:
        self.queryset, self.template, self.connection, self.sql, self.params = queryset, template, connection, sql, params
        self.width = template.col_count  # the columns of one row, as the model iterator reads them

    def objects(self, rows: list | None = None) -> list:
        """Run the statement (or take `rows`, read by a statement that held this one) through Django's own model
        iterator: instances, `select_related` objects and annotations exactly as the queryset would give them."""
        compiler = copy.copy(self.template)
        compiler.connection = self.connection
        compiler.as_sql = lambda *args, **kwargs: (self.sql, self.params)
        if rows is not None:
            compiler.execute_sql = lambda *args, **kwargs: [rows]
        replay = self.queryset._chain()
        replay.query.get_compiler = lambda using=None, connection=None, elide_empty=True: compiler
        return list(replay)


def _fits(value: int) -> bool:
    return -(2**63) <= value < 2**63


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return None
    return value
