"""The training loop: epochs over a dataset, a progress bar, per-epoch checkpoints, resume, early stopping."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from regrow.errors import InputError

from ._loss import detector_loss

__all__ = ["FitConfig", "FitResult", "ProgressBar", "fit"]


@dataclass(frozen=True)
class FitConfig:
    """Training settings.

    ``max_epochs`` and ``max_minutes`` bound the run (whichever comes first; minutes are counted over
    resumed runs too); ``patience`` epochs without a better validation score stop it early (0: never).
    """

    max_epochs: int = 60
    max_minutes: float = 25.0
    batch_size: int = 8
    lr: float = 5e-4
    weight_decay: float = 1e-4
    patience: int = 6
    seed: int = 0
    threads: int = 2
    steps_per_epoch: int | None = None  # None: one pass over the data
    #: "one-cycle" (warm-up then cosine decay over max_epochs; from-scratch training) or "constant"
    #: (after a 50-step warm-up; fine-tuning, whose length is set by early stopping or the time budget)
    schedule: str = "one-cycle"


@dataclass
class FitResult:
    """What the loop did: the best state (by validation score, lower is better) and the history."""

    best_state: dict[str, Any]
    best_score: float
    best_epoch: int
    epochs_run: int
    elapsed_s: float
    stopped: str  # "early", "epochs", "minutes"
    history: list[dict[str, float]] = field(default_factory=list)


class ProgressBar:
    """A one-line progress bar on a text stream (stderr by default); silent when ``stream`` is None."""

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self._last = 0.0

    def update(self, epoch: int, epochs: int, done: int, total: int, text: str) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.5:  # at most two redraws a second
            return
        self._last = now
        width = 24
        filled = int(width * done / max(total, 1))
        self.stream.write(
            f"\repoch {epoch}/{epochs} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {text}   "
        )
        self.stream.flush()

    def line(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write("\r" + text + " " * 8 + "\n")
            self.stream.flush()


def _save_atomic(obj: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _state_copy(net: torch.nn.Module) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def fit(
    net: torch.nn.Module,
    train_set: torch.utils.data.Dataset,
    validate: Callable[[torch.nn.Module], tuple[float, dict[str, float]]],
    *,
    config: FitConfig,
    checkpoint: Path | None = None,
    resume: bool = False,
    stream: TextIO | None = sys.stderr,
    run_key: str = "",
) -> FitResult:
    """Train ``net`` on ``train_set``; ``validate(net)`` returns (score, details), lower score is better.

    A checkpoint (model, optimiser, epoch, best state, history) is written atomically after every epoch,
    so an interrupted run (Ctrl-C, SIGTERM, a crash) loses at most the epoch in progress and continues
    with ``resume=True``. ``run_key`` (e.g. a hash of the data and settings) must match to resume.

    Raises
    ------
    InputError
        ``resume`` without a checkpoint, or a checkpoint of another run.
    """
    torch.set_num_threads(max(1, config.threads))
    torch.manual_seed(config.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = config.steps_per_epoch or -(-len(train_set) // config.batch_size)
    total_steps = max(1, steps_per_epoch * config.max_epochs)
    if config.schedule == "one-cycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=config.lr,
            total_steps=total_steps,
            pct_start=min(0.1, 200 / total_steps),
            anneal_strategy="cos",
        )
    elif config.schedule == "constant":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 50))
    else:
        raise InputError.invalid("schedule", config.schedule, "'one-cycle' or 'constant'")
    bar = ProgressBar(stream)
    start_epoch, elapsed, history = 0, 0.0, []
    best_score, best_epoch, bad = float("inf"), -1, 0
    best_state = _state_copy(net)
    if resume:
        if checkpoint is None or not checkpoint.is_file():
            raise InputError(f"Nothing to resume: no checkpoint at {checkpoint}.")
        ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if ck.get("run_key") != run_key:
            raise InputError(
                f"{checkpoint} belongs to another training run (other data or settings); delete it or "
                "start without --resume."
            )
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        start_epoch, elapsed, history = ck["epoch"], ck["elapsed_s"], ck["history"]
        best_score, best_epoch, bad, best_state = (
            ck["best_score"],
            ck["best_epoch"],
            ck["bad"],
            ck["best_state"],
        )
        bar.line(
            f"resuming after epoch {start_epoch} ({elapsed / 60:.1f} min done, best score {best_score:.3f})"
        )
    stopped = "epochs"
    # SIGTERM behaves like Ctrl-C: the epoch in progress is lost, the last checkpoint stays
    old = signal.signal(signal.SIGTERM, signal.default_int_handler) if _main_thread() else None
    try:
        for epoch in range(start_epoch, config.max_epochs):
            if elapsed >= config.max_minutes * 60:
                stopped = "minutes"
                break
            t0 = time.perf_counter()
            net.train()
            if hasattr(train_set, "set_epoch"):
                train_set.set_epoch(epoch)
            g = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
            loader = torch.utils.data.DataLoader(
                train_set, batch_size=config.batch_size, shuffle=True, generator=g
            )
            run_loss, n = 0.0, 0
            for step, batch in enumerate(loader):
                if step >= steps_per_epoch:
                    break
                out = net(batch[0])
                loss, _ = detector_loss(out, *batch[1:])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched.last_epoch < total_steps - 1:
                    sched.step()
                run_loss += float(loss.detach())
                n += 1
                bar.update(
                    epoch + 1, config.max_epochs, step + 1, steps_per_epoch, f"loss {run_loss / n:.3f}"
                )
            net.eval()
            with torch.no_grad():
                score, details = validate(net)
            elapsed += time.perf_counter() - t0
            rec = {
                "epoch": epoch + 1,
                "loss": run_loss / max(n, 1),
                "score": score,
                "elapsed_s": elapsed,
                **details,
            }
            history.append(rec)
            if score < best_score - 1e-9:
                best_score, best_epoch, bad, best_state = score, epoch + 1, 0, _state_copy(net)
            else:
                bad += 1
            bar.line(
                f"epoch {epoch + 1}/{config.max_epochs}: loss {rec['loss']:.3f}, validation score {score:.3f} "
                f"(best {best_score:.3f} at epoch {best_epoch}), {elapsed / 60:.1f} min"
            )
            if checkpoint is not None:
                _save_atomic(
                    {
                        "run_key": run_key,
                        "config": asdict(config),
                        "epoch": epoch + 1,
                        "elapsed_s": elapsed,
                        "history": history,
                        "net": net.state_dict(),
                        "opt": opt.state_dict(),
                        "sched": sched.state_dict(),
                        "best_score": best_score,
                        "best_epoch": best_epoch,
                        "bad": bad,
                        "best_state": best_state,
                    },
                    checkpoint,
                )
            if config.patience and bad >= config.patience:
                stopped = "early"
                break
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    return FitResult(
        best_state=best_state,
        best_score=best_score,
        best_epoch=best_epoch,
        epochs_run=len(history),
        elapsed_s=elapsed,
        stopped=stopped,
        history=history,
    )


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
