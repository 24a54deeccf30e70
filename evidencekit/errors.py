"""The one exception tree of evidencekit.

Library code raises only subclasses of `EvidenceKitError` (plus `TypeError` or
`ValueError` for programmer misuse). Exceptions carry data (`message`, `hint`,
`path`) and never print or exit; `evidencekit.cli` maps them to exit codes in one
place (see docs/exit-codes in `docs/volunteers.md`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class EvidenceKitError(Exception):
    """Root of every error evidencekit raises on purpose."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None, path: str | Path | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = str(path) if path is not None else None

    def __str__(self) -> str:
        if self.path and self.path not in self.message:
            return f"{self.path}: {self.message}"
        return self.message


class InputError(EvidenceKitError):
    """An input could not be read, or is not what a command accepts."""


class UnsafePathError(InputError):
    """A path is absolute, escapes its root, or collides with another after normalisation."""


class FormatError(EvidenceKitError):
    """A manifest, custody log, key or other file is malformed or of an unsupported version."""


class SigningKeyError(EvidenceKitError):
    """A signing key is missing, unreadable, or the passphrase is wrong."""


class BadSignatureError(EvidenceKitError):
    """A signature does not match the signed bytes (low-level; `verify()` reports it as a problem)."""

    exit_code = 1


class CaseBusyError(EvidenceKitError):
    """Another evidencekit command is changing the case right now."""


class CaseStateError(EvidenceKitError):
    """The case is not in a state the command can work on (not a case, interrupted capture, ...)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing `verify` found wrong (or worth saying), as data.

    `kind` is one of the documented kinds (see `PROBLEM_KINDS`); `item` is the item id when
    the problem concerns one; `path` is the file inside the case; `expected`/`found` are the
    values compared, as text.
    """

    kind: str
    message: str
    item: str | None = None
    path: str | None = None
    expected: str | None = None
    found: str | None = None

    def to_json(self) -> dict[str, str]:
        """Return the problem as a JSON-ready dict (absent fields left out)."""
        out = {"kind": self.kind, "message": self.message}
        for name in ("item", "path", "expected", "found"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


#: Problem kinds that make verification fail (exit 1).
FAILING_KINDS = (
    "altered",
    "missing",
    "unexpected",
    "bad-signature",
    "untrusted-signer",
    "chain-broken",
    "manifest-mismatch",
    "malformed",
    "interrupted",
)
#: Kinds that are reported but do not make verification fail.
NOTICE_KINDS = ("hash-only", "not-included", "unpinned-signer", "encrypted-not-checked")
PROBLEM_KINDS = FAILING_KINDS + NOTICE_KINDS


class VerificationError(EvidenceKitError):
    """The evidence does not check out; `.problems` lists every problem found, and `.report` the full result."""

    exit_code = 1

    def __init__(self, message: str, problems: Sequence[Problem], report: object | None = None):
        super().__init__(message)
        self.problems = list(problems)
        self.report = report
