"""The schedule: when a run ends, its learning rate, its freeze phases."""
import pytest

from seg_core.training.schedule import DEFAULT_BUDGET_S, Schedule


def test_epochs_or_budget_whichever_ends_first():
    s = Schedule(steps_per_epoch=5, epochs=4, time_budget=100)
    assert s.total_steps == 20
    assert s.progress(10, 10) == 0.5 and s.progress(2, 80) == 0.8
    assert not s.finished(19, 99) and s.finished(20, 1) and s.finished(1, 100)
    assert Schedule(steps_per_epoch=5).time_budget == DEFAULT_BUDGET_S  # neither given: the default budget
    assert Schedule(steps_per_epoch=5, epochs=3).time_budget is None


def test_learning_rate_warms_up_then_decays_to_the_floor():
    s = Schedule(steps_per_epoch=1, epochs=10)
    assert s.lr_factor(0.0) == pytest.approx(0.05)  # never exactly 0 on the first step
    assert s.lr_factor(0.015) == pytest.approx(0.5)
    assert s.lr_factor(0.03) == pytest.approx(1.0)
    values = [s.lr_factor(p / 100) for p in range(3, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # monotone after the warm-up
    assert s.lr_factor(1.0) == pytest.approx(0.02)


def test_freeze_phases():
    s = Schedule(steps_per_epoch=1, epochs=10, freeze_depth=3, unfreeze_after=8, num_stages=5)
    assert s.phase(0) == "frozen 3/5" and s.phase(7) == "frozen 3/5" and s.phase(8) == "fine-tune all"
    assert [e for e in range(10) if s.unfreezes_at(e)] == [8]
    never = Schedule(steps_per_epoch=1, epochs=10, freeze_depth=2, unfreeze_after=None, num_stages=5)
    assert not any(never.unfreezes_at(e) for e in range(10)) and never.phase(9) == "frozen 2/5"
    assert Schedule(steps_per_epoch=1, epochs=3, freeze_depth=0, unfreeze_after=1).phase(2) == "all stages"
