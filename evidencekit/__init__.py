"""evidencekit: preserve screenshots, photos and chat exports as signed, verifiable evidence.

The public API; every CLI command is a thin wrapper over one function here
(`docs/python-api.md` pairs them). Everything in `_`-prefixed modules is private.
"""

from __future__ import annotations

from ._version import __version__
from .capture import CaptureResult, capture
from .case import Case, custody_log, custody_note, init_case
from .chatindex import MessageQuery, list_chats, list_messages, reindex
from .demo import demo
from .duplicates import DuplicateCluster, HashList, find_duplicates, hash_list
from .encryption import lock
from .errors import (
    BadSignatureError,
    CaseBusyError,
    CaseStateError,
    EvidenceKitError,
    FormatError,
    InputError,
    Problem,
    SigningKeyError,
    UnsafePathError,
    VerificationError,
)
from .handover import custody_import_receipt, custody_receive, custody_transfer
from .items import list_items, show_item
from .keystore import KeyInfo, create_key, export_key, list_keys, load_signing_key
from .keystore import get_key_info as show_key
from .matching import Match, MatchResult, Thresholds, match
from .package import PackageResult, decrypt, package, unpack
from .recover import RecoverResult, recover
from .reports import ReportResult, report
from .signing import PublicKey, SigningKey
from .verify import VerificationReport, is_intact, parse_trust, verify

__all__ = [
    "DuplicateCluster",
    "HashList",
    "Match",
    "MatchResult",
    "Thresholds",
    "find_duplicates",
    "hash_list",
    "match",
    "ReportResult",
    "report",
    "MessageQuery",
    "list_chats",
    "list_messages",
    "reindex",
    "unpack",
    "package",
    "decrypt",
    "lock",
    "custody_transfer",
    "custody_receive",
    "custody_import_receipt",
    "PackageResult",
    "BadSignatureError",
    "CaptureResult",
    "Case",
    "CaseBusyError",
    "CaseStateError",
    "EvidenceKitError",
    "FormatError",
    "InputError",
    "KeyInfo",
    "Problem",
    "PublicKey",
    "RecoverResult",
    "SigningKey",
    "SigningKeyError",
    "UnsafePathError",
    "VerificationError",
    "VerificationReport",
    "__version__",
    "capture",
    "create_key",
    "custody_log",
    "custody_note",
    "demo",
    "export_key",
    "init_case",
    "is_intact",
    "list_items",
    "list_keys",
    "load_signing_key",
    "parse_trust",
    "recover",
    "show_item",
    "show_key",
    "verify",
]
