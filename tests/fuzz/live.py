"""A real ``fangkong serve`` process over a prepared database, on SQLite or PostgreSQL,
that a test can kill with SIGKILL and start again; and a person's session on it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, shell_env

START_SECONDS = 60
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(home: Path, url: str) -> dict[str, str]:
    """What ``fangkong`` run as a child process sees: the test keys, the database."""
    return {**os.environ, **shell_env(home), "FANGKONG_DATABASE_URL": url}


class Server:
    """``python -m fangkong serve`` on a free port of 127.0.0.1 over the database at
    ``url``; ready once ``/health`` answers."""

    def __init__(self, home: Path, url: str) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        cmd = [sys.executable, "-m", "fangkong", "serve", "--port", str(self.port)]
        with self.log.open("wb") as log:  # the child keeps its own copy of the file
            self.proc = subprocess.Popen(
                cmd, env=server_env(home, url), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "fangkong serve did not start"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no rollback runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def person_session(base_url: str, username: str) -> dict[str, str]:
    """Headers that act as ``username``: the session cookie of the login form and the
    CSRF token of ``GET /api/v1/session`` (plain http: the Secure cookie is copied by hand)."""
    with httpx.Client(base_url=base_url, follow_redirects=False) as c:
        page = c.get("/login")
        found = _CSRF.search(page.text)
        assert found, "no csrf_token on the login page"
        cookies = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
        r = c.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": found.group(1)},
            headers={"Cookie": cookies},
        )
        assert r.status_code == 303, r.text
        session = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
        me = c.get("/api/v1/session", headers={"Cookie": session})
        assert me.status_code == 200, me.text
        return {"Cookie": session, "X-CSRF-Token": me.json()["csrf_token"]}
