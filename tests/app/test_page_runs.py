"""The Runs & export page: the runs table, exports and zips in the background (counts, cancel), deleting a run to
the trash."""
from page_helpers import Gate, elements, page, progress_texts, wait_for
from seg_core import REGISTRY


def test_runs_page_lists_run_and_exports(use_trained):
    from seg_core import Workspace

    run = Workspace(use_trained).runs()[0]
    at = page("runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert run.name in list(table["run"])
    assert table["backbone"].iloc[0] == "efficientnet_lite0"
    # both exports at once, in the background; each shows its counts until it is written
    next(b for b in at.button if b.label == "Export for Python scripts").click().run()
    next(b for b in at.button if b.label == "Export as an ONNX file").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    texts = progress_texts(at)
    assert any(t.startswith(f"Export as an ONNX file of {run.name}: ") for t in texts), texts
    assert next(b for b in at.button if b.label == "Export as an ONNX file").disabled  # running
    wait_for(lambda: not REGISTRY.active("export"), what="the exports")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not progress_texts(at)
    assert (run.path / "model.torchscript.pt").is_file() and (run.path / "model.onnx").stat().st_size > 1_000_000
    downloads = [b.proto.label for b in elements(at, "download_button")]
    assert "Download as an ONNX file" in downloads and "Download for Python scripts" in downloads
    assert "Download its description" in downloads and (run.path / "model.torchscript.json").is_file()
    # what the file is for, in plain words, and how to use it: the command a user copies, with this run's file name
    assert any("using this model outside the app" in m.value for m in at.markdown)
    assert any(f"python -m seg_core predict --model {run.name}.onnx --images my_images --out results" in c.value
               for c in at.code)


def test_runs_page_zips_a_run_in_the_background_and_cancels(use_trained, monkeypatch):
    import zipfile

    from seg_core import Workspace
    from seg_core.infer.export import RUN_FILES

    run = Workspace(use_trained).runs()[0]
    zip_path = use_trained / "exports" / f"{run.name}.zip"
    zip_path.unlink(missing_ok=True)
    at = page("runs.py").run()
    assert "Download run (zip)" not in [b.proto.label for b in elements(at, "download_button")]
    gate = Gate(monkeypatch, at=1)  # held after the first file
    at.button(key="zip_run").click().run()
    assert gate.reached.wait(30)
    at.run()
    n = sum((run.path / f).is_file() for f in RUN_FILES)
    assert progress_texts(at) == [f"Zip of {run.name}: 1/{n} files · config.json"]
    next(b for b in at.button if b.label == "Cancel").click().run()
    gate.open()
    wait_for(lambda: not REGISTRY.active("run_zip"), what="the cancelled zip")
    at.run()
    assert any(w.value == f"Zip of {run.name}: zip cancelled; no zip was written" for w in at.warning)
    assert not zip_path.exists() and not list(zip_path.parent.glob(".*"))  # no partial or temporary file
    assert "Download run (zip)" not in [b.proto.label for b in elements(at, "download_button")]

    at.button(key="zip_run").click().run()  # again, to the end (the gate is open now)
    wait_for(lambda: not REGISTRY.active("run_zip"), what="the zip")
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert "Download run (zip)" in [b.proto.label for b in elements(at, "download_button")]
    assert f"{run.name}/model.safetensors" in zipfile.ZipFile(zip_path).namelist()
    assert at.button(key="zip_run").label == "Zip the run again"


def test_runs_page_delete_moves_run_to_trash(use_trained):
    import shutil

    from seg_core import Run, Workspace

    ws = Workspace(use_trained)
    src = ws.runs()[0]
    copy = Run(src.path.parent / "zz_to_delete")
    shutil.copytree(src.path, copy.path)
    at = page("runs.py").run()
    at.selectbox(key="runs_run").set_value(copy).run()
    delete = next(b for b in at.button if b.label == "Delete run")
    assert delete.disabled  # needs the confirmation first
    at.checkbox(key="confirm_delete").check().run()
    import threading

    from seg_core import REGISTRY
    release = threading.Event()
    training = REGISTRY.start("train", "copy", lambda progress, stop: release.wait(60), output=str(copy.path))
    try:
        assert next(b for b in at.run().button if b.label == "Delete run").disabled  # still training
    finally:
        release.set()
        training.wait(10)
    next(b for b in at.run().button if b.label == "Delete run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not copy.path.exists()
    trashed = list((use_trained / "trash").glob("*_zz_to_delete/runs/zz_to_delete"))
    assert len(trashed) == 1 and (trashed[0] / "model.safetensors").is_file()
    assert "zz_to_delete" not in list(at.dataframe[0].value["run"])
    assert any("moved to" in m.value for m in at.success)
    assert src.path.exists()


def test_runs_page_confirms_deleting_the_last_run(fresh_ws, trained_ws):
    import shutil

    from seg_core import Workspace

    only = Workspace(trained_ws).runs()[0]
    shutil.copytree(only.path, fresh_ws / "runs" / only.name)
    at = page("runs.py").run()
    at.checkbox(key="confirm_delete").check().run()
    next(b for b in at.button if b.label == "Delete run").click().run()
    assert not at.exception
    assert any(f"Deleted {only.name}" in m.value for m in at.success)  # still said with no run left
    assert any("No runs yet" in i.value for i in at.info)
    assert not any((fresh_ws / "runs").iterdir())


def test_runs_page_shows_the_labels_a_run_learned_from_and_compares_two_runs(trained_copy):
    import shutil

    from seg_core import TrainConfig, Workspace
    from seg_core.training.training_data import load_training_data

    ws = Workspace(trained_copy)
    first = ws.runs()[0]
    ws.clear_mask("tissue_00")  # labels change after the first run: the second takes the rest
    second = trained_copy / "runs" / "second"
    load_training_data(TrainConfig(data=str(ws.data_dir), out=str(second), require_masks=False))
    shutil.copy(first.path / "config.json", second / "config.json")  # a run folder (newest: shown first)
    at = page("runs.py").run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    caption = next(c.value for c in at.caption if c.value.startswith("second trained on "))
    assert caption.startswith("second trained on 7 image(s) (") and "; 2 held out (" in caption  # 9 labelled
    images = next(d.value for d in at.dataframe if "held out" in d.value.columns)
    assert len(images) == 9 and "tissue_00.png" not in list(images["image"])
    at.selectbox(key="compare_labels").select(first.name).run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert any(t.startswith(f"**{first.name}** compared with **second**: 1 added") for t in texts), texts
    assert f"Labelled only in {first.name}: tissue_00" in texts


def test_runs_page_says_which_runs_were_trained_on_other_classes(fresh_ws):
    """After a class change a run trained on the old classes says, in plain words, why it is not offered."""
    import json

    from seg_core import ClassList, Workspace
    from seg_core.workspace import class_edits

    ws = Workspace(fresh_ws)
    d = ws.runs_dir / "20260101-000000_old"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"backbone": "resnet18", "arch": "unet"}))
    (d / "status.json").write_text(json.dumps({"state": "done"}))
    ws.classes().save(d / "classes.json")
    at = page("runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Trained on other classes" in c.value for c in at.caption)
    class_edits.rename_class(ws, "cell", "cytoplasm")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("**20260101-000000_old**: Trained on other classes (background, cell, nucleus) "
                                  "than this project has now (background, cytoplasm, nucleus): not offered for "
                                  "proposing masks") for c in at.caption), [c.value for c in at.caption]
    assert ClassList.load(d / "classes.json").names == ["background", "cell", "nucleus"]  # the run is untouched
