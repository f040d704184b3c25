"""Which way up: the run checks on its held-out images whether they read the same turned a quarter, says what it
found, and trains on all eight orientations when they do (seg_core/training/orientation.py)."""
import json

from seg_core import TrainConfig, train
from seg_core.runs.event_log import read_events
from seg_core.runs.events import Status
from seg_core.training.orientation import SAME, Finding


def test_images_that_score_as_well_turned_have_no_up():
    street = Finding(upright=0.62, turned=0.31, at=0.3)  # the sky below the road: the model is lost
    slide = Finding(upright=0.80, turned=0.79, at=0.3)
    assert not street.any_way_round and slide.any_way_round
    assert street.message().startswith("your images have an up")
    assert "turned and mirrored" in slide.message() and "0.790 turned a quarter" in slide.message()
    assert Finding(upright=0.5, turned=0.5 * SAME, at=0.3).any_way_round
    assert not Finding(upright=0.5, turned=0.5 * SAME - 0.01, at=0.3).any_way_round


def _statuses(run) -> list[str]:
    events, _ = read_events(run.path / "events.jsonl")
    return [e.message for e in events if isinstance(e, Status)]


def test_a_run_measures_which_way_up_and_records_it(tiny_data, tmp_path):
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=6, img_size=(64, 64),
                            val_interval_s=0, precision="fp32"))
    found = run.postprocess["orientation"]
    assert 0 <= found["upright_miou"] <= 1 and 0 <= found["turned_miou"] <= 1 and 0.3 <= found["at"] < 1
    assert found["any_way_round"] == (found["turned_miou"] >= SAME * found["upright_miou"])
    said = [m for m in _statuses(run) if "turned a quarter" in m]
    assert len(said) == 1 and said[0] == found["reason"]  # said once, while it trains, as recorded


def test_a_run_told_its_images_have_an_up_does_not_check(tiny_data, tmp_path):
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=3, img_size=(64, 64),
                            val_interval_s=0, precision="fp32", orientation="upright"))
    assert "orientation" not in (run.postprocess or {})
    assert not [m for m in _statuses(run) if "turned a quarter" in m]
    assert json.loads((run.path / "config.json").read_text())["orientation"] == "upright"


def test_after_the_check_finds_no_up_the_crops_are_turned(tiny_data, tmp_path, monkeypatch):
    """Crops are upright until the check; once it finds the images read the same turned (here: any score counts
    as the same), every later crop may be turned and flipped top to bottom; told "any", every crop from the first."""
    import seg_core.training.orientation as orientation
    import seg_core.training.streaming as streaming

    turns, original = [], streaming.random_crop
    monkeypatch.setattr(streaming, "random_crop", lambda *a, **k: turns.append(a[3].turn and a[3].vflip) or
                        original(*a, **k))
    monkeypatch.setattr(orientation, "SAME", 0.0)
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=6, img_size=(64, 64),
                            val_interval_s=0, precision="fp32"))
    assert run.postprocess["orientation"]["any_way_round"] is True
    assert turns[0] is False and turns[-1] is True
    first = turns.index(True)
    assert not any(turns[:first]) and all(turns[first:])  # one switch, for the rest of the run
    turns.clear()
    train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "any"), epochs=2, img_size=(64, 64),
                      precision="fp32", orientation="any"))
    assert turns and all(turns)
