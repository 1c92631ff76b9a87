"""Seconds per training step of one study cell on this machine's CPU (a few steps; the plan extrapolates).

    python time_cpu_steps.py MODEL PAIRS.jsonl OUT_DIR [STEPS]

Trains ``STEPS`` (default 4) hybrid steps with the study's options (batch 32, max length 256,
scale 100, full fine-tuning) and prints the wall and CPU (process) seconds of each step (the first includes warm-up) and
the medians of the others as JSON; on a shared machine the CPU seconds are what to extrapolate.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from transformers import TrainerCallback

from xlir_bench.train.training import train


class StepClock(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.start = self.start_cpu = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self.start, self.start_cpu = time.perf_counter(), time.process_time()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self.start)
        self.cpu.append(time.process_time() - self.start_cpu)


def main() -> None:
    model, pairs, out = sys.argv[1:4]
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    clock = StepClock()
    train(
        model,
        pairs,
        out,
        strategy="hybrid",
        batch_size=32,
        learning_rate=3e-5,
        max_steps=steps,
        max_length=256,
        seed=1,
        device="cpu",
        loss_scale=100.0,
        save_steps=10_000,
        callbacks=[clock],
    )
    wall, cpu = clock.times[1:] or clock.times, clock.cpu[1:] or clock.cpu
    summary = {"wall_s": [round(t, 2) for t in clock.times], "cpu_s": [round(t, 2) for t in clock.cpu]}
    summary |= {"median_wall_s": round(statistics.median(wall), 2), "median_cpu_s": round(statistics.median(cpu), 2)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
