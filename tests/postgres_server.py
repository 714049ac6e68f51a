"""A throwaway PostgreSQL server on localhost for the tests that share a gradebook between
graders (tests/test_postgres.py, tests/test_distributed.py).

`running()` starts Debian's PostgreSQL server binaries (`.ci/run` installs `postgresql`) in a
fresh data folder, creates a role `grader` and a database `week13`, yields the database's URL
in the form an instructor writes it (postgresql://...), and stops the server and removes its
data folder at the end, whatever happened.
"""

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PASSWORD = "week13-test"


def pg_bindir():
    """The newest PostgreSQL server's bin/ folder (Debian: /usr/lib/postgresql/NN/bin), or None."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        return Path(max(found, key=lambda p: int(re.search(r"/(\d+)/bin/", p).group(1)))).parent
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")  # other systems put them on PATH
    return Path(initdb).parent if initdb and pg_ctl else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=2000):
    return Path(path).read_text(errors="replace")[-n:] if Path(path).exists() else "(no log)"


@contextlib.contextmanager
def running(password=PASSWORD):
    """A PostgreSQL server on 127.0.0.1 with a database `week13` owned by role `grader`; yields its URL."""
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): `apt-get install postgresql` "
                    "(.ci/run does it)")
    import psycopg2

    # Under /tmp, not $TMPDIR: the `postgres` user must reach it, and a socket path has at most 107 bytes.
    # Mode 0700: only its owner (and root) get in, so the trusted local socket is ours alone.
    base = Path(tempfile.mkdtemp(prefix="week13-postgres-", dir="/tmp" if os.path.isdir("/tmp") else None))
    as_server_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as Debian's `postgres` user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            pytest.fail("running as root, but there is no `postgres` system user to run the server as "
                        "(Debian's postgresql package creates it)")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_server_user = ["runuser", "-u", "postgres", "--"]
    data, log = base / "data", base / "server.log"
    started = False
    try:
        subprocess.run([*as_server_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale",
                        "--no-sync"], cwd=base, check=True, capture_output=True, text=True, timeout=120)
        for _ in range(3):  # another process may take the free port before the server binds it
            port = free_port()
            options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            proc = subprocess.run([*as_server_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log),
                                   "-w", "-t", "60", "-o", options, "start"],
                                  cwd=base, capture_output=True, text=True, timeout=120)
            if proc.returncode == 0:
                started = True
                break
        if not started:
            pytest.fail(f"PostgreSQL did not start:\n{proc.stdout}{proc.stderr}\n{tail(log)}")
        admin = psycopg2.connect(host=str(base), port=port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE grader LOGIN PASSWORD '{password}'")
            cur.execute("CREATE DATABASE week13 OWNER grader")
        admin.close()
        yield f"postgresql://grader:{password}@127.0.0.1:{port}/week13"
    except subprocess.CalledProcessError as e:
        pytest.fail(f"{' '.join(map(str, e.cmd))} failed:\n{e.stdout}{e.stderr}")
    finally:
        if started:
            subprocess.run([*as_server_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                            "-w", "stop"], cwd=base, capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def query(url, sql, *args):
    """Rows of one SQL query (raw SQL, not nbgrader's ORM)."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.close()
    return rows


def submissions(url, assignment="week13"):
    """student -> list of submission ids of the assignment."""
    out = {}
    for student, sub_id in query(url, "SELECT s.student_id, s.id FROM submitted_assignment s "
                                      "JOIN assignment a ON a.id = s.assignment_id WHERE a.name = %s", assignment):
        out.setdefault(student, []).append(sub_id)
    return out


def grade_rows(url):
    """student -> {graded cell name: number of grade rows}."""
    out = {}
    rows = query(url, "SELECT s.student_id, c.name, count(*) FROM grade g "
                      "JOIN submitted_notebook sn ON sn.id = g.notebook_id "
                      "JOIN submitted_assignment s ON s.id = sn.assignment_id "
                      "JOIN base_cell c ON c.id = g.cell_id GROUP BY s.student_id, c.name")
    for student, cell, count in rows:
        out.setdefault(student, {})[cell] = count
    return out


def graded_cells(root, assignment="week13", notebook="pytorch_fundamentals.ipynb"):
    """Grade ids of every graded cell of the course's release notebook."""
    from coursetools import notebooks as nbs

    nb = nbs.read(Path(root) / "release" / assignment / notebook)
    return {nbs.grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
