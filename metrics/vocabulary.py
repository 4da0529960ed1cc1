"""The words of the domain, spelled once: roles, granularities, scope types, movement and case
kinds, and the placeholders for a missing owner or attribute. Plain Python (no Django): the
engines, the models' choices, the pages, the API and the templates all take them from here.
"""

from __future__ import annotations

# Ownership roles: a customer has at most one owner per role on a day.
CSM, AM = "csm", "am"
ROLES = (CSM, AM)
ROLE_NAMES = {CSM: "Customer success manager", AM: "Account manager"}
ROLE_LABELS = {CSM: "CSM", AM: "AM"}  # short, for tables and headings

# User roles (who may see and do what: metrics.scoping).
ADMIN, EXECUTIVE, LEAD, MEMBER = "admin", "executive", "lead", "member"
USER_ROLES = {ADMIN: "Admin", EXECUTIVE: "Executive", LEAD: "Team lead", MEMBER: "Member"}

# Periods.
MONTH, QUARTER, YEAR, TTM = "month", "quarter", "year", "ttm"
GRANULARITIES = {MONTH: "Month", QUARTER: "Quarter", YEAR: "Year", TTM: "Trailing twelve months"}

# Scopes a figure is computed for. The customer attributes are columns of a customer; the
# slices a company page offers add the tenure band and the product.
COMPANY, TEAM, OWNER, TENURE, PRODUCT = "company", "team", "owner", "tenure", "product"
SEGMENT, REGION, INDUSTRY, USE_CASE = "segment", "region", "industry", "use_case"
CUSTOMER_ATTRIBUTES = (SEGMENT, REGION, INDUSTRY, USE_CASE)
SLICES = (*CUSTOMER_ATTRIBUTES, TENURE, PRODUCT)
SCOPE_TYPES = {
    COMPANY: "Company",
    TEAM: "Team",
    OWNER: "Owner",
    SEGMENT: "Segment",
    REGION: "Region",
    INDUSTRY: "Industry",
    USE_CASE: "Use case",
    PRODUCT: "Product",
    TENURE: "Tenure band",
}
TENURE_BANDS = ((24, "24+"), (12, "12-24"), (6, "6-12"), (0, "0-6"))  # (whole months at least, label)

# What an account did over a period, and the kinds of case a drop opens.
NEW, REACTIVATION, EXPANSION, CONTRACTION, CHURN, NO_CHANGE = (
    "new",
    "reactivation",
    "expansion",
    "contraction",
    "churn",
    "none",
)
MOVEMENTS = {
    NEW: "New",
    REACTIVATION: "Reactivation",
    EXPANSION: "Expansion",
    CONTRACTION: "Contraction",
    CHURN: "Churn",
    NO_CHANGE: "No change",
}
COHORT_MOVEMENTS = frozenset(
    {EXPANSION, CONTRACTION, CHURN, NO_CHANGE}
)  # accounts with ARR on s-1 (a set: order by MOVEMENTS)
CASE_KINDS = {CHURN: "Churn", CONTRACTION: "Contraction"}

# Placeholders: a scope with no owner or team, and a customer attribute left empty.
UNASSIGNED = "unassigned"
UNKNOWN = "unknown"
