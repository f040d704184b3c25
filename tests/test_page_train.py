"""The Train page: backbones and freezing, starting a job, a refused start, errors from the thread."""
from page_helpers import page


def test_train_page_shows_backbones_and_starts_job(fresh_ws):
    from seg_core import REGISTRY

    at = page("3_Train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    sb = at.selectbox(key="backbone")
    assert "efficientnet_lite0" in sb.options[0] and "offline ✓" in sb.options[0]
    assert any("resnet18" in o for o in sb.options)
    slider = at.slider(key="freeze_depth")
    assert slider.max >= 4
    assert any("Stages:" in m.value for m in at.markdown)
    assert any("trainable encoder parameters" in c.value for c in at.caption)
    at.number_input(key="budget").set_value(5)
    at.text_input(key="img_size").set_value("64x64")
    before = REGISTRY.latest()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = REGISTRY.latest()
    assert job is not None and job is not before
    try:
        assert at.session_state["job_id"] == job.id
        assert any("Job " in s.value for s in at.subheader)
        # a second start is refused with a message, not a crash
        at2 = page("3_Train.py").run()
        assert not at2.exception
    finally:
        job.cancel()
        assert job.wait(60)
    snapshot = job.snapshot()
    assert snapshot.state in ("cancelled", "done"), snapshot.error


def test_train_page_refuses_a_second_start(fresh_ws):
    """A tab rendered before another tab started a job: its Start is refused with a message."""
    import threading

    from seg_core import REGISTRY

    at = page("3_Train.py").run()
    release = threading.Event()
    blocker = REGISTRY.start("train", "other_tab_run (test)", lambda progress, stop: release.wait(60))
    try:
        next(b for b in at.button if b.label == "Start training").click().run()
        assert not at.exception
        assert any("'other_tab_run (test)' is still running" in w.value for w in at.warning)
        assert REGISTRY.active() is blocker
        at2 = page("3_Train.py").run()  # a fresh render: Start is disabled and says why
        assert next(b for b in at2.button if b.label == "Start training").disabled
        assert any("is training" in i.value for i in at2.info)
    finally:
        release.set()
        blocker.wait(10)


def test_train_page_shows_an_error_raised_in_the_training_thread(fresh_ws):
    from seg_core import REGISTRY, DatasetError, Problem

    def fails(progress, stop):
        progress({"event": "status", "message": "checking the data set"})
        raise DatasetError([Problem("images/cat.png", "mask is 10x10 but the image is 20x20")])

    job = REGISTRY.start("train", "failing_run (test)", fails)
    assert job.wait(10)
    at = page("3_Train.py")
    at.session_state["job_id"] = job.id
    at.run()
    assert not at.exception
    assert any("failing_run (test)" in s.value and "failed" in s.value for s in at.subheader)
    assert any("images/cat.png" in e.value and "10x10" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Start training").disabled is False


def test_train_page_continues_from_a_run(fresh_ws, trained_ws):
    import shutil

    from seg_core import REGISTRY, Run, Workspace

    only = Workspace(trained_ws).runs()[0]
    shutil.copytree(only.path, fresh_ws / "runs" / only.name)
    at = page("3_Train.py").run()
    assert any("mask(s) saved since the latest run started" in c.value for c in at.caption)
    at.selectbox(key="init_run").select_index(1).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("efficientnet_lite0" in c.value and "(from the run)" in c.value for c in at.caption)
    at.number_input(key="budget").set_value(5)
    at.text_input(key="img_size").set_value("64x64")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = REGISTRY.latest()
    try:
        assert job.wait(120)
        assert job.snapshot().state == "done", job.snapshot().error
        assert Run(job.output).config["init_run"] == str(fresh_ws / "runs" / only.name)
    finally:
        job.cancel()
        job.wait(60)
