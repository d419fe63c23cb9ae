"""A Whisper-tiny-shaped speech model imported from a Hugging Face checkpoint, in the app on 30 s of sound.

Whisper-tiny's sizes (4 + 4 layers, 6 heads, d 384, 80 mel bins, 1,500 encoder positions for 30 s,
448 target positions, vocabulary 51,865; random weights) with a small word-level tokenizer (the
model's ids beyond it are never fed). Figures, in one run:

1. `attention-export hf` on the checkpoint: seconds (the first run only; later runs reuse the file).
2. In the app's own process: opening it; the log-mel features of 30 s; one greedy step (the logits
   only: the encoder runs again at every step, the contract's one graph having no encoder cache); one
   full run with every stack's attention at a target of 32 tokens; every view and the audio page drawn.
3. The app's peak memory, and the attention one run returns.

    python benchmarks/whisper_app.py [--work build/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hf_checkpoint import imported_checkpoint, open_window  # benchmarks/hf_checkpoint.py

REPO = Path(__file__).resolve().parents[1]
TARGET = 32  # tokens of the full run
STEPS = 5  # greedy steps timed


def make_checkpoint(folder: Path) -> None:
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    sys.path.insert(0, str(REPO))
    from tests.hf import speech  # the tests' word-level tokenizer with Whisper's special tokens

    tok = speech.tokenizer()
    eos, start = tok.convert_tokens_to_ids(speech.SPECIAL["eos"]), tok.convert_tokens_to_ids(speech.SPECIAL["start"])
    config = WhisperConfig(vocab_size=51865, d_model=384, encoder_layers=4, decoder_layers=4,
                           encoder_attention_heads=6, decoder_attention_heads=6, encoder_ffn_dim=1536,
                           decoder_ffn_dim=1536, num_mel_bins=80, max_source_positions=1500, max_target_positions=448,
                           pad_token_id=eos, bos_token_id=eos, eos_token_id=eos, decoder_start_token_id=start,
                           suppress_tokens=None, begin_suppress_tokens=None)
    torch.manual_seed(0)
    WhisperForConditionalGeneration(config).save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    tok.save_pretrained(folder)


def measure_app(model: Path) -> dict:
    """In the app's own process: the window open on the model, 30 s of a rising tone timed through."""
    import numpy as np

    from explorer import contract
    from explorer.core import audio
    from explorer.core.state.runs import Inputs, Outcome, Run, Sound

    app, window, opened = open_window(model, "whisper-app")  # noqa: F841 - app kept alive for the window
    state, spec = window.state, window.model.meta.audio
    rate = 44100
    t = np.arange(30 * rate) / rate
    samples = (0.4 * np.sin(2 * np.pi * 300 * t * (1 + t / 30))).astype(np.float32)
    started = time.perf_counter()
    features = audio.features(samples, rate, spec)
    features_s = time.perf_counter() - started
    runner = state.runner
    bos, _ = runner.bos_eos()
    target = [bos]
    steps = []
    for _ in range(STEPS):
        started = time.perf_counter()
        logits = runner.run_graph(runner.speech_feeds(features, target), outputs=[contract.LOGITS])[contract.LOGITS]
        steps.append(time.perf_counter() - started)
        target.append(int(logits[0, -1].argmax()))
    target = (target * TARGET)[:TARGET]
    started = time.perf_counter()
    result = runner.run_speech(features, target)
    full_s = time.perf_counter() - started
    attention_mb = sum(s.attentions.nbytes for s in result.stacks.values()) / 1e6
    # The views and the audio page on that run, as the window draws a finished run (the app's own job
    # would first transcribe up to 448 tokens, which a random model writes without an end).
    sound = Sound("tone.flac", samples, rate)
    started = time.perf_counter()
    state.show_run(Run(Inputs(sound=sound), result, result, Outcome(), features))
    for view in window.workspace.views.views.values():
        view.grab()
    window.workspace.audio_page.grab()
    drawn_s = time.perf_counter() - started
    window.workspace.shutdown()
    window.close()
    return {"open_s": opened, "features_s": features_s, "step_s": statistics.median(steps), "full_run_s": full_s,
            "drawn_s": drawn_s, "attention_mb": attention_mb,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "torch_imported": "torch" in sys.modules}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args()
    if args.app is not None:
        print(json.dumps(measure_app(args.app)), flush=True)
        os._exit(0)  # the figures are out; Qt's objects can crash the interpreter's own exit
    model = imported_checkpoint(args.work, "hf-whisper-tiny", make_checkpoint, "Whisper-tiny-shaped")
    print(f"model: {model} ({model.stat().st_size / 1e6:.0f} MB); machine: {os.cpu_count()} CPUs")
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    child = subprocess.run([sys.executable, __file__, "--app", str(model)], capture_output=True, text=True,
                           check=True, env=env)
    f = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"open in the app: {f['open_s']:.1f} s; log-mel features of 30 s: {f['features_s'] * 1e3:.0f} ms")
    print(f"one greedy step (logits only, the encoder included): {f['step_s']:.2f} s, median of {STEPS}; "
          f"a transcription of 100 tokens would take {100 * f['step_s']:.0f} s")
    print(f"one full run at {TARGET} target tokens (every stack's attention, {f['attention_mb']:.0f} MB): "
          f"{f['full_run_s']:.2f} s; every view and the audio page drawn: {f['drawn_s']:.2f} s")
    print(f"app peak memory (max RSS, torch imported: {f['torch_imported']}): {f['peak_rss_gb']:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
