"""``make faults``: the outbox's fault run of record (issue 20).

On a PostgreSQL instance of its own (initdb in a temporary folder, on a free port, loopback
only), two ``flask scheduler run`` copies (only the outbox dispatch job) and two ``flask
outbox dispatch`` processes send a few thousand messages, half e-mail to a real SMTP server
(aiosmtpd), half SMS to an HTTP gateway stub (scripts/fault_peers.py, each a process of its
own recording what it accepted). For ``--minutes`` it kills the leader and the dispatchers at
random moments (SIGKILL mostly, SIGTERM sometimes), stops and restarts the mail server and the
gateway, and restarts its PostgreSQL once; then it waits (at most 3 minutes) until no message
is pending or sending, and prints: sent, delivered once, delivered more than once (and whether
all copies carried the same id), duplicates explained by an attempt with no answer (a kill
between the channel's acceptance and the commit), lost (must be 0), dead, the faults injected.
The figures also go to test-artifacts/faults.json, the processes' logs to
test-artifacts/faults/. Exits 1 if a message was lost, a duplicate's copies had different ids,
or a duplicate is not explained.

    python scripts/faults.py [--minutes 3] [--messages 3000] [--seed N]
"""

# A test harness, like tests/: it starts its own fixed commands (S603, S607), its random
# faults need no cryptography (S311), and its gateway token and users' hashes are fakes (S106).
# ruff: noqa: S603, S607, S311, S106

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import suppress
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "scripts")
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
LOGS = os.path.join(ARTIFACTS, "faults")
PYTHON = sys.executable
DB_NAME = "eldercare_faults"
USERS = 50
#: The waits between attempts: about 90 s in all, longer than any outage of a peer here.
RETRY_SCHEDULE = "2s 3s 5s 5s 5s 10s 10s 10s 10s 10s 10s 10s"
LEASE_SECONDS = 10
QUIET_WAIT_SECONDS = 180
CALM_AFTER_PG_SECONDS = 15

_started = time.monotonic()


def say(text: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
    print(f"[{stamp} +{time.monotonic() - _started:7.1f}s] {text}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


# --- PostgreSQL of its own ------------------------------------------------------------------


def pg_bindir() -> str:
    with suppress(OSError, subprocess.CalledProcessError):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if os.path.exists(os.path.join(found, "initdb")):
            return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise SystemExit("faults: no PostgreSQL server binaries (initdb) found")
    return os.path.dirname(candidates[-1])


class Postgres:
    """initdb in a temporary folder owned by postgres, started with pg_ctl on ``port``."""

    def __init__(self) -> None:
        self.bindir = pg_bindir()
        self.root = tempfile.mkdtemp(prefix="eldercare-faults-pg-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(LOGS, "postgres.log")
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            open(self.log, "a").close()
            shutil.chown(self.log, "postgres", "postgres")
        self.running = False

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, *args], check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr
        )

    def init(self) -> None:
        self._run(
            os.path.join(self.bindir, "initdb"),
            "-D",
            self.data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
            " -c fsync=on -c synchronous_commit=on"
        )
        self._run(
            os.path.join(self.bindir, "pg_ctl"),
            "-D",
            self.data,
            "-l",
            self.log,
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")
        self.running = False

    def url(self, database: str = DB_NAME) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        if self.running:
            with suppress(subprocess.CalledProcessError, OSError):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- the processes --------------------------------------------------------------------------


class Proc:
    """A restartable child process: its command, its log (appended), its restarts."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = os.path.join(LOGS, f"{name}.log")
        self.process: subprocess.Popen | None = None
        self.log_offset = 0
        self.restart_at: float | None = None
        self.starts = 0

    def start(self) -> None:
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with open(self.log_path, "a") as log:
            log.write(f"=== {datetime.now(UTC).isoformat()} start {self.name}\n")
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        self.restart_at = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive:
            with suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(5)

    def recent_log(self) -> str:
        with open(self.log_path, errors="replace") as log:
            log.seek(self.log_offset)
            return log.read()

    def leads(self) -> bool:
        """By its log since its start: it took the lead and has not lost it since."""
        if not self.alive:
            return False
        text = self.recent_log()
        led = max(text.rfind("leader (pid"), text.rfind("took over:"))
        lost = max(text.rfind("leadership lock lost"), text.rfind("standby ("))
        return led >= 0 and led > lost


def child_env(pg: Postgres, mail_port: int, sms_port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAIL_", "SMS_", "OUTBOX_", "SCHEDULER_"))
        and k not in ("DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "APP_BASE_URL")
    }
    env.update(
        FLASK_APP="wsgi.py",
        ELDERCARE_CONFIG="development",
        DATABASE_URL=pg.url(),
        PYTHONPATH=os.pathsep.join(p for p in (SCRIPTS, ROOT, os.environ.get("PYTHONPATH")) if p),
        PYTHONUNBUFFERED="1",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mail_port),
        MAIL_TIMEOUT="5",
        MAIL_FROM="eldercare@faults.test",
        SMS_ENABLED="1",
        SMS_BACKEND="http",
        SMS_GATEWAY_URL=f"http://127.0.0.1:{sms_port}/sms/send",
        SMS_GATEWAY_TOKEN="fault-token",
        SMS_GATEWAY_TIMEOUT="5",
        OUTBOX_RETRY_SCHEDULE=RETRY_SCHEDULE,
        OUTBOX_SEND_LEASE_SECONDS=str(LEASE_SECONDS),
        OUTBOX_DISPATCH_SECONDS="1",
        SCHEDULER_STANDBY_POLL_SECONDS="2",
        SCHEDULER_JOBS="fault_peers:JOBS",
    )
    return env


# --- the application, in this process -------------------------------------------------------


def load_app(env: dict[str, str]):
    """The Flask app on the run's database (config.py reads the environment on import)."""
    for key in list(os.environ):
        if key not in env:
            del os.environ[key]
    os.environ.update(env)
    sys.path.insert(0, ROOT)
    from eldercare import create_app

    return create_app()


def make_users(app) -> list[int]:
    from eldercare.auth.models import User
    from eldercare.extensions import db

    with app.app_context():
        users = [
            User(
                username=f"fault{n}",
                display_name=f"故障{n}",
                role="family",
                email=f"fault{n}@faults.test",
                phone=f"1390000{n:04d}",
                password_hash="!",  # nobody signs in as these
            )
            for n in range(USERS)
        ]
        db.session.add_all(users)
        db.session.commit()
        return [u.id for u in users]


def enqueue(app, users: list[int], numbers: range) -> bool:
    """Enqueue the messages ``numbers`` (even: e-mail, odd: SMS); False if the database
    failed (the same numbers may be enqueued again: the keys make it idempotent)."""
    import sqlalchemy as sa

    from eldercare.extensions import db
    from eldercare.notifications.operations import Notice, notify_many

    with app.app_context():
        try:
            notify_many(
                Notice(
                    user_id=users[n % len(users)],
                    key=f"fault-{n}",
                    subject=f"fault {n}",
                    body=f"Fault run message {n}.",
                    channels=("email",) if n % 2 == 0 else ("sms",),
                )
                for n in numbers
            )
            db.session.commit()
            return True
        except (sa.exc.SQLAlchemyError, OSError) as err:
            say(f"enqueue of {numbers.start}..{numbers.stop - 1} failed ({type(err).__name__})")
            db.session.rollback()
            db.session.remove()
            return False


def unsettled(app) -> int | None:
    import sqlalchemy as sa

    from eldercare.extensions import db
    from eldercare.notifications.models import OutboxMessage

    with app.app_context():
        try:
            return db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
        except (sa.exc.SQLAlchemyError, OSError):
            db.session.rollback()
            db.session.remove()
            return None
        finally:
            db.session.remove()


def lock_holder_ports(app) -> list[int] | None:
    """The client ports of the sessions holding the scheduler's leadership lock, as the
    server lists them (pg_locks); None when the database does not answer."""
    import sqlalchemy as sa

    from eldercare.extensions import db
    from eldercare.scheduler.leadership import LOCK_KEY

    with app.app_context():
        try:
            return list(
                db.session.scalars(
                    sa.text(
                        "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a"
                        " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                        " AND l.classid::bigint = :high AND l.objid::bigint = :low"
                        " AND l.objsubid = 1"
                    ),
                    {"high": (LOCK_KEY >> 32) & 0xFFFFFFFF, "low": LOCK_KEY & 0xFFFFFFFF},
                )
            )
        except (sa.exc.SQLAlchemyError, OSError):
            db.session.rollback()
            return None
        finally:
            db.session.remove()


def socket_inodes(local_ports: list[int]) -> set[str]:
    """The inodes of this host's loopback TCP sockets bound to ``local_ports``."""
    found = set()
    with suppress(OSError), open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) in local_ports:
                found.add(fields[9])
    return found


def holds_socket(pid: int, inodes: set[str]) -> bool:
    with suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return True
    return False


def lock_holders(app, schedulers: list[Proc]) -> list[Proc] | None:
    """The scheduler copies whose session holds the leadership lock, by the server's word;
    None when the database does not answer."""
    ports = lock_holder_ports(app)
    if ports is None:
        return None
    inodes = socket_inodes(ports)
    return [p for p in schedulers if p.alive and holds_socket(p.process.pid, inodes)]


# --- the run --------------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.faults: Counter[str] = Counter()
        self.fault_log: list[dict] = []
        self.procs: list[Proc] = []
        self.leadership_after_pg: dict | None = None
        self.leadership_at_quiet: dict | None = None

    def fault(self, kind: str, detail: str = "") -> None:
        self.faults[kind] += 1
        self.fault_log.append(
            {
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "t": round(time.monotonic() - _started, 2),
                "kind": kind,
                "detail": detail,
            }
        )
        say(f"FAULT {kind}{': ' + detail if detail else ''}")

    def execute(self) -> int:
        os.makedirs(LOGS, exist_ok=True)
        for old in glob.glob(os.path.join(LOGS, "*")):
            os.remove(old)
        self.mail_out = os.path.join(LOGS, "mail.jsonl")
        self.sms_out = os.path.join(LOGS, "sms.jsonl")
        pg = Postgres()
        try:
            return self._execute(pg)
        finally:
            for proc in self.procs:
                with suppress(Exception):
                    proc.stop(5)
            pg.remove()
            say("PostgreSQL stopped and its folder removed")

    def _execute(self, pg: Postgres) -> int:
        args = self.args
        say(f"PostgreSQL of its own: initdb in {pg.root}, port {pg.port}")
        pg.init()
        pg.start()
        subprocess.run(
            [
                os.path.join(pg.bindir, "psql"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "-c",
                f"CREATE DATABASE {DB_NAME}",
            ],
            check=True,
        )
        mail_port, sms_port = free_port(), free_port()
        env = child_env(pg, mail_port, sms_port)
        flask = [PYTHON, "-m", "flask"]
        subprocess.run(
            [*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        say("schema made (flask db upgrade)")

        delay = str(args.smtp_delay_ms)
        peer = [PYTHON, os.path.join(SCRIPTS, "fault_peers.py")]
        smtp = Proc("smtp", [*peer, "smtp", "--port", str(mail_port), "--out", self.mail_out,
                             "--delay-ms", delay], env)  # fmt: skip
        sms = Proc("sms", [*peer, "sms", "--port", str(sms_port), "--out", self.sms_out,
                           "--delay-ms", delay], env)  # fmt: skip
        schedulers = [Proc(f"scheduler{i}", [*flask, "scheduler", "run"], env) for i in (1, 2)]
        dispatchers = [
            Proc(f"dispatcher{i}", [*flask, "outbox", "dispatch", "--idle", "0.5"], env)
            for i in (1, 2)
        ]
        self.procs = [*dispatchers, *schedulers, smtp, sms]
        for proc in self.procs:
            proc.start()
        if not (wait_port(mail_port, 15) and wait_port(sms_port, 15)):
            raise SystemExit("faults: the peers did not start")
        say(f"peers up: SMTP 127.0.0.1:{mail_port}, SMS http://127.0.0.1:{sms_port}")

        app = self.app = load_app(env)
        users = make_users(app)
        say(f"{len(users)} users; {args.messages} messages to enqueue over the fault period")

        period = args.minutes * 60
        start = time.monotonic()
        end = start + period
        enqueue_until = start + period * 0.7
        pg_restart_at = start + period * self.rng.uniform(0.35, 0.6)
        next_fault = start + self.rng.uniform(2, 5)
        enqueued_to = 0
        batch = max(1, args.messages // max(1, int(period * 0.7 / 0.5)))
        peer_back: dict[str, float] = {}
        check_leaders_at: float | None = None

        while time.monotonic() < end:
            now = time.monotonic()
            # Traffic: a batch every half second or so until 70 % of the period.
            if enqueued_to < args.messages:
                share = min(1.0, (now - start) / max(0.001, enqueue_until - start))
                goal = min(args.messages, int(share * args.messages))
                due = goal - enqueued_to >= batch or (share >= 1 and goal > enqueued_to)
                if due and enqueue(app, users, range(enqueued_to, goal)):
                    enqueued_to = goal
            # Restarts after a short pause.
            for proc in (*dispatchers, *schedulers):
                if not proc.alive and proc.restart_at is not None and now >= proc.restart_at:
                    proc.start()
                    say(f"restarted {proc.name} (pid {proc.process.pid})")
            for proc in (smtp, sms):
                if not proc.alive and now >= peer_back.get(proc.name, 0):
                    proc.start()
                    say(f"restarted peer {proc.name} (pid {proc.process.pid})")
            if pg_restart_at is not None and now >= pg_restart_at:
                self.fault("restart PostgreSQL", "pg_ctl stop -m immediate, then start")
                pg.stop("immediate")
                time.sleep(self.rng.uniform(1, 3))
                pg.start()
                say(f"PostgreSQL up again; no other fault for {CALM_AFTER_PG_SECONDS} s")
                pg_restart_at = None
                # The recovery from the restart alone, then the schedulers' state checked.
                next_fault = time.monotonic() + CALM_AFTER_PG_SECONDS
                check_leaders_at = next_fault - 1
            elif check_leaders_at is not None and now >= check_leaders_at:
                self.leadership_after_pg = self.leadership(schedulers)
                say(f"leadership {CALM_AFTER_PG_SECONDS - 1} s after the restart: "
                    f"{self.leadership_after_pg}")  # fmt: skip
                check_leaders_at = None
            elif now >= next_fault:
                self._inject(dispatchers, schedulers, smtp, sms, peer_back)
                next_fault = time.monotonic() + self.rng.uniform(1.5, 5)
            time.sleep(0.1)

        while enqueued_to < args.messages:  # whatever the traffic did not reach yet
            goal = min(args.messages, enqueued_to + 500)
            if enqueue(app, users, range(enqueued_to, goal)):
                enqueued_to = goal
            else:
                time.sleep(1)
        fault_end = time.monotonic()
        say(f"faults over after {fault_end - start:.0f} s; every process up, waiting for quiet")
        for proc in self.procs:
            if not proc.alive:
                proc.start()
                say(f"restarted {proc.name} (pid {proc.process.pid})")

        quiet_deadline = time.monotonic() + QUIET_WAIT_SECONDS
        left = None
        last_said = 0.0
        while time.monotonic() < quiet_deadline:
            for proc in self.procs:  # a process that died by itself is a finding, not a fault
                if not proc.alive:
                    say(f"{proc.name} exited by itself ({proc.process.returncode}); restarted")
                    proc.start()
            left = unsettled(app)
            if left == 0:
                break
            if time.monotonic() - last_said > 10:
                say(f"{left} messages pending or sending")
                last_said = time.monotonic()
            time.sleep(1)
        quiet_after = time.monotonic() - fault_end
        # A copy restarted at the end of the faults has had time to take the lead.
        time.sleep(max(0.0, fault_end + 12 - time.monotonic()))
        self.leadership_at_quiet = self.leadership(schedulers)
        say(f"leadership at the end: {self.leadership_at_quiet}")
        say(f"quiet: {left == 0} after {quiet_after:.0f} s; stopping the processes (SIGTERM)")
        for proc in self.procs:
            proc.stop()
        report = self.figures(app, quiet_after, left == 0, time.monotonic() - start)
        return self.print_report(report)

    def leadership(self, schedulers: list[Proc]) -> dict:
        """Who holds the lock (the server's word) and who thinks it leads (its log)."""
        holders = lock_holders(self.app, schedulers)
        return {
            "holders": None if holders is None else [p.name for p in holders],
            "think_they_lead": [p.name for p in schedulers if p.leads()],
        }

    def _inject(self, dispatchers, schedulers, smtp, sms, peer_back) -> None:
        rng = self.rng
        kind = rng.choices(["leader", "dispatcher", "standby", "smtp", "sms"], [4, 5, 1, 1.5, 1.5])[
            0
        ]
        signum = signal.SIGKILL if rng.random() < 0.8 else signal.SIGTERM
        how = "SIGKILL" if signum == signal.SIGKILL else "SIGTERM"
        if kind in ("leader", "standby"):
            live = [p for p in schedulers if p.alive]
            leaders = lock_holders(self.app, schedulers)
            if leaders is None:  # the database is away: by their logs
                leaders = [p for p in live if p.leads()]
            pool = leaders if kind == "leader" else [p for p in live if p not in leaders]
            if not pool:
                return
            proc = rng.choice(pool)
            proc.signal(signum)
            proc.restart_at = time.monotonic() + rng.uniform(0.5, 3)
            self.fault(f"kill {kind} scheduler ({how})", f"{proc.name} pid {proc.process.pid}")
        elif kind == "dispatcher":
            live = [p for p in dispatchers if p.alive]
            if not live:
                return
            proc = rng.choice(live)
            proc.signal(signum)
            proc.restart_at = time.monotonic() + rng.uniform(0.5, 3)
            self.fault(f"kill dispatcher ({how})", f"{proc.name} pid {proc.process.pid}")
        else:
            proc = smtp if kind == "smtp" else sms
            if not proc.alive:
                return
            down = rng.uniform(2, 8)
            self.fault(
                f"stop {'mail server' if kind == 'smtp' else 'SMS gateway'}", f"{down:.1f} s"
            )
            proc.stop()
            peer_back[proc.name] = time.monotonic() + down

    # --- the figures ----------------------------------------------------------------------

    def figures(self, app, quiet_after: float, quiet: bool, duration: float) -> dict:
        import sqlalchemy as sa

        from eldercare.extensions import db
        from eldercare.notifications.channels import delivery_id
        from eldercare.notifications.models import DeliveryAttempt, OutboxMessage

        received: dict[int, list[dict]] = defaultdict(list)
        malformed = 0
        for path in (self.mail_out, self.sms_out):
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        malformed += 1
                        continue
                    if entry.get("token") is None:
                        malformed += 1
                        continue
                    received[entry["token"]].append(entry)

        with app.app_context():
            messages = db.session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.idempotency_key.like("fault-%"))
            ).all()
            unanswered = set(
                db.session.scalars(
                    sa.select(DeliveryAttempt.message_id).where(DeliveryAttempt.ok.is_(None))
                )
            )
            attempts = db.session.scalar(sa.select(sa.func.count()).select_from(DeliveryAttempt))
            by_token = {}
            for message in messages:
                token = int(message.idempotency_key.split(":")[0].removeprefix("fault-"))
                expected = delivery_id(message)
                by_token[token] = (message.id, message.status, expected)
            db.session.remove()

        status = Counter(s for _, s, _ in by_token.values())
        once = more = same_id = explained = wrong_id = dead_delivered = 0
        lost, unexplained, differing = [], [], []
        for token, (message_id, state, expected) in sorted(by_token.items()):
            copies = received.get(token, [])
            ids = {c["id"].strip("<>").split("@")[0] for c in copies}
            if any(c.get("payload_id") not in (None, c["id"]) for c in copies):
                ids.add("payload-id-differs")
            if ids - {expected}:
                wrong_id += 1
            if not copies:
                if state not in ("dead", "cancelled"):
                    lost.append(message_id)
                continue
            if state == "dead":
                dead_delivered += 1
            if len(copies) == 1:
                once += 1
                continue
            more += 1
            if len(ids) == 1:
                same_id += 1
            else:
                differing.append(message_id)
            if message_id in unanswered:
                explained += 1
            else:
                unexplained.append(message_id)
        strays = sorted(set(received) - set(by_token))
        health = {}
        for proc in self.procs:
            with suppress(OSError), open(proc.log_path, errors="replace") as log:
                text = log.read()
            health[proc.name] = {
                "starts": proc.starts,
                "tracebacks": text.count("Traceback (most recent call last)"),
                "threads_died": text.count("Exception in thread"),
                "job_runs_raised": text.count("raised an exception"),
            }
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": self.args.seed,
            "minutes": self.args.minutes,
            "enqueued": len(by_token),
            "email": sum(1 for t in by_token if t % 2 == 0),
            "sms": sum(1 for t in by_token if t % 2 == 1),
            "sent": status["sent"],
            "delivered_once": once,
            "delivered_more_than_once": more,
            "duplicates_same_id": same_id,
            "duplicates_differing_ids": len(differing),
            "duplicates_explained": explained,
            "duplicates_unexplained": len(unexplained),
            "lost": len(lost),
            "dead": status["dead"],
            "dead_but_delivered": dead_delivered,
            "cancelled": status["cancelled"],
            "unsettled": status["pending"] + status["sending"],
            "copies_with_wrong_id": wrong_id,
            "received_lines": sum(len(v) for v in received.values()),
            "received_unknown_tokens": len(strays),
            "malformed_lines": malformed,
            "attempts": attempts,
            "attempts_unanswered": len(unanswered),
            "faults": dict(sorted(self.faults.items())),
            "faults_total": sum(self.faults.values()),
            "fault_log": self.fault_log,
            "quiet": quiet,
            "processes": health,
            "leadership_after_pg_restart": self.leadership_after_pg,
            "leadership_at_quiet": self.leadership_at_quiet,
            "quiet_after_seconds": round(quiet_after, 1),
            "duration_seconds": round(duration, 1),
            "lost_ids": lost[:50],
            "unexplained_ids": unexplained[:50],
            "differing_ids": differing[:50],
        }

    @staticmethod
    def _lead_text(state: dict | None) -> str:
        if not state:
            return "-"
        holders = state["holders"]
        return (
            f"lock held by {', '.join(holders) if holders else 'nobody'}"
            if holders is not None
            else "lock holder unknown (no database)"
        ) + f"; leading by its log: {', '.join(state['think_they_lead']) or 'none'}"

    def print_report(self, r: dict) -> int:
        rows = [
            ("messages enqueued", f"{r['enqueued']} ({r['email']} e-mail, {r['sms']} SMS)"),
            ("sent (status sent)", r["sent"]),
            ("delivered once", r["delivered_once"]),
            ("delivered more than once", r["delivered_more_than_once"]),
            ("  of those, all copies same id", r["duplicates_same_id"]),
            ("  of those, ids differing", r["duplicates_differing_ids"]),
            ("  explained (attempt ok IS NULL)", r["duplicates_explained"]),
            ("  unexplained", r["duplicates_unexplained"]),
            ("lost (must be 0)", r["lost"]),
            ("dead", f"{r['dead']} ({r['dead_but_delivered']} of them delivered)"),
            ("cancelled", r["cancelled"]),
            ("unsettled (pending/sending)", r["unsettled"]),
            ("copies whose id is not the message's", r["copies_with_wrong_id"]),
            ("attempts (unanswered)", f"{r['attempts']} ({r['attempts_unanswered']})"),
            ("faults injected", r["faults_total"]),
            *((f"  {kind}", n) for kind, n in r["faults"].items()),
            ("quiet after faults", f"{r['quiet']} ({r['quiet_after_seconds']} s)"),
            (
                f"leadership {CALM_AFTER_PG_SECONDS - 1} s after PG restart",
                self._lead_text(r["leadership_after_pg_restart"]),
            ),
            ("leadership at the end", self._lead_text(r["leadership_at_quiet"])),
            (
                "scheduler watch threads died",
                sum(h["threads_died"] for n, h in r["processes"].items() if n.startswith("sched")),
            ),
            (
                "scheduler job runs that raised",
                sum(
                    h["job_runs_raised"] for n, h in r["processes"].items() if n.startswith("sched")
                ),
            ),
            (
                "tracebacks in the processes' logs",
                sum(h["tracebacks"] for h in r["processes"].values()),
            ),
            ("duration (faults, then quiet)", f"{r['duration_seconds']} s (seed {r['seed']})"),
        ]
        width = max(len(label) for label, _ in rows)
        print()
        print(f"{'outbox under faults':<{width}}  figure")
        print("-" * (width + 24))
        for label, value in rows:
            print(f"{label:<{width}}  {value}")
        ok = (
            r["lost"] == 0 and not r["duplicates_differing_ids"] and not r["duplicates_unexplained"]
        )
        ok = ok and not r["copies_with_wrong_id"]
        print("-" * (width + 24))
        schedulers = [h for n, h in r["processes"].items() if n.startswith("scheduler")]
        end = r["leadership_at_quiet"] or {}
        if sum(h["threads_died"] for h in schedulers) or len(end.get("holders") or []) != 1:
            # A copy that thinks it leads without the lock runs nothing: with one copy, no job
            # would run at all after a database restart.
            print("FAIL: a scheduler copy's watch thread died, or not one leader at the end"
                  " (see test-artifacts/faults/scheduler*.log)")  # fmt: skip
            ok = False
        print("PASS" if ok else "FAIL", flush=True)
        os.makedirs(ARTIFACTS, exist_ok=True)
        with open(os.path.join(ARTIFACTS, "faults.json"), "w", encoding="utf-8") as out:
            json.dump({**r, "ok": ok}, out, indent=2, ensure_ascii=False)
        return 0 if ok else 1


def interrupted(signum, _frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="the fault period (default 3)")
    parser.add_argument(
        "--messages", type=int, default=3000, help="messages, half e-mail (default 3000)"
    )
    parser.add_argument("--seed", type=int, default=None, help="the faults' random seed")
    parser.add_argument("--smtp-delay-ms", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    if not 0.2 <= args.minutes <= 30 or not 2 <= args.messages <= 100_000:
        parser.error("--minutes from 0.2 to 30, --messages from 2 to 100000")
    signal.signal(signal.SIGTERM, interrupted)
    try:
        return Run(args).execute()
    except KeyboardInterrupt:
        say("interrupted: cleaned up")
        return 130


if __name__ == "__main__":
    sys.exit(main())
