"""What an import did: one result per file (imported, renamed or refused, and why), gathered in a report."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

IMPORTED, RENAMED, REFUSED = "imported", "renamed", "refused"


@dataclass
class FileResult:
    """What happened to one file: ``imported`` as ``name``, ``renamed`` to ``name``, or ``refused``."""

    file: str  # as the user named it (a zip's entries: "set.zip: a.png")
    status: str  # IMPORTED, RENAMED or REFUSED
    name: str | None = None  # its name in the workspace (an image's or mask's stem; "classes.json")
    reason: str = ""  # refused: why; renamed: why; imported: a note (what was replaced), often empty
    kind: str = "image"  # image, mask, classes, zip or file

    def line(self) -> str:
        if self.status == REFUSED:
            return f"{self.file}: refused: {self.reason}"
        verb = "imported as" if self.status == IMPORTED else "renamed to"
        what = "" if self.kind == "image" else f" ({self.kind})"
        return f"{self.file}: {verb} {self.name}{what}" + (f"; {self.reason}" if self.reason else "")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)  # images stored, by their workspace name
    problems: list[str] = field(default_factory=list)  # "file: why" of each refused file
    files: list[FileResult] = field(default_factory=list)  # every file, in the order handled
    not_imported: list[str] | None = None  # cancelled: the files not handled (None: not cancelled)

    def add(self, r: FileResult) -> FileResult:
        self.files.append(r)
        if r.status == REFUSED:
            self.problems.append(f"{r.file}: {r.reason}")
        elif r.kind == "image":
            self.added.append(r.name)
        return r

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.files)

    @property
    def any_imported(self) -> bool:
        return any(r.status != REFUSED for r in self.files)

    def lines(self) -> list[str]:
        return [r.line() for r in self.files]

    def notes(self) -> list[tuple[str, str]]:
        """(level, line) for what a user should notice besides the added images and the refusals: renamed
        files ("warning"), stored masks and classes, replacements ("info")."""
        return [("warning" if r.status == RENAMED else "info", r.line()) for r in self.files
                if r.status != REFUSED and (r.status == RENAMED or r.kind != "image" or r.reason)]

    @property
    def cancelled(self) -> bool:
        return self.not_imported is not None

    def cancel_note(self) -> str:
        """What a cancelled import kept: "cancelled after 12 of 40 files: ..." ("" when not cancelled)."""
        if not self.cancelled:
            return ""
        done, left = len(self.files), len(self.not_imported)
        kept = self.count(IMPORTED) + self.count(RENAMED)
        return (f"cancelled after {done} of {done + left} files: the {kept} file(s) imported are kept"
                + (f", {self.count(REFUSED)} refused" if self.count(REFUSED) else "")
                + f"; {left} not imported" + (f" ({_names(self.not_imported)})" if left else ""))

    def to_json(self) -> dict:
        out = {"files": [asdict(r) for r in self.files], "imported": self.count(IMPORTED),
               "renamed": self.count(RENAMED), "refused": self.count(REFUSED)}
        if self.cancelled:  # only then: the keys above are the whole object otherwise
            out |= {"cancelled": True, "not_imported": list(self.not_imported)}
        return out


def _names(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


class Refused(ValueError):
    """One file refused; the message is the reason (without the file's name)."""
