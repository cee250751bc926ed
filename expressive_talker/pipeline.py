"""Audio + text -> vertices for any method: the one path every entry point (app, CLI, evaluator,
benchmark, user study) goes through.

    result = animate_speech("speech.wav", "slightly disgusted", method="ours")
    result.vertices  # (T, V, 3) at result.fps, T = the audio's duration x fps

On top of it, the jobs the app and the CLI run: ``generate_video`` (one method, MP4 + exports),
``compare_video`` (every method with weights, side by side) and ``interpolation_strip``
(stills for a range of prompt blends). They only compose ``animate_speech`` with rendering.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InputError

WEIGHTS_DIR = os.environ.get("EXPRESSIVE_TALKER_WEIGHTS", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights"))
METHODS = ("ours", "expclip", "faceformer")
METHOD_LABELS = {"ours": "Ours (two-stage)", "expclip": "ExpCLIP", "faceformer": "FaceFormer"}
# Stage names reported to progress callbacks, in order.
STAGES = ("decode", "features", "animate", "render", "encode")
Progress = Callable[[str, float], None]  # (stage, fraction of that stage done)
MAX_STRENGTH = 2.0
NEUTRAL_PROMPT = "neutral"  # the expression strength scales away from this prompt's expression


@functools.lru_cache(maxsize=16)
def load_animator(method: str, weights_dir: str = WEIGHTS_DIR):
    """The trained model of a method (``ours``, ``expclip``, ``faceformer``, or an ablation such
    as ``ours-no-cross``) from ``weights_dir/<method>``, loaded once per process."""
    from .models.io import read_config

    folder = os.path.join(weights_dir, method)
    try:
        kind = read_config(folder)["kind"]
    except FileNotFoundError:
        raise InputError(f"no trained weights for method {method!r} (looked in {folder})") from None
    if kind == "two-stage":
        from .models.two_stage import TwoStageAnimator

        return TwoStageAnimator.from_pretrained(folder, name=method)
    if kind == "faceformer":
        from .models.faceformer import FaceFormerAnimator

        return FaceFormerAnimator.from_pretrained(folder, name=method)
    if kind == "expclip":
        from .models.expclip import ExpCLIPAnimator

        return ExpCLIPAnimator.from_pretrained(folder, name=method)
    raise InputError(f"{folder} holds a model of unknown kind {kind!r}")


@dataclass
class Animation:
    method: str
    wave: np.ndarray  # 16 kHz mono, as decoded and normalised
    vertices: np.ndarray  # (T, V, 3) metres
    fps: float
    prompt: str | None
    notes: list[str]  # things the user should know (silence, truncated prompt, ...)
    _weights: np.ndarray | None = None
    head_rotation: np.ndarray | None = None  # (T,3) degrees: pitch, yaw, roll; None: a still head
    timeline: object | None = None  # the text.timeline.Timeline it was made from, when the prompt changes

    def arkit_weights(self) -> np.ndarray:
        """The ARKit weights (T,52) that best explain the vertices, solved once: they drive the
        eyes and teeth in the render and are what the curve and .glb exports carry."""
        if self._weights is None:
            from .face.rig import load_rig

            self._weights = load_rig().solve(self.vertices)
        return self._weights

    def head_track(self) -> np.ndarray:
        """(T,3) head rotation in degrees; zeros for a still head."""
        from .export.curves import head_track

        return head_track(self.head_rotation, len(self.vertices))

    def with_motion(self) -> "Animation":
        """The same animation through the motion layer (blinks, gaze, head, rest in silence)."""
        from .face.motion import add_motion

        segments = None if self.timeline is None else [(a, b) for a, b, _ in self.timeline.segments(self.fps, len(self.vertices))]
        motion = add_motion(self.vertices, self.wave, self.fps, weights=self.arkit_weights(), segments=segments)
        return Animation(self.method, self.wave, motion.vertices, self.fps, self.prompt, self.notes, motion.weights, motion.head_rotation, self.timeline)

    @property
    def seconds(self) -> float:
        from .audio import SAMPLE_RATE

        return len(self.wave) / SAMPLE_RATE


def text_feature(animator, text: str, text_b: str | None = None, alpha: float = 0.0) -> tuple[np.ndarray, list[str]]:
    """The prompt's feature with the encoder the model was trained with (a prompt of two feelings:
    the mean of its parts', ``text/mixing.py``); with ``text_b``, the linear blend
    (1-α)·f(text) + α·f(text_b) of the two features (the paper's Fig. 7)."""
    from .text.reading import prompt_feature

    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    feature, notes, _ = prompt_feature(animator, text)
    if text_b is not None:
        feature_b, notes_b, _ = prompt_feature(animator, text_b)
        feature, notes = (1.0 - alpha) * feature + alpha * feature_b, notes + notes_b
    return np.asarray(feature, np.float32), list(notes)


def speech_features(animator, wave: np.ndarray) -> np.ndarray:
    from .audio import FeatureCache, get_speech_encoder

    return FeatureCache()(wave, get_speech_encoder(animator.audio_backend))


def animate_speech(
    audio,
    text: str | None,
    method: str = "ours",
    text_b: str | None = None,
    alpha: float = 0.0,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    weights_dir: str = WEIGHTS_DIR,
    still: bool = False,
    timeline=None,
    strength: float = 1.0,
    sweep: bool = False,
) -> Animation:
    """Decode ``audio`` (a path, or a 16 kHz waveform), encode it and the prompt, and animate.

    ``timeline`` (``text.timeline.Timeline``): prompts that change along the clip (its first
    row's prompt is the one used, ``text`` is not). ``strength`` (0 to 2): the expression scaled
    from the neutral prompt's in the model's expression space, the lips left as they are.
    ``sweep``: the blend α runs from 0 to 1 across the clip (with ``text_b``).

    The model's output goes through the motion layer (``face/motion.py``: blinks, gaze, head
    rotation, the mouth at rest in silence); ``still=True`` returns the model's raw output."""
    from .audio import MAX_SECONDS, SAMPLE_RATE, read_audio
    from .render.video import frame_count
    from .text.timeline import Timeline

    report = progress or (lambda stage, done: None)
    animator = load_animator(method, weights_dir)
    notes: list[str] = []
    report("decode", 0.0)
    if isinstance(audio, np.ndarray):
        wave = audio.astype(np.float32)
    else:
        clip = read_audio(audio, max_seconds or MAX_SECONDS)
        wave, notes = clip.wave, list(clip.notes)
    if not 0.0 <= strength <= MAX_STRENGTH:
        raise InputError(f"the expression strength must be between 0 and {MAX_STRENGTH:g}, got {strength:g}")
    if timeline is not None:
        text = timeline.rows[0][1]
        timeline.check_fits(len(wave) / SAMPLE_RATE)
    if sweep and text_b is None:
        raise InputError("a sweep needs a second prompt to sweep to")
    report("features", 0.0)
    audio_features = speech_features(animator, wave)
    frames = frame_count(wave, animator.fps)
    report("animate", 0.0)
    step = lambda i, n: report("animate", i / n)  # noqa: E731
    plain = (timeline is None or not timeline.changes) and strength == 1.0 and not sweep
    if not animator.uses_text:
        vertices = animator.animate(audio_features, None, frames, progress=step)
    elif text is None:
        raise InputError("an expression prompt is needed, for example 'slightly disgusted'")
    elif plain:
        feature, text_notes = text_feature(animator, text, text_b, alpha)
        notes += text_notes
        vertices = animator.animate(audio_features, feature, frames, progress=step)
    else:
        if sweep:  # the blend's α from 0 to 1 across the clip
            alphas = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
            prompts, weights = [text, text_b], np.concatenate([1 - alphas, alphas], 1)
        else:
            timeline = timeline or Timeline.make(text)
            prompts, weights = timeline.prompts, timeline.weights(animator.fps, frames)
        vertices, text_notes = _animate_blend(animator, audio_features, prompts, weights, strength, step)
        notes += text_notes
    animation = Animation(method, wave, vertices, animator.fps, text, notes, timeline=timeline if timeline is not None and timeline.changes else None)
    return animation if still else animation.with_motion()


def _animate_blend(animator, audio_features, prompts: list[str], content: np.ndarray, strength: float, progress):
    """Prompts blended frame by frame with weights (T,K), the expression scaled from the neutral
    prompt's by ``strength`` (``Animator.animate_blend``)."""
    frames = len(content)
    if strength != 1.0 and NEUTRAL_PROMPT not in prompts:
        prompts = [*prompts, NEUTRAL_PROMPT]
        content = np.concatenate([content, np.zeros((frames, 1), np.float32)], 1)
    expression = content * strength
    if strength != 1.0:
        expression[:, prompts.index(NEUTRAL_PROMPT)] += 1.0 - strength
    features, notes = zip(*(text_feature(animator, prompt) for prompt in prompts))
    vertices = animator.animate_blend(audio_features, np.stack(features), content, expression, progress=progress)
    return vertices, list(dict.fromkeys(n for n in sum(notes, [])))


def available_methods(weights_dir: str = WEIGHTS_DIR) -> list[str]:
    """The methods of METHODS that have trained weights in ``weights_dir``."""
    return [m for m in METHODS if os.path.isfile(os.path.join(weights_dir, m, "config.json"))]


def render_animations(animations: list[Animation], out_path, size: int = 512, labels=None, renderer=None, progress: Progress | None = None) -> int:
    """One MP4 with the first animation's audio: one panel, or labelled panels side by side."""
    from .render.video import Animation as Panel
    from .render.video import render_video

    report = progress or (lambda stage, done: None)
    panels = []
    for animation in animations:
        report("render", 0.0)  # solving the weights is part of getting frames ready
        panels.append(Panel(animation.vertices, animation.arkit_weights(), animation.head_rotation))

    def frames_done(done, total):
        report("render", done / total)
        if done == total:  # the last frame is in; ffmpeg now finishes the file and muxes the audio
            report("encode", 0.0)

    frames = render_video(panels, animations[0].wave, out_path, size=size, fps=int(round(animations[0].fps)), labels=labels, renderer=renderer, progress=frames_done)
    report("encode", 1.0)
    return frames


@dataclass
class VideoResult:
    video: str
    frames: int
    animations: list[Animation]
    exports: dict[str, str]  # format -> path (generate only)
    notes: list[str]


def generate_video(
    audio,
    text: str | None,
    out_path,
    method: str = "ours",
    text_b: str | None = None,
    alpha: float = 0.0,
    size: int = 512,
    export_dir=None,
    max_seconds: float | None = None,
    renderer=None,
    progress: Progress | None = None,
    weights_dir: str = WEIGHTS_DIR,
    still: bool = False,
    animation: Animation | None = None,
    timeline=None,
    strength: float = 1.0,
    sweep: bool = False,
) -> VideoResult:
    """Animate with one method, render the MP4 and, with ``export_dir``, write every export.
    ``still``: the model's raw output, without the motion layer. ``animation``: the animation of
    these very inputs, already computed (the in-page viewer's), rendered instead of animating again.
    ``timeline``, ``strength``, ``sweep``: as ``animate_speech`` takes them."""
    if animation is None:
        animation = animate_speech(audio, text, method, text_b, alpha, max_seconds, progress, weights_dir, still, timeline, strength, sweep)
    frames = render_animations([animation], out_path, size, renderer=renderer, progress=progress)
    exports = {}
    if export_dir is not None:
        from .export import export_animation

        exports = export_animation(
            export_dir,
            animation.vertices,
            animation.arkit_weights(),
            animation.fps,
            stem=f"expressive-talker-{method}",
            head_rotation=animation.head_rotation,
            timeline=None if animation.timeline is None else animation.timeline.to_json(),
        )
    return VideoResult(os.fspath(out_path), frames, [animation], exports, animation.notes)


def animate_every_method(
    audio, text, max_seconds=None, progress: Progress | None = None, weights_dir: str = WEIGHTS_DIR, still: bool = False, timeline=None, strength: float = 1.0
) -> list[Animation]:
    """The same audio and prompt animated by every method that has weights (Compare's panels);
    a timeline and a strength apply to every method that takes a prompt."""
    methods = available_methods(weights_dir)
    if not methods:
        raise InputError(f"no trained weights for any method (looked in {weights_dir})")
    animations: list[Animation] = []
    source = audio
    for method in methods:
        animation = animate_speech(source, text, method, max_seconds=max_seconds, progress=progress, weights_dir=weights_dir, still=still, timeline=timeline, strength=strength)
        source = animation.wave  # decode once; later methods reuse the waveform
        animations.append(animation)
    return animations


def compare_video(
    audio,
    text: str | None,
    out_path,
    size: int = 384,
    max_seconds: float | None = None,
    renderer=None,
    progress: Progress | None = None,
    weights_dir: str = WEIGHTS_DIR,
    still: bool = False,
    animations: list[Animation] | None = None,
    timeline=None,
    strength: float = 1.0,
) -> VideoResult:
    """Every method that has weights, on the same audio and prompt, in one synchronised MP4 with
    one labelled panel each. Methods without weights are left out and named in the notes. The
    motion layer is seeded by the audio: panels that show the same expression blink, look and nod
    at the same moments. ``animations``: those of ``animate_every_method`` for these inputs,
    already computed (the in-page viewer's)."""
    missing = [METHOD_LABELS[m] for m in METHODS if m not in available_methods(weights_dir)]
    if animations is None:
        animations = animate_every_method(audio, text, max_seconds, progress, weights_dir, still, timeline, strength)
    frames = render_animations(animations, out_path, size, [METHOD_LABELS[a.method] for a in animations], renderer, progress)
    notes = list(dict.fromkeys(n for a in animations for n in a.notes))
    if missing:
        notes.append(f"not shown, no trained weights: {', '.join(missing)}")
    return VideoResult(os.fspath(out_path), frames, animations, {}, notes)


def interpolation_strip(
    audio,
    text_a: str,
    text_b: str,
    alphas=(0.0, 0.25, 0.5, 0.75, 1.0),
    at_seconds: float | None = None,
    method: str = "ours",
    max_seconds: float | None = None,
    renderer=None,
    weights_dir: str = WEIGHTS_DIR,
) -> np.ndarray:
    """One still per blend α between prompts A and B at the same instant (default: mid-clip),
    side by side and captioned below, as an (H, W·len(alphas), 3) image (the paper's Fig. 7). The
    stills show the model's raw output: a blink caught mid-clip would hide the blend."""
    from .render.renderer import FaceRenderer
    from .render.video import label_strip

    own = renderer is None
    renderer = renderer or FaceRenderer(256)
    images = []
    source = audio
    try:
        for alpha in alphas:
            animation = animate_speech(source, text_a, method, text_b, float(alpha), max_seconds, weights_dir=weights_dir, still=True)
            source = animation.wave
            seconds = animation.seconds / 2 if at_seconds is None else min(max(at_seconds, 0.0), animation.seconds)
            t = min(int(seconds * animation.fps), len(animation.vertices) - 1)
            still = renderer.render(animation.vertices[t])  # weights for eyes and teeth solved for this frame only
            # The caption goes below the still: above it, the page's label and toolbar would cover it.
            images.append(np.concatenate([still, label_strip(f"α = {alpha:g}", renderer.size)], 0))
    finally:
        if own:
            renderer.close()
    return np.concatenate(images, 1)
