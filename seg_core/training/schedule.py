"""When a run ends, its learning rate over time, and when the frozen encoder stages are released."""
from __future__ import annotations

import math
from dataclasses import dataclass

from seg_core.runs.config import DEFAULT_BUDGET_S


@dataclass(frozen=True)
class Schedule:
    """A run stops after ``epochs`` or ``time_budget`` seconds, whichever comes first (either may be
    None; with neither, DEFAULT_BUDGET_S). The learning rate warms up linearly, then follows a cosine
    to ``floor`` over that span. With ``freeze_depth`` > 0 and ``unfreeze_after`` set, the encoder
    trains whole from epoch ``unfreeze_after`` (0-based) on."""

    steps_per_epoch: int
    epochs: int | None = None
    time_budget: float | None = None
    freeze_depth: int = 0
    unfreeze_after: int | None = None
    num_stages: int = 0
    warmup: float = 0.03
    floor: float = 0.02

    def __post_init__(self):
        if self.epochs is None and not self.time_budget:
            object.__setattr__(self, "time_budget", DEFAULT_BUDGET_S)

    @property
    def total_steps(self) -> int | None:
        return self.epochs * self.steps_per_epoch if self.epochs else None

    def progress(self, step: int, elapsed: float) -> float:
        """0..1: the larger of the step and the time fractions."""
        parts = []
        if self.total_steps:
            parts.append(step / self.total_steps)
        if self.time_budget:
            parts.append(elapsed / self.time_budget)
        return min(1.0, max(parts)) if parts else 0.0

    def finished(self, step: int, elapsed: float) -> bool:
        return self.progress(step, elapsed) >= 1.0

    def lr_factor(self, progress: float) -> float:
        """Multiplier of the base learning rates at ``progress`` (0..1)."""
        if progress < self.warmup:
            return max(progress / self.warmup, 0.05)
        t = min(1.0, (progress - self.warmup) / (1 - self.warmup))
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * t))

    def unfreezes_at(self, epoch: int) -> bool:
        """True at the start of the (0-based) epoch where the whole encoder starts training."""
        return bool(self.freeze_depth) and self.unfreeze_after is not None and epoch == self.unfreeze_after

    def phase(self, epoch: int) -> str:
        """The phase of the (0-based) epoch, as shown to the user."""
        if self.freeze_depth and self.unfreeze_after is not None and epoch >= self.unfreeze_after:
            return "fine-tune all"
        return f"frozen {self.freeze_depth}/{self.num_stages}" if self.freeze_depth else "all stages"
