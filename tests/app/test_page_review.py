"""The Review page: scores of a run, overlays, the dense CRF panel."""
from page_helpers import elements, page


def test_review_page_scores_run_and_shows_images(use_trained):
    at = page("review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    per_class = at.dataframe[0].value
    assert list(per_class["class"]) == ["background", "cell", "nucleus"]
    assert per_class["IoU"].between(0, 1).all()
    per_image = at.dataframe[1].value
    assert len(per_image) == 10 and per_image["miou"].is_monotonic_increasing
    # the run held 2 of the 10 labelled images out: they are marked and scored on their own
    assert sorted(per_image["split"].value_counts().items()) == [("train", 8), ("validation", 2)]
    assert any(m.label == "Overlap, new images (2)" for m in at.metric)
    assert any(m.label == "Overlap, all labelled" for m in at.metric)
    assert len(elements(at, "image")) >= 2


def _toggle(at, prefix):
    return next(t for t in at.toggle if t.key.startswith(prefix))


def test_review_page_starts_from_the_runs_measured_post_processing(use_trained):
    from seg_core import Run, Workspace

    run = Workspace(use_trained).runs()[0]
    measured = Run(run.path).postprocess  # trained_ws's run held 2 images out: measured on them
    at = page("review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith(f"Too few images were kept aside when {run.name} finished to measure what "
                                  "helps (2 of the 4 needed), so masks average mirrored copies")
               and measured["reason"] in c.proto.help for c in at.caption)  # in words, the engine's reason in its tooltip
    assert _toggle(at, "crf_on_").value is measured["crf"] is False
    assert _toggle(at, "tta_on_").value is measured["tta"] is True  # flips: on until enough images score them lower
    table = next(d.value for d in at.dataframe if "variant" in d.value)
    assert list(table["variant"]) == ["as predicted", "averaged with mirrored copies", "edges sharpened", "both"]


def test_review_page_says_which_way_up_the_run_found(trained_copy):
    """What a run found of which way up its images are (recorded while it trained) is said in words, the scores in
    the tooltip; a run without the check says nothing of it."""
    import json

    from seg_core import Workspace
    from seg_core.training.orientation import Finding

    at = page("review.py").run()
    assert not [c for c in at.caption if c.value.startswith("Which way up")]
    run = Workspace(trained_copy).runs()[0]
    recorded = json.loads((run.path / "postprocess.json").read_text())
    recorded["orientation"] = Finding(upright=0.62, turned=0.31, at=0.33).to_dict()
    (run.path / "postprocess.json").write_text(json.dumps(recorded))
    at = page("review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = [c for c in at.caption if c.value.startswith("Which way up")]
    assert len(said) == 1 and "your images have an up, so it kept learning from them upright" in said[0].value
    assert "0.310 turned" not in said[0].value
    assert "0.620 upright, 0.310 turned a quarter" in said[0].proto.help


def test_review_page_crf_shows_before_after_and_delta(use_trained):
    at = page("review.py").run()
    _toggle(at, "crf_on_").set_value(False)
    _toggle(at, "tta_on_").set_value(False)
    at.run()
    n_images = len(elements(at, "image"))
    _toggle(at, "crf_on_").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(elements(at, "image")) == n_images + 2  # before and after
    delta = next(m for m in at.metric if m.label == "Overlap on this image")
    assert 0.0 <= float(delta.value) <= 1.0 and delta.delta.startswith(("+", "-"))


def test_review_page_ranks_unlabelled_images_with_a_heat_map(use_trained):
    at = page("review.py").run()
    assert any(c.value.startswith("In the order to label them") for c in at.caption)  # what the order means
    n_images = len(elements(at, "image"))
    next(b for b in at.button if b.key == "rank_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "score" in d.value)
    assert set(table["image"]) == {"tissue_10.png", "tissue_11.png"}  # the two images without a mask
    assert list(table["score"]) == [1.0, 0.0]  # the first to label first
    assert list(table["why"]) == ["the model hesitates here", "the model is fairly sure here"]  # 10 labelled
    assert at.selectbox(key="rank_pick").value == table["image"][0]  # the first to label is shown first
    assert len(elements(at, "image")) == n_images + 2  # where the model hesitates, and its prediction


def test_review_page_warns_when_every_pixel_of_a_class_is_unlabelled(trained_ws, tmp_path, monkeypatch):
    """Scoring never hides a class: nobody painted a nucleus, so its score is flagged, not a silent 0."""
    import shutil

    import numpy as np
    import streamlit as st

    from seg_core import Workspace

    root = tmp_path / "ws"
    shutil.copytree(trained_ws, root)
    ws = Workspace(root)
    for stem in ws.stems():
        m = ws.read_mask(stem)
        if m is not None:
            m[m == 2] = 255  # the nucleus strokes erased: unlabelled
            ws.save_mask(stem, m)
    monkeypatch.setenv("SEGAPP_WORKSPACE", str(root))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = page("review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("class 'nucleus' has no labelled ground-truth pixel in the 10 scored image(s)")
               for w in warnings), warnings
    assert not any("--mask-values" in w for w in warnings)  # the app names no command-line flags
    per_image = at.dataframe[1].value
    assert (per_image["ignored_pixels"] > 0).all() and (per_image["labelled_pixels"] > 0).all()
    st.cache_resource.clear()


def test_review_page_zips_predicted_masks_of_all_images_in_the_background(use_trained, monkeypatch):
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    from page_helpers import Gate, progress_texts, wait_for
    from seg_core import Workspace
    from seg_core import REGISTRY

    ws = Workspace(use_trained)
    run = ws.runs()[0]
    zip_path = use_trained / "exports" / f"{run.name}_masks.zip"
    zip_path.unlink(missing_ok=True)
    at = page("review.py").run()
    at.checkbox(key="dl_all").check().run()
    gate = Gate(monkeypatch, at=2)  # held after the second mask
    at.button(key="masks_zip_btn").click().run()
    assert gate.reached.wait(60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert progress_texts(at) == [f"Masks of {run.name}: 2/12 masks · tissue_01"]
    assert at.button(key="masks_zip_btn").disabled
    next(b for b in at.button if b.label == "Cancel").click().run()
    gate.open()
    wait_for(lambda: not REGISTRY.active("masks_zip"), what="the cancelled zip")
    at.run()
    assert any(w.value == f"Masks of {run.name}: cancelled after 2 of 12 masks; no zip was written" for w in at.warning)
    assert not zip_path.exists() and not list(zip_path.parent.glob(".*"))
    assert not [b for b in elements(at, "download_button") if "mask(s)" in b.proto.label]

    at.button(key="masks_zip_btn").click().run()  # again, to the end
    wait_for(lambda: not REGISTRY.active("masks_zip"), what="the zip")
    at.run()
    assert not at.exception and not progress_texts(at)
    assert [b.proto.label for b in elements(at, "download_button") if "masks" in b.proto.label] == [
        "Download masks (PNG files, zip): 12 mask(s)"]  # (beside the objects' downloads)
    with zipfile.ZipFile(zip_path) as z:
        assert sorted(z.namelist()) == sorted(["classes.json"] + [f"masks/{s}.png" for s in ws.stems()])
        mask = np.asarray(Image.open(io.BytesIO(z.read("masks/tissue_10.png"))))
    assert mask.shape == ws.read_image("tissue_10").shape[:2] and mask.max() < 3


def test_review_page_counts_measures_and_outlines_the_objects(trained_copy):
    import json

    import pandas as pd

    from page_helpers import wait_for
    from seg_core import REGISTRY, Workspace

    # how sure the model must be starts at what the run measured on its held-out images (here set to 50 %)
    run_dir = Workspace(trained_copy).runs()[0].path
    recorded = json.loads((run_dir / "postprocess.json").read_text())
    assert recorded["objects"]["images"] == 2  # the training measured it on the 2 images it held out
    recorded["objects"] |= {"min_confidence": 0.5, "reason": "faint regions counted down to 50% sure: a test"}
    (run_dir / "postprocess.json").write_text(json.dumps(recorded))
    at = page("review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    sure = at.slider(key="obj_sure")
    assert sure.value == 50 and "faint regions counted down to 50% sure: a test" in sure.proto.help
    assert not (trained_copy / "objects.json").exists()  # nothing saved until the user changes a setting
    stem = at.selectbox(key="review_image").value
    table = next(d.value for d in at.dataframe if "area_px" in d.value)
    assert {"object", "class", "area_px", "perimeter_px", "solidity", "centroid_x", "mean_red"} <= set(table.columns)
    assert list(table["object"]) == list(range(1, len(table) + 1)) and set(table["class"]) <= {"cell", "nucleus"}
    counts = {m.label: int(m.value) for m in at.metric if m.label.endswith(f" in {stem}")}
    assert counts == {f"{c} in {stem}": int((table["class"] == c).sum()) for c in ("cell", "nucleus")}
    assert f"{len(table)} objects, outlined with their numbers" in str([i.proto for i in elements(at, "image")])
    labels = [b.proto.label for b in elements(at, "download_button")]
    assert "Download this image's objects (CSV)" in labels and "Download this image's object map (16-bit TIFF)" in labels

    # only nuclei: the table follows; the setting of how objects are found is kept with the workspace
    at.multiselect(key="obj_classes").set_value(["nucleus"]).run()
    shown = next(d.value for d in at.dataframe if "area_px" in d.value)
    assert set(shown["class"]) <= {"nucleus"} and len(shown) == counts[f"nucleus in {stem}"]
    at.number_input(key="obj_px").set_value(0.5).run()
    assert not at.exception, [e.value for e in at.exception]
    assert json.loads((trained_copy / "objects.json").read_text())["pixel_size"] == 0.5
    assert "area_um2" in next(d.value for d in at.dataframe if "area_px" in d.value)

    # how sure the model must be somewhere in an object: every region at 0; at 99 % fewer, the rest named faint
    def counted():
        return sum(int(m.value) for m in at.metric if m.label.endswith(f" in {stem}"))

    at.slider(key="obj_sure").set_value(0).run()
    every = counted()
    assert not [c.value for c in at.caption if "faint region" in c.value]
    at.slider(key="obj_sure").set_value(99).run()
    assert not at.exception, [e.value for e in at.exception]
    faint = every - counted()
    assert faint > 0 and json.loads((trained_copy / "objects.json").read_text())["min_confidence"] == 0.99
    assert [c.value for c in at.caption if c.value.startswith(f"{faint} faint region(s) not counted: the model "
                                                              "was nowhere in them 99% sure")]

    # every image, in the background: the count per image and the downloads
    at.button(key="objects_all_btn").click().run()
    wait_for(lambda: not REGISTRY.active("objects_all"), what="counting the objects of every image")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.proto.label for b in elements(at, "download_button")]
    assert {"Download all objects (CSV)", "Download counts per image (CSV)",
            "Download object maps (16-bit TIFFs, zip)"} <= set(labels)
    assert len(elements(at, "vega_lite_chart")) >= 2  # the sizes histogram and the count per image
    assert len(Workspace(trained_copy).stems()) == 12


def test_review_page_says_when_the_run_took_back_the_rare_classes_lean(trained_copy):
    import json

    from seg_core import Workspace

    run_dir = Workspace(trained_copy).runs()[0].path
    recorded = json.loads((run_dir / "postprocess.json").read_text())
    assert recorded["balance"]["images"] == 2  # the sample trains with balanced weights: measured on its 2 held-out
    recorded["balance"]["strength"] = 0.0
    (run_dir / "postprocess.json").write_text(json.dumps(recorded))
    at = page("review.py").run()
    assert not any("counted more" in c.value for c in at.caption)  # nothing said unless the masks took some back
    recorded["balance"] |= {"strength": 0.5, "reason": "the class weights' lean undone by 0.5: a test"}
    (run_dir / "postprocess.json").write_text(json.dumps(recorded))
    at = page("review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = next(c for c in at.caption if "counted more" in c.value)
    assert said.value == ("The model learned with rare classes counted more; its masks take half of that back, "
                          "which matched your masks better on the 2 images kept aside.")
    assert "lean undone by 0.5: a test" in said.proto.help
