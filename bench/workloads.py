"""A rule set and events such as real users write, for benchmarking the router on more than flat
fields: `mixed_workload(seed)` always makes the same rules and events for the same seed.

The rules mix every operator family the pattern language has (exact strings, numbers and
booleans, prefix, suffix, equals-ignore-case on non-ASCII text, prefix and suffix ignoring
case, wildcard, numeric ranges, anything-but, exists, cidr on an IPv4 or IPv6 field,
conditions on arrays of objects, `$or`), a few broad rules that many events match, and input
transformers (or an InputPath) on a tenth of the targets. Events are 200-1,000 bytes with
nested objects and arrays; each is built to satisfy one rule, and kept only if the Python
pattern engine (the reference) finds it matches 1 to 4 rules, so the figures a benchmark
prints rest on checked matches rather than on what the generator meant.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.envelope import new_event
from streams.input_shaping import compile_input
from streams.patterns import RuleSet

Event = dict[str, Any]
Condition = tuple[str, dict[str, Any], Callable[[Event], None]]  # (family, pattern fragment, make an event match)

TEAMS = ("orders", "billing", "shipping", "users", "search", "payments", "catalog", "support")
SOURCES = tuple(f"com.acme.{team}.svc{n}" for team in TEAMS for n in range(25))
DETAIL_TYPES = tuple(f"{noun} {verb}" for noun in ("Order", "Invoice", "Parcel", "Customer", "Payment")
                     for verb in ("Created", "Updated", "Deleted", "Failed", "Completed"))
STATUSES = ("PLACED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED", "ON_HOLD")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "SEK")
TIERS = ("gold", "silver", "bronze", "platinum")
DOMAINS = ("example.com", "acme.io", "mail.test", "corp.local", "bücher.de")
CITIES = ("München", "Zürich", "Malmö", "Kraków", "São Paulo", "Québec", "Århus", "İzmir", "Łódź", "Ærøskøbing",
          "Αθήνα", "Москва", "Oslo", "Lyon")
NAMES = ("José", "Zoë", "Ørjan", "Ångström", "Élodie", "Şule", "Dmitrий", "Ana", "Bob", "Ünal")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1")
COLOURS = ("red", "green", "blue", "amber", "violet")


def _put(path: str, value: Any, *, append: bool = False) -> Callable[[Event], None]:
    """A setter writing `value` at a dotted path of the event (or appending it to the array
    there), making the objects on the way."""
    *parents, last = path.split(".")

    def apply(event: Event) -> None:
        node = event
        for parent in parents:
            node = node.setdefault(parent, {})
        if append:
            node.setdefault(last, []).append(value)
        else:
            node[last] = value

    return apply


def _all(*setters: Callable[[Event], None]) -> Callable[[Event], None]:
    def apply(event: Event) -> None:
        for setter in setters:
            setter(event)

    return apply


def _nest(path: str, leaf: Any) -> dict[str, Any]:
    """{"a": {"b": leaf}} from "a.b"."""
    for part in reversed(path.split(".")):
        leaf = {part: leaf}
    return leaf


def _conditions(rng: random.Random) -> list[Condition]:
    """One candidate condition of each family, with values drawn for one rule."""
    status = rng.sample(STATUSES, 2)
    low = rng.randrange(0, 900)
    digits = f"{rng.randrange(100):02d}"
    domain = rng.choice(DOMAINS)
    city = rng.choice(CITIES)
    name = rng.choice(NAMES)
    version = rng.choice(("v1", "v2", "v3"))
    octet, word = rng.randrange(256), rng.randrange(1 << 16)
    sku, quantity = f"sku-{rng.randrange(40)}", rng.randint(1, 5)
    refused = rng.sample(CURRENCIES, 2)
    accepted = next(c for c in CURRENCIES if c not in refused)
    tier, colour, priority = rng.choice(TIERS), rng.choice(COLOURS), f"p{rng.randrange(40)}"
    region_prefix = rng.choice(("us-", "eu-", "ap-"))
    other_region = next(r for r in REGIONS if not r.startswith(region_prefix))
    return [
        ("exact", _nest("detail.order.status", status), _put("detail.order.status", status[0])),
        ("prefix", _nest("detail.order.id", [{"prefix": f"ord-{digits}"}]),
         _put("detail.order.id", f"ord-{digits}{rng.randrange(10**5):05d}")),
        ("suffix", _nest("detail.customer.email", [{"suffix": f"@{domain}"}]),
         _put("detail.customer.email", f"u{octet}@{domain}")),
        ("equals-ignore-case", _nest("detail.customer.city", [{"equals-ignore-case": city.lower()}]),
         _put("detail.customer.city", city.upper())),
        ("prefix-ignore-case", _nest("detail.customer.name", [{"prefix": {"equals-ignore-case": name.upper()}}]),
         _put("detail.customer.name", f"{name} {rng.choice(NAMES)}")),
        ("suffix-ignore-case", _nest("detail.customer.email", [{"suffix": {"equals-ignore-case": domain.upper()}}]),
         _put("detail.customer.email", f"someone@{domain}")),
        ("wildcard", _nest("detail.request.path", [{"wildcard": f"/api/{version}/*/orders/*"}]),
         _put("detail.request.path", f"/api/{version}/shop/orders/{octet}")),
        ("numeric", _nest("detail.order.amount", [{"numeric": [">=", low, "<", low + 80]}]),
         _put("detail.order.amount", low + 12.5)),
        ("anything-but", _nest("detail.order.currency", [{"anything-but": refused}]),
         _put("detail.order.currency", accepted)),
        ("anything-but-prefix", _nest("detail.region", [{"anything-but": {"prefix": region_prefix}}]),
         _put("detail.region", other_region)),
        ("exists", _nest("detail.order.coupon", [{"exists": True}]), _put("detail.order.coupon", f"SAVE{octet}")),
        ("not-exists", {"detail": {"order": {"gift": [{"exists": False}], "status": [status[1]]}}},
         _put("detail.order.status", status[1])),
        ("cidr-v4", _nest("detail.client.ip", [{"cidr": f"10.{octet}.0.0/16"}]),
         _put("detail.client.ip", f"10.{octet}.{rng.randrange(256)}.{rng.randrange(1, 255)}")),
        ("cidr-v6", _nest("detail.client.ip", [{"cidr": f"2001:db8:{word:x}::/48"}]),
         _put("detail.client.ip", f"2001:db8:{word:x}:{rng.randrange(1 << 16):x}::{rng.randrange(1, 999)}")),
        ("array-of-objects", _nest("detail.order.items", {"sku": [sku], "q": [quantity]}),
         _put("detail.order.items", {"sku": sku, "q": quantity, "price": 9.5}, append=True)),
        ("exact-number-bool", {"detail": {"customer": {"vip": [True]}, "order": {"lines": [quantity]}}},
         _all(_put("detail.customer.vip", True), _put("detail.order.lines", quantity))),
        ("array-of-strings", _nest("detail.tags", [colour]), _put("detail.tags", colour, append=True)),
        ("or", {"detail": {"$or": [{"priority": [priority]}, {"customer": {"tier": [tier], "vip": [False]}}]}},
         _put("detail.priority", priority)),
    ]


def _broad_rules() -> list[dict[str, Any]]:
    """Rules most users have somewhere: each matches a few percent of all events."""
    return [
        {"detail": {"priority": ["p0"]}},
        {"detail-type": [{"suffix": "Failed"}], "detail": {"order": {"amount": [{"numeric": [">=", 900]}]}}},
        {"source": [{"prefix": "com.acme.payments"}], "detail": {"client": {"ip": [{"cidr": "192.168.0.0/24"}]}}},
        {"detail": {"customer": {"tier": ["platinum"]}, "tags": ["violet"]}},
        {"$or": [{"detail-type": ["Order Deleted"]}, {"detail": {"order": {"status": ["RETURNED"]}, "region": [
            {"prefix": "ap-"}]}}]},
    ]


def _target(rng: random.Random, arn: str) -> dict[str, Any]:
    """A target as PutTargets takes it; a tenth shape their input (mostly transformers, some InputPath)."""
    draw = rng.random()
    if draw < 0.08:
        return {"Id": "t", "Arn": arn, "InputTransformer": {
            "InputPathsMap": {"id": "$.id", "status": "$.detail.order.status", "amount": "$.detail.order.amount",
                              "city": "$.detail.customer.city", "first": "$.detail.order.items[0].sku"},
            "InputTemplate": '{"event": <id>, "status": "order is <status>", "amount": <amount>, '
                             '"city": <city>, "first": <first>, "rule": <aws.events.rule-name>}'}}
    if draw < 0.10:
        return {"Id": "t", "Arn": arn, "InputPath": "$.detail.order"}
    return {"Id": "t", "Arn": arn}


@dataclass
class Rule:
    """A rule as PutRule and PutTargets take it, with what the generator knows of it."""

    name: str
    pattern: dict[str, Any]
    targets: list[dict[str, Any]]
    families: tuple[str, ...]
    source: str = ""
    detail_type: str = ""
    setters: list[Callable[[Event], None]] = field(default_factory=list)


@dataclass
class Workload:
    rules: list[Rule]
    events: list[bytes]
    matches: Counter[int]  # events by how many rules they match
    families: Counter[str]  # events by the operator families of the rules they match

    def describe(self) -> str:
        sizes = sorted(len(event) for event in self.events)
        shaped = sum(any(key in target for key in ("InputTransformer", "InputPath")) for rule in self.rules
                     for target in rule.targets)
        per_event = sum(n * count for n, count in self.matches.items()) / len(self.events)
        return (f"{len(self.rules)} rules of {len({f for r in self.rules for f in r.families})} operator families, "
                f"{shaped} of {sum(len(r.targets) for r in self.rules)} targets shaping their input; "
                f"{len(self.events):,} distinct events of {sizes[0]}-{sizes[-1]} bytes (median "
                f"{sizes[len(sizes) // 2]}), {per_event:.2f} matches per event "
                f"({', '.join(f'{n}: {self.matches[n]:,}' for n in sorted(self.matches))}); each family "
                f"in rules matched by {min(self.families.values()):,} events or more")


def _rules(rng: random.Random, count: int, target_arn: Callable[[int], str]) -> list[Rule]:
    rules = [Rule(f"broad{i}", pattern, [_target(rng, target_arn(i))], ("broad",))
             for i, pattern in enumerate(_broad_rules())]
    for i in range(len(rules), count):
        source, detail_type = rng.choice(SOURCES), rng.choice(DETAIL_TYPES)
        pattern: dict[str, Any] = {"source": [source]}
        if rng.random() < 0.7:
            pattern["detail-type"] = [detail_type]
        chosen = rng.sample(_conditions(rng), rng.randint(1, 2))
        if len(chosen) > 1 and _overlap(chosen[0][1], chosen[1][1]):
            chosen = chosen[:1]
        for _, fragment, _ in chosen:
            _merge(pattern, fragment)
        rules.append(Rule(f"mixed{i}", pattern, [_target(rng, target_arn(i))], tuple(c[0] for c in chosen),
                          source, detail_type, [c[2] for c in chosen]))
    return rules


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two pattern fragments name a common leaf (two conditions on one field would clash)."""
    for key, value in a.items():
        if key in b and (not isinstance(value, dict) or not isinstance(b[key], dict) or key == "$or"
                         or "$or" in value or "$or" in b[key] or _overlap(value, b[key])):
            return True
    return False


def _merge(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _event(rng: random.Random, rule: Rule, region: str, account: str) -> Event:
    """An envelope of 200-1,000 bytes with nested objects and arrays, made to satisfy `rule`.
    Each part of the detail is there in some events only, as in real ones; the rule's setters
    add what it needs."""
    ip = (f"192.168.{rng.randrange(4)}.{rng.randrange(256)}" if rng.random() < 0.6
          else f"2001:db8:ffff::{rng.randrange(1 << 16):x}")
    parts: dict[str, Any] = {
        "customer": {"id": f"c-{rng.randrange(10**6)}", "tier": rng.choice(TIERS[:3]), "vip": False,
                     "email": f"x{rng.randrange(999)}@{rng.choice(DOMAINS)}", "city": rng.choice(CITIES),
                     "name": f"{rng.choice(NAMES)} {rng.choice(NAMES)}"},
        "client": {"ip": ip, "agent": rng.choice(("curl/8.5", "Mozilla/5.0 (X11; Linux x86_64)", "boto3/1.34"))},
        "request": {"path": f"/api/v{rng.randint(1, 3)}/shop/cart/{rng.randrange(100)}", "method": "POST"},
        "region": rng.choice(REGIONS),
        "priority": f"p{rng.randrange(20)}",
        "note": "n" * rng.randrange(0, 300),
        "order": {"id": f"ord-{rng.randrange(10**7):07d}", "status": rng.choice(STATUSES),
                  "amount": round(rng.uniform(0, 1000), 2), "currency": rng.choice(CURRENCIES),
                  "items": [{"sku": f"sku-{rng.randrange(40)}", "q": rng.randint(1, 5), "price": rng.randrange(1, 500)}
                            for _ in range(rng.randint(0, 4))]},
    }
    detail = {"tags": rng.sample(COLOURS[:4], rng.randint(0, 2)),
              **{name: value for name, value in parts.items() if rng.random() < 0.6}}
    resources = [f"arn:aws:shop:{region}:{account}:order/{rng.randrange(10**6)}"] if rng.random() < 0.5 else []
    event = new_event(source=rule.source, detail_type=rule.detail_type, detail=detail, account=account,
                      region=region, resources=resources)
    for apply in rule.setters:
        apply(event)
    return event


def mixed_workload(seed: int, target_arn: Callable[[int], str], *, rules: int = 1000, events: int = 20_000,
                   region: str = "us-east-1", account: str = "000000000000") -> Workload:
    """`rules` rules (rule i's one target is `target_arn(i)`) and `events` distinct events, each
    matching 1 to 4 of them as the Python pattern engine decides."""
    rng = random.Random(seed)
    made = _rules(rng, rules, target_arn)
    ruleset = RuleSet()
    for rule in made:  # checked as PutRule and PutTargets check them
        ruleset.add(rule.name, rule.pattern)
        for target in rule.targets:
            compile_input(target)
    by_name = {rule.name: rule for rule in made}
    specific = made[len(_broad_rules()):]
    kept: list[bytes] = []
    matches: Counter[int] = Counter()
    families: Counter[str] = Counter()
    while len(kept) < events:
        rule = rng.choice(specific)
        raw = orjson.dumps(_event(rng, rule, region, account))
        matched = ruleset.matching(raw)
        if not 1 <= len(matched) <= 4 or not 200 <= len(raw) <= 1000:
            continue
        kept.append(raw)
        matches[len(matched)] += 1
        families.update({family for name in matched for family in by_name[name].families})  # type: ignore[index]
    return Workload(made, kept, matches, families)
