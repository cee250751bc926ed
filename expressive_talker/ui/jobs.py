"""What the Generate, Interpolate and Compare buttons run: limits, output folders, progress,
user errors as ``gr.Error``. Every job goes through ``expressive_talker.pipeline``."""

from __future__ import annotations

import collections
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

import gradio as gr
import numpy as np

from .. import pipeline
from ..errors import InputError, RenderError
from ..state import state_path
from ..export.curves import curves_doc
from .examples import DEFAULT_STUDY

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _default_study_dir() -> str:
    from ..study.prepare import default_study_dir

    return default_study_dir()


@dataclass
class Settings:
    """App limits, each overridable by an environment variable (named next to it)."""

    weights_dir: str = field(default_factory=lambda: pipeline.WEIGHTS_DIR)
    max_seconds: float = field(default_factory=lambda: _env_float("EXPRESSIVE_TALKER_MAX_SECONDS", 60.0))
    max_upload_mb: float = field(default_factory=lambda: _env_float("EXPRESSIVE_TALKER_MAX_UPLOAD_MB", 20.0))
    # Two cores render one video at a time best; further requests wait in the queue.
    concurrency: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_CONCURRENCY", max(1, (os.cpu_count() or 2) // 2))))
    # Video jobs waiting beyond this many are turned away with a "busy" message instead of piling
    # up (the app's own cap: study calls never count against it).
    queue_size: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_QUEUE_SIZE", 16)))
    video_size: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_VIDEO_SIZE", 512)))
    compare_size: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_COMPARE_SIZE", 384)))
    still_size: int = 256
    output_dir: str = field(default_factory=lambda: os.environ.get("EXPRESSIVE_TALKER_OUTPUTS") or state_path("outputs"))
    # Gradio's cache of the Generate tab's examples (GRADIO_EXAMPLES_CACHE, if set, wins).
    examples_cache: str = field(default_factory=lambda: os.environ.get("GRADIO_EXAMPLES_CACHE") or state_path("examples-cache"))
    output_ttl_s: float = field(default_factory=lambda: _env_float("EXPRESSIVE_TALKER_OUTPUT_TTL", 3600.0))
    # A busy public Space fills its disk within the TTL (about 4.5 MB a Generate): the oldest
    # outputs go first beyond this many MB.
    output_max_mb: float = field(default_factory=lambda: _env_float("EXPRESSIVE_TALKER_OUTPUT_MAX_MB", 1000.0))
    # User study: the folder `study prepare` wrote; the study file prepared there in the background
    # when that folder holds no study ("" = none); the votes database ("" = SQLite in the data
    # directory); who sees the results (the token that opens the Results tab, or "1" to publish
    # them to everyone once the study closes; neither = the operator's command line only); and the
    # most votes (one per question answered) one participant may cast a minute (0 = no limit).
    study_dir: str = field(default_factory=lambda: os.environ.get("EXPRESSIVE_TALKER_STUDY") or _default_study_dir())
    default_study: str = field(default_factory=lambda: os.environ.get("EXPRESSIVE_TALKER_DEFAULT_STUDY", DEFAULT_STUDY))
    db_url: str = field(default_factory=lambda: os.environ.get("EXPRESSIVE_TALKER_DB", ""))
    results_token: str = field(default_factory=lambda: os.environ.get("EXPRESSIVE_TALKER_RESULTS_TOKEN", ""))
    results_public: bool = field(default_factory=lambda: os.environ.get("EXPRESSIVE_TALKER_RESULTS_PUBLIC", "") == "1")
    study_rate: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_STUDY_RATE", 60)))
    # Live microphone streams at once (each holds about 0.2 of a core); one more is refused with a
    # "busy" message rather than slowing every stream down.
    live_streams: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_LIVE_STREAMS", 3)))
    # New participants an hour from one network address and from one browser session (or API
    # client); 0 = no cap. An honest participant joins once.
    study_joins_per_address: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_STUDY_JOINS_PER_ADDRESS", 30)))
    study_joins_per_session: int = field(default_factory=lambda: int(_env_float("EXPRESSIVE_TALKER_STUDY_JOINS_PER_SESSION", 3)))


# Video events share one Gradio lane with no limit of its own: ``VideoLane`` caps the backlog and
# runs ``concurrency`` jobs at a time, so that Gradio's queue-wide size limit never fills up with
# videos and refuses a study call.
VIDEO_EVENTS = {"concurrency_id": "video", "concurrency_limit": None}


class FifoTurns:
    """At most ``n`` holders at a time; the others are served in the order they arrived.
    (``threading.Semaphore`` wakes an arbitrary waiter, and a loop that releases and takes it again
    at once, as the study's preparation does, keeps it for good.) A released turn goes straight to
    the longest waiter, so nobody can take it in between."""

    def __init__(self, n: int):
        self._free = max(1, n)
        self._waiters: collections.deque[threading.Event] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # handed over: the count of free turns stays as it is
            else:
                self._free += 1

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class VideoLane:
    """At most ``concurrency`` video jobs at a time and ``backlog`` more waiting, served in order
    of arrival; beyond that a job is refused at once with a plain message."""

    def __init__(self, concurrency: int, backlog: int):
        self.backlog = backlog
        self._running = FifoTurns(concurrency)
        self._admitted = max(1, concurrency) + max(0, backlog)
        self._count = 0
        self._lock = threading.Lock()

    def waiting(self) -> int:
        with self._lock:
            return self._count

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._lock:
                if self._count >= self._admitted:
                    raise InputError(f"the server is busy: {self.backlog} videos are already waiting; please try again in a minute")
                self._count += 1
            try:
                with self._running:
                    return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._count -= 1

        return wrapper

    def turn(self) -> FifoTurns:
        """A turn to render outside the queue (the default study's videos, one turn per video), not
        counted in the backlog: a visitor waits at most for the one study video being made."""
        return self._running


class Renderers:
    """One renderer per frame size for the whole app, made on first use; each has its own lock."""

    def __init__(self):
        self._renderers = {}
        self._lock = threading.Lock()

    def get(self, size: int):
        with self._lock:
            if size not in self._renderers:
                from ..render.renderer import FaceRenderer

                self._renderers[size] = FaceRenderer(size)
            return self._renderers[size]


class Outputs:
    """A fresh folder per job under ``root``. As new jobs start, folders older than ``ttl_s`` are
    removed, and then the oldest ones until all of them take at most ``max_mb``, so a
    long-running server does not fill its disk."""

    def __init__(self, root: str, ttl_s: float, max_mb: float = float("inf")):
        self.root, self.ttl_s, self.max_bytes = root, ttl_s, max_mb * 1e6

    def new_job(self) -> str:
        os.makedirs(self.root, exist_ok=True)
        self.cleanup()
        folder = os.path.join(self.root, f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}")
        os.makedirs(folder)
        return folder

    def cleanup(self) -> None:
        cutoff = time.time() - self.ttl_s
        kept = []  # (mtime, bytes, path)
        for entry in os.scandir(self.root):
            try:
                if not entry.is_dir():
                    continue
                mtime = entry.stat().st_mtime
                if mtime < cutoff:
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    size = sum(f.stat().st_size for f in os.scandir(entry.path) if f.is_file())
                    kept.append((mtime, size, entry.path))
            except FileNotFoundError:  # another worker removed it first
                pass
        total = sum(size for _, size, _ in kept)
        for _, size, path in sorted(kept):
            if total <= self.max_bytes:
                break
            shutil.rmtree(path, ignore_errors=True)
            total -= size


def stage_progress(progress: gr.Progress):
    """pipeline progress (stage, fraction) -> the Gradio progress bar, one fifth per stage."""

    def report(stage: str, done: float) -> None:
        index = pipeline.STAGES.index(stage)
        progress((index + min(max(done, 0.0), 1.0)) / len(pipeline.STAGES), desc=stage)

    return report


def user_errors(fn):
    """User mistakes become ``gr.Error`` (shown in the page, server stays up); so does a broken
    renderer, with its plain message rather than a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, RenderError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    return wrapper


def _gpu(fn):
    """ZeroGPU's ``spaces.GPU`` where the package is installed (a no-op off ZeroGPU hardware)."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=120)(fn)


def _audio_path(audio) -> str:
    if audio is None or audio == "":
        raise InputError("no speech given: upload an audio file, record with the microphone, or pick an example")
    return audio


def _timeline(text, value):
    """The API's ``timeline`` argument (``text.timeline.Timeline.from_request``): a Timeline, or
    None for none."""
    from ..text.timeline import Timeline

    return Timeline.from_request(text, value)


def _timeline_key(timeline) -> str | None:
    return None if timeline is None else json.dumps(timeline.to_json())


def _strength(value) -> float:
    """The API's ``strength`` argument: a number (None: the default, 1); its range is checked by
    the pipeline."""
    if value is None:
        return 1.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"the expression strength must be a number from 0 to {pipeline.MAX_STRENGTH:g}, got {value!r}"[:200]) from None


def viewer_curves(animation: pipeline.Animation) -> dict:
    """What the in-page viewer plays: the curves JSON, with ``"timeline"`` (whose rows it marks on
    its scrubber) when the prompt changes, as the ``.json`` export records it."""
    doc = curves_doc(animation.arkit_weights(), animation.fps, animation.head_rotation)
    if animation.timeline is not None:
        doc["timeline"] = animation.timeline.to_json()
    return doc


def _show_notes(notes) -> None:
    for note in notes:
        gr.Warning(note)


class Jobs:
    RECENT = 4  # animations kept for the video that follows them (a 60 s one holds ~60 MB)

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.renderers = Renderers()
        self.outputs = Outputs(self.settings.output_dir, self.settings.output_ttl_s, self.settings.output_max_mb)
        self.lane = VideoLane(self.settings.concurrency, self.settings.queue_size)
        self.generate = user_errors(self.lane(_gpu(self._generate)))
        self.interpolate = user_errors(self.lane(_gpu(self._interpolate)))
        self.interpolation_strip = user_errors(self.lane(_gpu(self._interpolation_strip)))
        self.compare = user_errors(self.lane(_gpu(self._compare)))
        # The in-page viewer's animation comes first (``/animate``); the video that follows reuses it.
        self.animate = user_errors(self.lane(_gpu(self._animate)))
        self.animate_blend = user_errors(self.lane(_gpu(self._animate_blend)))
        self.animate_compare = user_errors(self.lane(_gpu(self._animate_compare)))
        self._recent: collections.OrderedDict = collections.OrderedDict()
        self._recent_lock = threading.Lock()
        self._face_lock = threading.Lock()
        self.viewer_face_path = os.path.join(self.settings.output_dir, "viewer-face.glb")
        self._face_written = False

    def viewer_face(self) -> str:
        """The facecap head the in-page viewer draws, written once per process."""
        with self._face_lock:
            if not self._face_written:
                from ..render.viewer_face import write_viewer_face

                write_viewer_face(self.viewer_face_path)
                self._face_written = True
        return self.viewer_face_path

    def _recent_animation(self, key: tuple, compute):
        """(value, fresh): what ``compute()`` gave for ``key`` lately, or a new one. The viewer's
        request and the video's carry the same inputs; the second renders the first's animation."""
        with self._recent_lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key], False
        value = compute()
        with self._recent_lock:
            self._recent[key] = value
            while len(self._recent) > self.RECENT:
                self._recent.popitem(last=False)
        return value, True

    def warm_up(self) -> float:
        """Load every model, encoder and renderer and run each method once on a second of speech,
        so that the first visitor waits no longer than the second. Returns the seconds it took.
        ``launch`` runs it in the background at start-up."""
        from ..audio import SAMPLE_RATE, load_audio
        from .examples import load_examples

        started = time.perf_counter()
        s = self.settings
        examples = load_examples()
        wave = load_audio(examples[0]["audio"])[:SAMPLE_RATE] if examples else np.zeros(SAMPLE_RATE, np.float32)
        try:
            methods = pipeline.available_methods(s.weights_dir)
            if methods:  # one whole Generate (render, encode, exports), the other methods, the other frame sizes
                with tempfile.TemporaryDirectory() as folder:
                    renderer = self.renderers.get(s.video_size)
                    result = pipeline.generate_video(wave, "calm", os.path.join(folder, "warm.mp4"), methods[0], size=s.video_size, export_dir=folder, renderer=renderer, weights_dir=s.weights_dir)
                for method in methods[1:]:
                    pipeline.animate_speech(wave, "calm", method, weights_dir=s.weights_dir)
                self.read_prompt("bubbly", methods[0])  # loads the plain encoder, WordNet and the wordings its senses are chosen by
                if "ours" in methods:  # the live path: its encoder, VAD and the prosody code's first-call compiles
                    from ..live import LiveSession

                    live = LiveSession("calm", weights_dir=s.weights_dir)
                    live.push(wave)
                    live.finish()
                animation = result.animations[0]
                for size in (s.compare_size, s.still_size):
                    self.renderers.get(size).render(animation.vertices[0], animation.arkit_weights()[0], animation.head_track()[0])
        except Exception:  # a broken install shows itself on the first request, with its message
            log.exception("warm-up failed")
        seconds = time.perf_counter() - started
        log.info("warmed up in %.1f s", seconds)
        return seconds

    def _check_method(self, method: str) -> str:
        if method not in pipeline.METHODS:
            raise InputError(f"unknown method {method!r}; choose one of {', '.join(pipeline.METHODS)}")
        return method

    def read_prompt(self, text, method="ours") -> str:
        """How the method reads the prompt, as the line under the prompt box ("" while the box is
        empty or for a method that takes no prompt: typing never raises an error)."""
        from ..text.reading import read_prompt

        try:
            reading = read_prompt(text, self._check_method(method), self.settings.weights_dir)
        except InputError:
            return ""
        return "\n\n".join([f"**{reading.summary()}**"] + [f"*{note}*" for note in reading.notes])

    def _animation(self, audio, text, method, still, progress, timeline=None, strength=1.0) -> tuple[pipeline.Animation, bool]:
        s = self.settings
        timeline, strength = _timeline(text, timeline), _strength(strength)
        key = ("generate", _audio_path(audio), text, self._check_method(method), bool(still), _timeline_key(timeline), strength)
        return self._recent_animation(key, lambda: pipeline.animate_speech(
            audio, text, method, max_seconds=s.max_seconds, progress=stage_progress(progress), weights_dir=s.weights_dir, still=bool(still),
            timeline=timeline, strength=strength,
        ))  # fmt: skip

    def _animate(self, audio, text, method="ours", still=False, timeline=None, strength=1.0, progress=gr.Progress()) -> dict:
        """``/animate``: the ARKit curves and head track, as the curves JSON export holds them
        (with the timeline it was made from, when the prompt changes)."""
        animation, _ = self._animation(audio, text, method, still, progress, timeline, strength)
        _show_notes(animation.notes)
        return viewer_curves(animation)

    def _generate(self, audio, text, method="ours", still=False, timeline=None, strength=1.0, progress=gr.Progress()):
        s = self.settings
        animation, fresh = self._animation(audio, text, method, still, progress, timeline, strength)
        folder = self.outputs.new_job()
        result = pipeline.generate_video(
            audio, text, os.path.join(folder, f"expressive-talker-{method}.mp4"), method,
            size=s.video_size, export_dir=folder, renderer=self.renderers.get(s.video_size),
            progress=stage_progress(progress), animation=animation,
        )  # fmt: skip
        if fresh:  # otherwise shown with the viewer's animation
            _show_notes(result.notes)
        return result.video, list(result.exports.values())

    def generate_example(self, audio, text, method="ours", strength=1.0, *timeline_rows):
        """An example, as the button runs it: the viewer's curves, then the video and downloads.
        ``timeline_rows``: the page's timeline rows as ``timeline_rows.rows_timeline`` takes them."""
        from .timeline_rows import rows_timeline

        timeline = rows_timeline(*timeline_rows) if timeline_rows else None
        curves = self.animate(audio, text, method, False, timeline, strength)
        return (curves, *self.generate(audio, text, method, False, timeline, strength))

    def _blend(self, audio, text_a, text_b, alpha, sweep, progress) -> tuple[pipeline.Animation, bool]:
        """The blend at α, or with ``sweep`` α from 0 to 1 across the clip (α is then unused)."""
        s = self.settings
        if text_b is None or not str(text_b).strip():
            raise InputError("prompt B is empty: describe the second expression, e.g. 'furious'")
        sweep = bool(sweep)
        key = ("interpolate", _audio_path(audio), text_a, text_b, None if sweep else float(alpha), sweep)
        return self._recent_animation(key, lambda: pipeline.animate_speech(
            audio, text_a, "ours", text_b, 0.0 if sweep else float(alpha), s.max_seconds, stage_progress(progress), s.weights_dir, sweep=sweep
        ))  # fmt: skip

    def _animate_blend(self, audio, text_a, text_b, alpha, sweep=False, progress=gr.Progress()) -> dict:
        animation, _ = self._blend(audio, text_a, text_b, alpha, sweep, progress)
        _show_notes(animation.notes)
        return viewer_curves(animation)

    def _interpolate(self, audio, text_a, text_b, alpha, sweep=False, progress=gr.Progress()):
        s = self.settings
        animation, fresh = self._blend(audio, text_a, text_b, alpha, sweep, progress)
        folder = self.outputs.new_job()
        result = pipeline.generate_video(
            audio, text_a, os.path.join(folder, "expressive-talker-interpolation.mp4"), "ours", text_b, float(alpha),
            size=s.video_size, renderer=self.renderers.get(s.video_size), progress=stage_progress(progress), animation=animation,
        )  # fmt: skip
        if fresh:
            _show_notes(result.notes)
        return result.video

    def _interpolation_strip(self, audio, text_a, text_b) -> np.ndarray:
        s = self.settings
        return pipeline.interpolation_strip(
            _audio_path(audio), text_a, text_b, max_seconds=s.max_seconds, renderer=self.renderers.get(s.still_size), weights_dir=s.weights_dir
        )

    def _every_method(self, audio, text, still, progress, timeline=None, strength=1.0) -> tuple[list[pipeline.Animation], bool]:
        s = self.settings
        timeline, strength = _timeline(text, timeline), _strength(strength)
        key = ("compare", _audio_path(audio), text, bool(still), _timeline_key(timeline), strength)
        return self._recent_animation(key, lambda: pipeline.animate_every_method(
            audio, text, s.max_seconds, stage_progress(progress), s.weights_dir, bool(still), timeline, strength
        ))  # fmt: skip

    def _animate_compare(self, audio, text, still=False, timeline=None, strength=1.0, progress=gr.Progress()) -> dict:
        """Compare's panels for the viewer: ``{"panels": [curves JSON + "label", ...]}``."""
        animations, _ = self._every_method(audio, text, still, progress, timeline, strength)
        _show_notes(list(dict.fromkeys(n for a in animations for n in a.notes)))
        return {"panels": [{"label": pipeline.METHOD_LABELS[a.method], **viewer_curves(a)} for a in animations]}

    def _compare(self, audio, text, still=False, timeline=None, strength=1.0, progress=gr.Progress()):
        s = self.settings
        animations, fresh = self._every_method(audio, text, still, progress, timeline, strength)
        folder = self.outputs.new_job()
        result = pipeline.compare_video(
            audio, text, os.path.join(folder, "expressive-talker-compare.mp4"), size=s.compare_size,
            renderer=self.renderers.get(s.compare_size), progress=stage_progress(progress), weights_dir=s.weights_dir, animations=animations,
        )  # fmt: skip
        shown = set() if fresh else {n for a in animations for n in a.notes}  # shown with the viewer's animation
        _show_notes([n for n in result.notes if n not in shown])
        return result.video
