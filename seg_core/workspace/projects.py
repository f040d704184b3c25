"""Projects: each one a workspace folder (``Workspace``) under one home folder, named by its folder's name.

The home is ``$SEGAPP_HOME``, by default ``projects/`` beside app.py. ``Projects`` lists, creates, renames and
removes them; a removed project goes to the home's trash (``<home>/trash/<YYYYmmdd-HHMMSS>_<name>/<name>``, the
one naming scheme of ``trash``), never deleted, and ``restore`` takes it back. ``ensure`` prepares the home the
first time the app opens it: the workspace folder of earlier versions (``./workspace`` beside app.py) becomes
the project "workspace" of the default home (moved in one step, nothing copied or lost), and a home still without projects gets "Sample" with
the bundled sample images.

``$SEGAPP_WORKSPACE`` (``workspace.ENV_VAR``) still pins the app to that one folder: then there are no projects.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from seg_core.base.atomic import atomic_write_bytes
from seg_core.runs.folder import list_runs
from seg_core.workspace.layout import Layout
from seg_core.workspace.trash import DIR as TRASH, move_to_trash, restore_from_trash
from seg_core.workspace.workspace import ENV_VAR, LEGACY_ROOT, Workspace

HOME_VAR = "SEGAPP_HOME"
SAMPLE = "Sample"  # the project a new home starts with: the bundled sample images
LEGACY = "workspace"  # the name ./workspace of earlier versions gets as a project
MARK = ".initialised"  # in the home: ``ensure`` ran once (a removed Sample is not made again)
LAST = ".last_opened"  # in the home: the name of the project opened last (what a new tab opens)
MAX_LEN = 64
_ALLOWED = re.compile(r"[\w][\w .()+-]*")  # letters (any script), digits, _ and, after the first, space . ( ) + -


DEFAULT_HOME = LEGACY_ROOT.parent / "projects"  # beside app.py, where ./workspace was


def default_home() -> Path:
    return Path(os.environ.get(HOME_VAR) or DEFAULT_HOME)


def pinned_workspace() -> Path | None:
    """The one workspace ``$SEGAPP_WORKSPACE`` pins the app to, or None (the app offers the projects)."""
    value = os.environ.get(ENV_VAR)
    return Path(value) if value else None


class ProjectError(ValueError):
    """A project name refused (empty, bad characters, taken) or a project that does not exist; the message
    says which and why."""


@dataclass(frozen=True)
class Project:
    name: str
    root: Path

    def open(self) -> Workspace:
        """Its workspace (an empty project stays empty: the sample is loaded only when asked for)."""
        return Workspace(self.root, seed_sample=False)

    def counts(self) -> dict:
        """How many images, masks and runs it holds (read without creating anything)."""
        layout = Layout(self.root)
        stems = layout.stems() if layout.images_dir.is_dir() else []
        return {"images": len(stems), "masks": sum(layout.mask_path(s).exists() for s in stems),
                "runs": len(list_runs(layout.runs_dir))}


@dataclass(frozen=True)
class Removed:
    """A project in the home's trash: its name then, and the trash folder holding it."""
    name: str
    where: Path

    @property
    def removed(self) -> str:
        """When it was removed, as the trash folder's name says (``YYYYmmdd-HHMMSS``)."""
        stamp = self.where.name.split("_", 1)[0]
        return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}" if len(stamp) == 15 else stamp


def check_name(name: str) -> str:
    """``name`` as a project's (and its folder's) name, surrounding spaces dropped; ProjectError when it
    cannot be one."""
    name = (name or "").strip()
    if not name:
        raise ProjectError("A project needs a name.")
    if len(name) > MAX_LEN:
        raise ProjectError(f"'{name[:20]}…': a project name may be at most {MAX_LEN} characters long.")
    if name.lower() == TRASH or not _ALLOWED.fullmatch(name) or name.endswith("."):
        bad = sorted({c for c in name if not re.fullmatch(r"[\w .()+-]", c)})
        why = (f"it holds {' '.join(repr(c) for c in bad)}" if bad else
               f"'{TRASH}' is the name of the removed projects' folder" if name.lower() == TRASH else
               "it must start with a letter or digit and not end with a dot")
        raise ProjectError(f"'{name}' cannot be a project name: {why}. Use letters, digits, spaces and - _ . ( ) +.")
    return name


class Projects:
    """The projects under ``home`` (default ``default_home()``): folders, names = folder names."""

    def __init__(self, home: Path | None = None):
        self.home = Path(home) if home is not None else default_home()

    # -- reading ------------------------------------------------------------------------------
    def list(self) -> list[Project]:
        """The projects, by name (case ignored); hidden folders and the trash are not projects."""
        if not self.home.is_dir():
            return []
        return sorted((Project(p.name, p) for p in self.home.iterdir()
                       if p.is_dir() and not p.name.startswith(".") and p.name != TRASH),
                      key=lambda p: (p.name.casefold(), p.name))

    def get(self, name: str) -> Project:
        """The project named ``name`` (exactly); ProjectError when there is none."""
        found = next((p for p in self.list() if p.name == name), None)
        if found is None:
            raise ProjectError(f"There is no project '{name}' in {self.home}.")
        return found

    def _taken(self, name: str, but: str | None = None) -> None:
        other = next((p.name for p in self.list() if p.name.casefold() == name.casefold() and p.name != but), None)
        if other is not None:
            raise ProjectError(f"There is a project '{other}' already: choose another name.")

    def last_opened(self) -> str | None:
        """The project opened last (``opened``), if it was recorded and still exists."""
        try:
            name = (self.home / LAST).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if (self.home / name).is_dir() and name in {p.name for p in self.list()} else None

    def opened(self, name: str) -> None:
        """Record ``name`` as the project opened last."""
        atomic_write_bytes(self.home / LAST, name.encode("utf-8"))

    # -- changing -----------------------------------------------------------------------------
    def create(self, name: str, sample: bool = False, progress=None, cancel=None) -> Project:
        """A new empty project (``sample``: holding the bundled sample images and classes); ProjectError for a
        bad or taken name. ``progress``/``cancel`` as for ``Workspace.load_sample``."""
        name = check_name(name)
        self._taken(name)
        root = self.home / name
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            root.mkdir()
        except FileExistsError:  # made meanwhile (another tab)
            raise ProjectError(f"There is a project '{name}' already: choose another name.") from None
        ws = Workspace(root, seed_sample=False)
        if sample:
            ws.load_sample(progress, cancel)
        ws.mark_initialised()  # opened on its own (``--workspace``, SEGAPP_WORKSPACE) it is not seeded either
        return Project(name, root)

    def rename(self, old: str, new: str) -> Project:
        """Rename project ``old`` to ``new`` (its folder moves; everything in it stays)."""
        project = self.get(old)
        new = check_name(new)
        if new == old:
            return project
        self._taken(new, but=old)
        target = self.home / new
        if target.exists() and new.casefold() != old.casefold():
            raise ProjectError(f"There is a folder '{new}' in {self.home} already: choose another name.")
        last = self.last_opened()
        project.root.rename(target)
        if last == old:
            self.opened(new)
        return Project(new, target)

    def remove(self, name: str) -> Removed:
        """Move project ``name`` to the home's trash (``restore`` takes it back); returns where it is."""
        project = self.get(name)
        where = move_to_trash(self.home, name, [project.root])
        return Removed(name, where)

    def removed(self) -> list[Removed]:
        """The removed projects, newest first."""
        trash = self.home / TRASH
        if not trash.is_dir():
            return []
        out = [Removed(inner.name, d) for d in trash.iterdir() if d.is_dir()
               for inner in d.iterdir() if inner.is_dir()]
        return sorted(out, key=lambda r: r.where.name, reverse=True)

    def restore(self, removed: Removed, name: str | None = None) -> Project:
        """Take a removed project back, under its name or ``name``; ProjectError when that name is taken now."""
        name = check_name(name or removed.name)
        self._taken(name)
        src = removed.where / removed.name
        if not src.is_dir():
            raise ProjectError(f"{src}: no such removed project (restored already?).")
        if name == removed.name:
            restore_from_trash(self.home, removed.where, [self.home / name])
        else:
            src.rename(self.home / name)
        if not (self.home / name).is_dir():
            raise ProjectError(f"'{name}' could not be restored: a folder of that name appeared meanwhile.")
        try:
            removed.where.rmdir()  # the emptied trash folder
        except OSError:
            pass
        return Project(name, self.home / name)

    # -- the first open -----------------------------------------------------------------------
    def ensure(self, legacy: Path | None | str = "default") -> list[str]:
        """Prepare the home: adopt ``legacy`` (the workspace folder of earlier versions; by default ./workspace
        beside app.py, into the default home only: a home set elsewhere is not filled from this checkout) as a
        project, and on a home never prepared that has no project, create "Sample" with the bundled sample.
        Returns notes for the user (what was adopted, or why it could not be)."""
        if legacy == "default":
            legacy = LEGACY_ROOT if self.home.absolute() == DEFAULT_HOME.absolute() else None
        notes = []
        self.home.mkdir(parents=True, exist_ok=True)
        if legacy is not None and Path(legacy).is_dir():
            notes.append(self._adopt(Path(legacy)))
        mark = self.home / MARK
        if not mark.exists():
            if not self.list():
                try:
                    self.create(SAMPLE, sample=True)
                except ProjectError:  # made meanwhile by another server starting
                    pass
            mark.write_text("projects home\n")
        return notes

    def _adopt(self, legacy: Path) -> str:
        name, n = LEGACY, 1
        while (self.home / name).exists() or any(p.name.casefold() == name.casefold() for p in self.list()):
            n += 1
            name = f"{LEGACY}-{n}"
        try:
            os.rename(legacy, self.home / name)  # one step on one disk: the folder is whole here or there
        except OSError as err:
            return (f"The workspace of an earlier version at {legacy} could not be moved into {self.home} "
                    f"({err.strerror or err}); it is untouched: move it there yourself to open it as a project.")
        return f"The workspace of an earlier version ({legacy}) is now the project '{name}'."
