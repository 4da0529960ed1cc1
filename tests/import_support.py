"""The small company of CSV files the import tests start from, and helpers to write and vary it
(shared by the import, operations and browser tests)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

BASE = {
    "teams.csv": """name,function,lead_email
Success East,customer_success,lead@example.com
Growth,account_management,
""",
    "users.csv": """email,full_name,team,role
lead@example.com,Lea Lead,Success East,lead
csm@example.com,Cora CSM,Success East,
am@example.com,Adam AM,,member
""",
    "team_memberships.csv": """email,team,start_date,end_date
am@example.com,Success East,2024-01-01,2024-06-30
am@example.com,Growth,2024-07-01,
""",
    "customers.csv": """external_id,name,segment,region,industry,use_case
C-1,Acme,Enterprise,EMEA,Manufacturing,Reporting
C-2,Beta,SMB,,,
""",
    "fx_rates.csv": """currency,valid_from,rate
EUR,2024-01-01,1.08
""",
    "contracts.csv": """external_id,customer_external_id,product,start_date,end_date,arr,currency
L-1,C-1,Core,2024-01-01,2024-12-31,"1,234.50",
L-2,C-1,Addon,2024-03-01,,500,EUR
L-3,C-2,Core,2024-02-01,,1200.5,usd
""",
    "assignments.csv": """customer_external_id,email,role,start_date,end_date
C-1,csm@example.com,csm,2024-01-01,2024-06-30
C-1,lead@example.com,csm,2024-07-01,
C-1,am@example.com,am,2024-01-01,
C-2,csm@example.com,csm,2024-02-01,
""",
}


def write_files(directory, files, encoding="utf-8"):
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content.encode(encoding))
    return directory


def changed(name, old, new, files=BASE):
    assert old in files[name], f"fixture text {old!r} not in {name}"
    return {**files, name: files[name].replace(old, new, 1)}


def run_import(directory):
    out, err = StringIO(), StringIO()
    call_command("import_data", str(directory), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rejected(directory):
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_data", str(directory), stdout=StringIO(), stderr=err)
    return str(caught.value)
