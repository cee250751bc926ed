"""Text features for expression prompts: MiniLM's meaning, prompt validation, CLIP, the CLI,
and that torchvision's CUDA build no longer breaks imports on a CPU-only machine."""

import json
import subprocess
import sys

import numpy as np
import pytest

from expressive_talker.errors import InputError
from expressive_talker.text import MAX_PROMPT_CHARS, embed_text, get_text_encoder, normalize_prompt


@pytest.fixture(scope="module")
def minilm():
    return get_text_encoder("minilm")


def cos(encoder, a, b):
    v = encoder.encode([a, b]).vectors
    return float(v[0] @ v[1])


def test_minilm_gives_unit_384d_vectors(minilm):
    out = minilm.encode(["slightly disgusted", "happy"])
    assert out.vectors.shape == (2, 384) and out.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out.vectors, axis=1), 1.0, atol=1e-5)
    assert out.notes == []


def test_slightly_disgusted_is_nearer_disgust_than_happy(minilm):
    sim = minilm.encode(["slightly disgusted", "disgust", "happy"]).similarity()
    assert sim[0, 1] > sim[0, 2] + 0.2
    assert sim[0, 1] == pytest.approx(0.63, abs=0.03)  # the packaged weights, not random ones


@pytest.mark.parametrize(
    "prompt,near,far",
    [("furious", "angry", "sleepy"), ("terrified", "scared", "neutral"), ("very happy", "joyful", "sad"), ("a little sad", "sad", "joyful")],
)
def test_minilm_similarity_follows_meaning(minilm, prompt, near, far):
    assert cos(minilm, prompt, near) > cos(minilm, prompt, far) + 0.1


def test_embedding_is_deterministic_and_batch_independent(minilm):
    alone = minilm.encode("slightly disgusted").vectors[0]
    batched = minilm.encode(["a much longer prompt about a face that is very very surprised", "slightly disgusted"]).vectors[1]
    np.testing.assert_allclose(alone, batched, atol=1e-5)  # padding in a batch does not leak into the mean


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t", None, "\u200b\u00a0"])
def test_empty_prompt_is_an_input_error(minilm, prompt):
    with pytest.raises(InputError, match="prompt is empty"):
        minilm.encode([prompt])


def test_non_text_prompt_and_empty_list_are_input_errors(minilm):
    with pytest.raises(InputError, match="must be text"):
        normalize_prompt(42)
    with pytest.raises(InputError, match="no expression prompt"):
        minilm.encode([])


def test_unicode_is_normalised_and_html_is_just_text(minilm):
    out = minilm.encode(["ｈａｐｐｙ", "  happy\u00a0 ", "<b>happy</b>", "<script>alert(1)</script>"])
    assert out.prompts == ["happy", "happy", "<b>happy</b>", "<script>alert(1)</script>"]
    np.testing.assert_allclose(out.vectors[0], out.vectors[1], atol=1e-6)


def test_long_prompt_is_truncated_and_reported(minilm):
    long = "slightly disgusted " + "and then quite a lot more words " * 60  # ~400 tokens, > 256
    out = minilm.encode([long])
    assert out.vectors.shape == (1, 384)
    assert any("longer than 256 tokens" in note for note in out.notes)
    huge = "x" * (MAX_PROMPT_CHARS * 50)
    text, notes = normalize_prompt(huge)
    assert len(text) == MAX_PROMPT_CHARS and "cut to its first" in notes[0]


def test_unknown_backend_is_an_input_error():
    with pytest.raises(InputError, match="choose one of minilm, clip"):
        embed_text("happy", backend="bert")


@pytest.mark.slow
def test_clip_text_tower_random_init():
    clip = get_text_encoder("clip")  # ViT-B-32, no checkpoint: random weights
    out = clip.encode(["slightly disgusted", "happy", "a face " * 60])
    assert clip.name == "clip" and clip.max_tokens == 77
    assert out.vectors.shape == (3, clip.dim) and clip.dim == 512
    np.testing.assert_allclose(np.linalg.norm(out.vectors, axis=1), 1.0, atol=1e-5)
    assert [("longer than 77 tokens" in n) for n in out.notes] == [True]
    with pytest.raises(InputError, match="checkpoint not found"):
        get_text_encoder("clip", "ViT-B-32", "/nonexistent/clip.pt")
    with pytest.raises(InputError, match="unknown open_clip model"):
        get_text_encoder("clip", "ViT-Nope")


def test_open_clip_and_wav2vec2_import_on_cpu_torch():
    code = (
        "from expressive_talker._torch_compat import ensure_torchvision_importable as fix; fix(); "
        "import open_clip; from transformers import Wav2Vec2Model; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_embed_text_cli_prints_the_similarity_matrix():
    result = run_cli("embed-text", "slightly disgusted", "disgust", "happy")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[1].startswith("slightly disgusted")
    row = [float(v) for v in lines[1].split()[-3:]]
    assert row[0] == pytest.approx(1.0, abs=1e-3) and row[1] > row[2]
    report = json.loads(run_cli("embed-text", "disgust", "happy", "--json").stdout)
    assert report["dim"] == 384 and report["prompts"] == ["disgust", "happy"] and len(report["cosine"]) == 2


def test_embed_text_cli_empty_prompt_exits_2():
    result = run_cli("embed-text", "happy", "   ")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: the expression prompt is empty: describe an expression, e.g. 'slightly disgusted'"]
