"""Small builders shared by the tests: audio on disk, curves files, reading MP4s back."""

import contextlib
import json
import re
import socket
import subprocess

import imageio_ffmpeg
import numpy as np
import soundfile as sf

from expressive_talker.face.rig import ARKIT_NAMES, INDEX


def write_tone(path, seconds=1.0, rate=16000):
    """A voiced-sounding signal (harmonics with a syllable-rate envelope) written as a wav."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 700), 1))
    wave *= 0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    sf.write(str(path), wave.astype(np.float32), rate)
    return path


def jaw_curves(frames=30, fps=30):
    w = np.zeros((frames, len(ARKIT_NAMES)), np.float32)
    w[:, INDEX["jawOpen"]] = np.linspace(0, 1, frames)
    return w


def write_curves_json(path, weights, fps=30, names=ARKIT_NAMES):
    path.write_text(json.dumps({"fps": fps, "names": list(names), "frames": np.asarray(weights).tolist()}))
    return path


def stream_lines(path) -> str:
    """ffmpeg's description of a media file's streams (its header parse, on stderr)."""
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


def probe(path):
    """(frame count, has an audio stream, video stream line) of an MP4."""
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    info = stream_lines(path)
    video = next(line for line in info.splitlines() if "Video:" in line)
    return frames, "Audio:" in info, video


def video_frames(path):
    """Every frame of a video, (N, H, W, 3) uint8. ffmpeg is started as the app starts it, with
    no preexec_fn (imageio-ffmpeg's reader passes one): a fork() here can deadlock against a
    numpy matmul on a thread of an app the test is running (see ``encode_mp4``)."""
    width, height = map(int, re.search(r"Video: .*?, (\d+)x(\d+)", stream_lines(path)).groups())
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def read_frame(path, index):
    return video_frames(path)[index]


def make_tiny_weights(folder, methods=("ours",)):
    """Untrained two-stage models small enough for fast tests, saved as weights/<method>/."""
    import torch

    from expressive_talker.face.rig import load_rig
    from expressive_talker.models.two_stage import TwoStageAnimator, TwoStageConfig, TwoStageModel

    torch.manual_seed(0)
    for method in methods:
        model = TwoStageModel(TwoStageConfig(dim=32, heads=2, layers=1, content_dim=16, expression_dim=16)).eval()
        TwoStageAnimator(model, neutral=load_rig().neutral, name=method).save_pretrained(folder / method)
    return folder


def duration(path):
    """Seconds of the first stream of a media file, from ffmpeg's header line."""
    _, secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    return secs


def write_avatar(path, target_names, vrm0=False, mesh_names=False):
    """A tiny binary glTF avatar: a four-vertex mesh whose morph target k lifts the tip by
    (k + 1) cm. ``target_names`` name the targets in ``mesh.extras`` (or, with ``mesh_names`` off
    and ``vrm0``, in the primitive's extras as some VRM exporters write them)."""
    import struct

    vertices = np.array([[-0.05, -0.05, 0.0], [0.05, -0.05, 0.0], [0.0, 0.05, 0.0], [0.0, 0.0, 0.03]], np.float32)
    indices = np.array([0, 1, 3, 1, 2, 3, 2, 0, 3, 0, 2, 1], np.uint16)
    blobs = [vertices.tobytes(), indices.tobytes()]
    deltas = []
    for k in range(len(target_names)):
        d = np.zeros_like(vertices)
        d[3, 1] = 0.01 * (k + 1)
        deltas.append(d)
        blobs.append(d.tobytes())
    views, accessors, offset = [], [], 0
    for i, blob in enumerate(blobs):
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(blob)})
        offset += len(blob) + (-len(blob)) % 4
        if i == 1:
            accessors.append({"bufferView": 1, "componentType": 5123, "count": len(indices), "type": "SCALAR"})
        else:
            array = vertices if i == 0 else deltas[i - 2]
            accessors.append({"bufferView": i, "componentType": 5126, "count": 4, "type": "VEC3", "min": array.min(0).tolist(), "max": array.max(0).tolist()})
    binary = b"".join(blob + b"\0" * ((-len(blob)) % 4) for blob in blobs)
    primitive = {"attributes": {"POSITION": 0}, "indices": 1, "targets": [{"POSITION": 2 + k} for k in range(len(target_names))]}
    mesh = {"name": "face", "primitives": [primitive], "weights": [0.0] * len(target_names)}
    if vrm0 and not mesh_names:
        primitive["extras"] = {"targetNames": list(target_names)}
    else:
        mesh["extras"] = {"targetNames": list(target_names)}
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"name": "avatar", "mesh": 0}],
        "meshes": [mesh], "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(binary)}],
    }  # fmt: skip
    if vrm0:
        doc["extensions"] = {"VRM": {"specVersion": "0.0"}}
    text = json.dumps(doc).encode()
    text += b" " * ((-len(text)) % 4)
    with open(path, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(text) + 8 + len(binary)))
        f.write(struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(binary), b"BIN\0") + binary)
    return path


@contextlib.contextmanager
def tiny_app(root):
    """The app on a free local port with tiny random weights (ours, FaceFormer) under ``root``,
    as the browser tests drive it; yields its URL."""
    from expressive_talker.ui import Settings, build_app, queue

    settings = Settings(weights_dir=str(make_tiny_weights(root / "weights", ("ours", "faceformer"))), video_size=256, compare_size=256, output_dir=str(root / "outputs"))
    demo = queue(build_app(settings))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
