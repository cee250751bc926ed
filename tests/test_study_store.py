"""The votes store against SQLite and a real PostgreSQL server: concurrent writers, double
submits, validation, the rate limit, and a writer killed mid-stream."""

import signal
import subprocess
import sys
import threading
import time

import pytest

from expressive_talker import __version__
from expressive_talker.errors import InputError
from expressive_talker.study.store import CRITERIA, StudyStore

from .postgres import fresh_postgres_db, postgres_url  # noqa: F401  (fixtures)

STIMULI = [{"id": f"s/{i}", "study": "s", "prompt": f"prompt {i}", "audio": f"{i}.wav", "methods": ["a", "b", "c"], "weights": {"a": "wa", "b": "wb", "c": "wc"}} for i in range(100)]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'votes.db'}"
    return request.getfixturevalue("fresh_postgres_db")


@pytest.fixture
def store(db_url):
    store = StudyStore(db_url)
    store.add_stimuli(STIMULI)
    yield store
    store.close()


def test_eight_threads_of_250_votes_store_exactly_2000(store):
    people = [store.add_participant() for _ in range(8)]
    acks, errors = [0] * 8, []

    def voter(n):
        try:
            for k in range(250):  # 250 single-criterion votes over 84 pairs
                stimulus, criterion = divmod(k, 3)
                if criterion == 0:
                    pair = store.show(people[n], STIMULI[stimulus]["id"], "a", "b")
                ack = store.record(people[n], pair, {CRITERIA[criterion]: ("left", "equal", "right")[(k + n) % 3]})
                acks[n] += not ack["duplicate"]
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(repr(exc))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=voter, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    print(f"{store.url.get_backend_name()}: 2000 votes (+672 pairs shown) from 8 threads in {seconds:.2f} s, {2000 / seconds:.0f} votes/s")
    assert errors == []
    assert acks == [250] * 8
    assert store.counts()["votes"] == len(store.vote_rows()) == 2000
    assert store.counts()["participants"] == 8


def test_a_double_submit_stores_one_vote(store):
    person = store.add_participant()
    pair = store.show(person, "s/0", "b", "a")
    choices = {"lip": "left", "expression": "equal", "overall": "right"}
    first = store.record(person, pair, choices)
    again = store.record(person, pair, {"lip": "right", "expression": "right", "overall": "right"})
    assert not first["duplicate"] and again["duplicate"]
    assert again["choices"] == choices  # the first vote stands
    assert (first["left"], first["right"]) == ("b", "a")
    # The same pair shown again (sides swapped) is still the same comparison: no second vote.
    swapped = store.show(person, "s/0", "a", "b")
    assert store.record(person, swapped, {"overall": "left"})["duplicate"]
    # Two identical submissions at the same moment.
    pair2 = store.show(person, "s/1", "a", "c")
    results, barrier = [], threading.Barrier(4)

    def submit():
        barrier.wait()
        results.append(store.record(person, pair2, choices))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["duplicate"] for r in results) == [False, True, True, True]
    rows = store.vote_rows()
    assert len(rows) == 6 and store.counts()["pairs_judged"] == 2
    row = rows[0]
    assert row["app_version"] == __version__ and row["weights_version"] == "b=wb,a=wa"
    assert (row["left_method"], row["right_method"], row["pair"]) == ("b", "a", "a|b")


def test_a_retried_vote_is_acknowledged_as_the_same_vote(store, db_url):
    person = store.add_participant()
    pair = store.show(person, "s/0", "a", "b")
    vote_id = "1f" * 16
    choices = {"lip": "left", "expression": "equal", "overall": "right"}
    first = store.record(person, pair, choices, vote_id)
    assert first["vote_id"] == vote_id and not first["duplicate"]
    # The server died after the commit, before its answer reached the client: the client retries
    # against a fresh server (here, a new store on the same database).
    restarted = StudyStore(db_url)
    assert restarted.record(person, pair, choices, vote_id) == first
    # A retry does not take new answers either: the vote is the one stored.
    assert restarted.record(person, pair, {"lip": "right"}, vote_id) == first
    # Four copies of one new vote at the same moment: all acknowledged as that vote, stored once.
    pair2, vote2 = store.show(person, "s/1", "a", "c"), "2e" * 16
    results, barrier = [], threading.Barrier(4)

    def submit(s):
        barrier.wait()
        try:
            results.append(s.record(person, pair2, choices, vote2))
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            results.append(repr(exc))

    threads = [threading.Thread(target=submit, args=(s,)) for s in (store, store, restarted, restarted)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == results[0] for r in results) and not results[0]["duplicate"], results
    # A different vote (another id) on a judged pair is a duplicate: the first answers stand.
    other = store.record(person, pair, {"lip": "right", "expression": "right", "overall": "right"}, "3d" * 16)
    assert other["duplicate"] and other["choices"] == choices
    with pytest.raises(InputError, match="already used for another vote"):
        store.record(person, store.show(person, "s/2", "a", "b"), choices, vote_id)
    with pytest.raises(InputError, match="vote_id must be 32 lowercase hex digits"):
        store.record(person, pair, choices, "retry-1")
    assert store.counts()["votes"] == 6 and len({r["vote_id"] for r in store.vote_rows()}) == 2
    restarted.close()


def test_a_database_from_before_vote_ids_gets_the_column(db_url):
    import sqlalchemy as sa

    old = StudyStore(db_url)
    old.add_stimuli(STIMULI[:1])
    person = old.add_participant()
    old.record(person, old.show(person, "s/0", "a", "b"), {"lip": "left"})
    with old.engine.begin() as c:
        c.exec_driver_sql("DROP INDEX ix_votes_vote_id")
        c.exec_driver_sql("ALTER TABLE votes DROP COLUMN vote_id")  # as a database made by the previous version
    old.close()
    store = StudyStore(db_url)
    assert "vote_id" in {c["name"] for c in sa.inspect(store.engine).get_columns("votes")}
    assert store.vote_rows()[0]["vote_id"] is None  # old votes are kept
    ack = store.record(person, store.show(person, "s/0", "a", "b"), {"overall": "right"}, "4c" * 16)
    assert store.record(person, ack["pair_id"], {"overall": "right"}, "4c" * 16) == ack
    store.close()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"choices": {"lip": "up"}}, "lip must be one of left, equal, right"),
        ({"choices": {"eyes": "left"}}, "unknown question 'eyes'"),
        ({"choices": {}}, "no answers given"),
        ({"choices": "left"}, "no answers given"),
        ({"pair": "0" * 32}, "unknown pair_id"),
        ({"pair": "'; DROP TABLE votes; --"}, "pair_id must be the 32-character id"),
        ({"person": "<script>alert(1)</script>"}, "participant id must be the 32-character id"),
        ({"person": "other"}, "unknown pair_id for this participant"),  # someone else's pair
    ],
)
def test_bad_votes_are_rejected_with_a_clear_message(store, change, message):
    person, other = store.add_participant(), store.add_participant()
    args = {"person": person, "pair": store.show(person, "s/0", "a", "b"), "choices": {"lip": "left"}}
    args.update(change)
    if args["person"] == "other":
        args["person"] = other
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        store.record(args["person"], args["pair"], args["choices"])
    assert store.counts()["votes"] == 0


def test_bad_pairs_and_participants_are_rejected(store):
    person = store.add_participant()
    with pytest.raises(InputError, match="unknown stimulus"):
        store.show(person, "s/999", "a", "b")
    with pytest.raises(InputError, match="two different methods"):
        store.show(person, "s/0", "a", "a")
    with pytest.raises(InputError, match="two different methods"):
        store.show(person, "s/0", "a", "zzz")
    with pytest.raises(InputError, match="give consent first"):
        store.show("f" * 32, "s/0", "a", "b")
    with pytest.raises(InputError, match="age range must be one of"):
        store.add_participant(age_range="<b>12</b>")
    assert store.add_participant(age_range="25-34", background="")  # optional fields may be empty


def test_rate_limit_per_participant(db_url):
    store = StudyStore(db_url, max_votes_per_minute=6)
    store.add_stimuli(STIMULI[:3])
    fast, other = store.add_participant(), store.add_participant()
    all_three = dict.fromkeys(CRITERIA, "equal")
    for i in range(2):
        store.record(fast, store.show(fast, f"s/{i}", "a", "b"), all_three)
    third = store.show(fast, "s/2", "a", "b")
    with pytest.raises(InputError, match="too many votes: at most 6 a minute"):
        store.record(fast, third, all_three)
    store.record(other, store.show(other, "s/0", "a", "b"), all_three)  # others are not slowed down
    assert store.counts()["votes"] == 9
    store.close()


WRITER = """
import sys
from expressive_talker.study.store import CRITERIA, StudyStore
store = StudyStore(sys.argv[1])
person = sys.argv[2]
for i in range(100):
    for a, b in (("a", "b"), ("a", "c"), ("b", "c")):
        pair = store.show(person, f"s/{i}", a, b)
        for criterion in CRITERIA:
            store.record(person, pair, {criterion: "left"})
            print("ack", i, a + "|" + b, criterion, flush=True)  # only after the commit returned
"""


def test_a_killed_writer_loses_no_acknowledged_vote(store, db_url):
    person = store.add_participant()
    child = subprocess.Popen([sys.executable, "-c", WRITER, db_url, person], stdout=subprocess.PIPE, text=True)
    acked = set()
    try:
        for line in child.stdout:
            _, i, pair, criterion = line.split()
            acked.add((f"s/{i}", pair, criterion))
            if len(acked) == 150:
                child.send_signal(signal.SIGKILL)  # mid-stream: the next vote is being written
                break
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL and len(acked) == 150
    reopened = StudyStore(db_url)  # opens (and recovers) the database the writer left
    stored = {(r["stimulus_id"], r["pair"], r["criterion"]) for r in reopened.vote_rows()}
    assert acked <= stored
    assert len(stored) <= len(acked) + 1  # at most the one vote in flight
    if reopened.url.get_backend_name() == "sqlite":
        with reopened.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    reopened.close()


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = StudyStore(f"sqlite:///{tmp_path / 'sub' / 'votes.db'}")  # the folder is created
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_database_url_from_the_environment(tmp_path, monkeypatch):
    from expressive_talker.study.store import default_db_url

    monkeypatch.setenv("EXPRESSIVE_TALKER_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert default_db_url().endswith("env.db")
    StudyStore().close()
    assert (tmp_path / "env.db").exists()
    with pytest.raises(InputError, match="not a database URL"):
        StudyStore("not a url")
