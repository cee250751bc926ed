"""``python -m expressive_talker COMMAND ...``: the command-line interface.

User mistakes (InputError) print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import InputError


def _render(args) -> None:
    import numpy as np
    from tqdm import tqdm

    from .audio import load_audio
    from .export import read_curves, resample_curves
    from .render.video import Animation, render_video

    wave = load_audio(args.audio)
    if args.curves:
        weights, fps = read_curves(args.curves)
        animation = Animation.from_weights(resample_curves(weights, fps, args.fps))
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


def _bench(args) -> None:
    from .render.bench import bench_render

    result = bench_render(frames=args.frames, size=args.size)
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m expressive_talker", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render ARKit curves or vertices to an MP4 with the audio")
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--curves", help='ARKit curves JSON: {"fps", "names", "frames"}')
    source.add_argument("--vertices", help="head vertices .npy, frames x vertices x 3, at --fps")
    render.add_argument("--audio", required=True, help="speech file; the video lasts as long as it")
    render.add_argument("--out", required=True, help="output .mp4")
    render.add_argument("--size", type=_size, default=512, help="frame width and height in pixels (256-1024)")
    render.add_argument("--fps", type=_fps, default=30)
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(run=_render)

    bench = commands.add_parser("bench", help="speed benchmarks (they print JSON)")
    bench.add_argument("target", choices=["render"], help="what to time")
    bench.add_argument("--json", help="also write the result to this file")
    bench.add_argument("--frames", type=int, default=300)
    bench.add_argument("--size", type=_size, default=512)
    bench.set_defaults(run=_bench)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
