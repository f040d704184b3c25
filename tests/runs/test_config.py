"""TrainConfig checks itself and speaks in the words of the Train page."""
import pytest

from seg_core.runs.config import SETTINGS, ConfigError, TrainConfig, build_config, parse_class_weights, \
    parse_img_size


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
    ({"num_workers": 65}, "num_workers", "Data loading processes: must be 0 (read images in the training process) "
                                         "up to 64, got 65"),
    ({"num_workers": 1.5}, "num_workers", "Data loading processes: must be 0"),
    ({"cache_mb": -1}, "cache_mb", "Image cache (MB): must be 0 (keep no decoded image) or more, got -1"),
    ({"val_fraction": 1}, "val_fraction", "Validation fraction: must be from 0 up to (not including) 1, got 1"),
    ({"mask_values": "odd"}, "mask_values", "Mask values: must be one of auto, index, binary, got 'odd'"),
    ({"loss": "l2"}, "loss", "Loss: unknown 'l2'; choose one of: ce, dice"),
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
    assert set(SETTINGS) <= set(TrainConfig.__dataclass_fields__)


def test_a_config_is_built_from_settings_as_typed():
    """The CLI and the Train page build a run's settings the same way: text read as the setting reads it, the
    rest kept at the defaults."""
    c = build_config({"data": "d", "out": "o", "img_size": "64x96", "class_weights": "1, 2", "epochs": 3})
    assert (c.img_size, c.class_weights, c.epochs) == ((64, 96), [1.0, 2.0], 3)
    assert c == TrainConfig(data="d", out="o", img_size=(64, 96), class_weights=[1.0, 2.0], epochs=3)
    assert build_config({"data": "d", "out": "o", "img_size": "", "class_weights": "none"}).class_weights is None
    assert build_config({"data": "d", "out": "o", "class_weights": "balanced"}).class_weights == "balanced"
    with pytest.raises(ConfigError, match="Training crop: must look like 352x480"):
        build_config({"data": "d", "out": "o", "img_size": "big"})
    with pytest.raises(TypeError, match="not TrainConfig fields: colour"):
        build_config({"data": "d", "out": "o", "colour": 1})
