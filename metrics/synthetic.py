"""Deterministic synthetic data: a believable B2B subscription company as the CSVs of SPEC section 4.

``generate(directory, customers=..., years=..., today=..., seed=...)`` writes teams.csv, users.csv,
team_memberships.csv, customers.csv, contracts.csv and assignments.csv. Everything comes from one
``random.Random(seed)``, so the same arguments give the same bytes. Customers are simulated one at
a time and their rows written at once, so memory stays flat for any number of customers.

The story told by the data: customers are acquired over the years (more of them lately), sign
annual (or multi-year) terms and at each renewal renew flat, upsell, contract, drop a product,
add a product (cross-sell, also mid-term), renew late after a few weeks without revenue, or churn;
some churned customers come back months later (reactivation). Every customer has a CSM and many
an account manager; books are transferred (one assignment ends the day before the next starts),
some customers go unassigned for a while, and a few people move between teams (dated rows in
team_memberships.csv). No line ever ends on the day another line of the same product starts.
"""

from __future__ import annotations

import csv
import random
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

FILES = ("teams.csv", "users.csv", "team_memberships.csv", "customers.csv", "contracts.csv", "assignments.csv")
HEADERS = {
    "teams.csv": ["name", "function", "lead_email"],
    "users.csv": ["email", "full_name", "team", "role"],
    "team_memberships.csv": ["email", "team", "start_date", "end_date"],
    "customers.csv": ["external_id", "name", "segment", "region", "industry", "use_case"],
    "contracts.csv": ["external_id", "customer_external_id", "product", "start_date", "end_date", "arr", "currency"],
    "assignments.csv": ["customer_external_id", "email", "role", "start_date", "end_date"],
}

CS, AM = "customer_success", "account_management"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Segment:
    name: str
    weight: int
    core_arr: tuple[int, int]  # ARR range of the core product line, whole dollars
    churn: float  # chance of churning at a renewal
    am_share: float  # share of customers that also get an account manager
    multi_year: float  # chance that a term runs two or three years


SEGMENTS = (
    Segment("SMB", 55, (3_000, 24_000), 0.13, 0.30, 0.05),
    Segment("Mid-Market", 30, (24_000, 120_000), 0.08, 0.70, 0.20),
    Segment("Enterprise", 15, (120_000, 600_000), 0.05, 0.95, 0.40),
)
REGIONS = (("NA", 45), ("EMEA", 30), ("APAC", 15), ("LATAM", 10))
INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Media",
    "Logistics",
    "Public Sector",
    "Professional Services",
)
USE_CASES = ("Analytics", "Workflow Automation", "Customer Engagement", "Compliance", "Collaboration")
# The core product every customer starts with, then add-ons sold as a share of the core's ARR.
PRODUCTS = ("Core Platform", "Analytics", "Automation", "Integrations Hub", "Premium Support")
ADDON_SHARE = (15, 50)  # percent of the core line's ARR

CS_TEAM_NAMES = ("CS Aurora", "CS Borealis", "CS Cascade", "CS Delta", "CS Everest", "CS Fjord")
AM_TEAM_NAMES = ("AM Summit", "AM Meridian", "AM Keystone", "AM Pinnacle", "AM Tidewater")
FIRST_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Isabel",
    "Jonas",
    "Keira",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Adams",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Wong",
    "Yilmaz",
    "Zhang",
)
NAME_WORDS = (
    "Acme",
    "Blue",
    "Bright",
    "Cedar",
    "Copper",
    "Crest",
    "Delta",
    "Echo",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Kite",
    "Lumen",
    "Maple",
    "Nova",
    "Oak",
    "Orbit",
    "Pioneer",
    "Quartz",
    "River",
    "Summit",
    "Silver",
    "Terra",
    "Union",
    "Vertex",
    "Willow",
    "Zenith",
)
NAME_NOUNS = (
    "Analytics",
    "Bank",
    "Logistics",
    "Health",
    "Labs",
    "Media",
    "Foods",
    "Motors",
    "Systems",
    "Retail",
    "Energy",
    "Partners",
    "Networks",
    "Dynamics",
    "Works",
    "Capital",
    "Learning",
    "Goods",
)
NAME_SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "SA", "Group", "Co", "Holdings")


@dataclass(frozen=True)
class NamedUser:
    """A person the caller needs in the data, e.g. a demo login; placed before generated people.

    ``team`` is an index into the generated teams (customer success teams first, then account
    management), None for no team; ``lead`` makes the user that team's lead. Named team members
    own books like everyone else in their team and never move between teams.
    """

    email: str
    full_name: str
    role: str = "member"
    team: int | None = None
    lead: bool = False


@dataclass
class Person:
    email: str
    full_name: str
    role: str
    team: int | None
    named: bool = False


def generate(
    directory,
    *,
    customers: int = 800,
    years: int = 4,
    today: date | None = None,
    seed: int = 1,
    teams: int = 5,
    users: int = 28,
    named_users: tuple[NamedUser, ...] = (),
) -> dict[str, int]:
    """Write the six CSV files into ``directory``; return the number of data rows of each file.

    ``teams`` are split about 60/40 between customer success and account management; ``users``
    is the number of people in those teams (named users with a team included), spread evenly.
    """
    if customers < 0 or years < 1 or teams < 1 or users < 0:
        raise ValueError("generate() needs customers >= 0, years >= 1, teams >= 1 and users >= 0.")
    today = today or date.today()
    rng = random.Random(seed)
    history_start = date(today.year - years, today.month, 1)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    team_list = _teams(teams)
    people = _people(rng, team_list, users, named_users)
    for index, (name, function, _) in enumerate(team_list):
        lead = next((p for p in people if p.team == index and p.role == "lead"), None)
        team_list[index] = (name, function, lead.email if lead else "")
    moves = _team_moves(rng, team_list, people, history_start, today)
    pools = {
        "csm": _owner_pool(rng, people, team_list, CS),
        "am": _owner_pool(rng, people, team_list, AM),
    }

    counts = dict.fromkeys(FILES, 0)
    with ExitStack() as stack:
        writers = {}
        for file_name in FILES:
            handle = stack.enter_context(open(directory / file_name, "w", newline="", encoding="utf-8"))
            writers[file_name] = csv.writer(handle, lineterminator="\n")
            writers[file_name].writerow(HEADERS[file_name])

        def write(file_name, row):
            writers[file_name].writerow(row)
            counts[file_name] += 1

        for row in team_list:
            write("teams.csv", row)
        for person in people:
            team_name = team_list[person.team][0] if person.team is not None else ""
            write("users.csv", (person.email, person.full_name, team_name, person.role))
        for row in moves:
            write("team_memberships.csv", row)
        for number in range(1, customers + 1):
            customer = _Customer(rng, f"C{number:06d}", history_start, today)
            write("customers.csv", customer.row())
            for row in customer.lines:
                write("contracts.csv", row)
            for role, pool in pools.items():
                if pool and (role == "csm" or rng.random() < customer.segment.am_share):
                    for row in _assignments(rng, customer, role, pool, today):
                        write("assignments.csv", row)
    return counts


# --- people and teams ----------------------------------------------------------------------


def _teams(count: int) -> list[tuple[str, str, str]]:
    cs_count = max(1, round(count * 0.6)) if count > 1 else 1
    am_count = count - cs_count
    return [(_pick_name(CS_TEAM_NAMES, i, "CS Team"), CS, "") for i in range(cs_count)] + [
        (_pick_name(AM_TEAM_NAMES, i, "AM Team"), AM, "") for i in range(am_count)
    ]


def _pick_name(names, index, fallback):
    return names[index] if index < len(names) else f"{fallback} {index + 1}"


def _people(rng, team_list, count, named_users) -> list[Person]:
    people = [
        Person(n.email.lower(), n.full_name, "lead" if n.lead else n.role, n.team, named=True) for n in named_users
    ]
    taken = {p.email for p in people}
    led = {p.team for p in people if p.role == "lead"}
    in_teams = sum(1 for p in people if p.team is not None)
    for index in range(max(0, count - in_teams)):
        team = index % len(team_list)
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}@example.com".lower()
            if email not in taken:
                break
            email = f"{first}.{last}{index}@example.com".lower()
            if email not in taken:
                break
        taken.add(email)
        role = "member" if team in led else "lead"
        led.add(team)
        people.append(Person(email, f"{first} {last}", role, team))
    return people


def _owner_pool(rng, people, team_list, function) -> list[tuple[str, int]]:
    """People who own books in a function, each with a weight so books differ in size."""
    in_function = [p for p in people if p.team is not None and team_list[p.team][1] == function]
    owners = [p for p in in_function if p.role != "lead"] or in_function
    return [(p.email, rng.randint(6, 14)) for p in owners]


def _team_moves(rng, team_list, people, history_start, today) -> list[tuple]:
    """About one in seven generated team members moves once to another team of its function.

    A small company still gets one move, so every kind of event is in the data.
    """
    candidates = []
    for person in people:
        if person.named or person.role == "lead" or person.team is None:
            continue
        function = team_list[person.team][1]
        others = [i for i, t in enumerate(team_list) if t[1] == function and i != person.team]
        if others:
            candidates.append((person, others))
    movers = [c for c in candidates if rng.random() < 0.15] or candidates[:1]
    span = (today - history_start).days
    rows = []
    for person, others in movers:
        moved_on = history_start + timedelta(days=rng.randint(span // 5, span - 60))
        old_team, new_team = team_list[person.team][0], team_list[rng.choice(others)][0]
        rows.append((person.email, old_team, history_start.isoformat(), (moved_on - DAY).isoformat()))
        rows.append((person.email, new_team, moved_on.isoformat(), ""))
    return rows


# --- customers and their contracts ---------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _round_arr(dollars: int) -> int:
    return max(500, dollars // 50 * 50)


class _Customer:
    """One customer's attributes, contract lines and revenue history, simulated term by term."""

    def __init__(self, rng: random.Random, external_id: str, history_start: date, today: date):
        self.rng, self.external_id, self.today = rng, external_id, today
        self.segment = rng.choices(SEGMENTS, weights=[s.weight for s in SEGMENTS])[0]
        self.region = _weighted(rng, REGIONS)
        self.industry = rng.choice(INDUSTRIES) if rng.random() > 0.03 else ""
        self.use_case = rng.choice(USE_CASES) if rng.random() > 0.18 else ""
        self.name = f"{rng.choice(NAME_WORDS)} {rng.choice(NAME_NOUNS)} {rng.choice(NAME_SUFFIXES)}"
        # The book the records start with, then more customers won lately: a growing company.
        span = (today - history_start).days - 30
        if rng.random() < 0.25:
            span = 90
        self.acquired = history_start + timedelta(days=int(span * rng.random() ** 0.8))
        if rng.random() < 0.6:
            self.acquired = self.acquired.replace(day=1)
        self.lines: list[tuple] = []
        self.last_revenue_day: date | None = None  # None while the customer still pays today
        self._line_number = 0
        self._simulate()
        self.lines.sort(key=lambda row: (row[3], row[0]))

    def row(self):
        return (self.external_id, self.name, self.segment.name, self.region, self.industry, self.use_case)

    # Lines open now are kept as {product: [start, arr]} and written when they end.
    def _close(self, active, product, last_day: date | None):
        start, arr = active.pop(product)
        self._line_number += 1
        self.lines.append(
            (
                f"{self.external_id}-L{self._line_number:03d}",
                self.external_id,
                product,
                start.isoformat(),
                last_day.isoformat() if last_day else "",
                f"{arr}.00",
                "USD",
            )
        )

    def _term_months(self):
        return self.rng.choice((24, 36)) if self.rng.random() < self.segment.multi_year else 12

    def _addon_arr(self):
        return _round_arr(self.core_arr * self.rng.randint(*ADDON_SHARE) // 100)

    def _new_product(self, active, excluded=()):
        missing = [p for p in PRODUCTS if p not in active and p not in excluded]
        return self.rng.choice(missing) if missing else None

    def _simulate(self):
        rng, today = self.rng, self.today
        self.core_arr = core = _round_arr(rng.randint(*self.segment.core_arr))
        active = {PRODUCTS[0]: [self.acquired, core]}
        if rng.random() < 0.5:
            active[rng.choice(PRODUCTS[1:])] = [self.acquired, self._addon_arr()]
        term_start = self.acquired
        while True:
            renewal = _add_months(term_start, self._term_months())
            term_end = renewal - DAY
            self._mid_term(active, term_start, term_end)
            if renewal > today:
                break
            roll = rng.random()
            if roll < self.segment.churn:
                self._end_all(active, term_end)
                returns_on = renewal + timedelta(days=rng.randint(75, 420))
                if rng.random() >= 0.2 or returns_on > today:
                    return
                # Reactivation: back months later, usually smaller, on the core product.
                arr = _round_arr(core * rng.randint(60, 110) // 100)
                active = {PRODUCTS[0]: [returns_on, arr]}
                term_start = returns_on
            elif roll < self.segment.churn + 0.05:
                # Late renewal: a few weeks with no revenue, then the same lines resume.
                resumes_on = renewal + timedelta(days=rng.randint(10, 45))
                previous = {p: arr for p, (_, arr) in active.items()}
                self._end_all(active, term_end)
                if resumes_on > today:
                    return
                active = {p: [resumes_on, arr] for p, arr in previous.items()}
                term_start = resumes_on
            else:
                self._renew(active, renewal)
                term_start = renewal
        for product in sorted(active):  # lines running today stay open: "until changed"
            self._close(active, product, None)
        self.last_revenue_day = None

    def _end_all(self, active, last_day):
        for product in sorted(active):
            self._close(active, product, last_day)
        self.last_revenue_day = last_day

    def _renew(self, active, renewal):
        """At a renewal each line renews flat, grows, shrinks or is dropped; a product may be added."""
        rng = self.rng
        dropped = set()
        for product in sorted(active):
            arr = active[product][1]
            roll = rng.random()
            if roll < 0.06 and len(active) > 1:
                self._close(active, product, renewal - DAY)  # product dropped: a contraction
                dropped.add(product)
            elif roll < 0.36:
                self._replace(active, product, renewal, _round_arr(arr * rng.randint(110, 160) // 100))
            elif roll < 0.43:
                self._replace(active, product, renewal, _round_arr(arr * rng.randint(50, 90) // 100))
            elif roll < 0.92:
                self._replace(active, product, renewal, arr)  # a new line for the renewed term
        if rng.random() < 0.20:
            product = self._new_product(active, excluded=dropped)
            if product:
                active[product] = [renewal, self._addon_arr()]

    def _replace(self, active, product, first_day, new_arr):
        """The old line ends the day before the new line of the same product starts."""
        self._close(active, product, first_day - DAY)
        active[product] = [first_day, new_arr]

    def _mid_term(self, active, term_start, term_end):
        """Seats added mid-term (upsell) or a new product bought mid-term (cross-sell)."""
        rng = self.rng
        if (term_end - term_start).days < 90:
            return
        if rng.random() < 0.15:
            day = term_start + timedelta(days=rng.randint(45, (term_end - term_start).days - 30))
            product = rng.choice(sorted(active))
            if day <= self.today and day > active[product][0]:
                self._replace(active, product, day, _round_arr(active[product][1] * rng.randint(110, 140) // 100))
        if rng.random() < 0.10:
            day = term_start + timedelta(days=rng.randint(45, (term_end - term_start).days - 30))
            product = self._new_product(active)
            if product and day <= self.today:
                active[product] = [day, self._addon_arr()]


# --- ownership -----------------------------------------------------------------------------


def _assignments(rng, customer: _Customer, role, pool, today) -> list[tuple]:
    """Consecutive owners of one customer in one role: transfers, and now and then a gap."""
    rows = []
    emails, weights = [p[0] for p in pool], [p[1] for p in pool]
    day = customer.acquired
    if rng.random() < 0.05:
        day += timedelta(days=rng.randint(14, 90))  # unassigned for its first weeks
    # A customer that left for good leaves the book some weeks after its last revenue day.
    leaves_on = None
    if customer.last_revenue_day:
        leaves_on = customer.last_revenue_day + timedelta(days=rng.randint(0, 60))
        leaves_on = leaves_on if leaves_on <= today else None
    last_day = leaves_on or today
    owner = rng.choices(emails, weights=weights)[0]
    while day <= last_day:
        stint_end = day + timedelta(days=int(rng.expovariate(1 / 900)) + 30)
        if stint_end >= last_day:
            rows.append(
                (customer.external_id, owner, role, day.isoformat(), leaves_on.isoformat() if leaves_on else "")
            )
            break
        rows.append((customer.external_id, owner, role, day.isoformat(), stint_end.isoformat()))
        gap = rng.randint(7, 60) if rng.random() < 0.08 else 0  # a gap is an unassigned period
        day = stint_end + timedelta(days=1 + gap)
        if len(emails) > 1:  # a transfer to someone else of the function
            others = [(e, w) for e, w in pool if e != owner]
            owner = rng.choices([e for e, _ in others], weights=[w for _, w in others])[0]
    return rows
