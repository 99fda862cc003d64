"""The `CitizenStore` both SQL stores share, written once over a `Dialect`."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from cityos.governance.model import TrailEntry
from cityos.store.case_rows import TRAIL_COLUMNS, dt, trail_entry
from cityos.store.citizens import Follower, Mail
from cityos.store.sql_dialect import Dialect, SqlStore


def citizen_tables(serial: str, text: str, number: str) -> list[str]:
    """The statements creating the tables, in a backend's spelling of an auto-numbered key,
    text and a real number."""
    return [
        f"""CREATE TABLE IF NOT EXISTS citizen_counters (
            tenant {text} NOT NULL, series {text} NOT NULL, value bigint NOT NULL,
            PRIMARY KEY (tenant, series))""",
        f"""CREATE TABLE IF NOT EXISTS case_references (
            tenant {text} NOT NULL, reference {text} NOT NULL, case_id {text} NOT NULL,
            PRIMARY KEY (tenant, reference))""",
        f"""CREATE TABLE IF NOT EXISTS citizen_followers (
            token {text} PRIMARY KEY, tenant {text} NOT NULL, case_id {text} NOT NULL,
            email {text} NOT NULL, name {text} NOT NULL, lang {text} NOT NULL,
            active integer NOT NULL,
            added {number} NOT NULL, UNIQUE (tenant, case_id, email))""",
        f"""CREATE TABLE IF NOT EXISTS citizen_mail (
            id {serial} PRIMARY KEY, tenant {text} NOT NULL, case_id {text} NOT NULL,
            recipient {text} NOT NULL, subject {text} NOT NULL, body {text} NOT NULL,
            attempts integer NOT NULL DEFAULT 0, next_at {number}, sent_at {number},
            error {text})""",
        "CREATE INDEX IF NOT EXISTS citizen_mail_due ON citizen_mail (next_at) "
        "WHERE sent_at IS NULL",
        "CREATE INDEX IF NOT EXISTS case_trail_by_time ON case_trail (tenant, at)",
    ]


_FOLLOWER = "token, tenant, case_id, email, name, lang, active"
_MAIL = "id, tenant, case_id, recipient, subject, body, attempts, next_at, error"


def _follower(row: Any) -> Follower:
    return Follower(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


class SqlCitizens:
    """The `CitizenStore` of a store with `reading()` and `transaction()`."""

    dialect: Dialect

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def allocate_reference(self, tenant: str, series: str, case_id: str) -> str:
        p = self.dialect.param()
        with self._store.transaction() as db:
            row = db.execute(
                f"INSERT INTO citizen_counters (tenant, series, value) VALUES ({p}, {p}, 1) "
                "ON CONFLICT (tenant, series) DO UPDATE "
                "SET value = citizen_counters.value + 1 RETURNING value",
                [tenant, series],
            ).fetchone()
            reference = f"{series}-{int(row[0]):06d}"
            db.execute(
                f"INSERT INTO case_references (tenant, reference, case_id) VALUES ({p}, {p}, {p})",
                [tenant, reference, case_id],
            )
        return reference

    def case_of(self, tenant: str, reference: str) -> str | None:
        p = self.dialect.param()
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT case_id FROM case_references WHERE tenant = {p} AND reference = {p}",
                [tenant, reference],
            ).fetchone()
        return str(row[0]) if row else None

    def follow(self, follower: Follower) -> Follower:
        p, f = self.dialect.param(), follower
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO citizen_followers (token, tenant, case_id, email, name, lang, "
                f"active, added) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 1, {p}) "
                "ON CONFLICT (tenant, case_id, email) DO UPDATE SET active = 1",
                [f.token, f.tenant, f.case_id, f.email, f.name, f.lang, time.time()],
            )
            row = db.execute(
                f"SELECT {_FOLLOWER} FROM citizen_followers "
                f"WHERE tenant = {p} AND case_id = {p} AND email = {p}",
                [f.tenant, f.case_id, f.email],
            ).fetchone()
        return _follower(row)

    def followers(self, tenant: str, case_id: str) -> list[Follower]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_FOLLOWER} FROM citizen_followers WHERE tenant = {p} AND case_id = {p} "
                "ORDER BY added, token",
                [tenant, case_id],
            ).fetchall()
        return [_follower(r) for r in rows]

    def unsubscribe(self, token: str) -> Follower | None:
        p = self.dialect.param()
        with self._store.transaction() as db:
            db.execute(f"UPDATE citizen_followers SET active = 0 WHERE token = {p}", [token])
            row = db.execute(
                f"SELECT {_FOLLOWER} FROM citizen_followers WHERE token = {p}", [token]
            ).fetchone()
        return _follower(row) if row else None

    def enqueue(self, mails: list[Mail]) -> None:
        if not mails:
            return
        p = self.dialect.param()
        with self._store.transaction() as db:
            db.cursor().executemany(
                "INSERT INTO citizen_mail (tenant, case_id, recipient, subject, body, attempts, "
                f"next_at) VALUES ({p}, {p}, {p}, {p}, {p}, 0, {p})",
                [
                    [m.tenant, m.case_id, m.to, m.subject, m.body, m.next_at.timestamp()]
                    for m in mails
                ],
            )

    def due_mail(self, now: datetime, lease_until: datetime, limit: int = 50) -> list[Mail]:
        p = self.dialect.param()
        skip = " FOR UPDATE SKIP LOCKED" if self.dialect.arrays else ""
        with self._store.transaction() as db:
            rows = db.execute(
                f"SELECT {_MAIL} FROM citizen_mail WHERE sent_at IS NULL AND next_at <= {p} "
                f"ORDER BY next_at, id LIMIT {p}{skip}",
                [now.timestamp(), limit],
            ).fetchall()
            if rows:
                claimed = self.dialect.in_list("id", [r[0] for r in rows])
                db.execute(
                    f"UPDATE citizen_mail SET next_at = {p} WHERE {claimed[0]}",
                    [lease_until.timestamp(), *claimed[1]],
                )
        return [
            Mail(r[1], r[2], r[3], r[4], r[5], dt(r[7]), attempts=r[6], id=r[0], error=r[8])
            for r in rows
        ]

    def mail_sent(self, mail_id: int, at: datetime) -> None:
        p = self.dialect.param()
        with self._store.transaction() as db:
            db.execute(
                f"UPDATE citizen_mail SET sent_at = {p}, error = NULL WHERE id = {p}",
                [at.timestamp(), mail_id],
            )

    def mail_failed(self, mail: Mail) -> None:
        p = self.dialect.param()
        with self._store.transaction() as db:
            db.execute(
                f"UPDATE citizen_mail SET attempts = {p}, next_at = {p}, error = {p} "
                f"WHERE id = {p}",
                [mail.attempts, mail.next_at.timestamp(), mail.error, mail.id],
            )

    def pending_mail(self) -> int:
        with self._store.reading() as db:
            row = db.execute("SELECT count(*) FROM citizen_mail WHERE sent_at IS NULL").fetchone()
        return int(row[0])

    def updates(
        self, tenant: str, since: datetime, until: datetime, limit: int
    ) -> list[TrailEntry]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {TRAIL_COLUMNS} FROM case_trail WHERE tenant = {p} AND at >= {p} "
                f"AND at < {p} ORDER BY at, seq LIMIT {p}",
                [tenant, since.timestamp(), until.timestamp(), limit],
            ).fetchall()
        return [trail_entry(r) for r in rows]
