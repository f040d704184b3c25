"""The Train page: backbones and freezing, starting a job, a refused start, errors from the thread."""
from page_helpers import page


def test_train_page_shows_backbones_and_starts_job(fresh_ws):
    from seg_core import REGISTRY

    at = page("train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    sb = at.selectbox(key="backbone")
    assert "efficientnet_lite0" in sb.options[0] and "ready offline ✓" in sb.options[0]
    assert any("resnet18" in o for o in sb.options)
    slider = at.slider(key="freeze_depth")
    assert slider.max >= 4
    assert any("Parts:" in m.value for m in at.markdown)
    assert any("adapt to your images" in c.value for c in at.caption)
    at.number_input(key="budget").set_value(60)  # still training when the page renders again (cancelled below)
    at.text_input(key="img_size").set_value("64x64")
    before = REGISTRY.latest()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = REGISTRY.latest()
    assert job is not None and job is not before
    assert "(efficientnet_lite0, 3 parts kept)" in job.label
    try:
        assert at.session_state["job_id"] == job.id
        assert any(s.value.startswith("Training ") for s in at.subheader)
        # a second start is refused with a message, not a crash: Start is disabled and says why
        at2 = page("train.py").run()
        assert not at2.exception
        assert next(b for b in at2.button if b.label == "Start training").disabled
        assert any(i.value == f"'{job.label}' is training; Start is available again when it ends or is cancelled."
                   for i in at2.info)
    finally:
        job.cancel()
        assert job.wait(60)
    snapshot = job.snapshot()
    assert snapshot.state in ("cancelled", "done"), snapshot.error


def test_train_page_refuses_a_second_start(fresh_ws):
    """A tab rendered before another tab started a job: its Start is refused with a message."""
    import threading

    from seg_core import REGISTRY

    at = page("train.py").run()
    release = threading.Event()
    blocker = REGISTRY.start("train", "other_tab_run (test)", lambda progress, stop: release.wait(60))
    try:
        next(b for b in at.button if b.label == "Start training").click().run()
        assert not at.exception
        # the click finds Start disabled now (nothing starts) and the page says what is training and when Start
        # comes back (a start refused by the registry in the same instant says it as a warning instead)
        said = [m.value for m in [*at.warning, *at.info]]
        assert any("other_tab_run (test)" in m and ("is still running" in m or "Start is available again" in m)
                   for m in said), said
        assert REGISTRY.training() is blocker
        at2 = page("train.py").run()  # a fresh render: Start is disabled and says why
        assert next(b for b in at2.button if b.label == "Start training").disabled
        assert any("is training" in i.value for i in at2.info)
    finally:
        release.set()
        blocker.wait(10)


def test_train_page_of_one_project_does_not_show_another_projects_training(fresh_ws, tmp_path):
    """Two tabs on two projects: project B's Train page says project A trains (Start waits for it) but does not
    show A's job, progress or Cancel as its own."""
    import threading

    from seg_core import REGISTRY

    other_run = tmp_path / "projects" / "Project A" / "runs" / "run_a"
    release = threading.Event()
    blocker = REGISTRY.start("train", "run_a (test)", lambda progress, stop: release.wait(60), output=str(other_run))
    try:
        at = page("train.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("The project 'Project A' is training ('run_a (test)')" in i.value for i in at.info)
        assert next(b for b in at.button if b.label == "Start training").disabled
        assert not any("run_a" in h.value for h in at.subheader)  # not shown as this project's job
        assert not any(b.label == "Cancel training" for b in at.button)
    finally:
        release.set()
        blocker.wait(10)
    at = page("train.py").run()  # A's ended: nothing said of it, and still no job of A's shown
    assert not any("is training" in i.value for i in at.info)
    assert not any("run_a" in h.value for h in at.subheader)


def test_train_page_takes_its_fields_from_the_runs_settings(fresh_ws, monkeypatch):
    """Each field's name, help and limits are the setting's, as TrainConfig declares it; a setting declared
    there that the page's layout does not place (here: a new one) gets its own field under Advanced options,
    and the run trains with the value given."""
    from seg_core import REGISTRY, Run
    from seg_core.runs.config import MAX_WORKERS, SETTINGS, Setting

    monkeypatch.setitem(SETTINGS, "val_interval_s", Setting(
        label="Validate at most every (seconds)", help="How often the held-out images are scored.", min=0,
        above=True, flag=False, name="val_interval_s", kind=float))
    at = page("train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    workers = at.number_input(key="num_workers")
    assert workers.label == "Helpers reading images" and (workers.min, workers.max) == (0, MAX_WORKERS)
    assert workers.help.startswith("Processes that read, decode and augment images")
    assert workers.help.endswith("Technical name: Data loading processes (--num-workers).")
    assert at.number_input(key="batch").label == "Images per step" and at.number_input(key="batch").min == 1
    assert at.number_input(key="budget").min is None  # "more than 0" is no widget limit: Start says so
    new = at.number_input(key="val_interval_s")
    assert new.label == "Validate at most every (seconds)" and new.value == 10.0
    assert new.help.startswith("How often the held-out images are scored.")
    new.set_value(2.5)
    way = at.selectbox(key="orientation")  # which way up, in words; the technical name in its help
    assert way.label == "Which way up" and way.value == "measure"
    assert "find out from my images" in way.options and way.help.startswith("Whether your images have an up")
    way.set_value("any")
    at.number_input(key="budget").set_value(0)
    at.text_input(key="img_size").set_value("64x64")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert any(e.value.startswith("Time budget (seconds): must be more than 0 seconds") for e in at.error)
    at.number_input(key="budget").set_value(5)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = REGISTRY.latest()
    assert job.wait(300)
    assert job.snapshot().state == "done", job.snapshot().error
    assert Run(job.output).config["val_interval_s"] == 2.5
    assert Run(job.output).config["orientation"] == "any"


def test_train_page_says_which_parts_learn_and_when(fresh_ws):
    """Keeping parts says how many learned values stay and lets the user say when they learn too; with no part
    kept, the page says all of them adapt and "learn after this many rounds" has nothing to do (greyed out)."""
    at = page("train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="freeze_depth").value == 3
    assert any(c.value.startswith("3 of 5 parts kept as they are") for c in at.caption)
    assert not at.number_input(key="unfreeze").disabled and at.number_input(key="unfreeze").value == 8
    at.slider(key="freeze_depth").set_value(0).run()
    assert any(c.value.startswith("All 5 parts adapt to your images") for c in at.caption)
    assert at.number_input(key="unfreeze").disabled


def test_train_page_shows_an_error_raised_in_the_training_thread(fresh_ws):
    from seg_core import REGISTRY, DatasetError, Problem

    def fails(progress, stop):
        progress({"event": "status", "message": "checking the data set"})
        raise DatasetError([Problem("images/cat.png", "mask is 10x10 but the image is 20x20")])

    job = REGISTRY.start("train", "failing_run (test)", fails)
    assert job.wait(10)
    at = page("train.py")
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
    at = page("train.py").run()
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


def test_train_page_no_longer_offers_learning_from_unlabelled_images(fresh_ws):
    """The option lost on every domain (issue #22): the sample's 2 images without a mask are not offered."""
    at = page("train.py").run()
    assert not at.exception
    assert not [t.label for t in at.toggle if "unlabelled" in t.label.lower()]


def test_train_page_offers_the_gpus_of_a_machine_with_several(fresh_ws, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    at = page("train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    choice = at.selectbox(key="processes")
    assert choice.label == "GPUs to use" and choice.options == ["1", "2"] and choice.value == 2
    assert any("Trains in 2 processes" in c.value for c in at.caption)
    # the device in words, the device and precision in its tooltip
    assert any(c.value.startswith("Trains on this computer's processor") and "Technical details: CPU" in c.proto.help
               for c in at.caption)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    at = page("train.py").run()
    assert not [s for s in at.selectbox if s.key == "processes"]  # one device: the background thread, no choice


def test_train_page_runs_torchrun_follows_picks_up_again_and_cancels(fresh_ws, monkeypatch):
    """Two CPU processes (SEG_CORE_CPU_PROCESSES): Start launches torchrun; after a server restart (a fresh job
    registry) the page picks the training up again from the run folder; Cancel stops it."""
    import time

    import seg_core
    from seg_core import Run
    from seg_core.runner import launch
    from seg_core.runner.jobs import JobRegistry

    monkeypatch.setenv(launch.CPU_PROCESSES_ENV, "2")
    monkeypatch.setattr(seg_core, "REGISTRY", JobRegistry())
    at = page("train.py").run()
    assert at.selectbox(key="processes").label == "CPU processes to use"
    at.selectbox(key="processes").set_value(2)
    at.radio(key="stop_mode").set_value("epochs")
    at.run()
    at.number_input(key="epochs").set_value(500)
    at.text_input(key="img_size").set_value("64x64")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = seg_core.REGISTRY.latest()
    try:
        assert job is not None and job.label.endswith(", 2 CPU processes)")
        t = time.time()
        while job.snapshot().last_step is None and job.active and time.time() - t < 900:
            time.sleep(0.3)
        assert job.snapshot().last_step is not None, job.snapshot().error
        monkeypatch.setattr(seg_core, "REGISTRY", JobRegistry())  # the server restarted
        at2 = page("train.py").run()
        assert not at2.exception, [e.value for e in at2.exception]
        picked_up = seg_core.REGISTRY.training()  # following the run folder, from its events
        t = time.time()  # under load the follower's thread may not have read an event before the page drew
        while picked_up is not None and picked_up.snapshot().last_step is None and time.time() - t < 120:
            time.sleep(0.3)
        at2.run()  # the page's next refresh (the browser's fragment reruns by itself)
        assert any("running" in s.value and "2 CPU processes" in s.value for s in at2.subheader)
        assert any("2 process(es) · cpu" in (c.proto.help or "") for c in at2.caption)  # in its tooltip
        next(b for b in at2.button if b.label == "Cancel training").click().run()
        followed = seg_core.REGISTRY.training() or seg_core.REGISTRY.latest()
        assert followed.wait(600) and job.wait(600)
        assert followed.snapshot().state == "cancelled"
    finally:
        if job.active:
            Run(job.output).request_cancel()
            job.wait(600)
    assert Run(job.output).state == "cancelled" and Run(job.output).has_checkpoint
