"""Per-county decisions: the city's 初审 and the province's 审核认定 decide each county of a result set.

A decision is ``approve`` (通过), ``return`` (退回更正, with a reason) or ``reject`` (不予认定, with a reason); the
province may later ``revoke`` (摘牌) a published county. Everything here is a pure function of the log entries that
took effect (``Status.accepted``): the registry writes and checks the entries, this module reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from fineco_rules.errors import Code, FilingError, Location, Problem, join, tr, trc
from fineco_rules.governance._names import CITIES, check_text

__all__ = ["DECISIONS", "STATE_LABELS", "county_states", "decide", "publication", "scope_of", "titles"]

#: What a reviewer may decide for a county.
DECISIONS: Final = ("approve", "return", "reject")
#: A county's state in a result set: Chinese first, then English.
STATE_LABELS: Final = {
    "submitted": tr("已报送 submitted"),
    "city-approved": tr("初审通过 passed the city's review"),
    "returned": tr("退回更正 returned for correction"),
    "rejected": tr("不予认定 rejected"),
    "corrected": tr("已更正重报 corrected and resubmitted"),
    "certified": tr("审核认定 certified"),
    "published": tr("已公布 published"),
    "revoked": tr("已摘牌 revoked"),
}
TITLES: Final = {"good": "良好", "pass": "达标"}
_DECISION_WORDS: Final = {"return": trc("results decision", "return"), "reject": trc("results decision", "reject")}


def scope_of(record: Mapping[str, Any], submit: Mapping[str, Any] | None) -> list[str]:
    """The counties a set submits: those its submit entry names (a correction), else every county in it."""
    named = submit.get("counties") if submit else None
    if isinstance(named, list):
        return [str(c) for c in named]
    rows = record.get("results")
    return [str(r.get("county")) for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []


def decide(
    counties: Sequence[str], decisions: Mapping[str, Any] | None, *, complete: bool = False
) -> dict[str, dict[str, str]]:
    """Each county's decision, checked: ``decisions`` maps a county to ``"approve"`` or ``(decision, reason)``.

    Counties not named are approved, unless ``complete`` (every county must be named). A return or a rejection
    needs a reason; a county outside ``counties`` is refused (``bad-decision``).
    """
    given = dict(decisions or {})
    problems = []
    out: dict[str, dict[str, str]] = {}
    for county, value in given.items():
        decision, reason = (value, "") if isinstance(value, str) else ((*tuple(value), ""))[:2]
        where = Location(county=str(county))
        if county not in counties:
            problems.append(
                Problem(
                    tr("county {county} is not one this step decides", county=county),
                    where,
                    tr("decide only: {counties}", counties=join(counties) if counties else tr("none")),
                    Code.BAD_DECISION,
                )
            )
        elif decision not in DECISIONS:
            problems.append(
                Problem(
                    tr("{decision!r} is no decision", decision=decision),
                    where,
                    tr("approve, return or reject"),
                    Code.BAD_DECISION,
                )
            )
        elif decision != "approve" and not str(reason).strip():
            problems.append(
                Problem(
                    tr(
                        "county {county}: a {decision} needs a reason",
                        county=county,
                        decision=_DECISION_WORDS.get(str(decision), decision),
                    ),
                    where,
                    tr('write --{decision} {county}="reason"', decision=decision, county=county),
                    Code.BAD_DECISION,
                )
            )
        else:
            out[str(county)] = {"decision": str(decision), "reason": check_text(str(reason), tr("reason"))}
    missing = [c for c in counties if c not in out and c not in given]
    if complete and missing:
        problems.append(
            Problem(
                tr("counties {counties} are not decided", counties=join(missing)),
                Location(),
                tr("name every county with --approve, --return or --reject"),
                Code.BAD_DECISION,
            )
        )
    if problems:
        raise FilingError(problems)
    return {c: out.get(c, {"decision": "approve", "reason": ""}) for c in counties}


_AFTER_CITY: Final = {"approve": "city-approved", "return": "returned", "reject": "rejected"}
_AFTER_PROVINCE: Final = {"approve": "certified", "return": "returned", "reject": "rejected"}


def county_states(accepted: Sequence[Mapping[str, Any]], scope: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each county's state after the entries that took effect: ``{county: {"state", "reason", "by", "seq"}}``.

    A set-wide review or certify without ``decisions`` (an older log) approves every county it may decide.
    """
    states = {c: {"state": "submitted", "reason": "", "seq": None} for c in scope}
    for entry in accepted:
        action = entry.get("action")
        decisions = entry.get("decisions")
        step: dict[str, str] = {}
        if action == "review":
            wanted, step = "submitted", _AFTER_CITY
        elif action == "certify":
            wanted, step = "city-approved", _AFTER_PROVINCE
        elif action == "publish":
            wanted, decisions = "certified", {c: {"decision": "publish"} for c in scope}
            step = {"publish": "published"}
        elif action == "delist":
            wanted, step = "published", {"revoke": "revoked"}
        else:
            continue
        for county, now in states.items():
            if now["state"] != wanted:
                continue
            choice = decisions.get(county) if isinstance(decisions, Mapping) else {"decision": "approve"}
            if not isinstance(choice, Mapping) or choice.get("decision") not in step:
                continue
            now.update(state=step[str(choice["decision"])], reason=str(choice.get("reason", "")), seq=entry.get("seq"))
    return states


def publication(
    record: Mapping[str, Any], states: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """对外公布: the counties of a set the province certified as 良好 or 达标, with year and method; no figures.

    The rows are under ``results`` (county, name, city, title, grade), so a publication is readable as last
    year's results (``LastYear.from_mapping``): it names exactly last year's titled counties.
    """
    rows = record.get("results")
    counties = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        county, grade = str(row.get("county")), row.get("grade")
        if states.get(county, {}).get("state") in ("certified", "published") and grade in TITLES:
            counties.append(
                {
                    "county": county,
                    "name": row.get("name"),
                    "city": meta.get("city"),
                    "title": TITLES[str(grade)],
                    "grade": grade,
                }
            )
    counties.sort(key=lambda c: (c["grade"] != "good", c["county"]))
    city = meta.get("city")
    return {
        "kind": "对外公布 publication",
        "year": meta.get("year"),
        "city": city,
        "city_name": CITIES.get(str(city)),
        "method": {"filing": meta.get("filing"), "policy": meta.get("policy")},
        "set": meta.get("set"),
        "results": counties,
    }


def titles(sets: Sequence[Mapping[str, Any]], year: int | None = None) -> list[dict[str, Any]]:
    """The register of titles (达标/良好 by county and year) from published sets, each held or lost.

    ``sets``: one mapping per published set, with ``record``, ``states`` (:func:`county_states`) and ``meta``
    (year, city, filing, policy, set). A title is lost when the province revoked it (摘牌) or when a later
    year's published result of the county is lower. With ``year``, only titles awarded that year.
    """
    awarded: list[dict[str, Any]] = []
    graded: dict[str, list[tuple[int, str]]] = {}
    for one in sets:
        meta, states = one["meta"], one["states"]
        rows = one["record"].get("results")
        for row in rows if isinstance(rows, list) else []:
            county = str(row.get("county")) if isinstance(row, Mapping) else ""
            state = states.get(county, {}).get("state")
            if state not in ("published", "revoked"):
                continue
            grade = str(row.get("grade"))
            if isinstance(meta.get("year"), int) and state == "published":
                graded.setdefault(county, []).append((meta["year"], grade))
            if grade not in TITLES:
                continue
            lost = state == "revoked"
            awarded.append(
                {
                    "year": meta.get("year"),
                    "city": meta.get("city"),
                    "county": county,
                    "name": row.get("name"),
                    "title": TITLES[grade],
                    "grade": grade,
                    "status": tr("摘牌 revoked") if lost else tr("保持 held"),
                    "reason": states[county].get("reason", "") if lost else "",
                    "filing": meta.get("filing"),
                    "policy": meta.get("policy"),
                    "set": meta.get("set"),
                }
            )
    rank = {"good": 2, "pass": 1}
    for row in awarded:
        if row["status"] != "保持 held" or not isinstance(row["year"], int):
            continue
        later = sorted(
            (y, g) for y, g in graded.get(row["county"], []) if y > row["year"] and rank.get(g, 0) < rank[row["grade"]]
        )
        if later:
            y, g = later[0]
            row["status"] = tr("失去 lost")
            row["reason"] = _rated(y, g)
    awarded.sort(key=lambda r: (r["year"] or 0, r["city"] or "", r["county"]))
    return [r for r in awarded if year is None or r["year"] == year]


def _rated(year: int, grade: str) -> str:
    """Why a title was lost: the lower grade of a later year."""
    if grade == "good":
        return tr("{year}年评为良好 / rated good in {year}", year=year)
    if grade == "pass":
        return tr("{year}年评为达标 / rated pass in {year}", year=year)
    return tr("{year}年评为未达标 / rated {grade} in {year}", year=year, grade=grade)
