"""python -m expressive_talker.data build --out DIR [--clips N] [--seed S] | stats DIR [--json]
                                  | rebuild-lips --from DIR --out DIR2 [--seal-overshoot X] [--jaw-scale K]"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InputError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expressive_talker.data", description="Build and inspect the synthetic training corpus.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the corpus (resumable: a rerun skips finished clips)")
    b.add_argument("--out", required=True, help="corpus folder")
    b.add_argument("--clips", type=int, default=None, help="build only the first N clips of the plan (default: all)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    s = sub.add_parser("stats", help="print clip counts and hours of a corpus")
    s.add_argument("dir")
    s.add_argument("--json", action="store_true", help="one JSON object on stdout")
    r = sub.add_parser("rebuild-lips", help="copy a built corpus with firmer p/b/m closures or wider jaw openings in its curves (the lip fine-tune's data)")
    r.add_argument("--from", dest="src", required=True, help="built corpus folder")
    r.add_argument("--out", required=True, help="new corpus folder (audio and metadata hard-linked)")
    r.add_argument("--seal-overshoot", type=float, default=0.0, help="mouthClose beyond jawOpen at a full seal (0.05 presses the lips ~2.4 mm; default 0)")
    r.add_argument("--jaw-scale", type=float, default=1.0, help="every jaw opening times this (make weights: 1.15; default 1)")
    args = parser.parse_args(argv)

    from . import corpus

    try:
        if args.command == "build":
            index = corpus.build(args.out, clips=args.clips, seed=args.seed, workers=args.workers)
            st = corpus.stats(args.out)
            print(f"{st['clips']} clips, {st['hours']:.2f} h of speech in {args.out} ({index['clips_built_last_run']} built in {index['build_seconds_last_run']:.0f} s)")
        elif args.command == "rebuild-lips":
            index = corpus.rebuild_lips(args.src, args.out, args.seal_overshoot, args.jaw_scale)
            print(f"{len(index['clips'])} clips with seal overshoot {args.seal_overshoot} and jaw scale {args.jaw_scale} in {args.out}")
        else:
            st = corpus.stats(args.dir)
            if args.json:
                print(json.dumps(st))
            else:
                for k, v in st.items():
                    print(f"{k}: {v}")
    except (InputError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
