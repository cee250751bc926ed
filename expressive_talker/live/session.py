"""A live session: audio chunks of any size in, ARKit frames at 30 fps out, the prompt changeable
at any moment.

    session = LiveSession("calm")
    for chunk in microphone:                # 16 kHz mono float32 (``PcmDecoder`` for other PCM)
        for frame in session.push(chunk):   # frame.t, frame.until, frame.weights (52), frame.head (3)
            drive_the_face(frame)
    session.set_prompt("furious")           # eases to the new expression (models.two_stage.PromptBranches)
    last = session.finish()                 # the rest, once the voice has ended

The same model as the offline path, stepped as it arrives: speech features over a sliding window
(``features.py``), resampled to the frame rate (``resample.py``), Audio2Con and Text2Exp with
their caches and the frozen decoder (``models.two_stage.PromptBranches``, which the offline
timeline runs too: one prompt is one ``FrameStepper``, as in the offline decode), the ARKit fit (``FaceRig.solve``), then the motion layer in streaming form
(``motion.py``). ``still=True`` gives the model's raw output, as ``generate --still`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.io import SAMPLE_RATE
from ..errors import InputError
from ..text.transition import EASE_S, WARMUP_S, PromptSchedule
from .features import StreamingFeatures, WindowConfig
from .resample import StreamingResampler

MAX_SECONDS = 600.0  # one stream's cap: 10 minutes of audio (the take is kept in memory)
# Whisper's threads for a stream: a short window every hop costs less CPU on one thread (no
# thread team to wake and sync), and concurrent streams each get a core's worth.
LIVE_ENCODER_THREADS = 1


@dataclass
class LiveFrame:
    t: float  # the frame's time in the stream (s): frame i at i / fps
    until: float  # the stream time (s) of the last sample this frame depends on
    weights: np.ndarray  # (52,) ARKit weights in ARKIT_NAMES order
    head: np.ndarray  # (3,) degrees: pitch, yaw, roll

    def to_json(self) -> dict:
        return {"t": round(self.t, 4), "until": round(self.until, 4), "w": np.round(self.weights, 4).tolist(), "head": np.round(self.head, 3).tolist()}


class LiveSession:
    def __init__(
        self,
        prompt: str = "neutral",
        method: str = "ours",
        still: bool = False,
        weights_dir: str | None = None,
        window: WindowConfig = WindowConfig(),
        ease_s: float = EASE_S,
        max_seconds: float = MAX_SECONDS,
        seed: int = 0,
        keep_vertices: bool = False,
    ):
        from threadpoolctl import threadpool_limits

        from .. import pipeline
        from ..audio import get_speech_encoder
        from ..face.rig import load_rig
        from ..models.two_stage import PromptBranches, TwoStageAnimator

        # One BLAS thread for the whole process: OpenBLAS's idle threads spin for about 100 ms
        # after each call, so small products every hop would keep a core busy doing nothing.
        threadpool_limits(1, user_api="blas")

        self.weights_dir = weights_dir or pipeline.WEIGHTS_DIR
        self.animator = pipeline.load_animator(method, self.weights_dir)
        if not isinstance(self.animator, TwoStageAnimator):
            raise InputError(f"the live path runs the two-stage model (ours), not {method!r}")
        self.method, self.still, self.max_seconds = method, still, max_seconds
        self.fps = self.animator.fps
        self.window = window
        self.rig = load_rig()
        encoder = get_speech_encoder(self.animator.audio_backend, threads=LIVE_ENCODER_THREADS)
        self.features = StreamingFeatures(encoder, window)
        self.resampler = StreamingResampler(encoder.fps, self.fps, encoder.dim)
        self.branches = PromptBranches(self.animator.model)
        self.branches.add(0, pipeline.text_feature(self.animator, prompt)[0])
        self.schedule = PromptSchedule(self.fps, ease_s)
        self.prompt = prompt
        # The speech features of the last WARMUP_S: a new prompt's branch runs over them first.
        self._recent_rows = np.zeros((0, encoder.dim), np.float32)
        self.motion = None
        if not still:
            from .motion import StreamingMotion

            self.motion = StreamingMotion(self.fps, window.lookahead_s, seed=seed, rig=self.rig)
        self.received = 0  # samples at 16 kHz
        self.finished = False
        self._audio: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self._heads: list[np.ndarray] = []
        self.raw_vertices: list[np.ndarray] | None = [] if keep_vertices else None

    @property
    def seconds(self) -> float:
        return self.received / SAMPLE_RATE

    @property
    def samples_before_frames(self) -> int:
        """How many more samples it takes before the next frames come out: fewer make nothing
        new, so a server may gather chunks until then."""
        return max(0, self.features.boundary - self.received)

    def set_prompt(self, text: str) -> None:
        """Ease to ``text``'s expression from the next frame on; InputError for an empty prompt
        (the face keeps the one it has)."""
        from ..pipeline import text_feature

        import torch

        feature = text_feature(self.animator, text)[0]
        index = self.schedule.prompts
        self.branches.add(index, feature, torch.from_numpy(self._recent_rows)[None])
        self.schedule.change(index, self.branches.frames)
        self.prompt = text

    def push(self, samples: np.ndarray) -> list[LiveFrame]:
        """16 kHz mono float32 samples, in order -> the frames that became ready."""
        if self.finished:
            raise InputError("this stream has ended; start a new one")
        samples = np.asarray(samples, np.float32).reshape(-1)
        if self.received + len(samples) > self.max_seconds * SAMPLE_RATE:
            raise InputError(f"the stream passed its cap of {self.max_seconds / 60:g} minutes of audio: stop and start a new one")
        self.received += len(samples)
        self._audio.append(samples)
        if self.motion is not None:
            self.motion.push_audio(samples)
        rows, until = self.features.push(samples)
        return self._animate(*self.resampler.push(rows, until))

    def finish(self) -> list[LiveFrame]:
        """The stream has ended: the remaining frames (as many as the offline path makes)."""
        if self.finished:
            return []
        self.finished = True
        rows, until = self.features.finish()
        total = int(round(self.seconds * self.fps))  # as many frames as the offline path (render.video.frame_count)
        return self._animate(*self.resampler.push(rows, until, final=True, total=total), final=True)

    def _animate(self, audio_rows: np.ndarray, until: np.ndarray, final: bool = False) -> list[LiveFrame]:
        import torch

        from ..models.layers import torch_threads

        n = len(audio_rows)
        if n == 0:
            return []
        start = self.branches.frames
        weights = self.schedule.weights(start, n)
        with torch_threads(1), torch.inference_mode():
            hidden = self.branches.step(torch.from_numpy(audio_rows)[None], weights)
            vertices = self.animator.neutral[None] + self.animator.model.stage1.to_offsets(hidden)[0].numpy()
        for prompt, end in self.schedule.ends().items():
            if end <= self.branches.frames:
                self.branches.drop(prompt)
        self._recent_rows = np.concatenate([self._recent_rows, audio_rows])[-int(round(WARMUP_S * self.fps)) :]
        weights = self.rig.solve(vertices)
        if self.raw_vertices is not None:
            self.raw_vertices.append(vertices)
        if self.motion is None:
            head = np.zeros((n, 3), np.float32)
        else:
            weights, head, _ = self.motion.step(weights, final=final)
        self._weights.append(weights)
        self._heads.append(head)
        return [LiveFrame((start + i) / self.fps, float(until[i]), weights[i], head[i]) for i in range(n)]

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the stream made so far: the 16 kHz audio, the ARKit weights (T,52) and the head
        rotation (T,3) at ``fps``."""
        wave = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
        weights = np.concatenate(self._weights) if self._weights else np.zeros((0, 52), np.float32)
        heads = np.concatenate(self._heads) if self._heads else np.zeros((0, 3), np.float32)
        return wave, weights, heads
