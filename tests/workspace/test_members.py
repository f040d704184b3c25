"""The roles (seg_core.workspace.members): what each allows, checks naming the person, role and action, the
members file written atomically and read back, a damaged one named; the activity record (activity.py)."""
import json
import threading

import pytest

from seg_core.workspace import activity
from seg_core.workspace.members import ACTIONS, ROLES, MemberError, Members, NotAllowed, allows


def test_the_role_table():
    """owner: everything; annotator: all work but members, renaming and removing the project; viewer: look and
    download only."""
    assert ROLES["owner"] == set(ACTIONS)
    assert ROLES["annotator"] == set(ACTIONS) - {"members", "rename", "remove"}
    assert ROLES["viewer"] == {"view", "download"}
    for action in ("paint", "train", "remove", "members", "import", "accept", "classes", "export"):
        assert not allows("viewer", action) and not allows(None, action)
    assert allows("annotator", "train") and not allows("annotator", "members")
    with pytest.raises(KeyError, match="unknown action 'fly'"):
        allows("owner", "fly")


def test_a_refusal_names_the_person_the_role_and_the_action(tmp_path):
    team = Members(tmp_path / "Cells")
    team.set("ana@lab.org", "owner")
    team.set("Bo@Lab.org ", "viewer")
    assert team.check("ana@lab.org", "remove") == "owner"
    with pytest.raises(NotAllowed) as err:
        team.check("bo@lab.org", "train")
    assert str(err.value) == ("bo@lab.org (viewer) may not start a training in 'Cells'. Ask an owner of the "
                              "project for a role that may.")
    assert isinstance(err.value, PermissionError) and err.value.role == "viewer" and err.value.action == "train"
    with pytest.raises(NotAllowed, match=r"^eve@x.org \(not a member\) may not look at this project in 'Cells'"):
        team.check("eve@x.org", "view")


def test_members_file_is_written_whole_and_a_damaged_one_is_named(tmp_path):
    root = tmp_path / "Cells"
    team = Members(root)
    team.set("ana@lab.org", "owner")
    assert json.loads((root / "members.json").read_text()) == {"members": {"ana@lab.org": "owner"}}
    assert not [p for p in root.iterdir() if p.name.startswith(".members")]  # no temporary file left
    (root / "members.json").write_text('{"members": {"ana@lab.org": "king"}}')
    with pytest.raises(MemberError, match=r"members.json: cannot read the members .*fix or remove the file"):
        team.all()


def test_concurrent_member_changes_are_all_kept(tmp_path):
    team = Members(tmp_path / "Cells")
    team.set("owner@lab.org", "owner")
    threads = [threading.Thread(target=Members(tmp_path / "Cells").set, args=(f"p{i}@lab.org", "annotator"))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(team.all()) == 9


def test_the_activity_record_is_appended_and_read_newest_first(tmp_path):
    root = tmp_path / "Cells"
    assert activity.recent(root) == []
    for i in range(30):
        activity.record(root, "ana@lab.org", "paint", f"cells_{i}")
    activity.record(root, "bo@lab.org", "train", "efficientnet_lite0")
    with open(root / activity.FILE, "a") as f:
        f.write('{"when": "2026-12-05T10:00:00+00:00", "who": "cut off mid-li')  # a disk that filled up
    activity.record(root, "ana@lab.org", "export", "run 1 as ONNX")
    lines = (root / activity.FILE).read_text().splitlines()
    assert len(lines) == 33  # the cut line stays on its own, the next one after it
    got = activity.recent(root, 3)
    assert [(e.who, e.action, e.what) for e in got] == [("ana@lab.org", "export", "run 1 as ONNX"),
                                                       ("bo@lab.org", "train", "efficientnet_lite0"),
                                                       ("ana@lab.org", "paint", "cells_29")]
    assert got[0].time.tzinfo is not None


def test_a_run_folder_says_who_started_it(tmp_path):
    run = tmp_path / "runs" / "20261205-142000_efficientnet_lite0"
    assert activity.starter(run) is None  # not recorded (e.g. started from the command line)
    activity.record_starter(run, "cy@lab.org")
    assert activity.starter(run) == "cy@lab.org"
    assert json.loads((run / activity.STARTER).read_text())["when"].endswith("+00:00")
