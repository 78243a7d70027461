"""The benchmark's generated month, small: valid national ids, and reconciliation finds exactly the planted set."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.models import Agency
from workflows.query_log import import_query_log
from workflows.reconcile import reconcile
from workflows.register import import_register

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import gen_records  # noqa: E402
import reconcile_bench  # noqa: E402
from reconcile_baseline import python_reconcile  # noqa: E402


def test_generated_national_ids_have_valid_check_digits():
    rng = random.Random(7)
    assert all(gen_records.is_valid_national_id(gen_records.national_id(rng)) for _ in range(2000))
    assert gen_records.is_valid_national_id("A123456789") and not gen_records.is_valid_national_id("A123456788")


@pytest.mark.clause("R3.4", "R6.6")
def test_r3_4_generated_month_reconciles_to_exactly_the_planted_counts(db, tmp_path):
    manifest = gen_records.generate(6000, tmp_path / "month", seed=11)
    reconcile_bench._organisation(db, manifest)
    for importer, name in ((import_query_log, "log.csv"), (import_register, "register.csv")):
        result = importer(db, tmp_path / "month" / name, reconcile_bench.AGENCY, tmp_path / "evidence")
        assert result.rejected == [] and result.duplicates == 0 and result.imported == 6000  # exactly n of each
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == reconcile_bench.AGENCY))
        counts = reconcile(session, agency, manifest["period"]).counts
        assert counts == manifest["expected"]
        assert python_reconcile(session, agency, manifest["period"]) == manifest["expected"]
    assert manifest["expected"]["off_hours"] == 6 and dt.date(2024, 6, 10) not in gen_records.working_days()
