"""Size limits: named settings with defaults, changed by environment variables, messages that say how."""
import pytest

from seg_core.base.limits import SETTINGS, Limits, LimitError, limits
from seg_core.runs.config import ConfigError, TrainConfig


def test_every_limit_has_a_default_and_an_environment_variable(monkeypatch):
    for s in SETTINGS.values():
        monkeypatch.delenv(s.env, raising=False)
    d = limits()
    assert d == Limits()
    assert (d.max_pixels, d.max_upload_mb, d.max_zip_entries, d.max_zip_total_mb, d.max_train_pixels,
            d.max_prob_pixels) == (100_000_000, 200, 10_000, 2048, 16 * 512 * 512, 4096 * 4096)
    assert {s.env for s in SETTINGS.values()} == {
        "SEG_CORE_MAX_PIXELS", "SEG_CORE_MAX_UPLOAD_MB", "SEG_CORE_MAX_ZIP_ENTRIES", "SEG_CORE_MAX_ZIP_TOTAL_MB",
        "SEG_CORE_MAX_TRAIN_PIXELS", "SEG_CORE_MAX_PROB_PIXELS"}
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "250_000")
    monkeypatch.setenv("SEG_CORE_MAX_UPLOAD_MB", "0.5")
    now = limits()  # read at every call: no restart of the engine needed
    assert now.max_pixels == 250_000 and now.max_upload_bytes == 512 * 1024
    monkeypatch.setenv("SEG_CORE_MAX_ZIP_ENTRIES", "lots")
    with pytest.raises(ValueError, match="SEG_CORE_MAX_ZIP_ENTRIES='lots' is not a number"):
        limits()
    monkeypatch.setenv("SEG_CORE_MAX_ZIP_ENTRIES", "-3")
    with pytest.raises(ValueError, match="SEG_CORE_MAX_ZIP_ENTRIES='-3' must be more than 0"):
        limits()


def test_messages_name_the_file_the_limit_and_how_to_change_it():
    lim = Limits(max_pixels=1000, max_upload_mb=1)
    with pytest.raises(LimitError) as err:
        lim.check_pixels("scan.png", 50, 40)
    assert str(err.value) == (
        "scan.png: the image is 50x40 = 2,000 pixels, more than the limit of 1,000 pixels (pixels per image); "
        "downscale or cut it into tiles, or raise the limit with the environment variable SEG_CORE_MAX_PIXELS "
        "(now 1000)")
    assert err.value.setting == "max_pixels"
    lim.check_pixels("ok.png", 25, 40)  # exactly at the limit is fine
    with pytest.raises(LimitError, match=r"big.tif: the file is 2.0 MB, more than the limit of 1 MB \(size of one "
                                         r"file\); split it up, or raise .* SEG_CORE_MAX_UPLOAD_MB \(now 1\)"):
        lim.check_file_size("big.tif", 2 * 1024 * 1024)


def test_training_crop_times_batch_is_limited(monkeypatch):
    monkeypatch.delenv("SEG_CORE_MAX_TRAIN_PIXELS", raising=False)
    TrainConfig(data="", out="", img_size=(512, 512), batch_size=16).validate()  # 4.2 Mpx: the limit itself
    with pytest.raises(ConfigError) as err:
        TrainConfig(data="", out="", img_size=(1024, 1024), batch_size=8).validate()
    assert err.value.field == "img_size"
    assert str(err.value).startswith("Training crop: 1024x1024 x a batch of 8 = 8.4 megapixels per step, more than "
                                     "the limit of 4.2 megapixels (training crop x batch size); use a smaller crop "
                                     "or batch, or raise the limit with the environment variable "
                                     "SEG_CORE_MAX_TRAIN_PIXELS")
    monkeypatch.setenv("SEG_CORE_MAX_TRAIN_PIXELS", str(1024 * 1024 * 8))
    TrainConfig(data="", out="", img_size=(1024, 1024), batch_size=8).validate()  # raised by the user


def test_the_automatic_crop_is_checked_before_images_load(tiny_data, monkeypatch):
    from seg_core.training.training_data import load_training_data

    monkeypatch.setenv("SEG_CORE_MAX_TRAIN_PIXELS", str(64 * 64 * 10))
    with pytest.raises(ConfigError) as err:
        load_training_data(TrainConfig(data=str(tiny_data), out="", batch_size=11))
    assert err.value.field == "batch_size"
    assert "Batch size: the automatic crop 64x64 x a batch of 11" in str(err.value)
    assert "SEG_CORE_MAX_TRAIN_PIXELS (now 40960)" in str(err.value)
    assert load_training_data(TrainConfig(data=str(tiny_data), out="", batch_size=10)).img_size == (64, 64)
