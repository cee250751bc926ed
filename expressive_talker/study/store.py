"""The votes store: participants, stimuli, the pairs shown to each participant, and their votes,
in any database SQLAlchemy reaches.

SQLite (WAL mode) in the data directory by default; ``EXPRESSIVE_TALKER_DB`` takes any SQLAlchemy
URL instead (``postgresql+psycopg://user:pass@host/db``), so several app replicas can share one
database. A vote is acknowledged only after its transaction committed. Each vote carries the
client's vote id: a retry of the same vote (say, after the server died before it could answer) is
acknowledged as that vote; a second, different vote on the same pair stores nothing new and is
acknowledged as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from .. import __version__
from ..errors import InputError
from ..state import state_dir

# The paper's three questions (Table 3) and the three answers to each.
CRITERIA = ("lip", "expression", "overall")
CHOICES = ("left", "equal", "right")
AGE_RANGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "prefer not to say")
BACKGROUNDS = ("computer science or graphics", "other science or engineering", "animation, film or games", "other", "prefer not to say")
DB_ENV = "EXPRESSIVE_TALKER_DB"
_ID = re.compile(r"^[0-9a-f]{32}$")

metadata = sa.MetaData()
participants = sa.Table(
    "participants", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created", sa.DateTime, nullable=False),  # UTC, when consent was given
    sa.Column("age_range", sa.String(32)),
    sa.Column("background", sa.String(64)),
    sa.Column("app_version", sa.String(32), nullable=False),
)  # fmt: skip
stimuli = sa.Table(
    "stimuli", metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # "<study>/<stimulus id>"
    sa.Column("study", sa.String(100), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("audio", sa.Text, nullable=False),
    sa.Column("methods", sa.Text, nullable=False),  # JSON list; every pair of them is compared
    sa.Column("weights", sa.Text, nullable=False),  # JSON {method: weights version} of the videos
)  # fmt: skip
shown = sa.Table(
    "shown", metadata,  # a pair put in front of a participant; its id is the API's pair_id
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("participant_id", sa.String(32), sa.ForeignKey("participants.id"), nullable=False, index=True),
    sa.Column("stimulus_id", sa.String(200), sa.ForeignKey("stimuli.id"), nullable=False),
    sa.Column("left_method", sa.String(64), nullable=False),
    sa.Column("right_method", sa.String(64), nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
)  # fmt: skip
watched = sa.Table(
    "watched", metadata,  # a video of a shown pair that the participant's page played to the end
    sa.Column("shown_id", sa.String(32), sa.ForeignKey("shown.id"), primary_key=True),
    sa.Column("side", sa.String(8), primary_key=True),  # left or right
    sa.Column("time", sa.DateTime, nullable=False),  # UTC
)  # fmt: skip
SIDES = ("left", "right")
votes = sa.Table(
    "votes", metadata,  # one row per criterion answered
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime, nullable=False),  # UTC
    sa.Column("participant_id", sa.String(32), sa.ForeignKey("participants.id"), nullable=False),
    sa.Column("stimulus_id", sa.String(200), sa.ForeignKey("stimuli.id"), nullable=False),
    sa.Column("pair", sa.String(130), nullable=False),  # "a|b", sorted: the same whichever side each was on
    sa.Column("left_method", sa.String(64), nullable=False),
    sa.Column("right_method", sa.String(64), nullable=False),
    sa.Column("criterion", sa.String(16), nullable=False),
    sa.Column("choice", sa.String(8), nullable=False),
    sa.Column("shown_id", sa.String(32), sa.ForeignKey("shown.id"), nullable=False),
    sa.Column("vote_id", sa.String(32), index=True),  # the client's id of the ballot (one per pair, up to 3 rows)
    sa.Column("app_version", sa.String(32), nullable=False),
    sa.Column("weights_version", sa.String(200), nullable=False),
    # One vote per participant, stimulus, method pair and criterion: a double submit stores one.
    sa.UniqueConstraint("participant_id", "stimulus_id", "pair", "criterion", name="one_vote_each"),
    sa.Index("votes_by_participant_time", "participant_id", "time"),
)  # fmt: skip


def data_dir() -> str:
    """The app's state folder (``expressive_talker.state``): /data on a Space with persistent storage."""
    return state_dir()


def default_db_url() -> str:
    return os.environ.get(DB_ENV) or "sqlite:///" + os.path.join(data_dir(), "study.db")


def pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


def new_id() -> str:
    return uuid.uuid4().hex


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def check_id(value, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise InputError(f"{what} must be the 32-character id the server gave out, got {str(value)[:40]!r}")
    return value


def check_choices(choices: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(choices, Mapping) or not choices:
        raise InputError(f"no answers given: answer {', '.join(CRITERIA)} with one of {', '.join(CHOICES)}")
    for criterion, choice in choices.items():
        if criterion not in CRITERIA:
            raise InputError(f"unknown question {str(criterion)[:40]!r}; the questions are {', '.join(CRITERIA)}")
        if choice not in CHOICES:
            raise InputError(f"{criterion} must be one of {', '.join(CHOICES)}, got {str(choice)[:40]!r}")
    return dict(choices)


def check_demographics(age_range, background) -> tuple[str | None, str | None]:
    age_range, background = age_range or None, background or None
    if age_range is not None and age_range not in AGE_RANGES:
        raise InputError(f"age range must be one of {', '.join(AGE_RANGES)} (or left empty)")
    if background is not None and background not in BACKGROUNDS:
        raise InputError(f"background must be one of {', '.join(BACKGROUNDS)} (or left empty)")
    return age_range, background


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _setup(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # the driver's own BEGIN is replaced by ours below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous=FULL")  # a committed vote survives power loss, not only a crash
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        # Take the write lock up front: a transaction that reads, then writes, would otherwise
        # fail with "database is locked" when another writer got in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class StudyStore:
    """Thread-safe; one per process is enough. ``max_votes_per_minute`` (None or 0: no limit)
    caps how fast one participant can vote, counted over the last 60 s."""

    def __init__(self, url: str | None = None, max_votes_per_minute: int | None = None):
        try:
            self.url = sa.make_url(url or default_db_url())
        except sa.exc.ArgumentError:
            raise InputError(f"not a database URL: {url!r} (e.g. sqlite:///votes.db or postgresql+psycopg://user@host/db)") from None
        self.max_votes_per_minute = max_votes_per_minute or None
        if self.url.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)  # replicas outlive dropped connections
        try:
            metadata.create_all(self.engine)
        except IntegrityError:  # another replica created the tables at the same moment
            metadata.create_all(self.engine)
        except DBAPIError as exc:
            reason = " ".join(str(exc.orig).split())  # drivers' messages span several lines
            raise InputError(f"could not open the votes database {self.url.render_as_string(hide_password=True)}: {reason}") from None
        self._add_vote_id_column()

    def _add_vote_id_column(self) -> None:
        # Databases made before votes carried the client's vote id get the column (old rows: NULL).
        if "vote_id" in {c["name"] for c in sa.inspect(self.engine).get_columns("votes")}:
            return
        try:
            with self.engine.begin() as c:
                c.exec_driver_sql("ALTER TABLE votes ADD COLUMN vote_id VARCHAR(32)")
                c.exec_driver_sql("CREATE INDEX ix_votes_vote_id ON votes (vote_id)")
        except DBAPIError:  # another replica added it at the same moment
            if "vote_id" not in {c["name"] for c in sa.inspect(self.engine).get_columns("votes")}:
                raise

    def close(self) -> None:
        self.engine.dispose()

    # -- participants and stimuli ------------------------------------------------------------

    def add_participant(self, age_range: str | None = None, background: str | None = None) -> str:
        """A participant who gave consent; demographics are optional (None or '')."""
        age_range, background = check_demographics(age_range, background)
        pid = new_id()
        with self.engine.begin() as c:
            c.execute(participants.insert().values(id=pid, created=_now(), age_range=age_range, background=background, app_version=__version__))
        return pid

    def has_participant(self, participant_id: str) -> bool:
        check_id(participant_id, "participant id")
        with self.engine.connect() as c:
            return c.execute(sa.select(participants.c.id).where(participants.c.id == participant_id)).first() is not None

    def add_stimuli(self, items: Iterable[Mapping]) -> None:
        """Insert or update stimuli: dicts with id, study, prompt, audio, methods, weights."""
        for item in items:
            values = {
                "study": item["study"], "prompt": item["prompt"], "audio": item["audio"],
                "methods": json.dumps(list(item["methods"])), "weights": json.dumps(dict(item["weights"]), sort_keys=True),
            }  # fmt: skip
            for attempt in range(2):  # a replica starting at the same moment may insert it first
                try:
                    with self.engine.begin() as c:
                        if c.execute(sa.select(stimuli.c.id).where(stimuli.c.id == item["id"])).first():
                            c.execute(stimuli.update().where(stimuli.c.id == item["id"]).values(**values))
                        else:
                            c.execute(stimuli.insert().values(id=item["id"], **values))
                    break
                except IntegrityError:
                    if attempt:
                        raise

    # -- showing pairs and voting ------------------------------------------------------------

    def show(self, participant_id: str, stimulus_id: str, left: str, right: str) -> str:
        """Record that a participant is shown ``left`` and ``right`` on a stimulus; the id it
        returns is what their vote refers to (so the server, not the client, knows the sides)."""
        check_id(participant_id, "participant id")
        with self.engine.begin() as c:
            row = c.execute(sa.select(stimuli.c.methods).where(stimuli.c.id == stimulus_id)).first()
            if row is None:
                raise InputError(f"unknown stimulus {stimulus_id!r}")
            methods = json.loads(row.methods)
            if left == right or left not in methods or right not in methods:
                raise InputError(f"stimulus {stimulus_id!r} pairs two different methods of {', '.join(methods)}")
            if c.execute(sa.select(participants.c.id).where(participants.c.id == participant_id)).first() is None:
                raise InputError("unknown participant id: give consent first")
            shown_id = new_id()
            c.execute(shown.insert().values(id=shown_id, participant_id=participant_id, stimulus_id=stimulus_id, left_method=left, right_method=right, created=_now()))
        return shown_id

    def shown_pair(self, participant_id: str, pair_id: str) -> dict:
        """The pair shown to this participant under ``pair_id``; ``InputError`` for any other id."""
        check_id(participant_id, "participant id")
        check_id(pair_id, "pair_id")
        with self.engine.connect() as c:
            row = c.execute(sa.select(shown).where(shown.c.id == pair_id)).first()
        if row is None or row.participant_id != participant_id:
            raise InputError("unknown pair_id for this participant: ask study_next for a pair first")
        return row._asdict()

    def mark_watched(self, participant_id: str, pair_id: str, side: str, min_seconds: float = 0.0) -> list[str]:
        """Record that the participant played the ``side`` video of a pair shown to them to the end;
        refused when less than ``min_seconds`` (the video's length) passed since it was shown.
        Returns the sides played so far."""
        check_id(participant_id, "participant id")
        check_id(pair_id, "pair_id")
        if side not in SIDES:
            raise InputError(f"side must be 'left' or 'right', got {str(side)[:40]!r}")
        now = _now()
        with self.engine.begin() as c:
            pair = c.execute(sa.select(shown.c.participant_id, shown.c.created).where(shown.c.id == pair_id)).first()
            if pair is None or pair.participant_id != participant_id:
                raise InputError("unknown pair_id for this participant: ask study_next for a pair first")
            if (now - pair.created).total_seconds() < min_seconds:
                raise InputError(f"the {side} video has not had time to play to the end: play it through ({min_seconds:.0f} s), then report it")
            if c.execute(sa.select(watched.c.side).where(watched.c.shown_id == pair_id, watched.c.side == side)).first() is None:
                c.execute(watched.insert().values(shown_id=pair_id, side=side, time=now))
            played = {r.side for r in c.execute(sa.select(watched.c.side).where(watched.c.shown_id == pair_id))}
        return [s for s in SIDES if s in played]

    def watched_sides(self, pair_id: str) -> list[str]:
        with self.engine.connect() as c:
            played = {r.side for r in c.execute(sa.select(watched.c.side).where(watched.c.shown_id == pair_id))}
        return [s for s in SIDES if s in played]

    def history(self, participant_id: str) -> tuple[set[tuple[str, str]], list[dict]]:
        """(the (stimulus, pair) keys this participant has voted on, the pairs shown to them
        and not yet voted on, oldest first)."""
        with self.engine.connect() as c:
            voted = {(r.stimulus_id, r.pair) for r in c.execute(sa.select(votes.c.stimulus_id, votes.c.pair).where(votes.c.participant_id == participant_id).distinct())}
            rows = c.execute(sa.select(shown).where(shown.c.participant_id == participant_id).order_by(shown.c.created, shown.c.id)).all()
        pending = [r._asdict() for r in rows if (r.stimulus_id, pair_key(r.left_method, r.right_method)) not in voted]
        return voted, pending

    def record(self, participant_id: str, pair_id: str, choices: Mapping[str, str], vote_id: str | None = None) -> dict:
        """Store a participant's answers ({criterion: left|equal|right}) on a pair shown to them.

        ``vote_id`` (32 hex digits the client chose, e.g. ``uuid4().hex``) makes the call
        idempotent: a retry with the same id is acknowledged as that same vote. Otherwise the first
        answer to each criterion stands: answers already stored are not replaced, and then
        ``duplicate`` is True. Returns the acknowledgement once committed: the vote id, the
        methods on each side and the stored choices.
        """
        check_id(participant_id, "participant id")
        check_id(pair_id, "pair_id")
        if vote_id is not None and (not isinstance(vote_id, str) or not _ID.match(vote_id)):
            raise InputError(f"vote_id must be 32 lowercase hex digits chosen by the client (e.g. uuid4().hex), got {str(vote_id)[:40]!r}")
        choices = check_choices(choices)
        try:
            return self._record(participant_id, pair_id, choices, vote_id)
        except IntegrityError:  # the same answer, submitted twice at once, was stored by the other request
            return self._record(participant_id, pair_id, choices, vote_id)  # which this retry finds

    def _record(self, participant_id: str, pair_id: str, choices: dict[str, str], vote_id: str | None) -> dict:
        with self.engine.begin() as c:
            pair = c.execute(sa.select(shown, stimuli.c.weights).join(stimuli).where(shown.c.id == pair_id)).first()
            if pair is None or pair.participant_id != participant_id:
                raise InputError("unknown pair_id for this participant: ask study_next for a pair first")
            key = pair_key(pair.left_method, pair.right_method)
            # One statement, so that one snapshot says both what is stored and whether it is this vote.
            rows = c.execute(
                sa.select(votes.c.criterion, votes.c.choice, votes.c.vote_id, votes.c.shown_id)
                .where(votes.c.participant_id == participant_id, votes.c.stimulus_id == pair.stimulus_id, votes.c.pair == key)
            ).all()  # fmt: skip
            stored = {r.criterion: r.choice for r in rows}
            retry = vote_id is not None and any(r.vote_id == vote_id and r.shown_id == pair_id for r in rows)
            if vote_id is not None and not retry and c.execute(sa.select(votes.c.id).where(votes.c.vote_id == vote_id, votes.c.shown_id != pair_id)).first():
                raise InputError("this vote_id was already used for another vote: send a new vote_id with each vote")
            new = {} if retry else {k: v for k, v in choices.items() if k not in stored}
            if new:
                now = _now()
                if self.max_votes_per_minute:
                    since = now - dt.timedelta(seconds=60)
                    recent = c.execute(sa.select(sa.func.count()).select_from(votes).where(votes.c.participant_id == participant_id, votes.c.time > since)).scalar()
                    if recent + len(new) > self.max_votes_per_minute:
                        raise InputError(f"too many votes: at most {self.max_votes_per_minute} a minute per participant; wait a little and submit again")
                weights = json.loads(pair.weights)
                version = ",".join(f"{m}={weights.get(m, '')}" for m in (pair.left_method, pair.right_method))
                c.execute(votes.insert(), [
                    {"time": now, "participant_id": participant_id, "stimulus_id": pair.stimulus_id, "pair": key,
                     "left_method": pair.left_method, "right_method": pair.right_method, "criterion": criterion,
                     "choice": choice, "shown_id": pair_id, "vote_id": vote_id, "app_version": __version__, "weights_version": version}
                    for criterion, choice in new.items()
                ])  # fmt: skip
        answers = {**stored, **new}
        return {
            "recorded": True, "vote_id": vote_id, "duplicate": not retry and len(new) < len(choices), "pair_id": pair.id,
            "stimulus": pair.stimulus_id, "left": pair.left_method, "right": pair.right_method,
            "choices": {k: answers[k] for k in CRITERIA if k in answers},
        }  # fmt: skip

    # -- reading back ------------------------------------------------------------------------

    def vote_rows(self, study: str | None = None) -> list[dict]:
        """Every vote (of one study, or of all) with its participant's demographics and the
        stimulus prompt, oldest first."""
        query = (
            sa.select(votes, participants.c.age_range, participants.c.background, stimuli.c.prompt, stimuli.c.study)
            .join(participants, votes.c.participant_id == participants.c.id)
            .join(stimuli, votes.c.stimulus_id == stimuli.c.id)
            .order_by(votes.c.id)
        )
        if study is not None:
            query = query.where(stimuli.c.study == study)
        with self.engine.connect() as c:
            return [r._asdict() for r in c.execute(query)]

    def counts(self) -> dict:
        with self.engine.connect() as c:
            n_votes = c.execute(sa.select(sa.func.count()).select_from(votes)).scalar()
            voters = c.execute(sa.select(sa.func.count(sa.distinct(votes.c.participant_id)))).scalar()
            ballots = c.execute(sa.select(sa.func.count(sa.distinct(votes.c.shown_id)))).scalar()
            joined = c.execute(sa.select(sa.func.count()).select_from(participants)).scalar()
        return {"votes": n_votes, "participants": voters, "pairs_judged": ballots, "joined": joined}
