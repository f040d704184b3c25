"""The reviewed marks: stored atomically in the workspace, a damaged file named, never half written."""
import json
import threading

import pytest

from seg_core.workspace.review_state import FILE, is_reviewed, review_marks, set_reviewed


def test_marks_are_set_and_dropped_on_disk(tmp_path):
    assert review_marks(tmp_path) == {} and not is_reviewed(tmp_path, "a")
    assert set_reviewed(tmp_path, "a", True, "accepted the proposal of run r1")
    assert set_reviewed(tmp_path, "细胞", True)
    data = json.loads((tmp_path / FILE).read_text(encoding="utf-8"))
    assert set(data) == {"a", "细胞"} and data["a"]["how"] == "accepted the proposal of run r1" and data["a"]["at"]
    assert set_reviewed(tmp_path, "a", False) and not set_reviewed(tmp_path, "a", False)  # twice: nothing to drop
    assert list(review_marks(tmp_path)) == ["细胞"]


def test_a_damaged_file_is_named_and_never_overwritten_silently(tmp_path):
    (tmp_path / FILE).write_text("{not json")
    with pytest.raises(ValueError, match=f"{FILE}: not valid JSON"):
        review_marks(tmp_path)
    assert not is_reviewed(tmp_path, "a") and not set_reviewed(tmp_path, "a", False)
    with pytest.raises(ValueError, match=FILE):
        set_reviewed(tmp_path, "a", True)
    assert (tmp_path / FILE).read_text() == "{not json"
    (tmp_path / FILE).write_text('["a"]')
    with pytest.raises(ValueError, match="expected an object"):
        review_marks(tmp_path)


def test_marks_set_from_many_threads_are_all_kept(tmp_path):
    threads = [threading.Thread(target=set_reviewed, args=(tmp_path, f"s{i}", True)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(review_marks(tmp_path)) == {f"s{i}" for i in range(16)}
