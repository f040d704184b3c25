"""Projects (``seg_core.workspace.projects``): a folder each under one home; create, rename, remove to the trash,
restore, refused names, the sample project of a new home and the adopted workspace of earlier versions."""
import io

import numpy as np
import pytest
from PIL import Image

from seg_core.data.sample import bundled_sample_dir
from seg_core.workspace.projects import LEGACY, SAMPLE, ProjectError, Projects, default_home, pinned_workspace
from seg_core.workspace.workspace import Workspace


def _with_image(ws, name="a.png", value=7):
    """``ws`` (a Workspace) with one grey image of ``value``."""
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buf, format="PNG")
    ws.add_image(name, buf.getvalue())
    return ws


def test_create_list_and_open_an_empty_project(tmp_path):
    projects = Projects(tmp_path / "home")
    assert projects.list() == []
    made = projects.create("  Liver sections 2 ")
    assert made.name == "Liver sections 2" and made.root == tmp_path / "home" / "Liver sections 2"
    assert [p.name for p in projects.list()] == ["Liver sections 2"]
    assert made.open().stems() == []  # empty: no sample seeded
    assert Workspace(made.root).stems() == []  # not later either, opened on its own (SEGAPP_WORKSPACE)
    projects.create("apples")
    assert [p.name for p in projects.list()] == ["apples", "Liver sections 2"]  # by name, case ignored


def test_a_project_with_the_sample_holds_its_images_and_classes(tmp_path):
    ws = Projects(tmp_path).create("demo", sample=True).open()
    expected = sorted(p.stem for sub in ("images", "new") for p in (bundled_sample_dir() / sub).glob("*"))
    assert ws.stems() == expected
    assert ws.classes().names == ["background", "cell", "nucleus"]


@pytest.mark.parametrize("bad, says", [("", "needs a name"), ("   ", "needs a name"), ("a/b", "'/'"),
                                       ("..", "cannot be a project name"), (".hidden", "cannot be a project name"),
                                       ("trash", "removed projects"), ("x" * 65, "at most 64"),
                                       ("what?", "'?'"), ("end.", "not end with a dot")])
def test_bad_names_are_refused_with_a_reason(tmp_path, bad, says):
    projects = Projects(tmp_path)
    with pytest.raises(ProjectError) as err:
        projects.create(bad)
    assert says in str(err.value)
    assert projects.list() == []


def test_duplicate_names_are_refused_case_ignored(tmp_path):
    projects = Projects(tmp_path)
    projects.create("Cells")
    for name in ("Cells", "cells", " CELLS "):
        with pytest.raises(ProjectError, match="There is a project 'Cells' already"):
            projects.create(name)
    assert [p.name for p in projects.list()] == ["Cells"]


def test_rename_keeps_everything_in_it(tmp_path):
    projects = Projects(tmp_path)
    _with_image(projects.create("old").open())
    projects.create("other")
    with pytest.raises(ProjectError, match="'other' already"):
        projects.rename("old", "Other")
    with pytest.raises(ProjectError, match="no project 'nope'"):
        projects.rename("nope", "x")
    new = projects.rename("old", "New name")
    assert [p.name for p in projects.list()] == ["New name", "other"]
    assert new.open().stems() == ["a"]
    assert projects.rename("New name", "new NAME").open().stems() == ["a"]  # only its case changed


def test_remove_goes_to_the_trash_and_restore_takes_it_back(tmp_path):
    projects = Projects(tmp_path)
    _with_image(projects.create("cells").open(), value=42)
    gone = projects.remove("cells")
    assert projects.list() == [] and gone.where.parent == tmp_path / "trash"
    assert (gone.where / "cells" / "data" / "images" / "a.png").is_file()  # kept whole, not deleted
    assert [r.name for r in projects.removed()] == ["cells"]

    projects.create("cells")  # a new project took its name meanwhile
    with pytest.raises(ProjectError, match="'cells' already"):
        projects.restore(gone)
    back = projects.restore(gone, "cells (restored)")
    assert int(back.open().read_image("a")[0, 0, 0]) == 42
    assert projects.removed() == [] and not gone.where.exists()
    assert [p.name for p in projects.list()] == ["cells", "cells (restored)"]


def test_the_project_opened_last_is_remembered(tmp_path):
    projects = Projects(tmp_path)
    assert projects.last_opened() is None
    projects.create("a"), projects.create("b")
    projects.opened("b")
    assert Projects(tmp_path).last_opened() == "b"
    projects.rename("b", "c")
    assert projects.last_opened() == "c"  # renamed: still the one
    projects.remove("c")
    assert projects.last_opened() is None  # gone: the app opens another one


def test_a_new_home_gets_the_sample_project_once(tmp_path):
    projects = Projects(tmp_path / "home")
    assert projects.ensure(legacy=None) == []
    assert [p.name for p in projects.list()] == [SAMPLE] and projects.get(SAMPLE).open().stems()
    projects.remove(SAMPLE)
    projects.ensure(legacy=None)  # the next start: the user removed it, it stays removed
    assert projects.list() == []


def test_the_workspace_of_earlier_versions_becomes_a_project(tmp_path):
    legacy = tmp_path / "workspace"
    _with_image(Workspace(legacy, seed_sample=False), value=99)
    (legacy / "runs" / "r1").mkdir(parents=True)
    projects = Projects(tmp_path / "projects")
    notes = projects.ensure(legacy=legacy)
    assert not legacy.exists() and "now the project 'workspace'" in notes[0]
    assert [p.name for p in projects.list()] == [LEGACY]  # no Sample beside it: not a new user
    ws = projects.get(LEGACY).open()
    assert int(ws.read_image("a")[0, 0, 0]) == 99 and (ws.runs_dir / "r1").is_dir()

    Workspace(legacy, seed_sample=False)  # an older version ran again and made a new one: adopted beside it
    assert "'workspace-2'" in projects.ensure(legacy=legacy)[0]
    assert [p.name for p in projects.list()] == [LEGACY, "workspace-2"]


def test_a_home_set_elsewhere_leaves_the_checkouts_workspace_alone(tmp_path, monkeypatch):
    import seg_core.workspace.projects as projects_module

    legacy = tmp_path / "checkout" / "workspace"
    Workspace(legacy, seed_sample=False)
    monkeypatch.setattr(projects_module, "LEGACY_ROOT", legacy)
    monkeypatch.setattr(projects_module, "DEFAULT_HOME", tmp_path / "checkout" / "projects")
    Projects(tmp_path / "elsewhere").ensure()
    assert legacy.is_dir() and [p.name for p in Projects(tmp_path / "elsewhere").list()] == [SAMPLE]
    default = Projects(tmp_path / "checkout" / "projects")
    default.ensure()
    assert not legacy.exists() and [p.name for p in default.list()] == [LEGACY]


def test_home_and_pinned_workspace_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGAPP_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("SEGAPP_WORKSPACE", raising=False)
    assert default_home() == tmp_path / "h" and Projects().home == tmp_path / "h"
    assert pinned_workspace() is None
    monkeypatch.setenv("SEGAPP_WORKSPACE", str(tmp_path / "one"))
    assert pinned_workspace() == tmp_path / "one"
