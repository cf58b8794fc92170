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
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from fineco_rules.errors import Code, FilingError, Location, Msg, Problem, join, tr, trc
from fineco_rules.governance import _decisions as decisions_
from fineco_rules.governance._names import check_id, check_text, check_who, known_city, same_city
from fineco_rules.governance._pinning import code_pins, pin_differences
from fineco_rules.io._atomic import append_atomic, write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.policy._model import Policy
from fineco_rules.scoring._host import PluginHost

if TYPE_CHECKING:  # cryptography loads where a key is made, read or checked (a cheap `fineco --help`)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "CityKey",
    "FilingError",
    "Registry",
    "Status",
    "attest",
    "certify_city_key",
    "check_attestation",
    "generate_keys",
    "key_id",
    "load_city_key",
    "load_private_key",
    "load_public_key",
    "policy_fingerprint",
]

GENESIS: Final = "0" * 64
#: The fields of a log entry its actor signs.
_SIGNED_FIELDS: Final = (
    "kind",
    "subject",
    "action",
    "who",
    "why",
    "sha256",
    "keyid",
    "decisions",
    "year",
    "corrects",
    "counties",
)
#: Steps only the province may take (signed with its key, each followed by a checkpoint).
_PROVINCE_STEPS: Final = ("certify", "revoke", "publish", "delist")
#: The test-only hook: ``FINECO_TEST_KILL_AT=<point>`` ends the process there (``os._exit(137)``).
KILL_ENV: Final = "FINECO_TEST_KILL_AT"
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
        "bad-attestation",
        "wrong-role",
        "wrong-city",
    }
)
#: The in-toto statement type and the predicate type of an official evaluation's attestation.
STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://fineco-rules.org/attestation/official-evaluation/v1"


def canonical(data: object) -> bytes:
    """The one byte form of a record that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return dumps(data, indent=None, sort_keys=True, compact=True).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kill_point(name: str) -> None:
    """Die here, without cleanup, when ``$FINECO_TEST_KILL_AT`` names this point (tests of crash safety only).

    Points: ``record-written`` (a record is on disk, its log entry not yet), ``entry-appended`` (a province
    step is logged, its checkpoint not yet written), ``export-written`` (the public export is written, the
    publish entry not yet logged).
    """
    if os.environ.get(KILL_ENV) == name:
        os._exit(137)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# -- keys ------------------------------------------------------------------------------------


def generate_keys(folder: str | os.PathLike[str], name: str = "province") -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: ``name.key`` (private, mode 600) and ``name.pub``."""
    check_id(name, tr("key name"))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    private, public = out / f"{name}.key", out / f"{name}.pub"
    for path in (private, public):
        if path.exists():
            raise FilingError(
                Problem(
                    tr("{path} exists already", path=path),
                    Location(str(path)),
                    tr("move the old key away first; a lost key cannot be recovered"),
                    Code.KEY_EXISTS,
                )
            )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomic(private, pem, mode=0o600, exclusive=True)
    write_atomic(
        public,
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )
    return private, public


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = _load_key(path, serialization.load_pem_private_key, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise FilingError(
            Problem(
                tr("not an Ed25519 private key"), Location(str(path)), tr("use `fineco filing keygen`"), Code.BAD_KEY
            )
        )
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = _load_key(path, serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise FilingError(
            Problem(tr("not an Ed25519 public key"), Location(str(path)), tr("give the .pub file"), Code.BAD_KEY)
        )
    return key


def _load_key(path: str | os.PathLike[str], loader: Any, **kwargs: Any) -> Any:
    try:
        return loader(Path(path).read_bytes(), **kwargs)
    except OSError as exc:
        raise FilingError(
            Problem(
                tr("cannot read the key: {reason}", reason=exc.strerror or exc),
                Location(str(path)),
                tr("check the path"),
                Code.BAD_KEY,
            )
        ) from None
    except (ValueError, TypeError) as exc:
        raise FilingError(
            Problem(
                tr("not a PEM key: {reason}", reason=exc),
                Location(str(path)),
                tr("use `fineco filing keygen`"),
                Code.BAD_KEY,
            )
        ) from None


def key_id(public: Ed25519PublicKey) -> str:
    """A key's id: the first 16 hex digits of the SHA-256 of its raw 32 bytes (printed by ``status``)."""
    from cryptography.hazmat.primitives import serialization

    return sha256(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))[:16]


def _sign(body: Mapping[str, Any], key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(canonical(body))).decode()


def _signed_by(body: Mapping[str, Any], signature: object, public: Ed25519PublicKey) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(base64.b64decode(str(signature), validate=True), canonical(body))
    except (InvalidSignature, ValueError):
        return False
    return True


def _raw_public(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def certify_city_key(city: str, public: Ed25519PublicKey, key: Ed25519PrivateKey, who: str) -> dict[str, Any]:
    """The province's signed city-key statement: ``public`` is the key of ``city`` (a certificate).

    Every step the city signs carries it, so the log holds the province's signed registration beside
    each city signature, and anyone with the province's public key can check both.
    """
    known_city(city)
    check_who(who)
    body = {
        "kind": "city-key",
        "city": city,
        "keyid": key_id(public),
        "public": _raw_public(public),
        "who": who,
        "time": _now(),
        "by": key_id(key.public_key()),
    }
    return {**body, "signature": _sign(body, key)}


def city_of(certificate: object, trust: Ed25519PublicKey) -> tuple[str, Ed25519PublicKey] | None:
    """The city and public key a city-key statement vouches for, if ``trust`` signed it; else None."""
    if not isinstance(certificate, Mapping):
        return None
    body = {k: certificate.get(k) for k in ("kind", "city", "keyid", "public", "who", "time", "by")}
    if body["kind"] != "city-key" or not _signed_by(body, certificate.get("signature"), trust):
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(body["public"]), validate=True))
    except ValueError:
        return None
    if key_id(public) != body["keyid"]:
        return None
    return str(body["city"]), public


@attrs.frozen
class CityKey:
    """A city's private key with the province's city-key statement for it (``fineco filing register-city``)."""

    key: Ed25519PrivateKey
    certificate: Mapping[str, Any]

    @property
    def city(self) -> str:
        return str(self.certificate.get("city"))

    @property
    def keyid(self) -> str:
        return key_id(self.key.public_key())


def load_city_key(path: str | os.PathLike[str], certificate: str | os.PathLike[str] | None = None) -> CityKey:
    """A city's private key and its city-key statement (by default ``<key stem>.cert.json`` beside it)."""
    key = load_private_key(path)
    cert_path = Path(certificate) if certificate else Path(path).with_suffix(".cert.json")
    if not cert_path.exists():
        raise FilingError(
            Problem(
                tr("{path} does not exist: this key was never registered by the province", path=cert_path),
                Location(str(path)),
                tr(
                    "have the province run "
                    "`fineco filing register-city --city CODE --public KEY.pub --key province.key`"
                ),
                Code.UNREGISTERED_KEY,
            )
        )
    cert = read_json(cert_path)
    if not isinstance(cert, Mapping) or cert.get("kind") != "city-key" or cert.get("keyid") != key_id(key.public_key()):
        raise FilingError(
            Problem(
                tr("not the province's city-key statement for this key"),
                Location(str(cert_path)),
                tr("give the .cert.json that `fineco filing register-city` wrote for this key"),
                Code.UNREGISTERED_KEY,
            )
        )
    return CityKey(key, dict(cert))


def _file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def attest(
    output: str | os.PathLike[str],
    filing: str,
    filed: Mapping[str, Any],
    inputs: Sequence[str | os.PathLike[str]],
    key: CityKey | None,
) -> dict[str, Any]:
    """The attestation of an official evaluation (an in-toto statement), signed with the city's key if given.

    subject: the output file's SHA-256; predicate: the filing, the hash of its record (the policy and code
    fingerprint), the city, each input file's SHA-256 and the time. Without ``key`` the statement is
    written unsigned, and ``results submit`` refuses it.
    """
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": Path(output).name, "digest": {"sha256": _file_sha256(output)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "filing": filing,
            "policy_fingerprint": sha256(canonical(filed)),
            "city": key.city if key else None,
            "inputs": [{"name": Path(p).name, "sha256": _file_sha256(p)} for p in inputs],
            "time": _now(),
        },
    }
    signatures = []
    if key is not None:
        signatures.append({"keyid": key.keyid, "sig": _sign(statement, key.key), "certificate": dict(key.certificate)})
    return {"statement": statement, "signatures": signatures}


def attestation_path(output: str | os.PathLike[str]) -> Path:
    """Where the attestation of ``output`` is kept: ``<output>.attestation.json``."""
    return Path(str(output) + ".attestation.json")


_REDO: Final = tr("evaluate again with `fineco evaluate --official ... -o FILE --key CITY_KEY` and submit that output")


class _Refused(Exception):
    """One attestation problem: the message, the fix and its code."""

    def __init__(self, message: Msg, fix: Msg = _REDO, code: str = Code.BAD_ATTESTATION) -> None:
        super().__init__(message)
        self.message, self.fix, self.code = message, fix, code


def check_attestation(
    attestation: object, raw: bytes, trust: Ed25519PublicKey, registry: Registry, where: Location, upto: int | None
) -> tuple[str | None, list[Problem]]:
    """Whether ``raw`` (an output's bytes) is what a registered city's official evaluation attested.

    Returns the attesting city and the problems: an unsigned or forged statement, an output that is not
    the one attested, a filing that was not certified when it was attested (the log up to entry ``upto``)
    or whose record is not the one attested, counties outside the city.
    """
    try:
        statement, city = _signed_statement(attestation, trust)
        predicate = _statement_for(statement, raw, city)
        results = _attested_results(raw)
        _check_filing(results, predicate, registry, trust, city, upto)
        _check_counties(results, city)
    except _Refused as exc:
        return None, [Problem(exc.message, where, exc.fix, exc.code)]
    except FilingError as exc:
        return None, list(exc.problems)
    return city, []


def _signed_statement(attestation: object, trust: Ed25519PublicKey) -> tuple[Mapping[str, Any], str]:
    """The statement and the city whose registered key signed it."""
    if not isinstance(attestation, Mapping) or not isinstance(attestation.get("statement"), Mapping):
        raise _Refused(tr("no attestation of an official evaluation"), code=Code.UNATTESTED)
    statement = attestation["statement"]
    signatures = attestation.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise _Refused(tr("the attestation is not signed by a city's key"), code=Code.UNSIGNED_ATTESTATION)
    for sig in signatures:
        if not isinstance(sig, Mapping):
            continue
        found = city_of(sig.get("certificate"), trust)
        if found and key_id(found[1]) == sig.get("keyid") and _signed_by(statement, sig.get("sig"), found[1]):
            return statement, found[0]
    raise _Refused(tr("the attestation's signature is not by a city key the province registered"))


def _statement_for(statement: Mapping[str, Any], raw: bytes, city: str) -> Mapping[str, Any]:
    """The statement's predicate, once it is an official-evaluation statement about exactly ``raw`` by ``city``."""
    predicate = statement.get("predicate")
    subjects = statement.get("subject")
    if (
        statement.get("_type") != STATEMENT_TYPE
        or statement.get("predicateType") != PREDICATE_TYPE
        or not isinstance(predicate, Mapping)
        or not isinstance(subjects, list)
        or len(subjects) != 1
        or not isinstance(subjects[0], Mapping)
    ):
        raise _Refused(tr("the attestation is not a statement of an official evaluation"))
    digest = subjects[0].get("digest")
    if not isinstance(digest, Mapping) or digest.get("sha256") != sha256(raw):
        raise _Refused(tr("the results are not the output that was attested: they were changed after the run"))
    if predicate.get("city") != city:
        raise _Refused(
            tr(
                "the attestation names city {named} but is signed by city {city}'s key",
                named=predicate.get("city"),
                city=city,
            )
        )
    return predicate


def _attested_results(raw: bytes) -> Mapping[str, Any]:
    try:
        results = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        results = None
    if not isinstance(results, Mapping):
        raise _Refused(tr("the attested output is not the JSON of `fineco evaluate --format json`"))
    return results


def _check_filing(
    results: Mapping[str, Any],
    predicate: Mapping[str, Any],
    registry: Registry,
    trust: Ed25519PublicKey,
    city: str,
    upto: int | None,
) -> None:
    """The attested filing is the one the results name, this city's, and was certified at the time."""
    filing = predicate.get("filing")
    official = results.get("official")
    if not isinstance(official, Mapping) or official.get("filing") != filing or not isinstance(filing, str):
        raise _Refused(
            tr("the results name filing {official!r}, the attestation {filing!r}", official=official, filing=filing)
        )
    _path, record = registry.record("filing", filing)
    if sha256(canonical(record)) != predicate.get("policy_fingerprint"):
        raise _Refused(tr("the attestation's policy fingerprint is not that of filing {filing}", filing=filing))
    if record.get("city") not in (None, city):
        raise _Refused(
            tr(
                "filing {filing} is city {owner}'s method; city {city} cannot grade under it",
                filing=filing,
                owner=record.get("city"),
                city=city,
            ),
            tr("grade your counties under your own city's certified filing"),
            Code.WRONG_CITY,
        )
    status = registry.state_of("filing", filing, trust, upto=upto)
    if status.state != "certified":
        raise _Refused(
            tr(
                "filing {filing} was {state}, not certified, when the results were submitted",
                filing=filing,
                state=STATE_WORDS[status.state],
            )
        )


def _check_counties(results: Mapping[str, Any], city: str) -> None:
    rows = results.get("results")
    outside = sorted(
        {str(r.get("county")) for r in rows if isinstance(r, Mapping) and not same_city(r.get("county", ""), city)}
        if isinstance(rows, list)
        else {"?"}
    )
    if outside:
        raise _Refused(
            tr("counties {counties} are not in city {city}", counties=join(outside[:5]), city=city),
            tr("grade only your own counties (--city)"),
            Code.WRONG_CITY,
        )


def _official_results(raw: bytes, source: str) -> Mapping[str, Any]:
    """The result set in ``raw``: a JSON object written by an official ``fineco evaluate``."""
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        parsed = None
    if not isinstance(parsed, Mapping):
        raise FilingError(
            Problem(
                tr("a result set is a JSON object, as `fineco evaluate --format json` writes it"),
                Location(source or None),
                tr("give the file `fineco evaluate --official --format json -o FILE` wrote"),
                Code.NOT_RESULTS,
            )
        )
    if not isinstance(parsed.get("official"), Mapping) or "filing" not in parsed["official"]:
        raise FilingError(
            Problem(
                tr("these results come from an unofficial evaluation"),
                Location(source or None),
                tr("evaluate with --official --registry DIR --trust KEY first"),
                Code.UNOFFICIAL,
            )
        )
    return parsed


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
    internal = sorted(name for name, spec in policy.inputs.items() if spec.internal)
    return {
        "policy": {"id": policy.id, "version": policy.version},
        "files": files,
        "plugins": plugins,
        "internal": internal,
        "code": code_pins(host),
    }


# -- the registry ---------------------------------------------------------------------------


#: What the registry holds: a city's filed method, or a set of results.
SubjectKind = Literal["filing", "results"]
#: Where a subject stands (``unknown`` before its first accepted step).
State = Literal["unknown", "submitted", "reviewed", "certified", "published", "revoked"]
#: Each state in words, for messages (备案 and 结果 share them).
STATE_WORDS: Final[Mapping[str, Msg]] = {
    "unknown": trc("registry state", "unknown"),
    "submitted": trc("registry state", "submitted"),
    "reviewed": trc("registry state", "reviewed"),
    "certified": trc("registry state", "certified"),
    "published": trc("registry state", "published"),
    "revoked": trc("registry state", "revoked"),
}
#: What the registry holds, in words.
KIND_WORDS: Final[Mapping[str, Msg]] = {
    "filing": trc("registry kind", "filing"),
    "results": trc("registry kind", "results"),
}
#: Each logged step, in words.
ACTION_WORDS: Final[Mapping[str, Msg]] = {
    "submit": trc("registry step", "submit"),
    "review": trc("registry step", "review"),
    "certify": trc("registry step", "certify"),
    "revoke": trc("registry step", "revoke"),
    "publish": trc("registry step", "publish"),
    "delist": trc("registry step", "delist"),
}
_CITY_SIGNS: Final = tr("a city signs its submits and reviews with its key (--key); this entry is ignored")


@attrs.frozen
class Status:
    """Where one filing or result set stands, judged from the log."""

    subject: str
    kind: SubjectKind
    state: State
    history: tuple[Mapping[str, Any], ...]
    problems: tuple[Problem, ...] = ()
    #: The entries that took effect (signed by their role when checked, in order).
    accepted: tuple[Mapping[str, Any], ...] = ()


class Registry:
    """A registry folder. Every change appends one hash-chained entry to ``log.jsonl``.

    Every step is signed by its role: a city (a key the province registered, :func:`certify_city_key`) submits
    filings and result sets and reviews its own results; the province certifies and revokes. Checked against
    the province's public key, a step without the right signature is reported and ignored. ``signed_steps=False``
    lets this object write and count unsigned city steps (for tests of the log itself); any reader with the
    default still ignores them, so they never become official.
    """

    def __init__(self, root: str | os.PathLike[str], *, signed_steps: bool = True) -> None:
        self.root = Path(root)
        self.signed_steps = signed_steps
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
                    tr("cannot open the registry's lock file: {reason}", reason=exc.strerror or exc),
                    self._where(self.root / ".lock"),
                    tr("check that the registry folder exists and that you may write in it"),
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
                    tr("cannot read the log: {reason}", reason=exc.strerror or exc),
                    self._where(self.log_path),
                    tr("the log must be a file; restore it from version control"),
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
                what = (
                    tr("log line {number} is not UTF-8: the log is damaged", number=number)
                    if entry is _DAMAGED_UTF8
                    else tr("log line {number} is not a JSON object: the log is damaged", number=number)
                )
                raise FilingError(
                    Problem(
                        what,
                        self._where(self.log_path, number),
                        tr("the log was edited by hand; restore it from version control"),
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
        self._write_bytes(path, (dumps(record, sort_keys=True) + "\n").encode("utf-8"))

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

    def record(self, kind: str, subject: str) -> tuple[Path, dict[str, Any]]:
        """The path and record of ``subject``, found by its id (never by a field some file claims); it must be an
        object. Raises :class:`FilingError` for an unknown or damaged record."""
        check_id(subject, _id_of(kind))
        path = self._folder(kind) / f"{subject}.json"
        try:
            record = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            subjects = self._subjects(kind)
            raise FilingError(
                Problem(
                    tr("no filing {subject!r} in the registry", subject=subject)
                    if kind == "filing"
                    else tr("no results {subject!r} in the registry", subject=subject),
                    self._where(path),
                    tr("known: {known}", known=join(subjects) if subjects else tr("none")),
                    Code.UNKNOWN_SUBJECT,
                )
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict) or (kind == "filing" and record.get("filing") != subject):
            raise FilingError(
                Problem(
                    tr(
                        "the record of {kind} {subject} is damaged (not the JSON object that was filed)",
                        kind=KIND_WORDS.get(kind, kind),
                        subject=subject,
                    ),
                    self._where(path),
                    tr("restore it from version control"),
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
                            tr(
                                "{name} is in {folder}/ but no log entry submitted it; it is ignored",
                                name=path.name,
                                folder=folder.name,
                            ),
                            self._where(path),
                            tr("remove it, or file it properly with `fineco filing submit`"),
                            Code.STRAY_RECORD,
                        )
                    )
        return problems

    # filings

    def submit_filing(
        self, policy: Policy, host: PluginHost, who: str, why: str = "", *, key: CityKey | None = None
    ) -> str:
        """File ``policy`` with everything it depends on, signed with the city's ``key``; return the filing id."""
        self._need_city_key(key)
        check_id(policy.id, tr("policy id"))
        check_id(policy.version, tr("policy version"))
        check_who(who)
        check_text(why)
        record = {"city": key.city if key is not None else None, **policy_fingerprint(policy, host)}
        digest = sha256(canonical(record))
        subject = f"{policy.id}-{policy.version}-{digest[:12]}"
        with self._locked():
            path = self.root / "filings" / f"{subject}.json"
            if subject in self._subjects("filing"):
                raise FilingError(
                    Problem(
                        tr("this exact policy is filed already as {subject}", subject=subject),
                        self._where(path),
                        tr("check its status with `fineco filing status`"),
                        Code.ALREADY_FILED,
                    )
                )
            # a record left by a process killed before it logged is simply written again
            self._write(path, {"filing": subject, **record})
            kill_point("record-written")
            with self._undone_on_failure(path):
                self._append_signed(
                    {
                        "kind": "filing",
                        "subject": subject,
                        "action": "submit",
                        "who": who,
                        "why": why,
                        "sha256": sha256(canonical({"filing": subject, **record})),
                    },
                    key,
                )
        return subject

    def _need_city_key(self, key: CityKey | None) -> None:
        if key is None and self.signed_steps:
            raise FilingError(
                Problem(
                    tr("a city's step must be signed with its key"),
                    self._where(),
                    tr("give --key with the city's private key (registered by `fineco filing register-city`)"),
                    Code.UNSIGNED_STEP,
                )
            )

    def _append_signed(self, statement: dict[str, Any], key: CityKey | Ed25519PrivateKey | None) -> dict[str, Any]:
        """Append ``statement`` signed with ``key`` (a city key carries the province's city-key statement)."""
        if key is None:
            return self._append(statement)
        private = key.key if isinstance(key, CityKey) else key
        entry = {**statement, "keyid": key_id(private.public_key())}
        body: dict[str, Any] = {k: entry[k] for k in _SIGNED_FIELDS if k in entry}  # an attestation signs itself
        extra: dict[str, Any] = {"signature": _sign(body, private)}
        if isinstance(key, CityKey):
            extra["certificate"] = dict(key.certificate)
        return self._append({**entry, **extra})

    def _signed(
        self,
        kind: str,
        subject: str,
        action: str,
        who: str,
        why: str,
        key: Ed25519PrivateKey,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """A province step: refused when ``key`` is a city's; signed; then a checkpoint (at every province step)."""
        mine = key_id(key.public_key())
        cities = {
            str(e.get("keyid")): e["certificate"].get("city")
            for e in self.entries()
            if isinstance(e.get("certificate"), Mapping)
        }
        if mine in cities:
            raise FilingError(
                Problem(
                    tr(
                        "key {key} is city {city}'s key; only the province's key may {action}",
                        key=mine,
                        city=cities[mine],
                        action=ACTION_WORDS.get(action, action),
                    ),
                    self._where(),
                    tr("give the province's private key"),
                    Code.WRONG_ROLE,
                )
            )
        _path, record = self.record(kind, subject)
        digest = sha256(canonical(record))
        statement = {"kind": kind, "subject": subject, "action": action, "who": who, "why": why, "sha256": digest}
        entry = self._append_signed({**statement, **(extra or {})}, key)
        kill_point("entry-appended")
        self._write_checkpoint(entry, key)

    def _write_checkpoint(self, head: Mapping[str, Any], key: Ed25519PrivateKey) -> None:
        """Sign the log's length and head hash (a signed tree head) and keep it as ``checkpoint.json``."""
        body = {"kind": "checkpoint", "size": head["seq"], "head": head["hash"], "time": _now()}
        signature = base64.b64encode(key.sign(canonical(body))).decode()
        write_atomic(self.checkpoint_path, dumps({**body, "signature": signature}) + "\n")

    def checkpoints(self, trust: Ed25519PublicKey, given: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """The checkpoints signed by ``trust``: the registry's own and those ``given`` (from files or a cache)."""
        found: list[Any] = list(given)
        with contextlib.suppress(FilingError):
            found.append(read_json(self.checkpoint_path))
        signed = [dict(c) for c in found if isinstance(c, Mapping) and checkpoint_ok(c, trust)]
        # this machine's own witness (unsigned) is believed only when the caller gives it, never from the registry
        return signed + [dict(c) for c in given if _is_witness(c)]

    def _anchored(self, entries: Sequence[Mapping[str, Any]], anchors: Sequence[Mapping[str, Any]]) -> list[Problem]:
        """The log must hold every checkpoint: at least as long, and the same entry at each checkpoint's head."""
        problems = []
        for point in sorted(anchors, key=lambda c: int(c["size"])):
            size = int(point["size"])
            seen = point.get("time")
            witness = _is_witness(point)
            if len(entries) < size:
                problems.append(
                    Problem(
                        tr(
                            "the log has {count} entries but the head this machine saw at {seen} {size}: "
                            "entries were removed",
                            count=len(entries),
                            seen=seen,
                            size=size,
                        )
                        if witness
                        else tr(
                            "the log has {count} entries but a checkpoint signed at {seen} vouches for {size}: "
                            "entries were removed",
                            count=len(entries),
                            seen=seen,
                            size=size,
                        ),
                        self._where(self.log_path),
                        tr("restore the log from version control or a copy; a truncated log is never official"),
                        Code.LOG_TRUNCATED,
                    )
                )
            elif entries[size - 1].get("hash") != point["head"]:
                problems.append(
                    Problem(
                        tr(
                            "log entry {size} is not the one the head this machine saw at {seen}: "
                            "the log was rewritten",
                            size=size,
                            seen=seen,
                        )
                        if witness
                        else tr(
                            "log entry {size} is not the one the checkpoint signed at {seen} vouches for: "
                            "the log was rewritten",
                            size=size,
                            seen=seen,
                        ),
                        self._where(self.log_path, size),
                        tr("restore the log from version control or a copy; a rewritten log is never official"),
                        Code.LOG_DIVERGED,
                    )
                )
        return problems

    def remember_head(self) -> None:
        """After a step, remember the log's length and head hash on this machine (:func:`witness_path`): a local
        witness for the city steps no checkpoint covers yet. A log that no longer holds the head remembered before
        is left for ``verify`` to report; its new head never replaces the old one."""
        entries = self.entries()
        old = witnessed(self.root)
        if not entries or (old and self._anchored(entries, old)):
            return
        path = witness_path(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        point = {"kind": "witness", "size": len(entries), "head": entries[-1].get("hash"), "time": _now()}
        write_atomic(path, dumps(point) + "\n")

    def certify(
        self,
        kind: str,
        subject: str,
        who: str,
        key: Ed25519PrivateKey,
        why: str = "",
        *,
        decisions: Mapping[str, Any] | None = None,
        complete: bool = False,
    ) -> None:
        """Certify a filing or a reviewed result set, signing it with the province's key.

        For a result set (审核认定) ``decisions`` decides each county the city approved, as in :meth:`review`;
        counties not named are approved (unless ``complete``)."""
        check_id(subject, _id_of(kind))
        check_who(who)
        check_text(why)
        with self._locked():
            self.record(kind, subject)
            state = self._certifiable(kind, subject, key)
            wanted = "submitted" if kind == "filing" else "reviewed"
            if state.state != wanted:
                raise FilingError(
                    [
                        *state.problems,
                        Problem(
                            tr(
                                "{kind} {subject} is {state}; only a {wanted} one can be certified",
                                kind=KIND_WORDS.get(kind, kind),
                                subject=subject,
                                state=STATE_WORDS[state.state],
                                wanted=STATE_WORDS[wanted],
                            ),
                            self._where(self.log_path),
                            None,
                            Code.WRONG_STATE,
                        ),
                    ]
                )
            extra = None
            if kind == "results":
                counties = [c for c, v in self.county_states(subject, None).items() if v["state"] == "city-approved"]
                if not counties:
                    raise FilingError(
                        Problem(
                            tr(
                                "the city approved no county of results {subject}: there is nothing to certify",
                                subject=subject,
                            ),
                            self._where(self.log_path),
                            tr("the city corrects and resubmits its returned counties (`results submit --corrects`)"),
                            Code.BAD_DECISION,
                        )
                    )
                extra = {"decisions": decisions_.decide(counties, decisions, complete=complete)}
            self._signed(kind, subject, "certify", who, why, key, extra)

    def _certifiable(self, kind: str, subject: str, key: Ed25519PrivateKey) -> Status:
        """Where ``subject`` stands for the province about to certify it with ``key``.

        Every city step must be signed with a registered city key; where the registrations are by ``key``
        itself, each signature, role and attestation is checked in full. (A key that registered none of them
        is not refused here, since this registry cannot know the province's key; its signature is then
        reported by every check with the real province's key, and certifies nothing.)
        """
        if not self.signed_steps:
            return self.state_of(kind, subject, None)
        loose = self.state_of(kind, subject, None)
        city_steps = [e for e in loose.history if e.get("action") in ("submit", "review")]
        unsigned = [e for e in city_steps if not isinstance(e.get("certificate"), Mapping)]
        if unsigned:
            problems = [
                Problem(
                    tr(
                        "the {action} entry {seq} for {subject} is not signed by a city key",
                        action=ACTION_WORDS.get(str(e.get("action")), str(e.get("action"))),
                        seq=e.get("seq"),
                        subject=subject,
                    ),
                    self._where(self.log_path, e.get("seq")),
                    _CITY_SIGNS,
                    Code.BAD_SIGNATURE,
                )
                for e in unsigned
            ]
            return attrs.evolve(loose, state="unknown", problems=(*loose.problems, *problems))
        mine = key_id(key.public_key())
        if city_steps and all(e["certificate"].get("by") == mine for e in city_steps):
            return self.state_of(kind, subject, key.public_key())
        return loose

    def revoke(self, subject: str, who: str, why: str, key: Ed25519PrivateKey) -> None:
        check_id(subject, tr("filing id"))
        check_who(who)
        check_text(why)
        with self._locked():
            self.record("filing", subject)
            self._signed("filing", subject, "revoke", who, why, key)

    # results

    def _check_submitter(
        self,
        raw: bytes,
        attestation: Mapping[str, Any] | None,
        key: CityKey | None,
        trust: Ed25519PublicKey | None,
        source: str,
    ) -> None:
        """The output is attested by a registered city, and it is that city's key that submits it."""
        where = Location(source or None)
        if trust is None:
            raise FilingError(Problem(tr("the province's key is needed"), where, tr("give --trust"), Code.NO_TRUST))
        city, problems = check_attestation(attestation, raw, trust, self, where, None)
        if problems:
            raise FilingError(problems)
        if key is None:
            raise FilingError(
                Problem(
                    tr("results are submitted signed with the city's key"),
                    where,
                    tr("give --key with the city's private key"),
                    Code.UNSIGNED_STEP,
                )
            )
        if city != key.city or city_of(key.certificate, trust) is None:
            raise FilingError(
                Problem(
                    tr(
                        "these results were attested by city {city}; key {key} is city {owner}'s",
                        city=city,
                        key=key.keyid,
                        owner=key.city,
                    ),
                    where,
                    tr("each city submits only its own results, with its own key"),
                    Code.WRONG_ROLE,
                )
            )

    def submit_results(
        self,
        results: bytes | Mapping[str, Any],
        who: str,
        why: str = "",
        *,
        key: CityKey | None = None,
        attestation: Mapping[str, Any] | None = None,
        trust: Ed25519PublicKey | None = None,
        source: str = "",
        year: int | None = None,
        corrects: str | None = None,
    ) -> str:
        """Submit a result set for review: the output file's bytes, its attestation, signed with the city's key.

        Only an output whose attestation verifies (``check_attestation``: a registered city's signature, the
        output's hash, a certified filing and its fingerprint) against ``trust`` is accepted, and only by the
        key of the city that attested it. A set already in the log is refused: no step moves a set backwards.
        ``year`` is the assessment year (it names the titles); ``corrects`` names a set some of whose counties were
        returned: this set then submits only those counties (the others stand as decided).
        """
        if year is not None and (not isinstance(year, int) or not 2000 <= year <= 2100):
            raise FilingError(
                Problem(
                    tr("year {year!r} is not a year", year=year),
                    Location(source or None),
                    tr("e.g. --year 2008"),
                    Code.BAD_DECISION,
                )
            )
        self._need_city_key(key)
        raw = results if isinstance(results, bytes) else canonical(results)
        parsed = _official_results(raw, source)
        check_who(who)
        check_text(why)
        digest = sha256(canonical(parsed))
        policy = parsed.get("policy")
        if not isinstance(policy, Mapping):
            policy = {}
        pid = check_id(policy.get("id", "results"), tr("policy id in the results"))
        version = check_id(policy.get("version", "0"), tr("policy version in the results"))
        subject = check_id(f"{pid}-{version}-{digest[:12]}", tr("result set id"))
        with self._locked():
            if self.signed_steps:
                self._check_submitter(raw, attestation, key, trust, source)
            taken = self._correctable(corrects, parsed, key, trust, source) if corrects is not None else None
            path = self.root / "results" / f"{subject}.json"
            done = [e for e in self.entries() if e.get("kind") == "results" and e.get("subject") == subject]
            if done:
                state = self.state_of("results", subject, None).state
                raise FilingError(
                    Problem(
                        tr(
                            "results {subject} were submitted already and are {state}; a set never goes back",
                            subject=subject,
                            state=STATE_WORDS[state],
                        ),
                        self._where(self.log_path, done[0].get("seq")),
                        tr("check it with `fineco filing status`"),
                        Code.ALREADY_SUBMITTED,
                    )
                )
            # a record left by a process killed before it logged is simply written again
            self._write_bytes(path, raw)
            kill_point("record-written")
            entry: dict[str, Any] = {
                "kind": "results",
                "subject": subject,
                "action": "submit",
                "who": who,
                "why": why,
                "sha256": digest,
            }
            if year is not None:
                entry["year"] = year
            if corrects is not None:
                entry["corrects"] = corrects
                entry["counties"] = taken
            if attestation is not None:
                entry["attestation"] = dict(attestation)
            with self._undone_on_failure(path):
                self._append_signed(entry, key)
        return subject

    def _correctable(
        self,
        corrects: str,
        parsed: Mapping[str, Any],
        key: CityKey | None,
        trust: Ed25519PublicKey | None,
        source: str,
    ) -> list[str]:
        """The counties of ``parsed`` that ``corrects`` returned and nobody corrected yet (``not-returned``)."""
        check_id(corrects, tr("result set id"))
        status = self.state_of("results", corrects, trust)
        submit = next((e for e in status.accepted if e.get("action") == "submit"), {})
        cert = submit.get("certificate")
        owner = cert.get("city") if isinstance(cert, Mapping) else None
        if key is not None and owner != key.city:
            raise FilingError(
                Problem(
                    tr(
                        "results {subject} are city {owner}'s; key {key} is city {city}'s",
                        subject=corrects,
                        owner=owner,
                        key=key.keyid,
                        city=key.city,
                    ),
                    Location(source or None),
                    tr("a city corrects only its own results"),
                    Code.WRONG_CITY,
                )
            )
        returned = {c for c, v in self.county_states(corrects, trust).items() if v["state"] == "returned"}
        rows = parsed.get("results")
        mine = [str(r.get("county")) for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []
        taken = [c for c in mine if c in returned]
        if not taken:
            raise FilingError(
                Problem(
                    tr(
                        "no county in these results is a county that {subject} returned for correction "
                        "(returned: {returned})",
                        subject=corrects,
                        returned=join(sorted(returned)) if returned else tr("none"),
                    ),
                    Location(source or None),
                    tr("correct and re-run the returned counties; the others stand as decided"),
                    Code.NOT_RETURNED,
                )
            )
        return taken

    def _write_bytes(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FilingError(
                Problem(
                    tr("cannot create the folder {folder}: {reason}", folder=path.parent, reason=exc.strerror or exc),
                    self._where(path.parent),
                    tr("check the registry folder's permissions and free space"),
                    Code.WRITE_FAILED,
                )
            ) from exc
        write_atomic(path, data)

    def review(
        self,
        subject: str,
        who: str,
        why: str,
        *,
        key: CityKey | None = None,
        decisions: Mapping[str, Any] | None = None,
        complete: bool = False,
    ) -> dict[str, dict[str, str]]:
        """The city's initial review (初审) of a result set, signed with the key of the city that submitted it.

        ``decisions`` maps a county to ``"approve"`` or ``("return" | "reject", reason)``; counties not named are
        approved (unless ``complete``). Returns each county's decision as logged.
        """
        self._need_city_key(key)
        check_id(subject, tr("result set id"))
        check_who(who)
        check_text(why)
        with self._locked():
            _path, record = self.record("results", subject)
            state = self.state_of("results", subject, None)
            if state.state != "submitted":
                raise FilingError(
                    Problem(
                        tr(
                            "results {subject} are {state}, not submitted",
                            subject=subject,
                            state=STATE_WORDS[state.state],
                        ),
                        self._where(self.log_path),
                        None,
                        Code.WRONG_STATE,
                    )
                )
            submitter = next((e for e in state.history if e.get("action") == "submit"), {})
            city = submitter.get("certificate", {}).get("city") if isinstance(submitter, Mapping) else None
            if key is not None and city != key.city:
                raise FilingError(
                    Problem(
                        tr(
                            "results {subject} were submitted by city {city}; key {key} is city {owner}'s",
                            subject=subject,
                            city=city,
                            key=key.keyid,
                            owner=key.city,
                        ),
                        self._where(self.log_path),
                        tr("the city that submitted the results reviews them, with its own key"),
                        Code.WRONG_ROLE,
                    )
                )
            submit = next((e for e in state.accepted if e.get("action") == "submit"), None)
            decided = decisions_.decide(decisions_.scope_of(record, submit), decisions, complete=complete)
            self._append_signed(
                {
                    "kind": "results",
                    "subject": subject,
                    "action": "review",
                    "who": who,
                    "why": why,
                    "sha256": sha256(canonical(record)),
                    "decisions": decided,
                },
                key,
            )
        return decided

    def publish(
        self,
        subject: str,
        who: str,
        trust: Ed25519PublicKey,
        deliver: Callable[[dict[str, Any]], None] | None = None,
        *,
        key: Ed25519PrivateKey | None = None,
    ) -> dict[str, Any]:
        """Publish certified results (对外公布), signed with the province's ``key``; return the publication.

        The publication (:func:`~fineco_rules.governance._decisions.publication`) lists the counties the
        province certified as 良好 or 达标, with the year, the city and the method (filing, policy id and
        version); no figures. ``deliver`` (e.g. writing it to a file) runs before the log entry: if it fails,
        nothing is logged.
        """
        check_id(subject, tr("result set id"))
        check_who(who)
        if key is None and self.signed_steps:
            raise FilingError(
                Problem(
                    tr("publishing is the province's step: it is signed with the province's key"),
                    self._where(),
                    tr("give --key with the province's private key"),
                    Code.UNSIGNED_STEP,
                )
            )
        with self._locked():
            state = self.state_of("results", subject, trust)
            if state.state != "certified" or state.problems:
                raise FilingError(
                    [*state.problems]
                    or [
                        Problem(
                            tr(
                                "results {subject} are {state}; only results the province certified are published",
                                subject=subject,
                                state=STATE_WORDS[state.state],
                            ),
                            self._where(self.log_path),
                            tr("review, then certify them first"),
                            Code.WRONG_STATE,
                        )
                    ]
                )
            _path, record = self.record("results", subject)
            export = decisions_.publication(record, self.county_states(subject, trust), self._meta(subject, state))
            if deliver is not None:
                try:
                    deliver(export)
                except OSError as exc:
                    raise FilingError(
                        Problem(
                            tr("cannot write the public export: {reason}", reason=exc.strerror or exc),
                            Location(str(getattr(exc, "filename", "") or "")),
                            tr("give -o a file in a folder that exists and that you may write; nothing was logged"),
                            Code.PUBLISH_FAILED,
                        )
                    ) from None
            kill_point("export-written")
            if key is None:
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
            else:
                self._signed("results", subject, "publish", who, "", key)
        return export

    def _meta(self, subject: str, state: Status) -> dict[str, Any]:
        """A set's year, city, filing and policy: what its publication and titles name."""
        record = self.record("results", subject)[1]
        submit = next((e for e in state.accepted if e.get("action") == "submit"), {})
        cert = submit.get("certificate")
        official, policy = record.get("official"), record.get("policy")
        return {
            "year": submit.get("year"),
            "city": cert.get("city") if isinstance(cert, Mapping) else None,
            "filing": official.get("filing") if isinstance(official, Mapping) else None,
            "policy": {k: policy.get(k) for k in ("id", "version")} if isinstance(policy, Mapping) else None,
            "set": subject,
        }

    def county_states(self, subject: str, trust: Ed25519PublicKey | None) -> dict[str, dict[str, Any]]:
        """Each county of a result set with its state (``STATE_LABELS``), the reason and the deciding entry.

        A county returned here and submitted again in a correction set (``corrects``) is ``corrected``.
        """
        status = self.state_of("results", subject, trust)
        record = self.record("results", subject)[1]
        submit = next((e for e in status.accepted if e.get("action") == "submit"), None)
        states = decisions_.county_states(status.accepted, decisions_.scope_of(record, submit))
        for other in self._corrections_of(subject):
            fixed = self.state_of("results", other, trust)
            entry = next((e for e in fixed.accepted if e.get("action") == "submit"), {})
            for county in entry.get("counties", []):
                if states.get(county, {}).get("state") == "returned":
                    states[county].update(
                        state="corrected", reason=tr("更正见 / corrected in {subject}", subject=other)
                    )
        return states

    def _corrections_of(self, subject: str) -> list[str]:
        return [
            str(e.get("subject"))
            for e in self.entries()
            if e.get("kind") == "results" and e.get("action") == "submit" and e.get("corrects") == subject
        ]

    def delist(
        self, subject: str, counties: Mapping[str, str], who: str, key: Ed25519PrivateKey, trust: Ed25519PublicKey
    ) -> None:
        """摘牌: the province revokes published counties' titles, each with its reason, signed, with a checkpoint."""
        check_id(subject, tr("result set id"))
        check_who(who)
        with self._locked():
            states = self.county_states(subject, trust)
            published = [c for c, v in states.items() if v["state"] == "published"]
            problems = [
                Problem(
                    tr("county {county} is not a published county of {subject}", county=c, subject=subject),
                    Location(county=c),
                    tr("revoke only: {counties}", counties=join(published) if published else tr("none")),
                    Code.BAD_DECISION,
                )
                for c in counties
                if c not in published
            ]
            problems += [
                Problem(
                    tr("county {county}: 摘牌 needs a reason", county=c),
                    Location(county=c),
                    tr('write --county CODE="reason"'),
                    Code.BAD_DECISION,
                )
                for c, why in counties.items()
                if not why.strip()
            ]
            if problems or not counties:
                raise FilingError(
                    problems
                    or [
                        Problem(
                            tr("name the counties to revoke"),
                            self._where(),
                            tr("--county CODE=REASON"),
                            Code.BAD_DECISION,
                        )
                    ]
                )
            decided = {
                c: {"decision": "revoke", "reason": check_text(why, tr("reason"))} for c, why in counties.items()
            }
            self._signed("results", subject, "delist", who, "", key, {"decisions": decided})

    def titles(
        self, trust: Ed25519PublicKey, year: int | None = None, *, set_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The register of titles: 达标/良好 per county and year from the published sets, held or lost.

        A title is lost (``status`` 失去 lost / 摘牌 revoked) when a later year's published result is lower or
        the province revoked it (:meth:`delist`). With ``year``, the titles awarded that year. Every row names
        the set, filing and policy it was awarded under.
        """
        sets = []
        for subject in set_ids if set_ids is not None else self._subjects("results"):
            status = self.state_of("results", subject, trust)
            if status.state != "published" or status.problems:
                continue
            sets.append(
                {
                    "record": self.record("results", subject)[1],
                    "states": self.county_states(subject, trust),
                    "meta": self._meta(subject, status),
                }
            )
        return decisions_.titles(sets, year)

    # status and verification

    def statuses(self, trust: Ed25519PublicKey | None) -> list[Status]:
        subjects = dict.fromkeys((e.get("kind", ""), e.get("subject", "")) for e in self.entries())
        return [self.state_of(kind, subject, trust) for kind, subject in subjects]

    def state_of(self, kind: str, subject: str, trust: Ed25519PublicKey | None, upto: int | None = None) -> Status:
        """Where ``subject`` stands after the log's first ``upto`` entries (all by default).

        With ``trust`` (the province's public key) every step must be signed by its role: submits and
        reviews by a city key the province registered (a review by the submitting city's), certify and
        revoke by the province; a results submit must carry a valid attestation. A step that fails is
        reported and ignored, and a step out of order (certifying what was never submitted, resubmitting
        what moved on) changes nothing.
        """
        entries = self.entries()
        if upto is not None:
            entries = entries[:upto]
        history = [e for e in entries if e.get("subject") == subject and e.get("kind") == kind]
        problems: list[Problem] = []
        state: State = "unknown"
        current = None
        raw = b""
        record: dict[str, Any] = {}
        try:
            path, record = self.record(kind, subject)
            current = sha256(canonical(record))
            if kind == "results":
                raw = path.read_bytes()
        except FilingError as exc:
            problems.extend(p for p in exc.problems if p.code == Code.RECORD_DAMAGED)
        city: str | None = None
        accepted: list[Mapping[str, Any]] = []
        for entry in history:
            action = str(entry.get("action"))
            where = self._where(self.log_path, entry.get("seq"))
            if entry.get("sha256") != current:
                problems.append(
                    Problem(
                        tr(
                            "{kind} {subject} changed after entry {seq} ({action})",
                            kind=KIND_WORDS.get(kind, kind),
                            subject=subject,
                            seq=entry.get("seq"),
                            action=ACTION_WORDS.get(action, action),
                        ),
                        where,
                        tr("the record no longer matches what was logged; file it again"),
                        Code.RECORD_CHANGED,
                    )
                )
                continue
            if trust is not None:
                problem, signer = self._step_problem(entry, kind, record, raw, trust, city)
                if problem is not None:
                    problems.append(problem)
                    if action != "revoke":
                        continue
                if action == "submit":
                    city = signer
            after = _next_state(kind, state, action)
            if after is None:
                continue
            accepted.append(entry)
            state = after
        return Status(subject, _subject_kind(kind), state, tuple(history), tuple(problems), tuple(accepted))

    def _step_problem(
        self,
        entry: Mapping[str, Any],
        kind: str,
        record: Mapping[str, Any],
        raw: bytes,
        trust: Ed25519PublicKey,
        city: str | None,
    ) -> tuple[Problem | None, str | None]:
        """Whether the logged step is signed by its role and, for a submit, by the city it belongs to."""
        problem, signer = self._role_problem(entry, trust, city)
        if problem is not None or entry.get("action") != "submit" or not self.signed_steps:
            return problem, signer
        where = self._where(self.log_path, entry.get("seq"))
        if kind == "filing":
            return _filed_by_its_city(record, signer, where), signer
        attested, found = check_attestation(entry.get("attestation"), raw, trust, self, where, entry["seq"])
        if found:
            return found[0], signer
        if attested != signer:
            return (
                Problem(
                    tr(
                        "results attested by city {city} were submitted with city {signer}'s key",
                        city=attested,
                        signer=signer,
                    ),
                    where,
                    tr("each city submits only its own results"),
                    Code.WRONG_ROLE,
                ),
                signer,
            )
        return None, signer

    def _role_problem(
        self, entry: Mapping[str, Any], trust: Ed25519PublicKey, city: str | None
    ) -> tuple[Problem | None, str | None]:
        """Whether ``entry`` is signed by the role its action needs; and the signing city, if a city signed it."""
        action = str(entry.get("action"))
        where = self._where(self.log_path, entry.get("seq"))
        subject = entry.get("subject")
        if action in _PROVINCE_STEPS:
            if _signature_ok(entry, trust):
                return None, None
            words = ACTION_WORDS.get(action, action)
            seq = entry.get("seq")
            return (
                Problem(
                    tr(
                        "the {action} entry {seq} for {subject} has a city's key",
                        action=words,
                        seq=seq,
                        subject=subject,
                    )
                    if "certificate" in entry
                    else tr(
                        "the {action} entry {seq} for {subject} has no valid signature by the trusted key",
                        action=words,
                        seq=seq,
                        subject=subject,
                    ),
                    where,
                    tr("only the province's private key can {action}; this entry is ignored", action=words),
                    Code.WRONG_ROLE if "certificate" in entry else Code.BAD_SIGNATURE,
                ),
                None,
            )
        if not self.signed_steps:
            return None, None
        found = city_of(entry.get("certificate"), trust)
        if found is None or not _signature_ok(entry, found[1]):
            return (
                Problem(
                    tr(
                        "the {action} entry {seq} for {subject} is not signed by a city key the province registered",
                        action=ACTION_WORDS.get(action, action),
                        seq=entry.get("seq"),
                        subject=subject,
                    ),
                    where,
                    _CITY_SIGNS,
                    Code.BAD_SIGNATURE,
                ),
                None,
            )
        if action == "review" and found[0] != city:
            return (
                Problem(
                    tr(
                        "the review entry {seq} for {subject} is signed by city {signer}, "
                        "but city {city} submitted the results",
                        seq=entry.get("seq"),
                        subject=subject,
                        signer=found[0],
                        city=city,
                    )
                    if city
                    else tr(
                        "the review entry {seq} for {subject} is signed by city {signer}, "
                        "but no valid submit precedes it",
                        seq=entry.get("seq"),
                        subject=subject,
                        signer=found[0],
                    ),
                    where,
                    tr("only the submitting city reviews its results; this entry is ignored"),
                    Code.WRONG_ROLE,
                ),
                None,
            )
        return None, found[0]

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
                        tr(
                            "log entry {number} does not follow entry {before}: the chain is broken",
                            number=number,
                            before=number - 1,
                        ),
                        self._where(self.log_path, number),
                        tr("an entry was removed, inserted or reordered; restore the log"),
                        Code.CHAIN_BROKEN,
                    )
                )
            if sha256(canonical(body)) != claimed:
                problems.append(
                    Problem(
                        tr("log entry {number} was edited after it was written", number=number),
                        self._where(self.log_path, number),
                        tr("restore the log from version control"),
                        Code.ENTRY_EDITED,
                    )
                )
            prev = str(claimed)
        if trust is not None:
            problems.extend(self._anchored(entries, self.checkpoints(trust, anchors)))
        else:
            problems.extend(self._anchored(entries, [dict(a) for a in anchors if _is_witness(a)]))
        edited = {p.location.line for p in problems if p.code == Code.ENTRY_EDITED}
        for status in self.statuses(trust):
            # an entry edited after it was written is reported once, as edited, not again for its signature
            problems.extend(p for p in status.problems if p.location.line not in edited or p.code != Code.BAD_SIGNATURE)
        return problems + self._strays()

    def official(
        self,
        policy: Policy,
        host: PluginHost,
        trust: Ed25519PublicKey,
        anchors: Sequence[Mapping[str, Any]] = (),
        *,
        city: str | None = None,
    ) -> str:
        """The certified filing that ``policy`` and its installed plugins match exactly, or ``FilingError``.

        With ``city`` (``evaluate --official --city``), the filing must be that city's: a city grades only under
        its own certified method (``wrong-city``)."""
        if city is not None:
            known_city(city)
        broken = [p for p in self.verify(trust, anchors) if p.code in _FATAL]
        if broken:
            raise FilingError(broken)
        mine = policy_fingerprint(policy, host)
        candidates = []
        for subject in self._subjects("filing"):
            try:
                record = self.record("filing", subject)[1]
            except FilingError:
                continue  # reported by verify; a damaged record certifies nothing
            if record.get("policy") == mine["policy"]:
                candidates.append(record)
        if not candidates:
            raise FilingError(
                Problem(
                    tr(
                        "{policy} {version} has never been filed in {registry}",
                        policy=policy.id,
                        version=policy.version,
                        registry=self.root,
                    ),
                    Location(policy.file),
                    tr("file it (`fineco filing submit`) and have it certified"),
                    Code.NOT_FILED,
                )
            )
        reasons: list[Problem] = []
        for record in reversed(candidates):
            subject = record["filing"]
            status = self.state_of("filing", subject, trust)
            differences = _differences(record, mine)
            if differences:
                reasons.append(
                    Problem(
                        tr(
                            "{policy} {version} differs from filing {subject}: {differences}",
                            policy=policy.id,
                            version=policy.version,
                            subject=subject,
                            differences=join(differences, en="; ", zh="；"),
                        ),
                        Location(policy.file),
                        tr("file the changed policy again and have it certified"),
                        Code.NOT_AS_FILED,
                    )
                )
            elif status.state != "certified" or status.problems:
                reasons.extend(status.problems)
                reasons.append(
                    Problem(
                        tr(
                            "filing {subject} is {state}, not certified by the trusted key",
                            subject=subject,
                            state=STATE_WORDS[status.state],
                        ),
                        Location(policy.file),
                        tr("have the province certify it"),
                        Code.NOT_CERTIFIED,
                    )
                )
            elif city is not None and record.get("city") not in (None, city):
                reasons.append(
                    Problem(
                        tr(
                            "filing {subject} is city {owner}'s method, not city {city}'s",
                            subject=subject,
                            owner=record.get("city"),
                            city=city,
                        ),
                        Location(policy.file),
                        tr("grade city {city}'s counties under city {city}'s own certified filing", city=city),
                        Code.WRONG_CITY,
                    )
                )
            else:
                return str(subject)
        raise FilingError(reasons)


def _id_of(kind: str) -> Msg:
    """What an id names, for a refusal of an unsafe one."""
    return tr("filing id") if kind == "filing" else tr("results id")


#: The states each action may start from, and the state it leads to.
_STEPS: Final[Mapping[str, tuple[tuple[str, ...], State]]] = {
    "submit": (("unknown",), "submitted"),
    "review": (("submitted",), "reviewed"),
    "publish": (("certified",), "published"),
    "revoke": (("submitted", "certified"), "revoked"),
    "delist": (("published",), "published"),
}


def _subject_kind(kind: str) -> SubjectKind:
    if kind not in ("filing", "results"):
        raise ValueError(f"the registry holds filings and results, not {kind!r}")
    return "filing" if kind == "filing" else "results"


def _next_state(kind: str, state: State, action: str) -> State | None:
    """The state after ``action``, or None when the action is out of order (it changes nothing)."""
    if action == "certify":
        return "certified" if state == ("submitted" if kind == "filing" else "reviewed") else None
    before, after = _STEPS.get(action, ((), state))
    return after if state in before else None


def _filed_by_its_city(record: Mapping[str, Any], signer: str | None, where: Location) -> Problem | None:
    """A filing is submitted by the city it records (its key's city), never by another."""
    if record.get("city") in (None, signer):
        return None
    return Problem(
        tr(
            "filing {subject} records city {city} but was submitted with city {signer}'s key",
            subject=record.get("filing"),
            city=record.get("city"),
            signer=signer,
        ),
        where,
        tr("each city files only its own method, with its own key; this entry is ignored"),
        Code.WRONG_CITY,
    )


def _differences(filed: Mapping[str, Any], now: Mapping[str, Any]) -> list[Msg]:
    out = []
    before = {(f["id"], f["version"]): f["sha256"] for f in filed.get("files", [])}
    for f in now["files"]:
        if before.get((f["id"], f["version"])) != f["sha256"]:
            out.append(
                tr("policy file {file} ({id} {version}) changed", file=f["file"], id=f["id"], version=f["version"])
            )
    was = {p["scorer"]: p for p in filed.get("plugins", [])}
    for p in now["plugins"]:
        old = was.get(p["scorer"])
        if old is None:
            out.append(tr("scorer {scorer} was not part of the filing", scorer=p["scorer"]))
        elif old["sha256"] != p["sha256"] or old["distribution_version"] != p["distribution_version"]:
            out.append(
                tr(
                    "the code of plugin {plugin} ({distribution} {version}) is not the code that was filed",
                    plugin=p["plugin"],
                    distribution=p["distribution"],
                    version=p["distribution_version"],
                )
            )
    return out + pin_differences(filed.get("code"), now["code"])


def _signature_ok(entry: Mapping[str, Any], public: Ed25519PublicKey) -> bool:
    """Whether ``entry`` is signed by ``public``: over its statement and the key id it names."""
    statement = {k: entry.get(k) for k in _SIGNED_FIELDS if k in entry}
    if statement.get("keyid", key_id(public)) != key_id(public):
        return False
    return _signed_by(statement, entry.get("signature", ""), public)


def checkpoint_ok(point: Mapping[str, Any], trust: Ed25519PublicKey) -> bool:
    """Whether ``point`` is a well-formed checkpoint signed by ``trust``."""
    body = {k: point.get(k) for k in ("kind", "size", "head", "time")}
    if body["kind"] != "checkpoint" or not isinstance(body["size"], int) or body["size"] < 1:
        return False
    from cryptography.exceptions import InvalidSignature

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
        write_atomic(cache, dumps(dict(newest)) + "\n")


def _is_witness(point: object) -> bool:
    """Whether ``point`` is a head this machine remembered (see :func:`remember_head`)."""
    return (
        isinstance(point, Mapping)
        and point.get("kind") == "witness"
        and isinstance(point.get("size"), int)
        and point["size"] >= 1
        and isinstance(point.get("head"), str)
    )


def witness_path(root: str | os.PathLike[str]) -> Path:
    """Where this machine remembers the newest log head it wrote for the registry at ``root`` (beside the cached
    checkpoint, see :func:`checkpoint_cache`)."""
    return checkpoint_cache(root).with_suffix(".head.json")


def witnessed(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The head this machine remembered for the registry at ``root`` (none, or one)."""
    with contextlib.suppress(FilingError):
        point = read_json(witness_path(root))
        if _is_witness(point):
            return [dict(point)]
    return []


def anchors_for(
    root: str | os.PathLike[str], trust: Ed25519PublicKey, files: Sequence[str | os.PathLike[str]] = ()
) -> list[dict[str, Any]]:
    """The checkpoints to hold the log to: each of ``files`` (which must be signed by ``trust``), the cached one, and
    the head this machine remembered after its own last step (:meth:`Registry.remember_head`)."""
    out = []
    for path in files:
        point = read_json(path)
        if not isinstance(point, Mapping) or not checkpoint_ok(point, trust):
            raise FilingError(
                Problem(
                    tr("not a checkpoint signed by the trusted key"),
                    Location(str(path)),
                    tr("give a checkpoint.json the province's certify or revoke wrote, and the province's public key"),
                    Code.BAD_CHECKPOINT,
                )
            )
        out.append(dict(point))
    with contextlib.suppress(FilingError):
        cached = read_json(checkpoint_cache(root))
        if isinstance(cached, Mapping) and checkpoint_ok(cached, trust):
            out.append(dict(cached))
    return out + witnessed(root)


def public_export(record: Mapping[str, Any], internal: Sequence[str]) -> dict[str, Any]:
    """A result set as the public sees it: grades and scores, no ``internal`` inputs (the filed policy's list,
    never the submitted file's), no working."""
    hidden = set(internal)
    rows = []
    for result in record.get("results", []):
        indicators = {
            name: {
                "score": ind.get("score"),
                "inputs": {k: v for k, v in ind.get("inputs", {}).items() if k not in hidden},
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
                tr("cannot read {path}: {reason}", path=path, reason=exc.strerror or exc),
                Location(str(path)),
                tr("check the path"),
                Code.UNREADABLE,
            )
        ) from None
    except json.JSONDecodeError as exc:
        raise FilingError(
            Problem(
                tr("not JSON: {reason}", reason=exc.msg),
                Location(str(path), exc.lineno, exc.colno),
                tr("give the file `fineco evaluate --format json` wrote"),
                Code.NOT_JSON,
            )
        ) from None
