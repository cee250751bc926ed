"""``python -m expressive_talker COMMAND ...``: the command-line interface.

User mistakes (InputError) print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import InputError

RENDER_MAX_SECONDS = 600.0  # render takes finished animations: allow long clips (10 min)
STILL_HELP = "the model's raw output: no blinks, gaze, head motion or rest in silence (see face/motion.py)"


def _render(args) -> None:
    import numpy as np
    from tqdm import tqdm

    from .audio import load_audio
    from .export import read_curves, read_head_rotation, resample_curves
    from .render.video import Animation, render_video

    wave = load_audio(args.audio, max_seconds=RENDER_MAX_SECONDS)
    if args.curves:
        weights, fps = read_curves(args.curves)
        head = read_head_rotation(args.curves, len(weights))
        head = None if head is None else resample_curves(head, fps, args.fps)
        animation = Animation.from_weights(resample_curves(weights, fps, args.fps), head_rotation=head)
    else:
        try:
            vertices = np.load(args.vertices, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(f"vertices file not found: {args.vertices}") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"could not read {args.vertices} as a .npy array: {exc}") from None
        animation = Animation.from_vertices(vertices)
    with tqdm(desc="render", unit="frame", disable=args.quiet) as bar:

        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        frames = render_video([animation], wave, args.out, size=args.size, fps=args.fps, progress=progress)
    print(json.dumps({"out": args.out, "frames": frames, "fps": args.fps, "size": args.size}))


def _stage_bar(quiet: bool):
    """A tqdm bar over the pipeline's stages (decode, features, animate, render, encode)."""
    from tqdm import tqdm

    from .pipeline import STAGES

    bar = tqdm(total=len(STAGES), disable=quiet, bar_format="{desc}{percentage:3.0f}%|{bar}| {elapsed}")

    def progress(stage, done):
        bar.set_description(stage)
        bar.update(round(STAGES.index(stage) + min(max(done, 0.0), 1.0), 3) - bar.n)  # redraws at most 10 times a second

    return bar, progress


def _weights(args) -> dict:
    return {"weights_dir": args.weights} if args.weights else {}


def _timeline(args):
    """The Timeline that --at (and --ease) describe, or None."""
    from .text.timeline import Timeline

    if not args.at:
        if args.ease is not None:
            raise InputError("--ease sets how a timeline's changes ease: give --at SECONDS PROMPT too")
        return None
    if args.text is None:
        raise InputError("--at changes the prompt along the clip: give the first prompt with --text")
    return Timeline.make(args.text, args.at, args.ease)


def _generate(args) -> None:
    from .pipeline import generate_video

    if args.alpha is not None and args.text_b is None:
        raise InputError("--alpha blends towards --text-b: give --text-b too")
    timeline = _timeline(args)
    if timeline is not None and args.text_b is not None:
        raise InputError("--at and --text-b do not go together: a timeline changes the prompt, --text-b blends two")
    bar, progress = _stage_bar(args.quiet)
    with bar:
        result = generate_video(
            args.audio, args.text, args.out, args.method, args.text_b, args.alpha or 0.0, size=args.size,
            export_dir=args.export_dir, max_seconds=args.max_seconds, progress=progress, still=args.still,
            timeline=timeline, strength=args.strength, **_weights(args),
        )  # fmt: skip
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps({"out": result.video, "frames": result.frames, "fps": result.animations[0].fps, "method": args.method, "exports": result.exports}))


def _compare(args) -> None:
    from .pipeline import compare_video

    bar, progress = _stage_bar(args.quiet)
    with bar:
        result = compare_video(
            args.audio, args.text, args.out, size=args.size, max_seconds=args.max_seconds, progress=progress, still=args.still,
            timeline=_timeline(args), strength=args.strength, **_weights(args),
        )  # fmt: skip
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps({"out": result.video, "frames": result.frames, "methods": [a.method for a in result.animations]}))


def _bench(args) -> None:
    if args.seconds is None:
        args.seconds = 30.0 if args.target == "live" else 10.0
    if args.target == "app":
        from .ui.bench import bench_app

        result = bench_app(seconds=args.seconds, size=args.size, weights_dir=args.weights)
    elif args.target == "live":
        from .ui.bench import bench_live

        result = bench_live(seconds=args.seconds, weights_dir=args.weights)
    elif args.target == "model":
        from .evaluate import bench_model

        result = bench_model(args.methods.split(","), seconds=args.seconds)
    elif args.target == "features":
        from .audio.bench import bench_features

        result = bench_features(seconds=args.seconds)
    else:
        from .render.bench import bench_render

        result = bench_render(frames=args.frames, size=args.size)
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


def _stream(args) -> None:
    from .audio import read_audio
    from .live.client import stream_doc, stream_in_process, stream_to_url

    if args.chunk_ms <= 0 or args.chunk_ms > 1000:
        raise InputError("--chunk-ms must be between 0 and 1000 (20 is a microphone's usual chunk)")
    wave = read_audio(args.audio, args.max_seconds).wave
    if args.url:
        result = stream_to_url(args.url, wave, args.text, args.realtime, args.chunk_ms, args.still)
    else:
        result = stream_in_process(wave, args.text, args.realtime, args.chunk_ms, args.still, **_weights(args))
    doc = stream_doc(result)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    print(json.dumps({"json": args.json, **doc["summary"]}))


def _features(args) -> None:
    import time

    import numpy as np

    from .audio import read_audio
    from .audio.features import default_threads, get_speech_encoder

    if args.backend == "wav2vec2":  # the only torch backend; the others need no torch import
        _budget_torch_threads(default_threads())
    wave = read_audio(args.audio, max_seconds=args.max_seconds).wave  # notes (e.g. silence) are logged to stderr
    encoder = get_speech_encoder(args.backend, args.model)
    t0 = time.perf_counter()
    features = encoder(wave)
    ms = (time.perf_counter() - t0) * 1000
    if args.out:
        np.save(args.out, features, allow_pickle=False)
    result = {"backend": encoder.name, "dim": encoder.dim, "fps": encoder.fps, "frames": len(features), "ms": round(ms, 1)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{encoder.name}: {len(features)} frames x {encoder.dim} at {encoder.fps:g} fps in {ms:.0f} ms")


def _embed_text(args) -> None:
    from .audio.features import default_threads
    from .text import get_text_encoder, normalize_prompt

    for prompt in args.prompts:  # fail on an empty prompt before loading a model
        normalize_prompt(prompt)
    _budget_torch_threads(default_threads())
    encoder = get_text_encoder(args.backend, args.model, args.checkpoint, args.adapter)
    embedding = encoder.encode(args.prompts)  # notes (e.g. truncation) are logged to stderr
    sim = embedding.similarity()
    if args.json:
        print(json.dumps({"backend": encoder.name, "dim": encoder.dim, "prompts": embedding.prompts, "cosine": sim.astype(float).round(4).tolist()}))
        return
    labels = [p if len(p) <= 24 else p[:21] + "..." for p in embedding.prompts]
    width = max(len(label) for label in labels)
    col = max(8, *(len(label) for label in labels))
    print(" " * width + "  " + "  ".join(label.rjust(col) for label in labels))
    for label, row in zip(labels, sim):
        print(label.ljust(width) + "  " + "  ".join(f"{v:{col}.3f}" for v in row))


def _score_prompts(args) -> None:
    from .audio.features import default_threads
    from .evaluate import write_json
    from .text.promptsets import load_set, read_cases, score

    _budget_torch_threads(default_threads())
    rows = read_cases(load_set(args.set), args.method, **_weights(args))
    result = {"set": args.set, "method": args.method, **score(rows), "rows": rows}
    print(write_json(result, args.json))


def _calibrate_reading(args) -> None:
    import os

    import numpy as np

    from .audio.features import default_threads
    from .evaluate import write_json
    from .pipeline import WEIGHTS_DIR
    from .text import calibration
    from .text.promptsets import heldout_cases, load_set, read_cases
    from .text.reading import Evidence

    _budget_torch_threads(default_threads())
    dev = read_cases(load_set("dev"), args.method, **_weights(args))
    held = read_cases(heldout_cases(args.heldout), args.method, **_weights(args))
    evidence = lambda rows: [Evidence(r["share"], r["similarity"], r["agreement"], r["mixed"]) for r in rows]
    right = lambda rows: [r["right"] for r in rows]
    # the dev set's reliability, each fold's confidences from a fit on the other folds (and the held-out sample)
    folds = np.arange(len(dev)) % 5
    confidence = np.zeros(len(dev))
    for k in range(5):
        train = [r for r, f in zip(dev, folds) if f != k] + held
        fit = calibration.fit(evidence(train), right(train))
        for i in np.flatnonzero(folds == k):
            confidence[i] = calibration.probability(fit, evidence([dev[i]])[0])
    ece_cv, diagram = calibration.reliability(confidence, right(dev))
    raw_ece, raw_diagram = calibration.reliability([r["share"] for r in dev], right(dev))
    fit = calibration.fit(evidence(dev + held), right(dev + held))
    folder = os.path.join(args.weights or WEIGHTS_DIR, args.method)
    calibration.save(folder, fit, {"dev_prompts": len(dev), "heldout_descriptions": len(held), "dev_ece_5fold": ece_cv, "dev_ece_uncalibrated": raw_ece})
    result = {"method": args.method, "calibration": fit, "dev_ece_5fold": ece_cv, "dev_reliability_5fold": diagram, "dev_ece_uncalibrated": raw_ece, "dev_reliability_uncalibrated": raw_diagram}
    print(write_json(result, args.json))


def _read_prompt(args) -> None:
    from .audio.features import default_threads
    from .text import normalize_prompt
    from .text.reading import read_prompt

    normalize_prompt(args.prompt)  # fail on an empty prompt before loading a model
    _budget_torch_threads(default_threads())
    reading = read_prompt(args.prompt, args.method, **_weights(args))
    if args.json:
        print(json.dumps(reading.to_dict(), ensure_ascii=False))
        return
    print(reading.summary())
    if reading.parts:
        print("two feelings: " + " | ".join(reading.parts))
    print("mix: " + ", ".join(f"{emotion} {share:.0%}" for emotion, share in reading.mix.items() if share >= 0.01))
    for note in reading.notes:
        print(f"note: {note}")


def _budget_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _size(text: str) -> int:
    from .render.renderer import MAX_SIZE, MIN_SIZE

    value = int(text)
    if not MIN_SIZE <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"size must be between {MIN_SIZE} and {MAX_SIZE}")
    return value


def _fps(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 120:
        raise argparse.ArgumentTypeError("fps must be between 1 and 120")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return value


def _timeline_options(command) -> None:
    command.add_argument(
        "--at", nargs=2, action="append", metavar=("SECONDS", "PROMPT"),
        help='from SECONDS on, ease to PROMPT (repeatable): --text "calm" --at 4.5 "furious" --at 8 "a little amused"',
    )  # fmt: skip
    command.add_argument("--ease", type=float, help="seconds each --at change eases over (default 0.5)")
    command.add_argument("--strength", type=float, default=1.0, help="expression strength, 0 to 2 (default 1): the expression scaled, not the lips")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m expressive_talker", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render ARKit curves or vertices to an MP4 with the audio")
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--curves", help='ARKit curves JSON: {"fps", "names", "frames"} and, when present, "head_rotation_deg"')
    source.add_argument("--vertices", help="head vertices .npy, frames x vertices x 3, at --fps")
    render.add_argument("--audio", required=True, help="speech file; the video lasts as long as it")
    render.add_argument("--out", required=True, help="output .mp4")
    render.add_argument("--size", type=_size, default=512, help="frame width and height in pixels (256-1024)")
    render.add_argument("--fps", type=_fps, default=30)
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(run=_render)

    bench = commands.add_parser("bench", help="speed benchmarks (they print JSON)")
    bench.add_argument("target", choices=["render", "features", "model", "app", "live"], help="what to time")
    bench.add_argument("--json", help="also write the result to this file")
    bench.add_argument("--frames", type=int, default=300)
    bench.add_argument("--size", type=_size, default=512)
    bench.add_argument("--seconds", type=_seconds, default=None, help="features, model, app: audio clip length (default 10); live: speech per stream (default 30)")
    bench.add_argument("--weights", help="app: weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    bench.add_argument("--methods", default="ours", help="model: comma-separated methods")
    bench.set_defaults(run=_bench)

    from .pipeline import METHODS

    generate = commands.add_parser("generate", help="speech + expression prompt -> MP4 (and the animation's files)")
    generate.add_argument("--audio", required=True, help="speech file (wav, mp3, flac, ogg, m4a, webm)")
    generate.add_argument("--text", help='expression prompt, e.g. "slightly disgusted" (FaceFormer ignores it)')
    generate.add_argument("--text-b", help="second prompt: the expression is (1-alpha)*text + alpha*text-b")
    generate.add_argument("--alpha", type=float, help="blend towards --text-b, 0 to 1 (default 0)")
    generate.add_argument("--method", choices=METHODS, default="ours")
    generate.add_argument("--out", required=True, help="output .mp4")
    generate.add_argument("--export-dir", help="also write vertices .npy, ARKit curves .json/.csv, an animated .glb, a Live Link Face .csv and a TalkingHead .json here")
    generate.add_argument("--size", type=_size, default=512, help="frame width and height in pixels (256-1024)")
    generate.add_argument("--max-seconds", type=_seconds, default=None, help="longest audio accepted (default 60)")
    generate.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    generate.add_argument("--still", action="store_true", help=STILL_HELP)
    _timeline_options(generate)
    generate.add_argument("--quiet", action="store_true", help="no progress bar")
    generate.set_defaults(run=_generate)

    stream = commands.add_parser("stream", help="play an audio file through the live path; the frames as the .json export, with latencies")
    stream.add_argument("--audio", required=True, help="speech file (wav, mp3, flac, ogg, m4a, webm)")
    stream.add_argument("--text", default="neutral", help='expression prompt, e.g. "calm"')
    stream.add_argument("--json", required=True, help="output: fps, names, frames, head_rotation_deg, latency_ms, summary")
    stream.add_argument("--realtime", action="store_true", help="send the audio as fast as it would be spoken (default: as fast as possible)")
    stream.add_argument("--chunk-ms", type=float, default=20.0, help="audio per message, ms (default 20)")
    stream.add_argument("--still", action="store_true", help=STILL_HELP)
    stream.add_argument("--url", help="a running app's address, e.g. http://127.0.0.1:7860/ (default: the live path in this process)")
    stream.add_argument("--max-seconds", type=_seconds, default=600.0, help="longest audio accepted (default 600: the live route's cap)")
    stream.add_argument("--weights", help="in-process only: weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    stream.set_defaults(run=_stream)

    compare = commands.add_parser("compare", help="every method with weights, side by side in one MP4")
    compare.add_argument("--audio", required=True, help="speech file")
    compare.add_argument("--text", help="expression prompt")
    compare.add_argument("--out", required=True, help="output .mp4")
    compare.add_argument("--size", type=_size, default=384, help="panel width and height in pixels (256-1024)")
    compare.add_argument("--max-seconds", type=_seconds, default=None, help="longest audio accepted (default 60)")
    compare.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    compare.add_argument("--still", action="store_true", help=STILL_HELP)
    _timeline_options(compare)
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.set_defaults(run=_compare)

    from .audio.features import DEFAULT_SPEECH_BACKEND, SPEECH_BACKENDS
    from .audio.io import MAX_SECONDS
    from .text.encoders import DEFAULT_TEXT_BACKEND, TEXT_BACKENDS

    features = commands.add_parser("features", help="speech features of an audio file")
    features.add_argument("--audio", required=True, help="speech file (wav, mp3, flac, ogg, m4a, webm)")
    features.add_argument("--backend", choices=SPEECH_BACKENDS, default=DEFAULT_SPEECH_BACKEND)
    features.add_argument("--model", help="whisper-tiny: CTranslate2 model folder; wav2vec2: folder or hub id")
    features.add_argument("--out", help="also save the features (frames x dim) to this .npy")
    features.add_argument("--max-seconds", type=_seconds, default=MAX_SECONDS, help="longest audio accepted")
    features.add_argument("--json", action="store_true", help='print {"backend", "dim", "fps", "frames", "ms"}')
    features.set_defaults(run=_features)

    embed = commands.add_parser("embed-text", help="embed expression prompts; print their cosine similarities")
    embed.add_argument("prompts", nargs="+", help='e.g. "slightly disgusted" "disgust" "happy"')
    embed.add_argument("--backend", choices=TEXT_BACKENDS, default=DEFAULT_TEXT_BACKEND)
    embed.add_argument("--model", help="minilm: local model folder; clip: open_clip model name (default ViT-B-32)")
    embed.add_argument("--checkpoint", help="clip: local open_clip checkpoint (random weights without one)")
    embed.add_argument("--adapter", help="minilm: a text adapter file, e.g. weights/ours/text_adapter.safetensors")
    embed.add_argument("--json", action="store_true", help="print JSON instead of a table")
    embed.set_defaults(run=_embed_text)

    read = commands.add_parser("read-prompt", help="how a model reads an expression prompt: emotion, intensity, mix, confidence, notes")
    read.add_argument("prompt", help='e.g. "slightly disgusted"')
    read.add_argument("--method", choices=METHODS, default="ours", help="ours or expclip (faceformer takes no prompt)")
    read.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    read.add_argument("--json", action="store_true", help='print {"emotion", "intensity", "mix", "confidence", "notes"}')
    read.set_defaults(run=_read_prompt)

    scored = commands.add_parser("score-prompts", help="read a prompt set with intended emotions and score it: accuracy, two feelings, confident misreads, calibration (prints JSON)")
    scored.add_argument("--set", default="dev", help="dev, check (read once, at the end), phrasings-heldout (the everyday phrasings never trained on) or a .tsv file of kind<TAB>emotion[+emotion]<TAB>prompt")
    scored.add_argument("--method", choices=METHODS, default="ours")
    scored.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    scored.add_argument("--json", help="also write the result to this file")
    scored.set_defaults(run=_score_prompts)

    calibrate = commands.add_parser("calibrate-reading", help="fit the read-out's confidence on the dev prompts and held-out descriptions; writes it into the model's config.json (prints JSON)")
    calibrate.add_argument("--method", choices=METHODS, default="ours")
    calibrate.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    calibrate.add_argument("--heldout", type=int, default=200, help="held-out training descriptions in the fit")
    calibrate.add_argument("--json", help="also write the result to this file")
    calibrate.set_defaults(run=_calibrate_reading)

    evaluate = commands.add_parser("evaluate", help="vertex errors and expression accuracies on a corpus split")
    evaluate.add_argument("--methods", default="ours", help="comma-separated: ours, faceformer, expclip, ours-no-cross, ...")
    evaluate.add_argument("--data", default="data/corpus", help="corpus folder (make data)")
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"])
    evaluate.add_argument("--max-clips", type=int, default=120, help="evaluate a fixed random subset of clips (0: all)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--json", help="also write the result to this file")
    evaluate.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS; ablations: runs/ablations)")
    evaluate.set_defaults(run=_evaluate)

    lipsync = commands.add_parser("evaluate-lipsync", help="lip closure and opening on real speech with known phones (prints JSON)")
    lipsync.add_argument("--data", required=True, help="folder of NAME.wav + NAME.phones.json ([start_s, end_s, phone], ARPAbet)")
    lipsync.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods; the oracle row is always added")
    lipsync.add_argument("--json", help="also write the result to this file")
    lipsync.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    lipsync.add_argument("--quiet", action="store_true", help="no progress bar")
    lipsync.set_defaults(run=_evaluate_lipsync)

    live = commands.add_parser("evaluate-live", help="the live path against the offline model on real speech: lips per look-ahead, rest in silence, prompt switches (prints JSON)")
    live.add_argument("--data", required=True, help="folder of NAME.wav + NAME.phones.json (python -m expressive_talker.lipsync build-devset)")
    live.add_argument("--lookahead-ms", default="60,100,200", help="comma-separated look-aheads to measure (default 60,100,200)")
    live.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    live.add_argument("--json", help="also write the result to this file")
    live.add_argument("--quiet", action="store_true", help="no progress bars")
    live.set_defaults(run=_evaluate_live)

    timeline = commands.add_parser("evaluate-timeline", help="timelines on real speech: every emotion switched to every other at 5 s (prints JSON)")
    timeline.add_argument("--data", required=True, help="folder of real speech, NAME.wav (python -m expressive_talker.lipsync build-devset)")
    timeline.add_argument("--methods", default="ours,expclip", help="comma-separated methods that take a prompt (default ours,expclip)")
    timeline.add_argument("--ease", type=float, default=0.5, help="seconds the switch eases over (default 0.5)")
    timeline.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    timeline.add_argument("--json", help="also write the result to this file")
    timeline.add_argument("--quiet", action="store_true", help="no progress bars")
    timeline.set_defaults(run=_evaluate_timeline)

    bundle = commands.add_parser("space-bundle", help="the folder a Hugging Face Space is made from, checked against the Space rules (prints JSON)")
    bundle.add_argument("out", help="a new (or empty) folder")
    bundle.set_defaults(run=_space_bundle)

    study = commands.add_parser("study", help="the user study: prepare its videos, report its votes")
    study_commands = study.add_subparsers(dest="study_command", required=True)
    prepare = study_commands.add_parser("prepare", help="render every video a study file lists (what is missing)")
    prepare.add_argument("--config", required=True, help="study file, JSON or YAML (see README: User study)")
    prepare.add_argument("--out", help="prepared study folder (default: the file's 'out', else study/ in the app's state folder)")
    prepare.add_argument("--weights", help="weights folder (default: weights/ or EXPRESSIVE_TALKER_WEIGHTS)")
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    prepare.set_defaults(run=_study_prepare)
    report = study_commands.add_parser("report", help="Table 3 and Bradley-Terry strengths from the votes (prints JSON)")
    report.add_argument("--db", help="SQLAlchemy URL of the votes (default: EXPRESSIVE_TALKER_DB, else data/study.db)")
    report.add_argument("--study", help="only this study's votes (its 'name'; default: every vote in the database)")
    report.add_argument("--json", help="also write the report to this file")
    report.add_argument("--csv", help="also write every vote, one row each, to this CSV file")
    report.add_argument("--bootstrap", type=_count, default=1000, help="bootstrap samples for the 95%% intervals")
    report.set_defaults(run=_study_report)
    return parser


def _study_prepare(args) -> None:
    from .study.config import load_config
    from .study.prepare import prepare_study

    config = load_config(args.config)
    manifest = prepare_study(config, args.out, **_weights(args), quiet=args.quiet)
    videos = sum(len(s["videos"]) for s in manifest["stimuli"])
    print(json.dumps({"study": manifest["study"], "mode": manifest["mode"], "stimuli": len(manifest["stimuli"]), "videos": videos, "rendered": manifest["rendered"]}))


def _study_report(args) -> None:
    import os

    from .study.report import make_report, write_votes_csv
    from .study.store import StudyStore, default_db_url

    url = args.db or default_db_url()
    if url.startswith("sqlite:///") and not os.path.isfile(url[len("sqlite:///") :]):
        raise InputError(f"no votes database at {url[len('sqlite:///') :]}")  # rather than creating an empty one
    store = StudyStore(url)
    try:
        rows = store.vote_rows(args.study)
    finally:
        store.close()
    report = make_report(rows, samples=args.bootstrap)
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.csv:
        write_votes_csv(rows, args.csv)
    print(text)


def _evaluate(args) -> None:
    from .evaluate import evaluate, write_json

    methods = [m for m in args.methods.split(",") if m]
    result = evaluate(methods, data_root=args.data, split=args.split, max_clips=args.max_clips or None, seed=args.seed, **_weights(args))
    print(write_json(result, args.json))


def _evaluate_lipsync(args) -> None:
    from .evaluate import write_json
    from .lipsync.benchmark import evaluate_lipsync

    methods = [m for m in args.methods.split(",") if m]
    result = evaluate_lipsync(args.data, methods, weights_dir=args.weights, progress=not args.quiet)
    print(write_json(result, args.json))


def _evaluate_live(args) -> None:
    from .evaluate import write_json
    from .live.evaluate import evaluate_live

    lookaheads = [float(x) / 1000 for x in args.lookahead_ms.split(",") if x]
    print(write_json(evaluate_live(args.data, args.weights, lookaheads, progress=not args.quiet), args.json))

def _evaluate_timeline(args) -> None:
    from .evaluate import write_json
    from .evaluate_timeline import evaluate_timeline

    methods = [m for m in args.methods.split(",") if m]
    print(write_json(evaluate_timeline(args.data, methods, ease_s=args.ease, progress=not args.quiet, **_weights(args)), args.json))


def _space_bundle(args) -> None:
    import json

    from .space import space_bundle

    result = space_bundle(args.out)
    print(json.dumps(result, indent=2))
    if result["problems"]:
        raise InputError(f"the bundle in {args.out} breaks a Space rule: {result['problems'][0]}")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
