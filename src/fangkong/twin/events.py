"""What one simulated day emits (``DayEvents``) and the Parquet writer of a whole run.

Observable tables are what the platform may see; ``truth`` (who infected whom) is kept
apart and written to its own directory — the platform reads it only through scoring.
``person`` is always the 0-based row of the registry's persons file; ``venue_code`` the
registry venue code; times are UTC (``timestamp[s, tz=UTC]``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.files import private_dir, private_file

TIME: pa.DataType = pa.timestamp("s", tz="UTC")
CODE: pa.DataType = pa.dictionary(pa.int32(), pa.string())
Compression = Literal["zstd", "snappy", "lz4", "gzip", "brotli", "none"]

HISTORY = pa.list_(
    pa.struct([("date", pa.date32()), ("region_code", pa.string()), ("risk_level", pa.string())])
)


def _schema(columns: list[Any]) -> pa.Schema:
    """``pa.schema`` of (name, type) pairs or fields (typed loosely for the stubs)."""
    return pa.schema(columns)


SCHEMAS: dict[str, pa.Schema] = {
    # venue scans (场所码): several per person per day; time_out where the venue records it
    "checkins": pa.schema(
        [
            ("event_id", pa.int64()),
            ("person", pa.int32()),
            ("venue_code", CODE),
            ("time_in", TIME),
            ("time_out", TIME),
            # the zone (table, private room) of a zoned venue type: "Z07"; null elsewhere
            ("zone", CODE),
        ]
    ),
    # inbound travellers (入境/入省人员) at points of entry, with a 7-day travel history
    "travellers": pa.schema(
        [
            ("person", pa.int32()),
            ("mode", CODE),
            ("arrival_venue_code", CODE),
            ("arrival_time", TIME),
            ("origin_region_code", pa.string()),
            ("origin_risk_level", CODE),
            ("history", HISTORY),
        ]
    ),
    # fever-clinic visits (发热门诊就诊): outbreak cases and background illness alike
    "fever_clinic_visits": pa.schema(
        [("person", pa.int32()), ("venue_code", CODE), ("visit_time", TIME), ("time_out", TIME)]
    ),
    # real-name purchases of the five drug classes (五类药品)
    "pharmacy_sales": pa.schema(
        [("person", pa.int32()), ("venue_code", CODE), ("sale_time", TIME), ("drug_class", CODE)]
    ),
    # pupils absent on a school day (因病缺课), with the reason the school was given
    "school_absences": pa.schema(
        [("person", pa.int32()), ("venue_code", CODE), ("date", pa.date32()), ("reason", CODE)]
    ),
    # PCR results (核酸检测): one row per sample; pooled samples share a tube
    "test_results": pa.schema(
        [
            ("person", pa.int32()),
            ("sample_time", TIME),
            ("result_time", TIME),
            ("reason", CODE),
            ("tube", pa.int64()),
            ("pool_size", pa.int16()),
            ("positive", pa.bool_()),
            ("ct", pa.float32()),
        ]
    ),
    # scans refused at a code gate (验码未通过): the person's code is not admitted there
    "refused_scans": pa.schema([("person", pa.int32()), ("venue_code", CODE), ("time", TIME)]),
    # vehicles checked at the road checkpoints (卡口), one row per vehicle
    "crossings": pa.schema(
        [
            ("crossing", pa.int64()),
            ("checkpoint_code", CODE),
            ("time", TIME),  # when the vehicle reached the head of the queue (checked)
            ("direction", CODE),
            ("plate", pa.string()),
            ("vehicle_kind", CODE),
            ("cargo_class", CODE),
            ("origin_region", pa.string()),
            ("origin_risk", CODE),  # the origin area's level on the national list
            ("destination_region", pa.string()),
            ("history", pa.list_(pa.string())),
            ("holds_pass", pa.bool_()),
            ("waited_minutes", pa.int32()),
        ]
    ),
    # the people in each vehicle: drivers (Freight.drivers rows) and passengers
    "crossing_people": pa.schema(
        [
            ("crossing", pa.int64()),
            ("driver", pa.int32()),
            ("person", pa.int32()),  # the registry row of a resident; null otherwise
            ("role", CODE),
            ("shown_code", CODE),  # the code a non-resident shows (互认); null for residents
            ("test_hours", pa.float32()),  # age of the last negative test; null: none
        ]
    ),
    # each checkpoint's own report per hour: vehicles arrived, passed, waiting, wait
    "road_reports": pa.schema(
        [
            ("checkpoint_code", CODE),
            ("hour_start", TIME),
            ("arrived", pa.int32()),
            ("passed", pa.int32()),
            ("waiting", pa.int32()),
            ("wait_minutes", pa.int32()),
            ("lanes", pa.int16()),
        ]
    ),
    # closures of a checkpoint (toll station, exit, service area) and who ordered them
    "closures": pa.schema(
        [
            ("checkpoint_code", CODE),
            ("start", TIME),
            ("end", TIME),
            ("authority", pa.string()),  # null: closed without the mechanism's authority
        ]
    ),
    # markets' and supermarkets' daily report of stock and sales per good (商务部监测)
    "market_reports": pa.schema(
        [
            ("venue_code", CODE),
            ("region_code", pa.string()),
            ("good", CODE),
            ("stock", pa.float64()),
            ("sales", pa.float64()),
            ("time", TIME),
        ]
    ),
    # urgent medical needs reported in sealed compounds (dialysis, pregnancy, ...)
    "medical_needs": _schema(
        [
            pa.field("need", pa.int64()),
            pa.field("person", pa.int32()),
            pa.field("compound_code", pa.string()),
            pa.field("kind", CODE),
            pa.field("reported_at", TIME),
            pa.field("deadline", TIME),
        ]
    ),
    # the platform's deliveries the compounds received (the receipt, 签收)
    "deliveries": pa.schema(
        [
            ("compound_code", pa.string()),
            ("good", CODE),
            ("quantity", pa.float64()),
            ("delivered_at", TIME),
        ]
    ),
}

# the ground truth of freight, supplies and care (never shown to the platform)
TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    "truth_drivers": _schema(
        [
            ("crossing", pa.int64()),
            ("driver", pa.int32()),
            ("person", pa.int32()),
            ("infected", pa.bool_()),  # infectious or detectable on the day
        ]
    ),
    "truth_needs": pa.schema(
        [
            pa.field("need", pa.int64()),
            pa.field("kind", CODE),
            pa.field("deadline", TIME),
            pa.field("met_at", TIME),  # null: missed
            pa.field("outcome", CODE),  # met_in_time, met_late, missed
        ]
    ),
    "truth_stock": pa.schema(
        [
            ("compound_code", pa.string()),
            ("good", CODE),
            ("residents", pa.int32()),
            ("stock", pa.float64()),  # at the day's end
            ("short", pa.bool_()),  # ran out during the day
        ]
    ),
}

TRUTH_SCHEMA = pa.schema(
    [
        ("infectee", pa.int32()),
        ("infector", pa.int32()),
        ("day", pa.int32()),
        ("setting", CODE),
        ("venue_code", pa.string()),
        ("onset_day", pa.int32()),
        ("asymptomatic", pa.bool_()),
        ("infectious_start", pa.int32()),
        ("infectious_end", pa.int32()),
    ]
)


@dataclass(frozen=True)
class DayEvents:
    """Everything one day of the twin emits. Columns: ``SCHEMAS`` and ``TRUTH_SCHEMA``."""

    day: int
    checkins: pa.Table
    travellers: pa.Table
    fever_clinic_visits: pa.Table
    pharmacy_sales: pa.Table
    school_absences: pa.Table
    test_results: pa.Table
    truth: pa.Table  # ground truth: new infections of the day (never shown to the platform)
    refused_scans: pa.Table = field(default_factory=lambda: SCHEMAS["refused_scans"].empty_table())
    crossings: pa.Table = field(default_factory=lambda: SCHEMAS["crossings"].empty_table())
    crossing_people: pa.Table = field(
        default_factory=lambda: SCHEMAS["crossing_people"].empty_table()
    )
    road_reports: pa.Table = field(default_factory=lambda: SCHEMAS["road_reports"].empty_table())
    closures: pa.Table = field(default_factory=lambda: SCHEMAS["closures"].empty_table())
    market_reports: pa.Table = field(
        default_factory=lambda: SCHEMAS["market_reports"].empty_table()
    )
    medical_needs: pa.Table = field(default_factory=lambda: SCHEMAS["medical_needs"].empty_table())
    deliveries: pa.Table = field(default_factory=lambda: SCHEMAS["deliveries"].empty_table())
    truth_drivers: pa.Table = field(
        default_factory=lambda: TRUTH_SCHEMAS["truth_drivers"].empty_table()
    )
    truth_needs: pa.Table = field(
        default_factory=lambda: TRUTH_SCHEMAS["truth_needs"].empty_table()
    )
    truth_stock: pa.Table = field(
        default_factory=lambda: TRUTH_SCHEMAS["truth_stock"].empty_table()
    )

    def observables(self) -> dict[str, pa.Table]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "day" and not f.name.startswith("truth")
        }

    def truths(self) -> dict[str, pa.Table]:
        """Truth tables by their folder under ``truth/``: infections, drivers, needs, stock."""
        return {
            f.name.removeprefix("truth_") if f.name != "truth" else "infections": getattr(
                self, f.name
            )
            for f in fields(self)
            if f.name.startswith("truth")
        }


class EventWriter:
    """Writes each day's tables to ``out/<table>/day=NNNN/part-0.parquet``; truth apart.

    The writing runs on one background thread (Parquet encoding releases the GIL), so
    day d is written while day d+1 is simulated; ``close`` waits for it. Same events,
    same bytes.
    """

    def __init__(
        self, out_dir: Path, truth_dir: Path | None = None, compression: Compression = "zstd"
    ) -> None:
        self.out_dir = out_dir
        self.truth_dir = truth_dir if truth_dir is not None else out_dir / "truth"
        self.compression = compression
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twin-writer")
        self._pending: list[Future[None]] = []
        self.rows: dict[str, int] = {}

    def write(self, events: DayEvents) -> None:
        for f in self._pending:
            f.result()  # surface errors early, keep at most one day queued
        self._pending = [self._pool.submit(self._write, events)]
        for name, table in events.observables().items():
            self.rows[name] = self.rows.get(name, 0) + table.num_rows
        self.rows["truth"] = self.rows.get("truth", 0) + events.truth.num_rows
        for name, table in events.truths().items():
            if name != "infections":
                self.rows[f"truth_{name}"] = self.rows.get(f"truth_{name}", 0) + table.num_rows

    def _write(self, events: DayEvents) -> None:
        part = f"day={events.day:04d}"
        for name, table in events.observables().items():
            self._put(self.out_dir / name / part, table)
        for name, table in events.truths().items():
            self._put(self.truth_dir / name / part, table)

    def _put(self, folder: Path, table: pa.Table) -> None:
        private_dir(folder)
        private_file(folder / "part-0.parquet")  # Arrow truncates it and keeps the mode
        integers = [f.name for f in table.schema if pa.types.is_integer(f.type)]
        pq.write_table(
            table,
            folder / "part-0.parquet",
            compression=self.compression,
            # ids and person rows run in order: deltas pack them in a few bits, where a
            # dictionary of a million distinct values costs time and ends up bigger
            # a list of columns is accepted (pyarrow docs); the stubs only know bool
            use_dictionary=[f.name for f in table.schema if f.name not in integers],  # type: ignore[arg-type]
            column_encoding=dict.fromkeys(integers, "DELTA_BINARY_PACKED"),
        )

    def close(self) -> None:
        for f in self._pending:
            f.result()
        self._pending = []
        self._pool.shutdown(wait=True)

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
