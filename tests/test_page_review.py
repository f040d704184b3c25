"""The Review page: scores of a run, overlays, the dense CRF panel."""
from page_helpers import elements, page


def test_review_page_scores_run_and_shows_images(use_trained):
    at = page("4_Review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    per_class = at.dataframe[0].value
    assert list(per_class["class"]) == ["background", "cell", "nucleus"]
    assert per_class["IoU"].between(0, 1).all()
    per_image = at.dataframe[1].value
    assert len(per_image) == 10 and per_image["miou"].is_monotonic_increasing
    # the run held 2 of the 10 labelled images out: they are marked and scored on their own
    assert sorted(per_image["split"].value_counts().items()) == [("train", 8), ("validation", 2)]
    assert any(m.label == "mIoU, held out (2 img)" for m in at.metric)
    assert any(m.label == "mIoU, all labelled" for m in at.metric)
    assert len(elements(at, "image")) >= 2


def test_review_page_crf_shows_before_after_and_delta(use_trained):
    at = page("4_Review.py").run()
    n_images = len(elements(at, "image"))
    at.toggle(key="crf_on").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(elements(at, "image")) == n_images + 2  # before and after
    delta = next(m for m in at.metric if m.label == "mIoU on this image")
    assert 0.0 <= float(delta.value) <= 1.0 and delta.delta.startswith(("+", "-"))
