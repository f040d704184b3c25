"""TrainConfig checks itself and speaks in the words of the Train page."""
import pytest

from seg_core.runs.config import LABELS, ConfigError, TrainConfig, parse_class_weights, parse_img_size


def cfg(**kw):
    return TrainConfig(data="d", out="o", **kw)


@pytest.mark.parametrize("kw, field, words", [
    ({"img_size": (100, 64)}, "img_size", "Training crop: sides must be positive multiples of 32"),
    ({"epochs": 0}, "epochs", "Epochs: must be at least 1"),
    ({"time_budget": -5}, "time_budget", "Time budget (seconds): must be more than 0"),
    ({"batch_size": 0}, "batch_size", "Batch size: must be at least 1"),
    ({"lr": 0}, "lr", "Learning rate: must be more than 0"),
    ({"freeze_depth": -1}, "freeze_depth", "Freeze depth: must be 0 or more"),
    ({"backbone": "resnet19"}, "backbone", "Backbone: unknown 'resnet19'; choose one of: efficientnet_lite0"),
    ({"weights": "/no/such/file.pth"}, "weights", "Initial weights: '/no/such/file.pth' is neither"),
    ({"class_weights": [1, -2]}, "class_weights", "Class weights: must be 'balanced'"),
])
def test_settings_out_of_range_name_the_setting(kw, field, words):
    with pytest.raises(ConfigError) as err:
        cfg(**kw).validate()
    assert err.value.field == field and str(err.value).startswith(words)
    assert "--" not in str(err.value)  # no command-line flags in what the Train page shows


def test_defaults_are_valid_and_round_trip():
    c = cfg(img_size=(352, 480))
    assert c.validate() is c
    again = TrainConfig.from_dict(c.to_dict())
    assert again == c and again.img_size == (352, 480)


def test_parsing_text_settings():
    assert parse_img_size("352x480") == (352, 480) and parse_img_size(" ") is None
    with pytest.raises(ConfigError, match="Training crop: must look like 352x480"):
        parse_img_size("big")
    with pytest.raises(ConfigError, match="Training crop: sides must be positive multiples of 32"):
        parse_img_size("350x480")
    assert parse_class_weights("balanced") == "balanced" and parse_class_weights("none") is None
    assert parse_class_weights("1,2.5") == [1.0, 2.5]
    with pytest.raises(ConfigError, match="Class weights"):
        parse_class_weights("1,x")
    assert set(LABELS) <= set(TrainConfig.__dataclass_fields__)
