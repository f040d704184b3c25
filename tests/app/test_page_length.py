"""Pages only lay out widgets (their sections are in segapp): no file in pages/ is longer than 200 lines."""
from page_helpers import PAGES

MAX_LINES = 200


def test_no_page_is_longer_than_200_lines():
    pages = sorted(PAGES.glob("*.py"))
    assert len(pages) >= 5  # data, annotate, train, review, runs
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in pages}
    too_long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert not too_long, f"pages over {MAX_LINES} lines (move sections into segapp): {too_long}"
