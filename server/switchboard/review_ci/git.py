"""What a patch changed, read from git through its plumbing (`git diff --name-status -z`, ...).

Nothing here decides what to review; `selection` does. Errors are `GitError`, one sentence.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)


class GitError(Exception):
    """git could not tell us what changed; the message says why."""


@dataclass(frozen=True)
class FileChange:
    """One changed file: its path now (relative to the repository root) and git's status."""

    path: str
    status: str  # A, M, D, R, C, T: the first letter of git's status
    old_path: str | None = None  # for renames and copies
    binary: bool = False


@dataclass(frozen=True)
class Patch:
    """The changes between a base and either the working tree or the index (`staged`)."""

    repo: Repository
    base: str  # a commit id ("HEAD" for staged changes)
    staged: bool
    files: tuple[FileChange, ...]

    def _diff_args(self) -> list[str]:
        return ["--cached", self.base] if self.staged else [self.base]

    def changed_lines(self, change: FileChange) -> list[tuple[int, int]]:
        """The added or changed lines of the file now (0-based, inclusive); a pure deletion
        marks the lines either side of where the lines were."""
        paths = [change.path] if change.old_path is None else [change.old_path, change.path]
        out = self.repo.git(
            "diff", "--unified=0", "-M", "--no-color", "--no-ext-diff", *self._diff_args(),
            "--", *paths,
        )  # fmt: skip
        ranges = []
        for match in _HUNK.finditer(out):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            if count == 0:  # deleted after line `start`: mark its neighbours
                ranges.append((max(start - 1, 0), start))
            else:
                ranges.append((start - 1, start + count - 2))
        return ranges

    def read(self, change: FileChange) -> bytes:
        """The file as the patch leaves it: from the index when staged, else from disk."""
        if self.staged:
            return self.repo.git_bytes("show", f":{change.path}")
        return (self.repo.root / change.path).read_bytes()


@dataclass(frozen=True)
class Repository:
    root: Path

    @classmethod
    def at(cls, where: Path) -> Repository:
        try:
            out = _run(["git", "rev-parse", "--show-toplevel"], where)
        except GitError:
            raise GitError(f"{where} is not inside a git repository") from None
        return cls(Path(out.decode().strip()))

    def git(self, *args: str) -> str:
        return self.git_bytes(*args).decode("utf-8", "replace")

    def git_bytes(self, *args: str) -> bytes:
        return _run(["git", "-c", "core.quotePath=false", *args], self.root)

    def _exists(self, ref: str) -> bool:
        try:
            self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            return False
        return True

    def default_branch(self) -> str:
        """origin/HEAD where a clone set it, else main or master (local, then origin's)."""
        try:
            ref = self.git("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
        except GitError:
            ref = ""
        if ref and self._exists(ref):
            return ref.removeprefix("refs/remotes/")
        for candidate in ("main", "master", "origin/main", "origin/master"):
            if self._exists(candidate):
                return candidate
        raise GitError(
            "cannot tell the repository's default branch (no origin/HEAD, main or master); "
            "name the base: --diff BASE"
        )

    def merge_base(self, base: str) -> str:
        if not self._exists(base):
            raise GitError(f"{base!r} is not a commit or branch in this repository")
        try:
            return self.git("merge-base", base, "HEAD").strip()
        except GitError:
            raise GitError(f"{base} and HEAD have no common ancestor") from None

    def patch(self, base: str | None, *, staged: bool = False) -> Patch:
        """The changes since the merge base with `base` (default: the default branch), up to
        the working tree; or, `staged`, the changes in the index."""
        if staged:
            commit = "HEAD" if self._exists("HEAD") else _EMPTY_TREE
        else:
            commit = self.merge_base(base or self.default_branch())
        args = ["--cached", commit] if staged else [commit]
        status = self.git_bytes("diff", "--name-status", "-z", "-M", "--no-color", *args)
        numstat = self.git_bytes("diff", "--numstat", "-z", "-M", "--no-color", *args)
        files = _name_status(status)
        binary = _binary_paths(numstat)
        files = [FileChange(f.path, f.status, f.old_path, binary=f.path in binary) for f in files]
        return Patch(self, commit, staged, tuple(files))


# The id of git's empty tree: what a first commit's staged changes are compared with.
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _run(argv: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"{' '.join(argv[:3])} took over a minute") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"{' '.join(argv)} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def _name_status(out: bytes) -> list[FileChange]:
    """`--name-status -z`: STATUS NUL PATH NUL, with a second path for renames and copies."""
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    files, i = [], 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            files.append(FileChange(fields[i + 2], status, old_path=fields[i + 1]))
            i += 3
        else:
            files.append(FileChange(fields[i + 1], status))
            i += 2
    return files


def _binary_paths(out: bytes) -> set[str]:
    """`--numstat -z` shows '-' for the line counts of a binary file."""
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    binary, i = set(), 0
    while i < len(fields) and fields[i]:
        added, deleted, path = fields[i].split("\t", 2)
        if path:
            i += 1
        else:  # a rename: the two paths follow as their own fields
            path = fields[i + 2]
            i += 3
        if added == "-" and deleted == "-":
            binary.add(path)
    return binary
