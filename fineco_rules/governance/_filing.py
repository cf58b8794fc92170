"""The filing registry: city policies filed with the province, certified by signature, logged by hash chain.

The registry is a plain folder a provincial office can keep under version control:
``filings/<id>.json`` (what was filed), ``results/<id>.json`` (result sets under review) and
``log.jsonl``, an append-only log whose every entry carries the hash of the one before it.
Certification is an Ed25519 signature by the province's key; without that key nobody can certify,
whatever they can write in the folder.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fineco_rules.errors import Code, FilingError, Location, Problem
from fineco_rules.governance._names import check_id, check_text, check_who
from fineco_rules.io._atomic import append_atomic, write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.policy._model import Policy
from fineco_rules.scoring._host import PluginHost

__all__ = [
    "FilingError",
    "Registry",
    "Status",
    "generate_keys",
    "load_private_key",
    "load_public_key",
    "policy_fingerprint",
]

GENESIS: Final = "0" * 64
_DAMAGED_UTF8: Final = object()
#: Problems that stop every official run, whatever filing it would use.
_FATAL: Final = frozenset(
    {Code.CHAIN_BROKEN, Code.ENTRY_EDITED, Code.LOG_DAMAGED, Code.LOG_TRUNCATED, Code.LOG_DIVERGED}
)
#: Problems that mean the registry was tampered with or damaged (``fineco`` exits 2), not a workflow refusal.
TAMPERING: Final = frozenset(
    {
        "log-damaged",
        "record-damaged",
        "stray-record",
        "chain-broken",
        "entry-edited",
        "record-changed",
        "bad-signature",
        "log-truncated",
        "log-diverged",
        "bad-checkpoint",
    }
)


def canonical(data: object) -> bytes:
    """The one byte form of a record that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return dumps(data, indent=None, sort_keys=True, compact=True).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# -- keys ------------------------------------------------------------------------------------


def generate_keys(folder: str | os.PathLike[str], name: str = "province") -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: ``name.key`` (private, mode 600) and ``name.pub``."""
    check_id(name, "key name")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    private, public = out / f"{name}.key", out / f"{name}.pub"
    for path in (private, public):
        if path.exists():
            raise FilingError(
                Problem(
                    f"{path} exists already",
                    Location(str(path)),
                    "move the old key away first; a lost key cannot be recovered",
                    Code.KEY_EXISTS,
                )
            )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomic(private, pem, mode=0o600, exclusive=True)
    write_atomic(
        public,
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )
    return private, public


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    key = _load_key(path, serialization.load_pem_private_key, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise FilingError(
            Problem("not an Ed25519 private key", Location(str(path)), "use `fineco filing keygen`", Code.BAD_KEY)
        )
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    key = _load_key(path, serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise FilingError(Problem("not an Ed25519 public key", Location(str(path)), "give the .pub file", Code.BAD_KEY))
    return key


def _load_key(path: str | os.PathLike[str], loader: Any, **kwargs: Any) -> Any:
    try:
        return loader(Path(path).read_bytes(), **kwargs)
    except OSError as exc:
        raise FilingError(
            Problem(f"cannot read the key: {exc.strerror or exc}", Location(str(path)), "check the path", Code.BAD_KEY)
        ) from None
    except (ValueError, TypeError) as exc:
        raise FilingError(
            Problem(f"not a PEM key: {exc}", Location(str(path)), "use `fineco filing keygen`", Code.BAD_KEY)
        ) from None


# -- what a filing holds ------------------------------------------------------------------------


def _code_files(plugin: object) -> tuple[str, list[Path]]:
    """The source files of the package that provides ``plugin`` (a module or an object)."""
    module = plugin if isinstance(plugin, ModuleType) else sys.modules[type(plugin).__module__]
    top = sys.modules[module.__name__.partition(".")[0]]
    paths = getattr(top, "__path__", None)
    if paths:
        root = Path(next(iter(paths)))
        files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
        return top.__name__, sorted(files)
    return top.__name__, [Path(str(top.__file__))]


def code_hash(plugin: object) -> str:
    """SHA-256 over the names and bytes of every source file of the plugin's package."""
    files = _code_files(plugin)[1]
    digest = hashlib.sha256()
    base = files[0].parent if len(files) == 1 else Path(os.path.commonpath(files))
    for path in files:
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def policy_fingerprint(policy: Policy, host: PluginHost) -> dict[str, Any]:
    """What official use depends on: every policy file in the chain and every plugin's code, hashed."""
    files = [
        {"id": pid, "version": version, "file": Path(file).name, "sha256": sha256(Path(file).read_bytes())}
        for pid, version, file in policy.chain
    ]
    scorers = sorted({i.scorer for i in policy.indicators.values()})
    plugins = []
    for name in scorers:
        entry = host.scorer(name)
        plugins.append(
            {
                "scorer": name,
                "scorer_version": entry.version,
                "plugin": entry.plugin,
                "distribution": entry.distribution,
                "distribution_version": entry.distribution_version,
                "sha256": code_hash(host.pm.get_plugin(entry.plugin)),
            }
        )
    return {"policy": {"id": policy.id, "version": policy.version}, "files": files, "plugins": plugins}


# -- the registry ---------------------------------------------------------------------------


@attrs.frozen
class Status:
    """Where one filing or result set stands, judged from the log."""

    subject: str
    kind: str  # filing | results
    state: str  # submitted | reviewed | certified | published | revoked
    history: tuple[Mapping[str, Any], ...]
    problems: tuple[Problem, ...] = ()


class Registry:
    """A registry folder. Every change appends one hash-chained entry to ``log.jsonl``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.log_path = self.root / "log.jsonl"
        self.checkpoint_path = self.root / "checkpoint.json"

    def _where(self, path: Path | None = None, line: int | None = None) -> Location:
        return Location(str(path or self.root), line)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, across processes: an exclusive lock on ``.lock``."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / ".lock", "a+")  # noqa: SIM115 - closed below, after the lock is released
        except OSError as exc:
            raise FilingError(
                Problem(
                    f"cannot open the registry's lock file: {exc.strerror or exc}",
                    self._where(self.root / ".lock"),
                    "check that the registry folder exists and that you may write in it",
                    Code.REGISTRY_UNWRITABLE,
                )
            ) from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # entries

    def entries(self) -> list[dict[str, Any]]:
        """The log's entries, each a JSON object; a damaged log is a ``FilingError`` naming the line."""
        try:
            raw = self.log_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise FilingError(
                Problem(
                    f"cannot read the log: {exc.strerror or exc}",
                    self._where(self.log_path),
                    "the log must be a file; restore it from version control",
                    Code.LOG_DAMAGED,
                )
            ) from None
        out = []
        for number, line in enumerate(raw.splitlines(), 1):
            try:
                entry = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                entry = _DAMAGED_UTF8
            except json.JSONDecodeError:
                entry = None
            if entry is _DAMAGED_UTF8 or not isinstance(entry, dict):
                what = "is not UTF-8" if entry is _DAMAGED_UTF8 else "is not a JSON object"
                raise FilingError(
                    Problem(
                        f"log line {number} {what}: the log is damaged",
                        self._where(self.log_path, number),
                        "the log was edited by hand; restore it from version control",
                        Code.LOG_DAMAGED,
                    )
                )
            out.append(entry)
        return out

    def _append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry, whole or not at all (the caller holds the lock): readers never see half a line."""
        entries = self.entries()
        entry = {"seq": len(entries) + 1, "time": _now(), **entry, "prev": entries[-1]["hash"] if entries else GENESIS}
        entry["hash"] = sha256(canonical(entry))
        append_atomic(self.log_path, dumps(entry, indent=None, sort_keys=True) + "\n")
        return entry

    def _write(self, path: Path, record: Mapping[str, Any]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FilingError(
                Problem(
                    f"cannot create the folder {path.parent}: {exc.strerror or exc}",
                    self._where(path.parent),
                    "check the registry folder's permissions and free space",
                    Code.WRITE_FAILED,
                )
            ) from exc
        write_atomic(path, dumps(record, sort_keys=True) + "\n")

    @staticmethod
    @contextlib.contextmanager
    def _undone_on_failure(record: Path | None) -> Iterator[None]:
        """A record written for a log entry that then failed is removed: no record without its entry."""
        try:
            yield
        except BaseException:
            if record is not None:
                with contextlib.suppress(OSError):
                    record.unlink()
            raise

    def _folder(self, kind: str) -> Path:
        return self.root / ("filings" if kind == "filing" else "results")

    def _record(self, kind: str, subject: str) -> tuple[Path, dict[str, Any]]:
        """The record of ``subject``, found by its id (never by a field some file claims); it must be an object."""
        check_id(subject, f"{kind} id")
        path = self._folder(kind) / f"{subject}.json"
        try:
            record = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            known = ", ".join(self._subjects(kind)) or "none"
            raise FilingError(
                Problem(
                    f"no {kind} {subject!r} in the registry", self._where(path), f"known: {known}", Code.UNKNOWN_SUBJECT
                )
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict) or (kind == "filing" and record.get("filing") != subject):
            raise FilingError(
                Problem(
                    f"the record of {kind} {subject} is damaged (not the JSON object that was filed)",
                    self._where(path),
                    "restore it from version control",
                    Code.RECORD_DAMAGED,
                )
            )
        return path, record

    def _subjects(self, kind: str) -> list[str]:
        """The subjects the log says were submitted, in order: the only records the registry knows."""
        try:
            entries = self.entries()
        except FilingError:
            return []
        seen = dict.fromkeys(
            str(e.get("subject")) for e in entries if e.get("kind") == kind and e.get("action") == "submit"
        )
        return list(seen)

    def _strays(self) -> list[Problem]:
        """Files in ``filings/`` or ``results/`` that no submit entry names: never read, but reported."""
        problems = []
        for kind in ("filing", "results"):
            known = {f"{s}.json" for s in self._subjects(kind)}
            folder = self._folder(kind)
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.name not in known and not path.name.startswith("."):
                    problems.append(
                        Problem(
                            f"{path.name} is in {folder.name}/ but no log entry submitted it; it is ignored",
                            self._where(path),
                            "remove it, or file it properly with `fineco filing submit`",
                            Code.STRAY_RECORD,
                        )
                    )
        return problems

    # filings

    def submit_filing(self, policy: Policy, host: PluginHost, who: str, why: str = "") -> str:
        """File ``policy`` with everything it depends on; return the filing id."""
        check_id(policy.id, "policy id")
        check_id(policy.version, "policy version")
        check_who(who)
        check_text(why)
        record = policy_fingerprint(policy, host)
        digest = sha256(canonical(record))
        subject = f"{policy.id}-{policy.version}-{digest[:12]}"
        with self._locked():
            path = self.root / "filings" / f"{subject}.json"
            if path.exists():
                raise FilingError(
                    Problem(
                        f"this exact policy is filed already as {subject}",
                        self._where(path),
                        "check its status with `fineco filing status`",
                        Code.ALREADY_FILED,
                    )
                )
            self._write(path, {"filing": subject, **record})
            with self._undone_on_failure(path):
                self._append(
                    {
                        "kind": "filing",
                        "subject": subject,
                        "action": "submit",
                        "who": who,
                        "why": why,
                        "sha256": sha256(canonical({"filing": subject, **record})),
                    }
                )
        return subject

    def _signed(self, kind: str, subject: str, action: str, who: str, why: str, key: Ed25519PrivateKey) -> None:
        _path, record = self._record(kind, subject)
        digest = sha256(canonical(record))
        statement = {"kind": kind, "subject": subject, "action": action, "who": who, "why": why, "sha256": digest}
        signature = base64.b64encode(key.sign(canonical(statement))).decode()
        entry = self._append({**statement, "signature": signature})
        self._write_checkpoint(entry, key)

    def _write_checkpoint(self, head: Mapping[str, Any], key: Ed25519PrivateKey) -> None:
        """Sign the log's length and head hash (a signed tree head) and keep it as ``checkpoint.json``."""
        body = {"kind": "checkpoint", "size": head["seq"], "head": head["hash"], "time": _now()}
        signature = base64.b64encode(key.sign(canonical(body))).decode()
        write_atomic(self.checkpoint_path, json.dumps({**body, "signature": signature}, indent=2) + "\n")

    def checkpoints(self, trust: Ed25519PublicKey, given: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """The checkpoints signed by ``trust``: the registry's own and those ``given`` (from files or a cache)."""
        found: list[Any] = list(given)
        with contextlib.suppress(FilingError):
            found.append(read_json(self.checkpoint_path))
        return [dict(c) for c in found if isinstance(c, Mapping) and checkpoint_ok(c, trust)]

    def _anchored(self, entries: Sequence[Mapping[str, Any]], anchors: Sequence[Mapping[str, Any]]) -> list[Problem]:
        """The log must hold every checkpoint: at least as long, and the same entry at each checkpoint's head."""
        problems = []
        for point in sorted(anchors, key=lambda c: int(c["size"])):
            size = int(point["size"])
            if len(entries) < size:
                problems.append(
                    Problem(
                        f"the log has {len(entries)} entries but a checkpoint signed at {point.get('time')} "
                        f"vouches for {size}: entries were removed",
                        self._where(self.log_path),
                        "restore the log from version control or a copy; a truncated log is never official",
                        Code.LOG_TRUNCATED,
                    )
                )
            elif entries[size - 1].get("hash") != point["head"]:
                problems.append(
                    Problem(
                        f"log entry {size} is not the one the checkpoint signed at {point.get('time')} vouches "
                        "for: the log was rewritten",
                        self._where(self.log_path, size),
                        "restore the log from version control or a copy; a rewritten log is never official",
                        Code.LOG_DIVERGED,
                    )
                )
        return problems

    def certify(self, kind: str, subject: str, who: str, key: Ed25519PrivateKey, why: str = "") -> None:
        """Certify a filing or a reviewed result set, signing it with the province's key."""
        check_id(subject, f"{kind} id")
        check_who(who)
        check_text(why)
        with self._locked():
            self._record(kind, subject)
            state = self._state(kind, subject, None)
            wanted = "submitted" if kind == "filing" else "reviewed"
            if state.state != wanted:
                raise FilingError(
                    Problem(
                        f"{kind} {subject} is {state.state}; only a {wanted} one can be certified",
                        self._where(self.log_path),
                        None,
                        Code.WRONG_STATE,
                    )
                )
            self._signed(kind, subject, "certify", who, why, key)

    def revoke(self, subject: str, who: str, why: str, key: Ed25519PrivateKey) -> None:
        check_id(subject, "filing id")
        check_who(who)
        check_text(why)
        with self._locked():
            self._record("filing", subject)
            self._signed("filing", subject, "revoke", who, why, key)

    # results

    def submit_results(self, results: Mapping[str, Any], who: str, why: str = "") -> str:
        """Submit a result set for review; only results of an official evaluation are accepted."""
        if not isinstance(results, Mapping):
            raise FilingError(
                Problem(
                    "a result set is a JSON object, as `fineco evaluate --format json` writes it",
                    Location(),
                    "give the file `fineco evaluate --official --format json -o FILE` wrote",
                    Code.NOT_RESULTS,
                )
            )
        if not isinstance(results.get("official"), Mapping) or "filing" not in results["official"]:
            raise FilingError(
                Problem(
                    "these results come from an unofficial evaluation",
                    Location(),
                    "evaluate with --official --registry DIR --trust KEY first",
                    Code.UNOFFICIAL,
                )
            )
        check_who(who)
        check_text(why)
        digest = sha256(canonical(results))
        policy = results.get("policy")
        if not isinstance(policy, Mapping):
            policy = {}
        pid = check_id(policy.get("id", "results"), "policy id in the results")
        version = check_id(policy.get("version", "0"), "policy version in the results")
        subject = check_id(f"{pid}-{version}-{digest[:12]}", "result set id")
        with self._locked():
            path = self.root / "results" / f"{subject}.json"
            existed = path.exists()
            self._write(path, results)
            with self._undone_on_failure(None if existed else path):
                self._append(
                    {
                        "kind": "results",
                        "subject": subject,
                        "action": "submit",
                        "who": who,
                        "why": why,
                        "sha256": digest,
                    }
                )
        return subject

    def review(self, subject: str, who: str, why: str) -> None:
        """The city's initial review (初审) of a result set."""
        check_id(subject, "result set id")
        check_who(who)
        check_text(why)
        with self._locked():
            _path, record = self._record("results", subject)
            state = self._state("results", subject, None)
            if state.state != "submitted":
                raise FilingError(
                    Problem(
                        f"results {subject} are {state.state}, not submitted",
                        self._where(self.log_path),
                        None,
                        Code.WRONG_STATE,
                    )
                )
            self._append(
                {
                    "kind": "results",
                    "subject": subject,
                    "action": "review",
                    "who": who,
                    "why": why,
                    "sha256": sha256(canonical(record)),
                }
            )

    def publish(self, subject: str, who: str, trust: Ed25519PublicKey) -> dict[str, Any]:
        """Publish certified results; return the public export (no input the policy marks internal)."""
        check_id(subject, "result set id")
        check_who(who)
        with self._locked():
            state = self._state("results", subject, trust)
            if state.state != "certified" or state.problems:
                raise FilingError(
                    [*state.problems]
                    or [
                        Problem(
                            f"results {subject} are {state.state}; only results the province certified are published",
                            self._where(self.log_path),
                            "review, then certify them first",
                            Code.WRONG_STATE,
                        )
                    ]
                )
            _path, record = self._record("results", subject)
            self._append(
                {
                    "kind": "results",
                    "subject": subject,
                    "action": "publish",
                    "who": who,
                    "why": "",
                    "sha256": sha256(canonical(record)),
                }
            )
        return public_export(record)

    # status and verification

    def statuses(self, trust: Ed25519PublicKey | None) -> list[Status]:
        subjects = dict.fromkeys((e.get("kind", ""), e.get("subject", "")) for e in self.entries())
        return [self._state(kind, subject, trust) for kind, subject in subjects]

    def _state(self, kind: str, subject: str, trust: Ed25519PublicKey | None) -> Status:
        history = [e for e in self.entries() if e.get("subject") == subject and e.get("kind") == kind]
        problems: list[Problem] = []
        state = "unknown"
        current = None
        try:
            _, record = self._record(kind, subject)
            current = sha256(canonical(record))
        except FilingError as exc:
            problems.extend(p for p in exc.problems if p.code == Code.RECORD_DAMAGED)
        for entry in history:
            action = entry.get("action")
            if entry.get("sha256") != current:
                problems.append(
                    Problem(
                        f"{kind} {subject} changed after entry {entry.get('seq')} ({action})",
                        self._where(self.log_path, entry.get("seq")),
                        "the record no longer matches what was logged; file it again",
                        Code.RECORD_CHANGED,
                    )
                )
                continue
            if action in ("certify", "revoke") and trust is not None and not _signature_ok(entry, trust):
                problems.append(
                    Problem(
                        f"the {action} entry {entry.get('seq')} for {subject} has no valid "
                        "signature by the trusted key",
                        self._where(self.log_path, entry.get("seq")),
                        "only the province's private key can certify; this entry is ignored",
                        Code.BAD_SIGNATURE,
                    )
                )
                if action == "certify":
                    continue
            state = {
                "submit": "submitted",
                "review": "reviewed",
                "certify": "certified",
                "revoke": "revoked",
                "publish": "published",
            }.get(str(action), state)
            if state == "revoked":
                break
        return Status(subject, kind, state, tuple(history), tuple(problems))

    def verify(self, trust: Ed25519PublicKey | None, anchors: Sequence[Mapping[str, Any]] = ()) -> list[Problem]:
        """Every problem in the registry: a broken chain, an edited entry or record, a bad signature.

        With ``trust``, the log must also hold every checkpoint signed by it: the registry's own
        ``checkpoint.json`` and ``anchors`` (checkpoints kept elsewhere), so a log cut short or rewritten
        behind the newest checkpoint is caught even when its hash chain was recomputed.
        """
        problems: list[Problem] = []
        prev = GENESIS
        try:
            entries = self.entries()
        except FilingError as exc:
            return [*exc.problems, *self._strays()]
        for number, entry in enumerate(entries, 1):
            claimed = entry.get("hash")
            body = {k: v for k, v in entry.items() if k != "hash"}
            if entry.get("prev") != prev:
                problems.append(
                    Problem(
                        f"log entry {number} does not follow entry {number - 1}: the chain is broken",
                        self._where(self.log_path, number),
                        "an entry was removed, inserted or reordered; restore the log",
                        Code.CHAIN_BROKEN,
                    )
                )
            if sha256(canonical(body)) != claimed:
                problems.append(
                    Problem(
                        f"log entry {number} was edited after it was written",
                        self._where(self.log_path, number),
                        "restore the log from version control",
                        Code.ENTRY_EDITED,
                    )
                )
            prev = str(claimed)
        if trust is not None:
            problems.extend(self._anchored(entries, self.checkpoints(trust, anchors)))
        for status in self.statuses(trust):
            problems.extend(status.problems)
        return problems + self._strays()

    def official(
        self, policy: Policy, host: PluginHost, trust: Ed25519PublicKey, anchors: Sequence[Mapping[str, Any]] = ()
    ) -> str:
        """The certified filing that ``policy`` and its installed plugins match exactly, or ``FilingError``."""
        broken = [p for p in self.verify(trust, anchors) if p.code in _FATAL]
        if broken:
            raise FilingError(broken)
        mine = policy_fingerprint(policy, host)
        candidates = []
        for subject in self._subjects("filing"):
            try:
                record = self._record("filing", subject)[1]
            except FilingError:
                continue  # reported by verify; a damaged record certifies nothing
            if record.get("policy") == mine["policy"]:
                candidates.append(record)
        if not candidates:
            raise FilingError(
                Problem(
                    f"{policy.id} {policy.version} has never been filed in {self.root}",
                    Location(policy.file),
                    "file it (`fineco filing submit`) and have it certified",
                    Code.NOT_FILED,
                )
            )
        reasons: list[Problem] = []
        for record in reversed(candidates):
            subject = record["filing"]
            status = self._state("filing", subject, trust)
            differences = _differences(record, mine)
            if differences:
                reasons.append(
                    Problem(
                        f"{policy.id} {policy.version} differs from filing {subject}: " + "; ".join(differences),
                        Location(policy.file),
                        "file the changed policy again and have it certified",
                        Code.NOT_AS_FILED,
                    )
                )
            elif status.state != "certified" or status.problems:
                reasons.extend(status.problems)
                reasons.append(
                    Problem(
                        f"filing {subject} is {status.state}, not certified by the trusted key",
                        Location(policy.file),
                        "have the province certify it",
                        Code.NOT_CERTIFIED,
                    )
                )
            else:
                return str(subject)
        raise FilingError(reasons)


def _differences(filed: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    out = []
    before = {(f["id"], f["version"]): f["sha256"] for f in filed.get("files", [])}
    for f in now["files"]:
        if before.get((f["id"], f["version"])) != f["sha256"]:
            out.append(f"policy file {f['file']} ({f['id']} {f['version']}) changed")
    was = {p["scorer"]: p for p in filed.get("plugins", [])}
    for p in now["plugins"]:
        old = was.get(p["scorer"])
        if old is None:
            out.append(f"scorer {p['scorer']} was not part of the filing")
        elif old["sha256"] != p["sha256"] or old["distribution_version"] != p["distribution_version"]:
            out.append(
                f"the code of plugin {p['plugin']} ({p['distribution']} {p['distribution_version']}) "
                "is not the code that was filed"
            )
    return out


def _signature_ok(entry: Mapping[str, Any], trust: Ed25519PublicKey) -> bool:
    statement = {k: entry.get(k) for k in ("kind", "subject", "action", "who", "why", "sha256")}
    try:
        trust.verify(base64.b64decode(str(entry.get("signature", ""))), canonical(statement))
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint_ok(point: Mapping[str, Any], trust: Ed25519PublicKey) -> bool:
    """Whether ``point`` is a well-formed checkpoint signed by ``trust``."""
    body = {k: point.get(k) for k in ("kind", "size", "head", "time")}
    if body["kind"] != "checkpoint" or not isinstance(body["size"], int) or body["size"] < 1:
        return False
    try:
        trust.verify(base64.b64decode(str(point.get("signature", ""))), canonical(body))
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint_cache(root: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ``fineco`` remembers the newest checkpoint it saw for the registry at ``root``.

    ``cache_dir`` or ``$FINECO_CACHE_DIR`` or ``$XDG_CACHE_HOME/fineco-rules`` or ``~/.cache/fineco-rules``,
    then ``checkpoints/<hash of the registry's absolute path>.json``.
    """
    base = cache_dir or os.environ.get("FINECO_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = Path(xdg) / "fineco-rules"
    return Path(base) / "checkpoints" / f"{sha256(str(Path(root).resolve()).encode())[:32]}.json"


def remember_checkpoint(cache: Path, trust: Ed25519PublicKey, points: Sequence[Mapping[str, Any]]) -> None:
    """Keep the largest valid checkpoint of ``points`` (and the one remembered) in ``cache``."""
    known: list[Mapping[str, Any]] = list(points)
    with contextlib.suppress(FilingError):
        known.append(read_json(cache))
    valid = [c for c in known if isinstance(c, Mapping) and checkpoint_ok(c, trust)]
    if valid:
        newest = max(valid, key=lambda c: int(c["size"]))
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, json.dumps(dict(newest), indent=2) + "\n")


def anchors_for(
    root: str | os.PathLike[str], trust: Ed25519PublicKey, files: Sequence[str | os.PathLike[str]] = ()
) -> list[dict[str, Any]]:
    """The checkpoints to hold the log to: each of ``files`` (which must be signed by ``trust``) and the cached one."""
    out = []
    for path in files:
        point = read_json(path)
        if not isinstance(point, Mapping) or not checkpoint_ok(point, trust):
            raise FilingError(
                Problem(
                    "not a checkpoint signed by the trusted key",
                    Location(str(path)),
                    "give a checkpoint.json the province's certify or revoke wrote, and the province's public key",
                    Code.BAD_CHECKPOINT,
                )
            )
        out.append(dict(point))
    with contextlib.suppress(FilingError):
        cached = read_json(checkpoint_cache(root))
        if isinstance(cached, Mapping) and checkpoint_ok(cached, trust):
            out.append(dict(cached))
    return out


def public_export(record: Mapping[str, Any]) -> dict[str, Any]:
    """A result set as the public sees it: grades and scores, no internal inputs, no working."""
    internal = set(record.get("policy", {}).get("internal", []))
    rows = []
    for result in record.get("results", []):
        indicators = {
            name: {
                "score": ind.get("score"),
                "inputs": {k: v for k, v in ind.get("inputs", {}).items() if k not in internal},
            }
            for name, ind in result.get("indicators", {}).items()
        }
        rows.append(
            {key: result.get(key) for key in ("county", "name", "city", "grade", "score")} | {"indicators": indicators}
        )
    return {
        "policy": {k: v for k, v in record.get("policy", {}).items() if k != "internal"},
        "official": record.get("official"),
        "results": rows,
    }


def read_json(path: str | os.PathLike[str]) -> Any:
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise FilingError(
            Problem(
                f"cannot read {path}: {exc.strerror or exc}", Location(str(path)), "check the path", Code.UNREADABLE
            )
        ) from None
    except json.JSONDecodeError as exc:
        raise FilingError(
            Problem(
                f"not JSON: {exc.msg}",
                Location(str(path), exc.lineno, exc.colno),
                "give the file `fineco evaluate --format json` wrote",
                Code.NOT_JSON,
            )
        ) from None
