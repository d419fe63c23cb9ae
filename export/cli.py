"""`attention-export`: train, export and import models for Attention Explorer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

UNTRAINED_KINDS = ("bert", "transformer", "vit")


def _cmd_export(args: argparse.Namespace) -> int:
    from export.bundle import export_checkpoint

    path = export_checkpoint(args.checkpoint, args.out, internals=not args.no_internals)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _cmd_untrained(args: argparse.Namespace) -> int:
    from export.bundle import export_untrained

    overrides = json.loads(args.config) if args.config else {}
    path = export_untrained(args.kind, args.out, overrides, seed=args.seed, internals=not args.no_internals)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from export.train.run import run_training

    return run_training(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attention-export", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("export", help="export a trained checkpoint (.safetensors) to a contract ONNX file")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-internals", action="store_true", help="leave out queries/keys/values/hidden_states")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("untrained", help="export a randomly initialised model of any size, for tests and demos")
    p.add_argument("kind", choices=UNTRAINED_KINDS)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--config", help='JSON of config fields to override, e.g. \'{"layers": 12, "heads": 12}\'')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-internals", action="store_true", help="leave out queries/keys/values/hidden_states")
    p.set_defaults(func=_cmd_untrained)

    p = sub.add_parser("train", help="train a bundled model on data this machine has, then export it")
    p.add_argument("model", choices=("transformer", "bert", "vit", "all"))
    p.add_argument("--out-dir", type=Path, default=Path("assets/models"))
    p.add_argument("--work-dir", type=Path, default=Path("build/train"), help="checkpoints, to resume from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="override the number of training steps")
    p.set_defaults(func=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"attention-export: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
