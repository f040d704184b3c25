"""Engine messages keep their technical tail apart: the app shows what to do, the CLI the whole message."""
from seg_core.base.limits import Limits, LimitError
from seg_core.base.messages import split_details, with_details


def test_a_size_limit_says_what_to_do_and_keeps_the_variable_for_the_details():
    try:
        Limits(max_pixels=100).check_pixels("huge.tif", 20, 20)
    except LimitError as err:
        message = str(err)
    assert "SEG_CORE_MAX_PIXELS" in message  # the CLI's message, unchanged
    user, technical = split_details(message)
    assert user.startswith("huge.tif: the image is 20x20 = 400 pixels, more than the limit of 100 pixels")
    assert "downscale or cut it into tiles (a limit of this app, set where it is started)" in user
    assert "environment variable" not in user and "SEG_CORE" not in user
    assert technical == "the limit is the environment variable SEG_CORE_MAX_PIXELS (now 100)"


def test_a_message_with_details_splits_and_a_plain_one_stays_whole():
    assert split_details(with_details("Connect to the internet.", "copy model.safetensors")) == (
        "Connect to the internet.", "copy model.safetensors")
    assert split_details("cells.png: not an image") == ("cells.png: not an image", None)


def test_the_missing_weights_message_names_no_repository_to_the_user():
    from seg_core.model.backbones import BACKBONES
    from seg_core.model.weights import unavailable_message

    user, technical = split_details(unavailable_message(BACKBONES["resnet18"]))
    assert "Hugging Face" not in user and "Connect to the internet" in user and "ready offline" in user
    assert "Hugging Face repository" in technical and "model.safetensors" in technical
