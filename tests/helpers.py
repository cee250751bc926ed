"""Small builders shared by the tests: audio on disk, curves files, reading MP4s back."""

import json
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


def probe(path):
    """(frame count, has an audio stream, video stream line) of an MP4."""
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    video = next(line for line in info.splitlines() if "Video:" in line)
    return frames, "Audio:" in info, video


def read_frame(path, index):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    for i, raw in enumerate(reader):
        if i == index:
            reader.close()
            return np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    raise IndexError(index)


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
