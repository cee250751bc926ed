"""Hostile avatar files (issue 31's probe): each gets one plain message, and reading it leaves the
server's memory as it was (RSS growth under 50 MB, peak included)."""

import json
import struct
import subprocess
import sys

import pytest


def glb(path, json_chunk: bytes, declared_length=None, tail=b""):
    """A binary glTF whose JSON chunk holds ``json_chunk`` (its header may announce another length)."""
    length = len(json_chunk) if declared_length is None else declared_length
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 20 + len(json_chunk)) + struct.pack("<I4s", length, b"JSON") + json_chunk + tail)
    return path


def many_objects(size):  # the probe's 19 MB file: [{},{},...]
    n = (size - 2) // 3
    return b"[" + b"{}," * n + b"{}]"


HOSTILE = {
    "19 MB of empty objects": (lambda d: glb(d / "objects.glb", many_objects(19_000_000)), "has 19 MB of glTF JSON; the viewer reads avatars with at most 16 MB"),
    "15 MB of empty objects": (lambda d: glb(d / "objects15.glb", many_objects(15_000_000)), "describes more than 250,000 glTF objects"),
    "200,000 nested arrays": (lambda d: glb(d / "nested.glb", b"[" * 200_000 + b"]" * 200_000), "nests its glTF JSON too deeply to be an avatar"),
    "a JSON length of 0xFFFFFFF0": (lambda d: glb(d / "length.glb", b'{"asset": {}}', 0xFFFFFFF0), "is cut short or damaged: its header announces 4,294,967,280 bytes of JSON"),
    "bytes that are not UTF-8": (lambda d: glb(d / "binary.glb", b'{"a": "\xff\xfe"}'), "could not be read as glTF: its JSON part is damaged"),
}

# Reads one file in a fresh interpreter and prints the message and the RSS growth (current and peak).
PROBE = """
import json, sys
from expressive_talker.face.avatar import read_avatar
from expressive_talker.errors import InputError

def rss(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024

before = rss("VmRSS:")
try:
    read_avatar(sys.argv[1])
    message = None
except InputError as exc:
    message = str(exc)
print(json.dumps({"message": message, "growth_mb": rss("VmRSS:") - before, "peak_growth_mb": rss("VmHWM:") - before}))
"""


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_avatar_gets_one_message_and_leaves_memory_as_it_was(tmp_path, case):
    make, expected = HOSTILE[case]
    path = make(tmp_path)
    run = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr  # no traceback
    result = json.loads(run.stdout)
    print(f"{case}: {result}")
    assert result["message"] and expected in result["message"]
    assert "\n" not in result["message"] and "codec" not in result["message"]
    assert result["growth_mb"] < 50 and result["peak_growth_mb"] < 50
