#!/usr/bin/env python3
"""Validate the demo service catalog (政务服务事项库).

Usage: python3 check.py   (from any directory; paths are relative to this file)

Checks items.json and life_events.json against the code lists of GB/T 39046-2020
appendix A (see /work/shared/GLOSSARY.md §2) and ../departments.json.
Prints every problem found and exits with status 1, or prints counts and "OK".
"""
import json
import math
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ITEMS = os.path.join(HERE, "items.json")
EVENTS = os.path.join(HERE, "life_events.json")
DEPTS = os.path.join(HERE, "..", "departments.json")

KINDS = {"00": "行政权力事项", "01": "行政许可", "02": "行政处罚", "03": "行政强制", "04": "行政征收",
         "05": "行政给付", "06": "行政检查", "07": "行政确认", "08": "行政奖励", "09": "行政裁决",
         "10": "其他类别", "20": "公共服务事项"}
LEVELS = {"1", "2", "3", "4", "5", "6", "7"}
AUDIENCE = {"1", "2", "3", "4", "5", "6"}
FORMS = {"1", "2", "3", "4", "9"}
CASE_TYPES = {"1", "2", "9"}
DEPTH = {"1", "2", "3", "4", "5", "6", "7"}
UNITS = {"working_days", "natural_days", "hours", "months"}
THEMES = {"birth", "hukou", "marriage", "social_security", "medical", "housing", "employment", "assistance",
          "legal", "establishment", "investment", "tax", "construction", "safety", "food"}
STATUS = {"在用", "暂停", "取消"}
MIN_ITEMS = 80
MIN_EVENTS = 5

REQUIRED = ["impl_code", "base_code", "name", "short_name", "department", "kind", "level", "audience", "themes",
            "legal_basis", "conditions", "materials", "legal_limit", "promised_limit", "case_type", "fees",
            "handling_forms", "visits", "online_depth", "appointment", "postal_delivery", "place", "hours",
            "phone", "faq", "result", "status"]
MATERIAL_KEYS = ["name", "source", "original", "copies", "mandatory", "note", "template", "sample"]

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read {path}: {e}")
        sys.exit(1)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def nonempty_str(v):
    return isinstance(v, str) and v.strip() != ""


def code_list(where, field, value, allowed, allow_empty=False):
    if not isinstance(value, list) or (not value and not allow_empty):
        err(where, f"{field} must be a {'list' if allow_empty else 'non-empty list'}")
        return
    bad = [v for v in value if v not in allowed]
    if bad:
        err(where, f"{field} has codes outside the allowed list: {bad}")
    if len(set(value)) != len(value):
        err(where, f"{field} has duplicates: {value}")


def check_limit(where, field, lim):
    """Return (amount, unit) or None; record errors for malformed limits."""
    if lim is None:
        return None
    if not isinstance(lim, dict) or set(lim) != {"amount", "unit"}:
        err(where, f"{field} must be null or {{amount, unit}}")
        return None
    if not is_int(lim["amount"]) or lim["amount"] <= 0:
        err(where, f"{field}.amount must be a positive integer")
        return None
    if lim["unit"] not in UNITS:
        err(where, f"{field}.unit {lim['unit']!r} not in {sorted(UNITS)}")
        return None
    return lim["amount"], lim["unit"]


def as_natural_days_min(amount, unit):
    """Smallest number of calendar days a limit can correspond to (for cross-unit comparison)."""
    if unit == "natural_days":
        return amount
    if unit == "working_days":
        return amount  # at least as many calendar days as working days
    if unit == "hours":
        return amount / 24
    return amount * 28  # months


def as_natural_days_max_regular(amount, unit):
    """Calendar days a limit spans in an ordinary week pattern (5 working days per 7 days)."""
    if unit == "working_days":
        return math.ceil(amount * 7 / 5)
    return as_natural_days_min(amount, unit)


def main():
    depts = load(DEPTS)
    items = load(ITEMS)
    events = load(EVENTS)
    dept_by_code = {d["code"]: d for d in depts}

    if not isinstance(items, list):
        print("items.json must be a JSON array")
        sys.exit(1)
    if len(items) < MIN_ITEMS:
        err("items.json", f"only {len(items)} items, need at least {MIN_ITEMS}")

    seen_impl, seen_name = {}, {}
    for i, it in enumerate(items):
        where = f"items[{i}] {it.get('name', '?')}@{it.get('department', '?')}" if isinstance(it, dict) else f"items[{i}]"
        if not isinstance(it, dict):
            err(where, "must be an object")
            continue
        missing = [k for k in REQUIRED if k not in it]
        if missing:
            err(where, f"missing fields {missing}")
            continue

        # identity and codes
        impl, base = it["impl_code"], it["base_code"]
        if not isinstance(impl, str) or len(impl) != 36:
            err(where, f"impl_code must be 36 characters (got {len(impl) if isinstance(impl, str) else impl!r})")
        if not isinstance(base, str) or len(base) != 12 or not base.isalnum():
            err(where, f"base_code must be 12 letters/digits (got {base!r})")
        if impl in seen_impl:
            err(where, f"duplicate impl_code {impl} (also items[{seen_impl[impl]}])")
        seen_impl[impl] = i
        key = (it["name"], it["department"])
        if key in seen_name:
            err(where, f"duplicate name+department (also items[{seen_name[key]}])")
        seen_name[key] = i

        dept = dept_by_code.get(it["department"])
        if dept is None:
            err(where, f"department {it['department']!r} not in departments.json")
        elif isinstance(impl, str) and len(impl) == 36:
            if impl[:12] != base:
                err(where, "impl_code must start with base_code")
            if impl[12:18] != dept["region"]:
                err(where, f"impl_code region part {impl[12:18]} != department region {dept['region']}")
            if impl[18:] != dept["uscc"]:
                err(where, f"impl_code USCC part {impl[18:]} != department USCC {dept['uscc']}")

        if it["kind"] not in KINDS:
            err(where, f"kind {it['kind']!r} not in A.1")
        if it["level"] not in LEVELS:
            err(where, f"level {it['level']!r} not in A.2")
        elif dept is not None:
            region = dept["region"]
            city = region.endswith("00") and not region.endswith("0000")
            allowed = {"3", "7"} if city else ({"2", "7"} if region.endswith("0000") else {"4", "5", "6", "7"})
            if it["level"] not in allowed:
                err(where, f"level {it['level']} inconsistent with department region {region} (allowed {sorted(allowed)})")
        code_list(where, "audience", it["audience"], AUDIENCE)
        code_list(where, "themes", it["themes"], THEMES, allow_empty=True)
        code_list(where, "handling_forms", it["handling_forms"], FORMS)
        code_list(where, "online_depth", it["online_depth"], DEPTH)
        if it["case_type"] not in CASE_TYPES:
            err(where, f"case_type {it['case_type']!r} not in A.6")
        if it["status"] not in STATUS:
            err(where, f"status {it['status']!r} not in {sorted(STATUS)}")

        # texts
        for f in ("name", "short_name", "conditions", "place", "hours", "phone", "result"):
            if not nonempty_str(it[f]):
                err(where, f"{f} must be a non-empty string")
        for f in ("appointment", "postal_delivery"):
            if not isinstance(it[f], bool):
                err(where, f"{f} must be true/false")
        if "codes_constructed" in it and not isinstance(it["codes_constructed"], bool):
            err(where, "codes_constructed must be true/false")

        # legal basis
        lb = it["legal_basis"]
        if not isinstance(lb, list) or not lb:
            err(where, "legal_basis must have at least one entry")
        else:
            for s in lb:
                if not nonempty_str(s) or "《" not in s or "》" not in s:
                    err(where, f"legal_basis entry must name a document in 《》: {s!r}")

        # materials
        mats = it["materials"]
        if not isinstance(mats, list) or not mats:
            err(where, "materials must have at least one entry")
        else:
            names = Counter()
            for j, m in enumerate(mats):
                mw = f"{where} materials[{j}]"
                if not isinstance(m, dict):
                    err(mw, "must be an object")
                    continue
                miss = [k for k in MATERIAL_KEYS if k not in m]
                if miss:
                    err(mw, f"missing fields {miss}")
                    continue
                if not nonempty_str(m["name"]) or not nonempty_str(m["source"]):
                    err(mw, "name and source must be non-empty")
                if not is_int(m["original"]) or not is_int(m["copies"]) or m["original"] < 0 or m["copies"] < 0:
                    err(mw, "original/copies must be non-negative integers")
                elif m["original"] + m["copies"] == 0:
                    err(mw, "original + copies must be at least 1")
                if not isinstance(m["mandatory"], bool):
                    err(mw, "mandatory must be true/false")
                if not isinstance(m["note"], str):
                    err(mw, "note must be a string")
                names[m["name"]] += 1
            if not any(isinstance(m, dict) and m.get("mandatory") is True for m in mats):
                err(where, "at least one material must be mandatory")
            dup = [n for n, c in names.items() if c > 1]
            if dup:
                err(where, f"duplicate material names {dup}")

        # time limits and case type
        legal = check_limit(where, "legal_limit", it["legal_limit"])
        promised = check_limit(where, "promised_limit", it["promised_limit"])
        if it["case_type"] == "1" and it["promised_limit"] is not None:
            err(where, "即办件 (case_type 1) must have promised_limit null")
        if it["case_type"] == "2" and it["promised_limit"] is None:
            err(where, "承诺件 (case_type 2) needs a promised_limit")
        if legal and promised:
            (la, lu), (pa, pu) = legal, promised
            if lu == pu:
                if pa > la:
                    err(where, f"promised limit {pa} {pu} exceeds legal limit {la} {lu}")
            elif as_natural_days_max_regular(pa, pu) > as_natural_days_min(la, lu) and \
                    as_natural_days_min(pa, pu) > as_natural_days_min(la, lu):
                err(where, f"promised limit {pa} {pu} cannot fit in legal limit {la} {lu}")
            elif as_natural_days_max_regular(pa, pu) > as_natural_days_min(la, lu):
                err(where, f"promised limit {pa} {pu} may exceed legal limit {la} {lu} in an ordinary week")

        # fees
        fees = it["fees"]
        if not isinstance(fees, list):
            err(where, "fees must be a list ([] when free)")
        else:
            for j, fe in enumerate(fees):
                fw = f"{where} fees[{j}]"
                if not isinstance(fe, dict) or set(fe) != {"item", "amount_yuan", "basis"}:
                    err(fw, "must be {item, amount_yuan, basis}")
                    continue
                a = fe["amount_yuan"]
                if a is not None and (isinstance(a, bool) or not isinstance(a, (int, float)) or a < 0):
                    err(fw, "amount_yuan must be a non-negative number or null (charged by a published tariff)")
                if not nonempty_str(fe["item"]) or not nonempty_str(fe["basis"]) or "《" not in fe["basis"]:
                    err(fw, "item and basis (naming a document in 《》) are required")

        # visits / online handling consistency
        v = it["visits"]
        if not is_int(v) or v < 0:
            err(where, "visits must be a non-negative integer")
        elif v == 0:
            if not ({"2", "3"} & set(it["handling_forms"] or [])):
                err(where, "visits 0 (全程网办) requires handling form 2 or 3")
            if not {"2", "4", "6"} <= set(it["online_depth"] or []):
                err(where, "visits 0 (全程网办) requires online_depth to include 2, 4 and 6")
        if "7" in (it["online_depth"] or []) and "6" not in it["online_depth"]:
            err(where, "online_depth 7 (电子证照反馈) implies 6 (结果反馈)")

        # faq
        faq = it["faq"]
        if not isinstance(faq, list) or not 1 <= len(faq) <= 3:
            err(where, "faq must have 1-3 entries")
        else:
            for j, q in enumerate(faq):
                if not isinstance(q, dict) or set(q) != {"q", "a"} or not nonempty_str(q["q"]) or not nonempty_str(q["a"]):
                    err(f"{where} faq[{j}]", "must be {q, a} with non-empty strings")

    # life events
    if not isinstance(events, list):
        err("life_events.json", "must be a JSON array")
        events = []
    if len(events) < MIN_EVENTS:
        err("life_events.json", f"only {len(events)} events, need at least {MIN_EVENTS}")
    ev_codes = Counter()
    for i, ev in enumerate(events):
        where = f"life_events[{i}] {ev.get('code', '?') if isinstance(ev, dict) else '?'}"
        if not isinstance(ev, dict) or not {"code", "name", "description", "items", "audience"} <= set(ev):
            err(where, "must be an object with code, name, description, items, audience")
            continue
        ev_codes[ev["code"]] += 1
        for f in ("code", "name", "description"):
            if not nonempty_str(ev[f]):
                err(where, f"{f} must be a non-empty string")
        code_list(where, "audience", ev["audience"], AUDIENCE)
        if not isinstance(ev["items"], list) or len(ev["items"]) < 2:
            err(where, "items must list at least 2 impl_codes")
            continue
        if len(set(ev["items"])) != len(ev["items"]):
            err(where, "items has duplicates")
        for code in ev["items"]:
            if code not in seen_impl:
                err(where, f"references unknown impl_code {code}")
    for c, n in ev_codes.items():
        if n > 1:
            err("life_events.json", f"duplicate event code {c!r}")

    if errors:
        for e in errors:
            print("ERROR", e)
        print(f"{len(errors)} problem(s)")
        sys.exit(1)

    by_dept = Counter(it["department"] for it in items)
    by_kind = Counter(it["kind"] for it in items)
    print(f"items: {len(items)}   life events: {len(events)}")
    print("per department:")
    for code in dept_by_code:
        if by_dept[code]:
            print(f"  {code:<12} {by_dept[code]:>3}  {dept_by_code[code]['name']}")
    print("per kind:")
    for k in sorted(by_kind):
        print(f"  {k} {KINDS[k]:<8} {by_kind[k]:>3}")
    print("life events:")
    for ev in events:
        print(f"  {ev['code']:<16} {len(ev['items'])} items  {ev['name']}")
    print("OK")


if __name__ == "__main__":
    main()
