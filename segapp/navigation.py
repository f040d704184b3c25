"""The app's pages, in workflow order: one table that app.py declares with ``st.navigation``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PageSpec:
    file: str  # in segapp/pages/
    title: str
    icon: str
    url_path: str
    default: bool = False

    @property
    def path(self) -> str:
        return str(HERE / "pages" / self.file)


PAGES = (
    PageSpec("data.py", "Data", ":material/folder:", "Data", default=True),
    PageSpec("annotate.py", "Annotate", ":material/brush:", "Annotate"),
    PageSpec("train.py", "Train", ":material/model_training:", "Train"),
    PageSpec("review.py", "Review", ":material/search:", "Review"),
    PageSpec("runs.py", "Runs & export", ":material/inventory_2:", "Runs"),
)
