"""Animations -> H.264 MP4 with the speech muxed in, single or side by side with labels."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..audio import SAMPLE_RATE, write_wav
from ..errors import InputError
from ..face.rig import NUM_BLENDSHAPES, FaceRig, load_rig

DEFAULT_FPS = 30
LABEL_HEIGHT = 40
Progress = Callable[[int, int], None]


@dataclass
class Animation:
    """Head vertices per frame, with the ARKit weights when known (they drive eyes and teeth)."""

    vertices: np.ndarray  # (T,V,3)
    weights: np.ndarray | None = None  # (T,52)
    head_rotation: np.ndarray | None = None  # (T,3) degrees: pitch, yaw, roll (face/motion.py)

    @classmethod
    def from_weights(cls, weights, rig: FaceRig | None = None, head_rotation=None) -> "Animation":
        rig = rig or load_rig()
        weights = validate_weights(weights)
        return cls(rig.pose(weights), weights, head_rotation)

    @classmethod
    def from_vertices(cls, vertices, rig: FaceRig | None = None) -> "Animation":
        """Vertices from any method; the weights that best explain them steer eyes and teeth."""
        rig = rig or load_rig()
        vertices = validate_vertices(vertices, rig.num_vertices)
        return cls(vertices, rig.solve(vertices))

    def __len__(self) -> int:
        return len(self.vertices)

    def conform(self, frames: int) -> "Animation":
        """Exactly ``frames`` frames: extra frames dropped, a short animation holds its last pose."""
        index = np.minimum(np.arange(frames), len(self) - 1)
        pick = lambda track: None if track is None else track[index]  # noqa: E731
        return Animation(self.vertices[index], pick(self.weights), pick(self.head_rotation))


def validate_weights(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim != 2 or w.shape[1] != NUM_BLENDSHAPES:
        raise InputError(f"expected blendshape weights of shape (frames, {NUM_BLENDSHAPES}), got {tuple(w.shape)}")
    if len(w) == 0:
        raise InputError("the animation has no frames")
    if not np.all(np.isfinite(w)):
        raise InputError("the animation contains NaN or infinite values")
    return w


def validate_vertices(vertices, num_vertices: int) -> np.ndarray:
    v = np.asarray(vertices, dtype=np.float32)
    if v.ndim != 3 or v.shape[1:] != (num_vertices, 3):
        raise InputError(f"expected vertices of shape (frames, {num_vertices}, 3), got {tuple(v.shape)}")
    if len(v) == 0:
        raise InputError("the animation has no frames")
    if not np.all(np.isfinite(v)):
        raise InputError("the animation contains NaN or infinite values")
    return v


def frame_count(wave: np.ndarray, fps: int) -> int:
    """Frames that cover the audio: its duration times the frame rate, rounded."""
    return max(1, int(round(len(wave) / SAMPLE_RATE * fps)))


@contextlib.contextmanager
def atomic_output(path) -> Iterator[str]:
    """A temporary path next to ``path`` that replaces it only when the block succeeds."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path)[1], prefix=".partial-", dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def encode_mp4(frames, out_path, fps: int, size: tuple[int, int], wave: np.ndarray | None = None) -> None:
    """RGB frames (an iterable of (H,W,3) uint8) -> H.264 yuv420p MP4 with faststart and AAC audio."""
    import imageio_ffmpeg

    width, height = size
    with contextlib.ExitStack() as stack:
        audio = []
        if wave is not None:
            audio_path = stack.enter_context(tempfile.NamedTemporaryFile(suffix=".wav")).name
            write_wav(audio_path, wave)
            audio = ["-i", audio_path, "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac"]
        out = stack.enter_context(atomic_output(out_path))
        errors = stack.enter_context(tempfile.TemporaryFile())
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *audio,
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-preset", "veryfast", "-movflags", "+faststart", out]  # fmt: skip
        # Started without a preexec_fn (imageio-ffmpeg's own writer passes one), so that subprocess
        # uses vfork, which runs no fork handlers: under fork(), OpenBLAS's pre-fork handler
        # deadlocks the whole server when another thread is in a numpy matmul (reading a
        # prompt, say). A session of its own keeps a Ctrl-C in the terminal from reaching ffmpeg.
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        try:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if frame.shape != (height, width, 3):
                    raise ValueError(f"a frame is {frame.shape}, the video is {height}x{width}x3")
                proc.stdin.write(frame)
        except BrokenPipeError:  # ffmpeg stopped early; what it said is raised below
            pass
        except BaseException:  # a frame failed, or Ctrl-C: nothing is kept, so stop ffmpeg at once
            proc.kill()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            proc.wait()
        if proc.returncode != 0:
            errors.seek(0)
            said = errors.read().decode("utf-8", "replace").strip()
            raise RuntimeError(f"ffmpeg could not encode the video (exit {proc.returncode}): {said[-800:]}")


# Debian's fonts-dejavu-core (packages.txt): Pillow's own font has no Greek, and captions say α.
LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def label_strip(text: str, width: int) -> np.ndarray:
    strip = Image.new("RGB", (width, LABEL_HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    size = max(14, LABEL_HEIGHT // 2)
    font = ImageFont.truetype(LABEL_FONT, size) if os.path.exists(LABEL_FONT) else ImageFont.load_default(size=size)
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (box[2] - box[0])) / 2, (LABEL_HEIGHT - (box[3] - box[1])) / 2 - box[1]), text, fill=(30, 30, 30), font=font)
    return np.asarray(strip)


def render_video(
    panels: Sequence[Animation],
    wave: np.ndarray,
    out_path,
    size: int = 512,
    fps: int = DEFAULT_FPS,
    labels: Sequence[str] | None = None,
    renderer=None,
    progress: Progress | None = None,
) -> int:
    """Render one animation, or several side by side (one labelled panel each), with the audio.

    Every panel is conformed to the audio's duration, so the MP4 has exactly
    ``frame_count(wave, fps)`` frames. Returns that count. Nothing is left at ``out_path``
    when anything fails.
    """
    from .renderer import FaceRenderer

    if not panels:
        raise InputError("nothing to render")
    if labels is not None and len(labels) != len(panels):
        raise ValueError("one label per panel is needed")
    frames = frame_count(wave, fps)
    panels = [p.conform(frames) for p in panels]
    renderer = renderer or FaceRenderer(size)
    size = renderer.size
    strips = [label_strip(label, size) for label in labels] if labels else None

    def frame_images():
        for t in range(frames):
            images = []
            for i, panel in enumerate(panels):
                at = lambda track: None if track is None else track[t]  # noqa: E731
                image = renderer.render(panel.vertices[t], at(panel.weights), at(panel.head_rotation))
                images.append(np.concatenate([strips[i], image], 0) if strips else image)
            if progress:
                progress(t + 1, frames)
            yield np.concatenate(images, 1)

    height = size + (LABEL_HEIGHT if strips else 0)
    encode_mp4(frame_images(), out_path, fps, (size * len(panels), height), wave)
    return frames
