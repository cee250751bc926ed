"""Speech features: each backend's shape and rate, that they hear the difference between sounds,
long audio without seams, the feature cache, and the features CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from expressive_talker.audio import SAMPLE_RATE
from expressive_talker.audio.bench import speech_like
from expressive_talker.audio.cache import FeatureCache
from expressive_talker.audio.features import get_speech_encoder
from expressive_talker.errors import InputError


def vowel(seconds, f0=140.0, formants=(700, 1200)):
    """Harmonics shaped by two formant peaks: an 'ah'-like vowel."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = np.zeros_like(t)
    for k in range(1, int(4000 / f0)):
        gain = sum(np.exp(-(((k * f0) - f) / 150) ** 2) for f in formants) + 0.05
        wave += gain * np.sin(2 * np.pi * k * f0 * t) / k**0.5
    return (0.2 * wave / np.abs(wave).max()).astype(np.float32)


def hiss(seconds):
    """High-passed noise: an 'ss'-like fricative."""
    noise = np.random.default_rng(0).standard_normal(int(seconds * SAMPLE_RATE))
    return (0.1 * np.diff(noise, prepend=0) / 2).astype(np.float32)


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def whisper():
    return get_speech_encoder("whisper-tiny")


@pytest.mark.parametrize("seconds", [0.3, 1.5, 7.77])
def test_whisper_is_384d_at_50hz(whisper, seconds):
    features = whisper(speech_like(seconds))
    assert (whisper.name, whisper.dim, whisper.fps) == ("whisper-tiny", 384, 50.0)
    assert features.shape == (int(np.ceil(seconds * 50)), 384) and features.dtype == np.float32
    assert np.isfinite(features).all()


def test_mel_is_80_bands_at_100hz():
    mel = get_speech_encoder("mel")
    features = mel(speech_like(1.5))
    assert (mel.dim, mel.fps) == (80, 100.0)
    assert features.shape == (150, 80) and np.isfinite(features).all()

    def tilt(f):  # low bands minus high bands, in log power
        return f[:, :30].mean() - f[:, 60:].mean()

    assert tilt(mel(vowel(1.0))) > tilt(mel(hiss(1.0))) + 2  # a vowel's energy sits low, a hiss's high


def test_whisper_features_tell_sounds_apart(whisper):
    """Frames of the same sound resemble each other more than frames of a different sound."""
    ah, ss, oo = whisper(vowel(1.0)), whisper(hiss(1.0)), whisper(vowel(1.0, f0=200, formants=(300, 800)))
    core = slice(10, 40)  # away from the clip edges
    ah, ss, oo = (unit(f[core]) for f in (ah, ss, oo))
    within = (ah @ ah.T).mean()
    assert within > (ah @ ss.T).mean() + 0.1
    assert within > (ah @ oo.T).mean()
    # and a clip of 'ah' then 'ss' changes its features where the sound changes
    both = unit(whisper(np.concatenate([vowel(1.0), hiss(1.0)])))
    assert (both[15:35] @ ah.mean(0)).mean() > (both[65:85] @ ah.mean(0)).mean()


def test_whisper_long_audio_has_no_seam(whisper):
    """Audio over 30 s is encoded in overlapping windows, cross-faded: no jump where they meet."""
    wave = np.concatenate([speech_like(8.0, seed=s) for s in range(5)])  # 40 s
    features = whisper(wave)
    assert features.shape == (2000, 384)
    steps = np.linalg.norm(np.diff(features, axis=0), axis=1)
    seam = steps[1240:1510]  # the second window starts at 25 s (frame 1250); the first ends at 30 s
    elsewhere = np.concatenate([steps[100:1200], steps[1550:1900]])
    # a hard cut between the windows jumps by more than any step within a window; the cross-fade doesn't
    assert seam.max() <= elsewhere.max()
    assert seam.mean() <= 1.2 * elsewhere.mean()


def test_wav2vec2_from_a_local_folder(tmp_path):
    from expressive_talker._torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )
    Wav2Vec2Model(config).save_pretrained(tmp_path / "w2v2")
    encoder = get_speech_encoder("wav2vec2", str(tmp_path / "w2v2"))
    features = encoder(speech_like(1.5))
    assert (encoder.name, encoder.dim, encoder.fps) == ("wav2vec2", 32, 50.0)
    assert features.shape == (75, 32) and np.isfinite(features).all()
    assert encoder(speech_like(0.3)).shape == (15, 32)


def test_wav2vec2_without_weights_says_so():
    with pytest.raises(InputError, match="wav2vec 2.0 weights not found"):
        get_speech_encoder("wav2vec2", "/nonexistent/wav2vec2")


def test_unknown_backend_and_bad_waveform_are_input_errors():
    with pytest.raises(InputError, match="choose one of whisper-tiny, mel, wav2vec2"):
        get_speech_encoder("hubert")
    with pytest.raises(InputError, match="mono waveform"):
        get_speech_encoder("mel")(np.zeros((2, 100), np.float32))


def test_feature_cache_computes_once_per_audio_and_backend(tmp_path, whisper):
    calls = []

    class Counting:
        def __init__(self, encoder):
            self.encoder, self.dim, self.cache_key = encoder, encoder.dim, encoder.cache_key

        def __call__(self, wave):
            calls.append(self.cache_key)
            return self.encoder(wave)

    cache = FeatureCache(tmp_path / "cache")
    mel, whisper = Counting(get_speech_encoder("mel")), Counting(whisper)
    a, b = speech_like(1.0, seed=1), speech_like(1.0, seed=2)
    first = cache(a, whisper)
    again = cache(a.copy(), whisper)
    np.testing.assert_array_equal(first, again)
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)
    assert cache(a, mel).shape == (100, 80)  # another backend: its own entry
    assert cache(b, whisper).shape == (50, 384)  # other audio: its own entry
    assert len(calls) == 3
    # a fresh cache object (another process) reads the same files
    assert np.array_equal(FeatureCache(tmp_path / "cache")(a, whisper), first) and len(calls) == 3


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_features_cli_prints_json(tmp_path):
    path = tmp_path / "speech.wav"
    sf.write(path, speech_like(2.0), SAMPLE_RATE)
    result = run_cli("features", "--audio", path, "--json", "--out", tmp_path / "f.npy")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"backend", "dim", "fps", "frames", "ms"}
    assert (report["backend"], report["dim"], report["fps"], report["frames"]) == ("whisper-tiny", 384, 50.0, 100)
    assert np.load(tmp_path / "f.npy").shape == (100, 384)
    mel = json.loads(run_cli("features", "--audio", path, "--backend", "mel", "--json").stdout)
    assert (mel["dim"], mel["fps"], mel["frames"]) == (80, 100.0, 200)


def test_features_cli_bad_audio_exits_2_with_one_line(tmp_path):
    path = tmp_path / "notes.webm"
    path.write_text("not audio")
    result = run_cli("features", "--audio", path, "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: could not read notes.webm as audio (supported: wav, mp3, flac, ogg, m4a, webm)"]
