"""`attention-export`: train, export and import models for Attention Explorer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from explorer import contract

UNTRAINED_KINDS = ("bert", "transformer", "vit", "gpt")


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


def _print_stage(stage: str) -> None:
    print(stage, flush=True)  # at once: the app shows each stage while it imports


def _cmd_hf(args: argparse.Namespace) -> int:
    from export.hf import export_hf
    from export.hf.hub import checkpoint_folder

    folder = checkpoint_folder(args.folder, progress=_print_stage)
    path = export_hf(folder, args.out, task=args.task, progress=_print_stage)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _cmd_instrument(args: argparse.Namespace) -> int:
    from explorer.shared.instrument import instrument
    from export.onnx_export import save_contract_model

    if not args.model.is_file():
        raise FileNotFoundError(f"there is no file {args.model}")
    proto, meta = instrument(args.model, args.folder)
    path = save_contract_model(proto, meta, args.out)
    spec = next(iter(meta.stacks.values()))
    print(f"wrote {path}: a {meta.kind} with {spec.layers} layers of {spec.heads} heads")
    return 0


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
    p.add_argument("model", choices=("transformer", "bert", "vit", "gpt", "all"))
    p.add_argument("--out-dir", type=Path, default=Path("explorer/assets/models"))
    p.add_argument("--work-dir", type=Path, default=Path("build/train"), help="checkpoints, to resume from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="override the number of training steps")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("hf", help="import a Hugging Face checkpoint (a folder on disk, or a hub id ORG/NAME)")
    p.add_argument("folder", help="what save_pretrained wrote (config.json, weights, tokenizer.json), or a hub "
                   "id ORG/NAME that is no folder here: downloaded where the network is")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--task", choices=contract.KINDS,
                   help="the contract kind; default: what the checkpoint's architecture is")
    p.set_defaults(func=_cmd_hf)

    p = sub.add_parser("instrument", help="expose the attention of a plain ONNX transformer export as a contract file")
    p.add_argument("model", type=Path, help="an .onnx file; config.json and tokenizer.json lie beside it")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--folder", type=Path, default=None, help="where config.json etc. are, if not beside the model")
    p.set_defaults(func=_cmd_instrument)
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
