"""Generate a realistic month of WebIR query logs and register (Form 2) entries with planted anomalies.

    .venv/bin/python bench/gen_records.py --n 1000000 --out /tmp/records

Writes `log.csv` (Chinese headers, UTF-8 with BOM, ISO / slash / ROC times), `register.csv` (Big5 is what
offices export; UTF-8 here so any id fits) and `planted.json` (the org to create and the exact counts a
reconciliation must report). Subjects are Taiwanese national ids with valid check digits; query times follow
an office-hours distribution (peaks mid-morning and mid-afternoon) on Taiwan working days of June 2024.
n/1000 cases are queried and registered twice a few minutes apart: their candidates are contested, so the
reconciliation's pairing rounds run too (both queries end matched).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import tempfile
from pathlib import Path

import holidays

TPE = dt.timezone(dt.timedelta(hours=8))
YEAR, MONTH = 2024, 6
PERIOD = f"{YEAR}-{MONTH:02d}"
# Letter codes of the national id (A=10 ... Z=33, with the historical order of I, O, W, X, Z).
ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
ITEMS = ("social_assistance", "labor_inspection", "employment_services", "occupational_safety")
SCOPED_USERS = 20  # users with a granted Form 1-2 naming `social_assistance` and a 我的E政府 account
LOG_HEADER = ["查詢時間", "查詢者帳號", "查詢者姓名", "被查詢人身分證號", "查詢項目", "案件編號", "來源IP"]
REGISTER_HEADER = ["案件編號", "查詢人員", "查詢日期", "查詢目的", "被查詢人身分證號"]
PLANTED = ("logged_not_registered", "registered_not_logged", "querier_mismatch", "off_hours",
           "unauthorized_account", "outside_business_scope")


def national_id(rng: random.Random) -> str:
    """A random Taiwanese national id with a valid check digit."""
    letter_index = rng.randrange(26)
    code = 10 + letter_index
    digits = [rng.choice((1, 2))] + [rng.randrange(10) for _ in range(7)]
    weights = [8, 7, 6, 5, 4, 3, 2, 1]
    total = code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits, weights, strict=True))
    check = (10 - total % 10) % 10
    return ID_LETTERS[letter_index] + "".join(map(str, digits)) + str(check)


def is_valid_national_id(text: str) -> bool:
    """The check-digit test the generator satisfies (for the tests of the generator)."""
    if len(text) != 10 or text[0] not in ID_LETTERS or not text[1:].isdigit():
        return False
    code = 10 + ID_LETTERS.index(text[0])
    weights = [8, 7, 6, 5, 4, 3, 2, 1, 1]
    return (code // 10 + (code % 10) * 9 + sum(int(d) * w for d, w in zip(text[1:], weights, strict=True))) % 10 == 0


def working_days() -> list[dt.date]:
    off = holidays.country_holidays("TW", years=YEAR)
    days = [dt.date(YEAR, MONTH, d) for d in range(1, 31)]
    return [d for d in days if d.weekday() < 5 and d not in off]


def office_time(rng: random.Random, day: dt.date) -> dt.datetime:
    """A time in office hours, peaking around 10:00 and 15:00."""
    while True:
        hour = rng.gauss(10.2, 1.1) if rng.random() < 0.55 else rng.gauss(15.0, 1.2)
        if 8.05 <= hour <= 17.9:
            break
    return dt.datetime.combine(day, dt.time(0), TPE) + dt.timedelta(seconds=int(hour * 3600))


def off_time(rng: random.Random, days: list[dt.date]) -> dt.datetime:
    """Evening of a working day, or daytime of a weekend or holiday."""
    if rng.random() < 0.5:
        return dt.datetime.combine(rng.choice(days), dt.time(0), TPE) + dt.timedelta(hours=19 + rng.random() * 3)
    free = [dt.date(YEAR, MONTH, d) for d in range(1, 31) if dt.date(YEAR, MONTH, d) not in days]
    return dt.datetime.combine(rng.choice(free), dt.time(0), TPE) + dt.timedelta(hours=9 + rng.random() * 7)


def time_text(when: dt.datetime, style: int) -> str:
    if style == 0:
        return when.isoformat()
    if style == 1:
        return when.strftime("%Y/%m/%d %H:%M:%S")
    return f"{when.year - 1911}/{when:%m/%d %H:%M:%S}"


class Month:
    """Writes one record pair (or a planted anomaly) at a time to the two CSV writers."""

    def __init__(self, rng: random.Random, logs, register, users: int):
        self.rng, self.logs, self.register, self.users, self.seq = rng, logs, register, users, 0

    def account(self, user: int) -> tuple[str, str]:
        """(log account, register querier): scoped users log with their 我的E政府 account id."""
        username = f"u{user:04d}"
        return (f"egov.{username}" if user < SCOPED_USERS else username), username

    def pair(self, when, user, log=True, entry=True, querier=None, item=None, log_account=None):
        self.seq += 1
        rng = self.rng
        # Case numbers unique but in no relation to the file's order (offices number cases, not queries).
        case, subject = f"113-{(self.seq * 7919 + 104729) % 10_000_000:07d}", national_id(rng)
        account, username = self.account(user)
        item = item or ("social_assistance" if user < SCOPED_USERS else rng.choice(ITEMS))
        if log:
            self.logs.writerow([time_text(when, self.seq % 3), log_account or account, "", subject, item, case,
                                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"])
        if entry:
            shifted = when + dt.timedelta(minutes=rng.randrange(-120, 121))
            written = (f"{shifted.year - 1911}/{shifted:%m/%d}" if self.seq % 5 == 0
                       else time_text(shifted, (self.seq + 1) % 3))
            self.register.writerow([case, querier or username, written, "查核社會救助資格", subject])


    def repeat(self, when, user):
        """A case queried twice two minutes apart and registered twice (with times): four candidates, contested,
        so the pairing needs its rounds; both queries end matched."""
        self.seq += 1
        rng = self.rng
        case, subject = f"113-{(self.seq * 7919 + 104729) % 10_000_000:07d}", national_id(rng)
        account, username = self.account(user)
        item = "social_assistance" if user < SCOPED_USERS else rng.choice(ITEMS)
        shifted = when + dt.timedelta(minutes=rng.randrange(-120, 121))
        for n in range(2):
            self.logs.writerow([time_text(when + dt.timedelta(minutes=2 * n), self.seq % 3), account, "", subject,
                                item, case, f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"])
            self.register.writerow([case, username, time_text(shifted + dt.timedelta(minutes=5 * n), n),
                                    "查核社會救助資格", subject])


def generate(n: int, out: Path, seed: int = 2024) -> dict:
    """Write exactly n log records and n register entries, n/1000 of each anomaly planted; return the manifest."""
    rng = random.Random(seed)
    days = working_days()
    users = max(50, n // 2000)
    k = max(1, n // 1000)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "log.csv").open("w", encoding="utf-8-sig", newline="") as logs_file, \
            (out / "register.csv").open("w", encoding="utf-8-sig", newline="") as register_file:
        logs, register = csv.writer(logs_file), csv.writer(register_file)
        logs.writerow(LOG_HEADER)
        register.writerow(REGISTER_HEADER)
        month = Month(rng, logs, register, users)
        for _ in range(n - 7 * k):  # plus 7k logged and 7k registered below: exactly n of each
            month.pair(office_time(rng, rng.choice(days)), rng.randrange(users))
        for _ in range(k):
            month.pair(office_time(rng, rng.choice(days)), rng.randrange(users), entry=False)
            month.pair(office_time(rng, rng.choice(days)), rng.randrange(users), log=False)
            lender = rng.randrange(SCOPED_USERS, users)
            month.pair(office_time(rng, rng.choice(days)), lender, querier=f"u{(lender + 1) % users:04d}")
            month.pair(off_time(rng, days), rng.randrange(users))
            ghost = f"ghost{rng.randrange(99)}"  # an account nobody was ever granted
            month.pair(office_time(rng, rng.choice(days)), users + 1, log_account=ghost, querier=ghost)
            month.pair(office_time(rng, rng.choice(days)), rng.randrange(SCOPED_USERS), item="labor_inspection")
            month.repeat(office_time(rng, rng.choice(days)), rng.randrange(users))
    expected = {"matched": n - 2 * k, **dict.fromkeys(PLANTED, k)}
    manifest = {"period": PERIOD, "n": n, "users": users, "scoped_users": SCOPED_USERS, "expected": expected}
    (out / "planted.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "webir-records")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    print(json.dumps(generate(args.n, args.out, args.seed)))


if __name__ == "__main__":
    main()
