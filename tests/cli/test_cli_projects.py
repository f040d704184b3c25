"""``python -m seg_core projects``: the app's projects with their counts, and ``--workspace`` on a project's
folder, through real subprocesses."""
import json

from seg_core.data.sample import bundled_sample_dir
from seg_core.workspace.projects import Projects

from helpers import cli


def test_cli_lists_projects_and_works_on_a_project_folder(tmp_path):
    home = Projects(tmp_path / "home")
    home.ensure(legacy=None)  # a new home: the sample project
    home.create("empty")
    home.create("gone")
    home.remove("gone")
    image = next((bundled_sample_dir() / "images").glob("*"))
    res = cli("import", "--workspace", str(home.get("empty").root), str(image))  # --workspace on a project
    assert res.returncode == 0, res.stderr

    res = cli("projects", "--home", str(home.home), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rows = {r["name"]: r for r in out["projects"]}
    assert list(rows) == ["empty", "Sample"]
    assert rows["empty"]["images"] == 1 and rows["empty"]["masks"] == 0
    assert rows["Sample"]["images"] == len(home.get("Sample").open().stems()) > 1
    assert rows["Sample"]["workspace"] == str(home.home / "Sample")
    assert [r["name"] for r in out["removed"]] == ["gone"]

    res = cli("runs", "--workspace", rows["Sample"]["workspace"], "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["runs"] == []

    res = cli("projects", "--home", str(home.home))
    assert res.returncode == 0 and "removed: gone" in res.stdout and "empty" in res.stdout
