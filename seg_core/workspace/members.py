"""Who may do what in a project: its members, each with a role, kept in the project folder (``members.json``).

The roles, and what each allows (``ROLES``: one table, read by the app's guards, the command line and the docs):

| role | may |
|---|---|
| owner | everything an annotator may, and change the members, rename and remove the project |
| annotator | look, download, import, paint and save masks, accept proposals, edit classes, train, export, delete runs |
| viewer | look at images, masks, runs and results, and download them |

``members.json`` is ``{"members": {"<email>": "<role>", ...}}``, written atomically (``seg_core.base.atomic``)
under the workspace's lock, so two tabs, two servers and the command line never lose a change. A project
keeps at least one owner: removing (or demoting) its last owner is refused. ``check`` raises ``NotAllowed``
naming the person, the role and the action.
"""
from __future__ import annotations

import getpass
import json
import re
from pathlib import Path

from seg_core.base.atomic import atomic_write_text
from seg_core.workspace.lock import mask_lock

FILE = "members.json"
# action -> what it is, in words ("<person> (<role>) may not <words>")
ACTIONS: dict[str, str] = {
    "view": "look at this project",
    "download": "download images, masks and results",
    "import": "add images and masks",
    "paint": "change masks",
    "accept": "accept a proposal as the mask",
    "classes": "change the classes",
    "remove_image": "remove images",
    "train": "start a training",
    "export": "export a model",
    "delete_run": "delete a run",
    "rename": "rename the project",
    "remove": "remove the project",
    "members": "change who may work on the project",
}
_VIEWER = frozenset({"view", "download"})
_ANNOTATOR = _VIEWER | {"import", "paint", "accept", "classes", "remove_image", "train", "export", "delete_run"}
# role -> the actions it allows
ROLES: dict[str, frozenset[str]] = {
    "owner": _ANNOTATOR | {"rename", "remove", "members"},
    "annotator": _ANNOTATOR,
    "viewer": _VIEWER,
}
OWNER = "owner"
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


class MemberError(ValueError):
    """A member change refused (an unknown role, not an e-mail address, the last owner, a damaged file)."""


class NotAllowed(PermissionError):
    """``person`` (of ``role``, None: no member) may not do ``action`` in the project."""

    def __init__(self, person: str, role: str | None, action: str, project: str = ""):
        self.person, self.role, self.action = person, role, action
        where = f" in '{project}'" if project else ""
        ask = " Ask an owner of the project for a role that may." if role else ""
        super().__init__(f"{person} ({role or 'not a member'}) may not {ACTIONS.get(action, action)}{where}.{ask}")


def local_user() -> str:
    """Who works here without sign-in: the account of this machine's user (``getpass.getuser``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database
        return "local user"


def allows(role: str | None, action: str) -> bool:
    """Whether ``role`` (None: no member) may do ``action`` (one of ``ACTIONS``)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    return role in ROLES and action in ROLES[role]


def check_role(role: str) -> str:
    if role not in ROLES:
        raise MemberError(f"'{role}' is no role: one of {', '.join(ROLES)}")
    return role


def check_email(email: str) -> str:
    """``email`` as a member's key (spaces dropped, lower case); MemberError when it is no e-mail address."""
    email = (email or "").strip().lower()
    if not _EMAIL.fullmatch(email):
        raise MemberError(f"'{email}' is not an e-mail address (name@example.org)")
    return email


class Members:
    """The members of the project (workspace) folder ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / FILE

    def all(self) -> dict[str, str]:
        """e-mail -> role, sorted by e-mail ({} when the file does not exist); MemberError naming the file when
        it cannot be read."""
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            members = data["members"]
            if not isinstance(members, dict) or not all(r in ROLES for r in members.values()):
                raise ValueError("'members' must map e-mail addresses to one of " + ", ".join(ROLES))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise MemberError(f"{self.path}: cannot read the members ({err}); fix or remove the file") from None
        return dict(sorted(members.items()))

    def role_of(self, email: str) -> str | None:
        return self.all().get((email or "").strip().lower())

    def _write(self, members: dict[str, str]) -> None:
        atomic_write_text(self.path, json.dumps({"members": dict(sorted(members.items()))}, indent=2) + "\n")

    def set(self, email: str, role: str) -> dict[str, str]:
        """Give ``email`` the ``role`` (added, or its role changed); the members after. Demoting the last owner
        is refused."""
        email, role = check_email(email), check_role(role)
        with mask_lock(self.root):
            members = self.all()
            if members.get(email) == OWNER and role != OWNER and list(members.values()).count(OWNER) == 1:
                raise MemberError(f"{email} is the project's last owner: make someone else an owner first")
            members[email] = role
            self._write(members)
        return self.all()

    def remove(self, email: str) -> dict[str, str]:
        """Take ``email`` off the members; the members after. Removing the last owner, or someone who is no
        member, is refused."""
        email = (email or "").strip().lower()
        with mask_lock(self.root):
            members = self.all()
            if email not in members:
                raise MemberError(f"{email} is not a member of {self.root.name}")
            if members[email] == OWNER and list(members.values()).count(OWNER) == 1:
                raise MemberError(f"{email} is the project's last owner: make someone else an owner first")
            del members[email]
            self._write(members)
        return self.all()

    def check(self, email: str, action: str) -> str:
        """The role of ``email``; ``NotAllowed`` naming them, their role and ``action`` when it does not allow
        it."""
        role = self.role_of(email)
        if not allows(role, action):
            raise NotAllowed(email, role, action, self.root.name)
        return role
