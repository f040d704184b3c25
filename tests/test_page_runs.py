"""The Runs & export page: the runs table, exports, deleting a run to the trash."""
from page_helpers import elements, page


def test_runs_page_lists_run_and_exports(use_trained):
    from seg_core import Workspace

    run = Workspace(use_trained).runs()[0]
    at = page("5_Runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert run.name in list(table["run"])
    assert table["backbone"].iloc[0] == "efficientnet_lite0"
    next(b for b in at.button if b.label == "Export TorchScript").click().run()
    assert not at.exception and not at.error
    assert (run.path / "model.torchscript.pt").is_file()
    next(b for b in at.button if b.label == "Export ONNX").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert (run.path / "model.onnx").stat().st_size > 1_000_000
    assert "Download ONNX" in [b.proto.label for b in elements(at, "download_button")]


def test_runs_page_delete_moves_run_to_trash(use_trained):
    import shutil

    from seg_core import Run, Workspace

    ws = Workspace(use_trained)
    src = ws.runs()[0]
    copy = Run(src.path.parent / "zz_to_delete")
    shutil.copytree(src.path, copy.path)
    at = page("5_Runs.py").run()
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
    trashed = list((use_trained / "trash" / "runs").glob("*_zz_to_delete"))
    assert len(trashed) == 1 and (trashed[0] / "model.safetensors").is_file()
    assert "zz_to_delete" not in list(at.dataframe[0].value["run"])
    assert any("moved to" in m.value for m in at.success)
    assert src.path.exists()


def test_runs_page_confirms_deleting_the_last_run(fresh_ws, trained_ws):
    import shutil

    from seg_core import Workspace

    only = Workspace(trained_ws).runs()[0]
    shutil.copytree(only.path, fresh_ws / "runs" / only.name)
    at = page("5_Runs.py").run()
    at.checkbox(key="confirm_delete").check().run()
    next(b for b in at.button if b.label == "Delete run").click().run()
    assert not at.exception
    assert any(f"Deleted {only.name}" in m.value for m in at.success)  # still said with no run left
    assert any("No runs yet" in i.value for i in at.info)
    assert not any((fresh_ws / "runs").iterdir())
