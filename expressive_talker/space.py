"""``python -m expressive_talker space-bundle OUT``: the folder a Hugging Face Space is made from.

The bundle holds the files git tracks in this repository (so never ``data/``, ``runs/``, caches,
``.venv`` or ``node_modules``), less the tests and CI, plus a ``.gitattributes`` that stores every
binary file with LFS/Xet: a Space refuses a push of binary files that are not. ``check_bundle``
checks what can be checked offline of a Space's rules: the README's front matter (a Docker Space
with ``app_port`` matching the Dockerfile's port), an LFS pattern for every binary file, and sizes.
Push the folder to a new Space: ``git init && git lfs install && git add . && git commit && git
push`` (or ``huggingface_hub.upload_folder(folder_path=OUT, repo_id=..., repo_type="space")``).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess

import yaml

from .errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEFT_OUT = ("tests/", ".ci/")  # tracked, but not needed to run the Space
LFS = "filter=lfs diff=lfs merge=lfs -text"
MAX_PLAIN_FILE = 10 * 1024 * 1024  # a Space refuses bigger files that are not in LFS/Xet
MAX_BUNDLE = 1024 * 1024 * 1024  # the storage of a free Space repository
SDKS = ("gradio", "docker", "static", "streamlit")
COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")


def is_binary(path: str) -> bool:
    """A file git would call binary: a NUL byte in its first 8 KB, or not UTF-8 text."""
    with open(path, "rb") as f:
        head = f.read(8192)
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # not a character cut at the 8 KB boundary
    return False


def tracked_files(root: str = ROOT) -> list[str]:
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise InputError(f"{root} is not a git checkout: space-bundle packs the files git tracks") from None
    files = [f for f in out.decode().split("\0") if f]
    return [f for f in files if not f.startswith(LEFT_OUT) and os.path.isfile(os.path.join(root, f))]


def lfs_patterns(files: list[str], folder: str) -> list[str]:
    """``*.ext`` for each extension of a binary file; a binary file with no extension by its path."""
    patterns = set()
    for f in files:
        if is_binary(os.path.join(folder, f)):
            ext = os.path.splitext(f)[1]
            patterns.add(f"*{ext}" if ext else "/" + f)
    return sorted(patterns)


def _lfs_matches(pattern: str, path: str) -> bool:
    if pattern.startswith("/"):
        return path == pattern[1:]
    return fnmatch.fnmatch(os.path.basename(path), pattern) if "/" not in pattern else fnmatch.fnmatch(path, pattern)


def read_front_matter(readme: str) -> dict:
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        return {}
    meta = yaml.safe_load(match.group(1))
    return meta if isinstance(meta, dict) else {}


def check_bundle(folder: str) -> dict:
    """What the bundle holds and every way it breaks a Space rule we can check offline."""
    files = sorted(os.path.relpath(os.path.join(r, f), folder) for r, _, fs in os.walk(folder) for f in fs)
    problems = []
    meta = read_front_matter(os.path.join(folder, "README.md")) if "README.md" in files else {}
    if not meta:
        problems.append("README.md has no YAML front matter (--- ... ---) at its top")
    if meta.get("sdk") not in SDKS:
        problems.append(f"front matter: sdk must be one of {', '.join(SDKS)}, got {meta.get('sdk')!r}")
    for key in ("colorFrom", "colorTo"):
        if key in meta and meta[key] not in COLORS:
            problems.append(f"front matter: {key} must be one of {', '.join(COLORS)}")
    if len(str(meta.get("short_description", ""))) > 60:
        problems.append("front matter: short_description is longer than 60 characters")
    if meta.get("sdk") == "docker":
        port = meta.get("app_port", 7860)
        dockerfile = os.path.join(folder, "Dockerfile")
        if not os.path.isfile(dockerfile):
            problems.append("a Docker Space needs a Dockerfile")
        else:
            with open(dockerfile, encoding="utf-8") as f:
                text = f.read()
            if not isinstance(port, int) or not re.search(rf"\b(EXPOSE|GRADIO_SERVER_PORT=){port}\b", text):
                problems.append(f"front matter app_port {port!r} is not the port the Dockerfile serves")
    patterns = []
    if os.path.isfile(os.path.join(folder, ".gitattributes")):
        with open(os.path.join(folder, ".gitattributes"), encoding="utf-8") as f:
            patterns = [line.split()[0] for line in f if "filter=lfs" in line]
    binary = [f for f in files if f != ".gitattributes" and is_binary(os.path.join(folder, f))]
    stored_plain = [f for f in files if not any(_lfs_matches(p, f) for p in patterns)]
    for f in binary:
        if f in stored_plain:
            problems.append(f"{f} is binary and no .gitattributes LFS pattern covers it")
    for f in stored_plain:
        if os.path.getsize(os.path.join(folder, f)) > MAX_PLAIN_FILE:
            problems.append(f"{f} is over 10 MB and not in LFS")
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    if size > MAX_BUNDLE:
        problems.append(f"the bundle holds {size / 1e6:.0f} MB, over a free Space's 1 GB")
    left_in = [f for f in files if f.split("/")[0] in ("data", "runs", ".venv", ".gradio", "outputs") or "node_modules/" in f or "__pycache__/" in f]
    problems += [f"{f} should not be in the bundle (state, caches or installed packages)" for f in left_in]
    return {"folder": folder, "files": len(files), "bytes": size, "binary_files": binary, "lfs_patterns": patterns, "sdk": meta.get("sdk"), "app_port": meta.get("app_port"), "problems": problems}


def space_bundle(out: str, root: str = ROOT) -> dict:
    """Copy the repository's tracked files to ``out`` (a new or empty folder), write its
    ``.gitattributes``, and return ``check_bundle(out)``."""
    out = os.path.abspath(out)
    if os.path.exists(out) and os.listdir(out):
        raise InputError(f"{out} is not empty: give a new folder for the Space bundle")
    files = tracked_files(root)
    for f in files:
        os.makedirs(os.path.dirname(os.path.join(out, f)), exist_ok=True)
        shutil.copy2(os.path.join(root, f), os.path.join(out, f))
    with open(os.path.join(out, ".gitattributes"), "w", encoding="utf-8") as f:
        f.write("# Binary files go to LFS/Xet storage: a Space refuses them in plain git.\n")
        f.writelines(f"{pattern} {LFS}\n" for pattern in lfs_patterns(files, out))
    return check_bundle(out)
