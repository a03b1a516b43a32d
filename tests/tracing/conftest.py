"""Tracing fixtures: one local Spark session for the whole test session.

Spark tests are marked ``spark``. Without Java they are skipped, unless
FANGKONG_REQUIRE_SPARK=1 (CI), which turns a missing Java into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRE_SPARK = os.environ.get("FANGKONG_REQUIRE_SPARK") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: runs on Apache Spark (local mode, needs Java)")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if _java() is None:
        if REQUIRE_SPARK:
            pytest.fail("FANGKONG_REQUIRE_SPARK=1 but no Java runtime (java on PATH or JAVA_HOME)")
        pytest.skip("Spark needs a Java runtime (set FANGKONG_REQUIRE_SPARK=1 to fail instead)")
    try:
        from fangkong.tracing.engines import spark_session

        session = spark_session()
    except Exception as exc:  # the JVM did not start: say why, in CI fail
        if REQUIRE_SPARK:
            pytest.fail(f"Spark did not start: {exc}")
        pytest.skip(f"Spark did not start: {exc}")
    yield session
    session.stop()
