"""Triage: kind, category, priority and starting tier of a report, by the rules in a data file.

The rules live in `triage_rules.toml` (documented there) so that the people who run a compound
can read and change them; this module only applies them. What a reporter states explicitly always
wins over what the text suggests, and every decision carries the rule that made it, so the answer
to a report can say why.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casework import Address, Tier, ValidationError
from casework.domain.ladder import PRIORITIES
from casework.domain.mediation_rules import DISPUTE_CATEGORIES
from casework.domain.repair import REPAIR_CATEGORIES
from casework.kinds import kind_names
from casework.kinds.registry import BUILTIN


class TriageRulesError(ValueError):
    """The rules file is malformed; the message names the entry."""


@dataclass(frozen=True)
class KeywordRule:
    all_of: tuple[tuple[str, ...], ...]

    def matches(self, text: str) -> str | None:
        """The keywords that made it match ('a+b'), or None."""
        hits: list[str] = []
        for group in self.all_of:
            hit = next((k for k in group if k in text), None)
            if hit is None:
                return None
            hits.append(hit)
        return "+".join(hits)


@dataclass(frozen=True)
class KindRule(KeywordRule):
    kind: str = "repair"
    category: str | None = None


@dataclass(frozen=True)
class PriorityRule(KeywordRule):
    kinds: tuple[str, ...] = ()
    priority: str = "routine"


@dataclass(frozen=True)
class TriageRules:
    kind_rules: tuple[KindRule, ...]
    default_kind: str
    default_category: str
    priority_rules: tuple[PriorityRule, ...]
    reaches_other_flat: tuple[str, ...]
    source_unoccupied: tuple[str, ...]
    community_keywords: tuple[str, ...]
    compound_categories: frozenset[str]
    duplicate_leaks: bool
    duplicate_dispute_categories: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> TriageRules:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise TriageRulesError(f"cannot read triage rules {path}: {error}") from error
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TriageRules:
        kind_rules = tuple(
            KindRule(
                _groups(r, f"kind_rules[{i}]"),
                kind=_kind(r.get("kind"), f"kind_rules[{i}]"),
                category=_category(r.get("kind"), r.get("category"), f"kind_rules[{i}]"),
            )
            for i, r in enumerate(raw.get("kind_rules", []))
        )
        default = raw.get("default", {})
        default_kind = _kind(default.get("kind", "repair"), "default")
        default_category = _category(default_kind, default.get("category", "other"), "default")
        priority_rules = []
        for i, r in enumerate(raw.get("priority_rules", [])):
            where = f"priority_rules[{i}]"
            if r.get("priority") not in PRIORITIES:
                raise TriageRulesError(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
            kinds = tuple(_kind(k, where) for k in r.get("kinds", kind_names()))
            priority_rules.append(PriorityRule(_groups(r, where), kinds, str(r["priority"])))
        leak = raw.get("leak", {})
        dispute = raw.get("dispute", {})
        compound = frozenset(str(c) for c in dispute.get("compound_categories", []))
        duplicates = raw.get("duplicates", {})
        dup_categories = frozenset(str(c) for c in duplicates.get("dispute_categories", []))
        for category in compound | dup_categories:
            _category("dispute", category, "dispute/duplicates")
        return cls(
            kind_rules=kind_rules,
            default_kind=default_kind,
            default_category=default_category or "other",
            priority_rules=tuple(priority_rules),
            reaches_other_flat=_words(leak.get("reaches_other_flat", [])),
            source_unoccupied=_words(leak.get("source_unoccupied", [])),
            community_keywords=_words(dispute.get("community_keywords", [])),
            compound_categories=compound,
            duplicate_leaks=bool(duplicates.get("leak", True)),
            duplicate_dispute_categories=dup_categories,
        )


@dataclass(frozen=True)
class Report:
    """What triage reads: the reporter's explicit statements (None: not stated) and the text."""

    description: str
    address: Address
    kind: str | None = None
    category: str | None = None
    priority: str | None = None
    source_unit: str | None = None
    source_unoccupied: bool | None = None
    reaches_other_flat: bool | None = None
    needs_county: bool | None = None


@dataclass(frozen=True)
class Triage:
    """The decision, and why, rule by rule."""

    kind: str
    category: str | None
    priority: str | None
    tier: Tier | None
    source_unit: str | None = None
    source_unoccupied: bool = False
    reaches_other_flat: bool = False
    reasons: list[str] = field(default_factory=list)
    duplicate_key: str | None = None


def matter_key(
    kind: str, address: Address, *, category: str | None = None, source_unit: str | None = None
) -> str | None:
    """What names "the same matter" (one leaking flat, one blocked road), or None for a kind
    that has none: a function of what a report records, so the case index can rebuild the keys
    from the case files (`intake.read_model`) instead of keeping them as state of its own."""
    if kind == "leak" and source_unit:
        return f"leak:{address.compound_path}/{address.building}:{source_unit}"
    if kind == "dispute" and category:
        key = f"dispute:{category}:{address.compound_path}"
        return key + f"/{address.building}" if address.building else key
    return None


def triage(report: Report, rules: TriageRules) -> Triage:
    text = report.description.lower()
    reasons: list[str] = []
    kind, category = report.kind, report.category
    if kind is None:
        for rule in rules.kind_rules:
            hit = rule.matches(text)
            if hit is not None:
                kind = rule.kind
                category = category or rule.category
                reasons.append(f"kind {kind} ({category or '-'}): the text mentions {hit}")
                break
        else:
            kind = rules.default_kind
            category = category or rules.default_category
            reasons.append(f"kind {kind}: no rule matched the text; staff should re-triage")
    elif kind not in kind_names():
        raise ValidationError(f"kind must be one of {', '.join(kind_names())}, not {kind!r}")
    elif kind not in BUILTIN:
        # A registered kind (`casework.kinds`) decides its own priority and tier when its
        # report opens the case; triage only says where the kind came from.
        reasons.append(f"kind {kind}: given by the reporter")
        return Triage(kind, None, report.priority, None, reasons=reasons)
    if kind == "leak":
        return _leak(report, text, rules, reasons)
    if category is None:
        category = _category_from_text(kind, text, rules) or "other"
    _category(kind, category, "the report", error=ValidationError)
    priority = report.priority
    if priority is None:
        priority = "routine"
        for prule in rules.priority_rules:
            hit = prule.matches(text)
            if kind in prule.kinds and hit is not None:
                priority = prule.priority
                reasons.append(f"priority {priority}: the text mentions {hit}")
                break
    if kind == "repair":
        return Triage(kind, category, priority, None, reasons=reasons)
    tier = _dispute_tier(report, category, text, rules, reasons)
    key = None
    if category in rules.duplicate_dispute_categories:
        key = matter_key("dispute", report.address, category=category)
    return Triage(kind, category, priority, tier, reasons=reasons, duplicate_key=key)


def _leak(report: Report, text: str, rules: TriageRules, reasons: list[str]) -> Triage:
    source = (report.source_unit or report.address.unit or "").strip()
    if not source:
        raise ValidationError(
            "a leak needs the flat the water comes from: give source_unit (e.g. '0402') "
            "or an address with the unit"
        )
    if not report.address.building:
        raise ValidationError("a leak needs the building it was seen in, in the address")
    reaches = report.reaches_other_flat
    if reaches is None:
        hit = next((k for k in rules.reaches_other_flat if k in text), None)
        reaches = hit is not None
        if hit:
            reasons.append(f"water reaches another flat: the text mentions {hit}")
    unoccupied = report.source_unoccupied
    if unoccupied is None:
        hit = next((k for k in rules.source_unoccupied if k in text), None)
        unoccupied = hit is not None
        if hit:
            reasons.append(f"source flat unoccupied: the text mentions {hit}")
    key = None
    if rules.duplicate_leaks:
        key = matter_key("leak", report.address, source_unit=source)
    return Triage(
        "leak",
        None,
        None,
        None,
        source_unit=source,
        source_unoccupied=unoccupied,
        reaches_other_flat=reaches,
        reasons=reasons,
        duplicate_key=key,
    )


def _dispute_tier(
    report: Report, category: str, text: str, rules: TriageRules, reasons: list[str]
) -> Tier:
    needs_county = report.needs_county
    if needs_county is None:
        hit = next((k for k in rules.community_keywords if k in text), None)
        needs_county = hit is not None
        if hit:
            reasons.append(f"starts at the community: needs a county department ({hit})")
    if needs_county:
        if report.needs_county:
            reasons.append("starts at the community: the reporter needs a county department")
        return Tier.COMMUNITY
    if category in rules.compound_categories:
        reasons.append(f"starts at the compound: {category} is the compound's shared concern")
        return Tier.COMPOUND
    if report.address.building is None:
        reasons.append("starts at the compound: no building named")
        return Tier.COMPOUND
    reasons.append("starts at the building: between households of one building")
    return Tier.BUILDING


def _category_from_text(kind: str, text: str, rules: TriageRules) -> str | None:
    for rule in rules.kind_rules:
        if rule.kind == kind and rule.category and rule.matches(text) is not None:
            return rule.category
    return None


def _groups(rule: dict[str, Any], where: str) -> tuple[tuple[str, ...], ...]:
    groups = rule.get("all_of")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, list) for g in groups):
        raise TriageRulesError(f"{where}: all_of must be a non-empty list of keyword lists")
    return tuple(_words(g) for g in groups)


def _words(words: list[Any]) -> tuple[str, ...]:
    return tuple(str(w).lower() for w in words if str(w).strip())


def _kind(value: Any, where: str) -> str:
    if value not in kind_names():
        raise TriageRulesError(
            f"{where}: kind must be one of {', '.join(kind_names())}, not {value!r}"
        )
    return str(value)


def _category(
    kind: Any,
    value: Any,
    where: str,
    error: type[Exception] = TriageRulesError,
) -> str | None:
    if value is None or kind == "leak":
        return None
    allowed = REPAIR_CATEGORIES if kind == "repair" else DISPUTE_CATEGORIES
    if value not in allowed:
        names = ", ".join(allowed)
        raise error(f"{where}: a {kind} category must be one of {names}, not {value!r}")
    return str(value)
