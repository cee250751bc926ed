"""A throwaway PostgreSQL server for the tests (Debian's `postgresql`): initdb into a temporary
folder, start it on a free loopback port, drop it at the end. PostgreSQL refuses to run as root,
so under root it runs as the `postgres` user the Debian package creates."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

import pytest


def _bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (make test installs Debian's postgresql)")
    as_user = []
    folder = tempfile.mkdtemp(prefix="expressive-talker-pg-")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(folder, "db"), _free_port()

    def pg(*args):
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    try:
        pg(f"{bin_dir}/initdb", "-D", data, "-U", "tester", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
        pg(f"{bin_dir}/pg_ctl", "-D", data, "-l", os.path.join(folder, "log"), "-o", options, "-w", "-t", "60", "start")
        yield f"postgresql+psycopg://tester@127.0.0.1:{port}/postgres"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            pg(f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_postgres_db(postgres_url):
    """An empty database on the shared server, dropped after the test."""
    import sqlalchemy as sa

    name = f"t{os.urandom(6).hex()}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()
