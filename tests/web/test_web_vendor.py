"""Chart.js is served from the project's own static files, exactly as pinned, from no CDN."""

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor" / "chartjs"


def test_committed_chartjs_matches_its_recorded_checksum():
    recorded, name = (VENDOR / "chart.umd.min.js.sha256").read_text().split()
    assert name == "chart.umd.min.js"
    assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == recorded


def test_committed_chartjs_is_the_version_pinned_in_the_lock_file():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["chart.js"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/chart.js"]["version"]
    banner = (VENDOR / "chart.umd.min.js").read_text()[:200]
    assert pinned == locked
    assert re.match(r"^4\.\d+\.\d+$", pinned)
    assert f"Chart.js v{pinned}" in banner
    # whitenoise's manifest storage fails on the sourceMappingURL unless the map is beside the file.
    assert (VENDOR / "chart.umd.min.js.map").stat().st_size > 0


def test_no_template_or_script_loads_anything_from_another_host():
    sources = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "static" / "js").rglob("*.js")]
    remote = re.compile(r"""(src|href)\s*=\s*["'](https?:)?//""", re.IGNORECASE)
    offenders = [str(path.relative_to(ROOT)) for path in sources if remote.search(path.read_text())]
    assert offenders == []
