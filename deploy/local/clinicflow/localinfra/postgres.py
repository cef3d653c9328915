"""A throwaway PostgreSQL cluster from Debian's packages, started as the ``postgres`` OS user (it refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from clinicflow.localinfra.ports import free_port


def postgres_bindir() -> Path:
    """The newest installed server's bin folder, installing Debian's PostgreSQL when none is there."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
            check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent


class LocalPostgres:
    """One cluster in a temporary folder owned by ``postgres``, listening on 127.0.0.1 only, trust auth."""

    def __init__(self, *, port: int | None = None, durable: bool = True) -> None:
        self.port = port or free_port()
        self._durable = durable
        self._dir: Path | None = None
        self._bindir = postgres_bindir()

    @property
    def dsn(self) -> str:
        """Connection string for clients."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> float:
        """initdb and start; returns the seconds it took."""
        started = time.monotonic()
        self._dir = Path(tempfile.mkdtemp(prefix="clinicflow-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self._dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.resume()
        return time.monotonic() - started

    def resume(self) -> None:
        """Start the server (again, after :meth:`pause`)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self._dir} -c max_connections=300"
        if not self._durable:  # tests only: never for `make run`
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._as_postgres("pg_ctl", "-D", str(self._dir / "data"), "-o", options, "-l",
                          str(self._dir / "server.log"), "-w", "start")

    def pause(self) -> None:
        """Stop the server quickly, keeping its data."""
        if self._dir is not None and (self._dir / "data" / "postmaster.pid").exists():
            self._as_postgres("pg_ctl", "-D", str(self._dir / "data"), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self.pause()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _as_postgres(self, tool: str, *args: str) -> None:
        command = [str(self._bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd="/tmp")
