"""Screening's SQL: pathway facts, cases, measures and risk flags, on the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from clinicflow.screening.contraindications import History, Proposal
from clinicflow.screening.domain import CaseStatus, Measure, RiskFlag, ScreeningCase
from clinicflow.shared.errors import NotFound

_UPSERT_FACTS = """
INSERT INTO pathway_facts (pathway_id, age_band, concerns) VALUES ($1, $2, $3)
ON CONFLICT (pathway_id) DO UPDATE SET age_band = EXCLUDED.age_band, concerns = EXCLUDED.concerns"""
_FACTS = "SELECT age_band, concerns FROM pathway_facts WHERE pathway_id = $1"
_OPEN_CASE = """
INSERT INTO screening_cases (pathway_id, status, opened_at) VALUES ($1, 'open', $2)
ON CONFLICT (pathway_id) DO NOTHING RETURNING pathway_id"""
_CASE = "SELECT * FROM screening_cases WHERE pathway_id = $1"
_CASE_FOR_UPDATE = "SELECT * FROM screening_cases WHERE pathway_id = $1 FOR UPDATE"
_SAVE_CASE = """
UPDATE screening_cases SET status = $2, proposal = $3, absolute_codes = $4, relative_codes = $5,
       proposal_rules = $6, risk_review_required = $7, outcome = $8, overridden = $9, override_reason = $10,
       signed_by = $11, signed_at = $12, closed_reason = $13, risk_level = $14
WHERE pathway_id = $1"""
_SAVE_HISTORY = "UPDATE screening_cases SET history = $2 WHERE pathway_id = $1"
_ADD_MEASURE = """
INSERT INTO measures (id, pathway_id, instrument, answers, total, band, flags, context, rule_set_version,
                      recorded_by, recorded_at, request_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"""
_MEASURE_BY_KEY = "SELECT * FROM measures WHERE request_key = $1"
_MEASURES = "SELECT * FROM measures WHERE pathway_id = $1 ORDER BY recorded_at, id"
_ADD_FLAG = """
INSERT INTO risk_flags (alert_id, pathway_id, measure_id, reason, severity, rule_set_version, raised_at, request_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
_FLAG_FOR_REQUEST = "SELECT EXISTS (SELECT 1 FROM risk_flags WHERE request_key = $1)"
_FLAGS = "SELECT * FROM risk_flags WHERE pathway_id = $1 ORDER BY raised_at"
_REVIEW_FLAGS = """
UPDATE risk_flags SET reviewed_by = $2, reviewed_at = $3, risk_level = $4
WHERE pathway_id = $1 AND reviewed_at IS NULL"""
_ACKNOWLEDGE_FLAG = """
UPDATE risk_flags SET acknowledged_by = $2, acknowledged_at = $3
WHERE alert_id = $1 AND acknowledged_at IS NULL
RETURNING true"""


class ScreeningRepository:
    """Screening's tables, read and written on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def note_facts(self, *, pathway_id: uuid.UUID, age_band: str, concerns: list[str]) -> None:
        """Remember the coded facts of an enquiry."""
        await self._conn.execute(_UPSERT_FACTS, pathway_id, age_band, concerns)

    async def facts(self, *, pathway_id: uuid.UUID) -> tuple[str, tuple[str, ...]] | None:
        """Age band and concerns, once `enquiry.received` has arrived."""
        row = await self._conn.fetchrow(_FACTS, pathway_id)
        return (row["age_band"], tuple(row["concerns"])) if row else None

    async def open_case(self, *, pathway_id: uuid.UUID, now: datetime) -> bool:
        """Open a case; False when the pathway already has one."""
        return await self._conn.fetchval(_OPEN_CASE, pathway_id, now) is not None

    async def get_case(self, *, pathway_id: uuid.UUID, for_update: bool = False) -> ScreeningCase:
        """The pathway's case (locked when about to change); NotFound when none was opened."""
        row = await self._conn.fetchrow(_CASE_FOR_UPDATE if for_update else _CASE, pathway_id)
        if row is None:
            raise NotFound("no screening case for that pathway")
        return _case(row)

    async def save_case(self, *, case: ScreeningCase) -> None:
        """Write a case's changed state."""
        p = case.proposal
        await self._conn.execute(
            _SAVE_CASE, case.pathway_id, case.status.value, p and p.outcome, p and list(p.absolute),
            p and list(p.relative), p and p.rule_set_version, case.risk_review_required, case.outcome,
            case.overridden, case.override_reason, case.signed_by, case.signed_at, case.closed_reason, case.risk_level,
        )

    async def save_history(self, *, pathway_id: uuid.UUID, history: History) -> None:
        """Keep the coded history the proposal was made from."""
        document = {
            "conditions": sorted(history.conditions), "medicine_classes": sorted(history.medicine_classes),
            "systolic": history.systolic, "diastolic": history.diastolic, "weight_kg": history.weight_kg,
        }
        await self._conn.execute(_SAVE_HISTORY, pathway_id, document)

    async def add_measure(self, *, measure: Measure, request_key: str | None) -> None:
        """Store a scored questionnaire."""
        m = measure
        await self._conn.execute(
            _ADD_MEASURE, m.id, m.pathway_id, m.instrument, list(m.answers), m.total, m.band, list(m.flags),
            m.context, m.rule_set_version, m.recorded_by, m.recorded_at, request_key,
        )

    async def measure_by_request_key(self, *, request_key: str) -> Measure | None:
        """The measure an earlier request with this key recorded."""
        row = await self._conn.fetchrow(_MEASURE_BY_KEY, request_key)
        return _measure(row) if row else None

    async def measures(self, *, pathway_id: uuid.UUID) -> list[Measure]:
        """Every measure of a pathway, oldest first."""
        return [_measure(row) for row in await self._conn.fetch(_MEASURES, pathway_id)]

    async def add_risk_flag(
        self, *, pathway_id: uuid.UUID, flag: RiskFlag, rule_set_version: str, request_key: str | None
    ) -> None:
        """Store a safety flag."""
        await self._conn.execute(
            _ADD_FLAG, flag.alert_id, pathway_id, flag.measure_id, flag.reason, flag.severity, rule_set_version,
            flag.raised_at, request_key,
        )

    async def flag_raised_for_request(self, *, request_key: str) -> bool:
        """Whether a request with this key already raised a safety flag."""
        return await self._conn.fetchval(_FLAG_FOR_REQUEST, request_key)

    async def risk_flags(self, *, pathway_id: uuid.UUID) -> list[RiskFlag]:
        """Every safety flag of a pathway."""
        return [
            RiskFlag(r["alert_id"], r["reason"], r["severity"], r["measure_id"], r["raised_at"], r["acknowledged_by"],
                     r["reviewed_by"], r["risk_level"])
            for r in await self._conn.fetch(_FLAGS, pathway_id)
        ]

    async def review_risk_flags(self, *, pathway_id: uuid.UUID, doctor_id: str, at: datetime, level: str) -> None:
        """Mark every unreviewed flag of a pathway reviewed."""
        await self._conn.execute(_REVIEW_FLAGS, pathway_id, doctor_id, at, level)

    async def acknowledge_flag(self, *, alert_id: uuid.UUID, by: str, at: datetime) -> bool:
        """Note that staff acknowledged one of our alerts; False for another service's alert (or one already
        acknowledged)."""
        return bool(await self._conn.fetchval(_ACKNOWLEDGE_FLAG, alert_id, by, at))


def _case(row: asyncpg.Record) -> ScreeningCase:
    proposal = None
    if row["proposal"] is not None:
        proposal = Proposal(row["proposal"], tuple(row["absolute_codes"]), tuple(row["relative_codes"]),
                            row["proposal_rules"])
    return ScreeningCase(
        pathway_id=row["pathway_id"], status=CaseStatus(row["status"]), opened_at=row["opened_at"],
        proposal=proposal, risk_review_required=row["risk_review_required"], risk_level=row["risk_level"],
        outcome=row["outcome"],
        overridden=row["overridden"], override_reason=row["override_reason"], signed_by=row["signed_by"],
        signed_at=row["signed_at"], closed_reason=row["closed_reason"],
    )


def _measure(row: asyncpg.Record) -> Measure:
    return Measure(
        id=row["id"], pathway_id=row["pathway_id"], instrument=row["instrument"], answers=tuple(row["answers"]),
        total=row["total"], band=row["band"], flags=tuple(row["flags"]), context=row["context"],
        rule_set_version=row["rule_set_version"], recorded_by=row["recorded_by"], recorded_at=row["recorded_at"],
    )
