"""The official-standing commands of ``fineco``: ``filing`` (file, certify, revoke, verify city policies) and
``results`` (submit, review, certify and publish a year's results)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Final

from fineco_rules.cli import _common as common
from fineco_rules.errors import Code, Location, Problem, join, render, tr
from fineco_rules.governance._decisions import STATE_LABELS
from fineco_rules.governance._filing import (
    ACTION_WORDS,
    KIND_WORDS,
    STATE_WORDS,
    TAMPERING,
    FilingError,
    Registry,
    anchors_for,
    attestation_path,
    certify_city_key,
    check_attestation,
    checkpoint_cache,
    generate_keys,
    load_city_key,
    load_private_key,
    load_public_key,
    read_json,
    remember_checkpoint,
    witnessed,
)
from fineco_rules.governance._names import UnsafeName, known_city
from fineco_rules.io._atomic import write_atomic
from fineco_rules.io._json import dumps
from fineco_rules.policy._loader import load_policy
from fineco_rules.scoring._host import PluginHost

__all__ = ["COMMANDS", "add_commands"]


def _who_args(p: argparse.ArgumentParser, *, key: bool, city: bool = False) -> None:
    p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")
    p.add_argument("--by", required=True, metavar="NAME", help="who does this (recorded in the log)")
    p.add_argument("--why", default="", metavar="TEXT", help="why (recorded in the log)")
    if key:
        p.add_argument("--key", required=True, metavar="PRIVATE_KEY", help="the province's private key")
    if city:
        p.add_argument(
            "--key",
            required=True,
            metavar="CITY_KEY",
            help="the city's private key; its city-key statement <stem>.cert.json must lie beside it",
        )


def checkpoint_arg(p: argparse.ArgumentParser) -> None:
    """``--checkpoint FILE``, repeatable."""
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="a checkpoint.json kept elsewhere: the log must hold it (with --trust; the last one seen is remembered)",
    )


def add_commands(sub: Any) -> None:
    """Add filing and results to the ``fineco`` subcommands."""
    filing = sub.add_parser("filing", help="file city policies with the province, certify, verify")
    fsub = filing.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = fsub.add_parser("keygen", help="make the province's (or with --city, a city's) Ed25519 key pair")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--name", default="province", help="file name stem (default: province)")
    p.add_argument("--city", metavar="CODE", help="a city's key pair, named by its six-digit code (320500.key)")
    p = fsub.add_parser("register-city", help="the province signs a city's public key (its city-key statement)")
    p.add_argument("--city", required=True, metavar="CODE", help="the city's six-digit code")
    p.add_argument("--public", required=True, metavar="CITY_PUB", help="the city's public key")
    p.add_argument("--by", required=True, metavar="NAME", help="who registers it")
    p.add_argument("--key", required=True, metavar="PRIVATE_KEY", help="the province's private key")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write it (default: <CITY_PUB stem>.cert.json)")
    p = fsub.add_parser("submit", help="file a policy with every file and plugin it depends on, signed by the city")
    p.add_argument("policy", metavar="POLICY")
    _who_args(p, key=False, city=True)
    p = fsub.add_parser("certify", help="certify a filing, signed with the province's private key")
    p.add_argument("filing", metavar="FILING")
    _who_args(p, key=True)
    p = fsub.add_parser("revoke", help="revoke a filing, signed with the province's private key")
    p.add_argument("filing", metavar="FILING")
    _who_args(p, key=True)
    p = fsub.add_parser("status", help="list filings and result sets with their state")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", metavar="PUBLIC_KEY", help="check certifications against this public key")
    p = fsub.add_parser("verify", help="check the log chain, every record and every signature")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", metavar="PUBLIC_KEY", help="also check signatures and checkpoints against this key")
    checkpoint_arg(p)

    results = sub.add_parser("results", help="review, certify and publish a year's results")
    rsub = results.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = rsub.add_parser("submit", help="submit the output of `evaluate --official -o FILE --key CITY_KEY`")
    p.add_argument("results", metavar="RESULTS_JSON")
    _who_args(p, key=False, city=True)
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY", help="the province's public key")
    p.add_argument(
        "--attestation", metavar="FILE", help="the run's attestation (default: RESULTS_JSON.attestation.json)"
    )
    p.add_argument("--year", type=int, metavar="YEAR", help="the assessment year (names the titles)")
    p.add_argument("--corrects", metavar="RESULTS", help="a set that returned counties: submit only those again")
    p = rsub.add_parser("review", help="the city's initial review (初审) of each county, signed by the city")
    p.add_argument("subject", metavar="RESULTS")
    _who_args(p, key=False, city=True)
    _decision_args(p)
    p = rsub.add_parser("certify", help="the province's certification (审核认定) of each county, signed")
    p.add_argument("subject", metavar="RESULTS")
    _who_args(p, key=True)
    _decision_args(p)
    p = rsub.add_parser("publish", help="publish certified results (对外公布): the list of 良好/达标 counties")
    p.add_argument("subject", metavar="RESULTS")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--by", required=True, metavar="NAME")
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY")
    p.add_argument("--key", required=True, metavar="PRIVATE_KEY", help="the province's private key")
    p.add_argument("-o", "--output", metavar="FILE", help="write the publication here")
    p = rsub.add_parser("revoke", help="摘牌: revoke published counties' titles, signed by the province")
    p.add_argument("subject", metavar="RESULTS")
    p.add_argument("--county", action="append", required=True, metavar="CODE=REASON", help="repeatable")
    _who_args(p, key=True)
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY")
    p = rsub.add_parser("status", help="each county of a result set with its state (逐县状态)")
    p.add_argument("subject", metavar="RESULTS")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY")
    p = rsub.add_parser("titles", help="the register of titles (达标/良好 by county and year), held or lost")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY")
    p.add_argument("--year", type=int, metavar="YEAR", help="only the titles awarded this year")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-o", "--output", metavar="FILE")
    p = rsub.add_parser("verify", help="check every result set (and each RESULTS_JSON given) against its attestation")
    p.add_argument("results", nargs="*", metavar="RESULTS_JSON", help="outputs to check before submitting them")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument("--trust", required=True, metavar="PUBLIC_KEY", help="the province's public key")
    checkpoint_arg(p)
    for action in (*fsub.choices.values(), *rsub.choices.values()):
        _lang_arg(action)


def _lang_arg(p: argparse.ArgumentParser) -> None:
    """``--lang`` after the action too (``fineco filing certify ... --lang zh``); unset unless given, so a
    ``--lang`` before the action stands."""
    p.add_argument(
        "--lang", choices=["zh", "en"], default=argparse.SUPPRESS, help="language of messages and output: zh or en"
    )


def _decision_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--approve", metavar="CODES", help="comma-separated counties approved; then every county is named")
    for flag, what in (("return", "returned for correction"), ("reject", "rejected")):
        p.add_argument(f"--{flag}", action="append", default=[], metavar="CODE=REASON", help=f"a county {what}")


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    out = {}
    for value in values:
        county, eq, reason = value.partition("=")
        if not eq:
            raise FilingError(
                Problem(
                    tr("{flag} {value!r} gives no reason", flag=flag, value=value),
                    Location(),
                    tr('write {flag} CODE="reason"', flag=flag),
                    Code.BAD_DECISION,
                )
            )
        out[county.strip()] = reason
    return out


def _decisions(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """``--approve A,B --return C=why --reject D=why`` as decisions, and whether every county must be named."""
    decisions: dict[str, Any] = {c.strip(): "approve" for c in (args.approve or "").split(",") if c.strip()}
    for flag in ("return", "reject"):
        for county, reason in _pairs(getattr(args, flag), f"--{flag}").items():
            if county in decisions:
                raise FilingError(
                    Problem(
                        tr("county {county} is decided twice", county=county),
                        Location(county=county),
                        None,
                        Code.BAD_DECISION,
                    )
                )
            decisions[county] = (flag, reason)
    return decisions, args.approve is not None


def _refusing_unsafe(handler: Any) -> Any:
    """An unsafe name, or a damaged or tampered registry, is refused: printed, exit 2, nothing written."""

    def run(args: argparse.Namespace, host: PluginHost) -> int:
        try:
            return int(handler(args, host))
        except UnsafeName as exc:
            common.print_problems(exc.problems)
            return common.EXIT_USAGE
        except FilingError as exc:
            if not any(p.code in TAMPERING for p in exc.problems):
                raise
            common.print_problems(exc.problems)
            return common.EXIT_USAGE

    return run


@_refusing_unsafe
def _cmd_filing(args: argparse.Namespace, host: PluginHost) -> int:
    if args.action == "keygen":
        city = known_city(args.city) if args.city else None
        private, public = generate_keys(args.out, city or args.name)
        if city:
            print(
                tr(
                    "private key: {path} (keep it secret; only city {city} signs with it)", path=private, city=city
                ).render()
            )
        else:
            print(tr("private key: {path} (keep it secret; only the province signs with it)", path=private).render())
        print(tr("public key:  {path} (give it to anyone who verifies)", path=public).render())
        if city:
            print(
                tr(
                    "next: the province registers it: fineco filing register-city --city {city} --public {path} ...",
                    city=city,
                    path=public,
                ).render()
            )
        return common.EXIT_OK
    if args.action == "register-city":
        city = known_city(args.city)
        province = load_private_key(args.key)
        cert = certify_city_key(city, load_public_key(args.public), province, args.by)
        out = args.output or str(Path(args.public).with_suffix(".cert.json"))
        write_atomic(out, dumps(cert) + "\n")
        print(
            tr(
                "city {city}: key {key} registered by key {by}; statement written to {path}",
                city=city,
                key=cert["keyid"],
                by=cert["by"],
                path=out,
            ).render()
        )
        return common.EXIT_OK
    registry = Registry(args.registry)
    if args.action == "submit":
        city_key = load_city_key(args.key)
        policy = load_policy(args.policy, host=host)
        print(registry.submit_filing(policy, host, args.by, args.why, key=city_key))
        _witness(registry)
    elif args.action in ("certify", "revoke"):
        key = load_private_key(args.key)
        if args.action == "certify":
            registry.certify("filing", args.filing, args.by, key, args.why)
        else:
            registry.revoke(args.filing, args.by, args.why, key)
        _remember(registry, key.public_key())
        _witness(registry)
        if args.action == "certify":
            print(tr("{subject}: certify recorded", subject=args.filing).render())
        else:
            print(tr("{subject}: revoke recorded", subject=args.filing).render())
    elif args.action == "status":
        trust = load_public_key(args.trust) if args.trust else None
        rows = [
            [
                KIND_WORDS[s.kind].render(args.lang),
                s.subject,
                STATE_WORDS[s.state].render(args.lang)
                if trust or s.state not in ("certified", "published")
                else tr("{state} (unverified)", state=STATE_WORDS[s.state]).render(),
                str(len(s.problems)),
                " ".join(_signed_step(e) for e in s.history),
            ]
            for s in registry.statuses(trust)
        ]
        head = [tr("kind"), tr("subject"), tr("state"), tr("problems"), tr("signed by (step:key id)")]
        sys.stdout.write(common.render_table([h.render() for h in head], rows))
    else:
        trust = load_public_key(args.trust) if args.trust else None
        anchors = anchors_for(registry.root, trust, args.checkpoint) if trust else witnessed(registry.root)
        problems = registry.verify(trust, anchors)
        if trust:
            _remember(registry, trust, anchors)
        if problems:
            common.print_problems(problems)
            return common.EXIT_USAGE if any(p.code in TAMPERING for p in problems) else common.EXIT_ERRORS
        entries = len(registry.entries())
        checked = (
            tr("signatures and checkpoints checked") if args.trust else tr("signatures not checked (give --trust)")
        )
        print(
            tr(
                "{registry}: {entries} log entries, chain intact, records match; {checked}",
                registry=args.registry,
                entries=entries,
                checked=checked,
            ).render()
        )
    return common.EXIT_OK


@_refusing_unsafe
def _cmd_results(args: argparse.Namespace, host: PluginHost) -> int:
    registry = Registry(args.registry)
    if args.action == "submit":
        city_key = load_city_key(args.key)
        raw = _read_bytes(args.results)
        attestation_file = args.attestation or attestation_path(args.results)
        attestation = read_json(attestation_file) if Path(attestation_file).exists() else None
        trust = load_public_key(args.trust)
        subject = registry.submit_results(
            raw,
            args.by,
            args.why,
            key=city_key,
            attestation=attestation,
            trust=trust,
            source=args.results,
            year=args.year,
            corrects=args.corrects,
        )
        _witness(registry)
        print(subject)
    elif args.action == "review":
        decisions, complete = _decisions(args)
        decided = registry.review(
            args.subject, args.by, args.why, key=load_city_key(args.key), decisions=decisions, complete=complete
        )
        _witness(registry)
        print(tr("{subject}: review recorded ({tally})", subject=args.subject, tally=_tally(decided)).render())
    elif args.action in ("status", "titles", "revoke"):
        return _results_views(registry, args)
    elif args.action == "verify":
        return _verify_results(registry, args)
    elif args.action == "certify":
        key = load_private_key(args.key)
        decisions, complete = _decisions(args)
        registry.certify("results", args.subject, args.by, key, args.why, decisions=decisions, complete=complete)
        _remember(registry, key.public_key())
        _witness(registry)
        print(tr("{subject}: certify recorded", subject=args.subject).render())
    else:
        if args.output and not Path(args.output).resolve().parent.is_dir():
            raise FilingError(
                Problem(
                    tr("the folder of {path} does not exist", path=args.output),
                    Location(str(args.output)),
                    tr("create it first; nothing was published"),
                    Code.PUBLISH_FAILED,
                )
            )

        def deliver(export: dict[str, Any]) -> None:
            common.write_text(args.output, dumps(export) + "\n")

        key = load_private_key(args.key)
        export = registry.publish(args.subject, args.by, load_public_key(args.trust), deliver, key=key)
        _remember(registry, key.public_key())
        _witness(registry)
        named = join(f"{c['county']} {c['title']}" for c in export["results"]) if export["results"] else tr("无 none")
        print(
            tr("{subject}: published (对外公布): {counties}", subject=args.subject, counties=named).render(),
            file=sys.stderr,
        )
    return common.EXIT_OK


def _signed_step(entry: Any) -> str:
    """One step of a subject's history as ``action:key id`` (``unsigned`` when no key signed it)."""
    action = str(entry.get("action"))
    word = render(ACTION_WORDS[action]) if action in ACTION_WORDS else action
    return f"{word}:{entry['keyid']}" if "keyid" in entry else tr("{action}:unsigned", action=word).render()


def _tally(decided: dict[str, dict[str, str]]) -> Any:
    counts = {d: sum(1 for v in decided.values() if v["decision"] == d) for d in ("approve", "return", "reject")}
    return tr(
        "通过 approved {approved}, 退回 returned {returned}, 不予认定 rejected {rejected}",
        approved=counts["approve"],
        returned=counts["return"],
        rejected=counts["reject"],
    )


def _results_views(registry: Registry, args: argparse.Namespace) -> int:
    """``results status`` (each county's state), ``results titles`` (the register) and ``results revoke`` (摘牌)."""
    trust = load_public_key(args.trust)
    if args.action == "revoke":
        key = load_private_key(args.key)
        registry.delist(args.subject, _pairs(args.county, "--county"), args.by, key, trust)
        _remember(registry, key.public_key())
        _witness(registry)
        print(tr("{subject}: 摘牌 revoke recorded", subject=args.subject).render())
    elif args.action == "status":
        states = registry.county_states(args.subject, trust)
        cells = [[c, STATE_LABELS[v["state"]].render(), render(v["reason"])] for c, v in states.items()]
        head = [tr("县 county"), tr("状态 state"), tr("理由 reason")]
        sys.stdout.write(common.render_table([h.render() for h in head], cells))
    else:
        rows = registry.titles(trust, args.year)
        if args.format == "json":
            common.write_text(args.output, dumps(rows) + "\n")
        else:
            head = [
                tr("年度 year"),
                tr("市 city"),
                tr("县 county"),
                tr("名称 name"),
                tr("称号 title"),
                tr("状态 status"),
                tr("理由 reason"),
                tr("备案 filing"),
            ]
            table = [
                [
                    str(r["year"]),
                    str(r["city"]),
                    r["county"],
                    str(r["name"] or ""),
                    r["title"],
                    render(r["status"]),
                    render(r["reason"]),
                    str(r["filing"]),
                ]
                for r in rows
            ]
            common.write_text(args.output, common.render_table([h.render() for h in head], table))
    return common.EXIT_OK


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FilingError(
            Problem(
                tr("cannot read {path}: {reason}", path=path, reason=exc.strerror or exc),
                Location(path),
                tr("check the path"),
                Code.UNREADABLE,
            )
        ) from None


def _verify_results(registry: Registry, args: argparse.Namespace) -> int:
    """Every problem of the registry (result sets checked against their attestations), then of each file given."""
    trust = load_public_key(args.trust)
    anchors = anchors_for(registry.root, trust, args.checkpoint)
    problems = registry.verify(trust, anchors)
    _remember(registry, trust, anchors)
    for path in args.results:
        attestation_file = attestation_path(path)
        attestation = read_json(attestation_file) if attestation_file.exists() else None
        problems += check_attestation(attestation, _read_bytes(path), trust, registry, Location(path), None)[1]
    if problems:
        common.print_problems(problems)
        return common.EXIT_USAGE if any(p.code in TAMPERING for p in problems) else common.EXIT_ERRORS
    sets = sum(1 for s in registry.statuses(trust) if s.kind == "results")
    print(
        tr(
            "{registry}: {sets} result sets and {files} files match their attestations",
            registry=args.registry,
            sets=sets,
            files=len(args.results),
        ).render()
    )
    return common.EXIT_OK


def _remember(registry: Registry, trust: Any, anchors: Any = ()) -> None:
    """Remember the newest checkpoint seen for this registry (see ``checkpoint_cache``); a cache that cannot be
    written is no error."""
    with contextlib.suppress(OSError, FilingError):
        remember_checkpoint(checkpoint_cache(registry.root), trust, [*anchors, *registry.checkpoints(trust)])


def _witness(registry: Registry) -> None:
    """Remember the log's head after a step this command made (``Registry.remember_head``); a cache that cannot be
    written is no error."""
    with contextlib.suppress(OSError, FilingError):
        registry.remember_head()


COMMANDS: Final = {"filing": _cmd_filing, "results": _cmd_results}
