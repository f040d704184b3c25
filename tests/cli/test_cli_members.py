"""``python -m seg_core members``: list, add, change, remove a project's members, --json, a bad role, the last
owner kept; each change in the project's activity record. Through real subprocesses."""
import getpass
import json

from seg_core.workspace.activity import recent
from seg_core.workspace.members import Members

from helpers import cli


def test_members_listed_added_changed_and_removed(tmp_path):
    ws = tmp_path / "Cells"
    ws.mkdir()
    res = cli("members", "--workspace", str(ws))
    assert res.returncode == 0 and "no members yet" in res.stdout

    assert cli("members", "--workspace", str(ws), "add", "Ana@Lab.org", "owner").returncode == 0
    res = cli("members", "--workspace", str(ws), "add", "bo@lab.org", "viewer", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"workspace": str(ws), "members": {"ana@lab.org": "owner",
                                                                       "bo@lab.org": "viewer"}}
    assert cli("members", "--workspace", str(ws), "add", "bo@lab.org", "annotator").returncode == 0
    res = cli("members", "--workspace", str(ws))
    assert res.stdout.splitlines() == ["ana@lab.org\towner", "bo@lab.org\tannotator"]

    res = cli("members", "--workspace", str(ws), "remove", "bo@lab.org", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["members"] == {"ana@lab.org": "owner"}
    assert Members(ws).all() == {"ana@lab.org": "owner"}
    assert [(e.action, e.what) for e in recent(ws)] == [
        ("members", "bo@lab.org removed (command line)"), ("members", "bo@lab.org is annotator (command line)"),
        ("members", "bo@lab.org is viewer (command line)"), ("members", "ana@lab.org is owner (command line)")]
    assert {e.who for e in recent(ws)} == {getpass.getuser()}


def test_members_refuses_a_bad_role_the_last_owner_and_a_missing_folder(tmp_path):
    ws = tmp_path / "Cells"
    ws.mkdir()
    cli("members", "--workspace", str(ws), "add", "ana@lab.org", "owner")

    res = cli("members", "--workspace", str(ws), "add", "bo@lab.org", "boss")
    assert res.returncode == 2 and "invalid choice: 'boss'" in res.stderr and "owner" in res.stderr
    res = cli("members", "--workspace", str(ws), "add", "not an address", "viewer")
    assert res.returncode == 2 and "'not an address' is not an e-mail address" in res.stderr

    res = cli("members", "--workspace", str(ws), "remove", "ana@lab.org")
    assert res.returncode == 2 and "ana@lab.org is the project's last owner" in res.stderr
    res = cli("members", "--workspace", str(ws), "add", "ana@lab.org", "viewer")
    assert res.returncode == 2 and "last owner" in res.stderr
    res = cli("members", "--workspace", str(ws), "remove", "zed@lab.org")
    assert res.returncode == 2 and "zed@lab.org is not a member of Cells" in res.stderr
    assert Members(ws).all() == {"ana@lab.org": "owner"}  # nothing changed by the refused ones

    res = cli("members", "--workspace", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such workspace folder" in res.stderr
