"""Loading speech files as users upload them: formats, resampling, loudness, every rejection."""

import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from expressive_talker.audio import SAMPLE_RATE, load_audio, read_audio
from expressive_talker.audio import io as audio_io
from expressive_talker.errors import InputError


def vowel(seconds=1.5, rate=16000, f0=220.0, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
    return (amplitude * wave / np.abs(wave).max()).astype(np.float32)


def ffmpeg(*args):
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *map(str, args)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def dominant_hz(wave):
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return np.fft.rfftfreq(len(wave), 1 / SAMPLE_RATE)[spectrum.argmax()]


@pytest.fixture()
def source_wav(tmp_path):
    path = tmp_path / "source.wav"
    sf.write(path, vowel(rate=44100), 44100)
    return path


@pytest.mark.parametrize(
    "ext,codec",
    [("webm", "libopus"), ("ogg", "libvorbis"), ("mp3", "libmp3lame"), ("m4a", "aac"), ("flac", "flac")],
)
def test_browser_and_common_formats_decode_to_16k_mono(tmp_path, source_wav, ext, codec):
    path = tmp_path / f"speech.{ext}"
    ffmpeg("-i", source_wav, "-c:a", codec, path)
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) / SAMPLE_RATE - 1.5) < 0.1  # codec padding is at most a few frames
    assert abs(dominant_hz(wave) - 220) < 5  # the same sound, not noise or a wrong rate


def test_stereo_44k_wav_is_mixed_down_and_resampled(tmp_path):
    left = vowel(rate=44100, f0=220)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, left], axis=1), 44100)
    clip = read_audio(path)
    assert clip.source_rate == 44100 and clip.source_channels == 2
    assert len(clip.wave) == int(1.5 * SAMPLE_RATE)
    assert abs(dominant_hz(clip.wave) - 220) < 5
    m4a = tmp_path / "stereo.m4a"  # the same through ffmpeg
    ffmpeg("-i", path, "-c:a", "aac", m4a)
    clip = read_audio(m4a)
    assert (clip.source_rate, clip.source_channels) == (44100, 2)
    assert abs(dominant_hz(clip.wave) - 220) < 5


def test_loudness_is_normalised_without_clipping(tmp_path):
    quiet, loud = tmp_path / "quiet.wav", tmp_path / "loud.wav"
    sf.write(quiet, vowel(amplitude=0.01), SAMPLE_RATE)
    sf.write(loud, vowel(amplitude=0.99), SAMPLE_RATE)
    a, b = load_audio(quiet), load_audio(loud)
    rms = lambda w: np.sqrt(np.mean(w**2))  # noqa: E731
    assert 0.9 < rms(a) / rms(b) < 1.1
    assert np.abs(a).max() <= audio_io.PEAK_LIMIT + 1e-6 and np.abs(b).max() <= audio_io.PEAK_LIMIT + 1e-6


def test_silence_is_accepted_and_reported(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    clip = read_audio(path)
    assert clip.silent and len(clip.wave) == SAMPLE_RATE
    assert np.abs(clip.wave).max() == 0  # not amplified into noise
    assert any("silent" in note for note in clip.notes)
    assert not read_audio(_speech(tmp_path)).silent


def _speech(tmp_path):
    path = tmp_path / "speech.wav"
    sf.write(path, vowel(), SAMPLE_RATE)
    return path


def _bad_inputs(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all, just some text in a file named .wav\n" * 20)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    header_only = tmp_path / "header_only.wav"
    sf.write(header_only, np.zeros(0, np.float32), SAMPLE_RATE)
    short = tmp_path / "short.wav"
    sf.write(short, vowel(seconds=0.2), SAMPLE_RATE)
    long = tmp_path / "long.wav"
    sf.write(long, vowel(seconds=3.0), SAMPLE_RATE)
    nan = tmp_path / "nan.wav"
    data = vowel()
    data[100] = np.nan
    sf.write(nan, data, SAMPLE_RATE, subtype="FLOAT")
    inf = tmp_path / "inf.wav"
    data = vowel()
    data[100] = np.inf
    sf.write(inf, data, SAMPLE_RATE, subtype="FLOAT")
    video = tmp_path / "silent_video.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", video)
    return {
        "nothing": (None, "no audio file"),
        "blank": ("  ", "no audio file"),
        "missing": (tmp_path / "nope.wav", "not found"),
        "directory": (tmp_path, "not a file"),
        "zero bytes": (empty, "empty (0 bytes)"),
        "text file": (text, "could not read notes.wav as audio"),
        "no samples": (header_only, "no audio samples"),
        "too short": (short, "at least 0.3 s"),
        "too long": (long, "the limit is 2 s"),
        "nan": (nan, "NaN or infinite"),
        "inf": (inf, "NaN or infinite"),
        "no audio track": (video, "no audio track"),
    }


def test_wav_cut_short_of_its_header_is_animated_with_a_note(tmp_path):
    full = tmp_path / "full.wav"
    sf.write(full, (0.3 * np.sin(np.arange(48000) / 10)).astype(np.float32), 16000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 24000 * 2])  # the header still says 3 s
    clip = read_audio(cut)
    assert abs(clip.seconds - 1.5) < 0.01
    assert clip.notes == ["cut.wav looks cut short: its header says 3.0 s but only 1.5 s of audio are there; animating what is there"]
    assert read_audio(full).notes == []


@pytest.mark.parametrize(
    "case",
    ["nothing", "blank", "missing", "directory", "zero bytes", "text file", "no samples", "too short", "too long", "nan", "inf", "no audio track"],
)
def test_bad_input_gives_one_clear_input_error(tmp_path, case):
    path, message = _bad_inputs(tmp_path)[case]
    with pytest.raises(InputError, match=re.escape(message)):
        load_audio(path, max_seconds=2.0)


def test_too_long_is_rejected_before_decoding(tmp_path, monkeypatch):
    """The duration comes from the header / an ffmpeg probe; samples are never decoded."""
    wav, webm = tmp_path / "long.wav", tmp_path / "long.webm"
    sf.write(wav, vowel(seconds=5.0), SAMPLE_RATE)
    ffmpeg("-i", wav, "-c:a", "libopus", webm)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded the whole file before checking its duration")

    monkeypatch.setattr(audio_io.sf, "read", no_decoding)
    monkeypatch.setattr(audio_io, "_ffmpeg_decode", no_decoding)
    for path in (wav, webm):
        with pytest.raises(InputError, match="5.0 s long; the limit is 2 s"):
            load_audio(path, max_seconds=2.0)


def test_streamed_webm_without_duration_is_cut_off_at_the_limit(tmp_path):
    """Browsers' MediaRecorder webm often has no duration in its header: decoding stops at the limit."""
    wav, webm = tmp_path / "long.wav", tmp_path / "stream.webm"
    sf.write(wav, vowel(seconds=6.0), SAMPLE_RATE)
    with open(webm, "wb") as out:  # writing to a pipe leaves the duration out of the header
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", "libopus", "-f", "webm", "-"],
            stdout=out, check=True, timeout=60,
        )
    assert audio_io._ffmpeg_probe(str(webm))[2] is None
    with pytest.raises(InputError, match="the limit is 2 s"):
        load_audio(webm, max_seconds=2.0)
    assert abs(len(load_audio(webm, max_seconds=10.0)) / SAMPLE_RATE - 6.0) < 0.1
