"""Copy the front-end files kehu needs from node_modules/ into src/kehu/web/static/vendor/.

Run `npm install && python3 scripts/vendor_assets.py` after changing package.json. The copied
files are committed, so a fresh installation needs neither npm nor a CDN (the product must work
offline and behind a firewall). Source-map comments are removed and the icon font is trimmed to
WOFF2, so that WhiteNoise's manifest storage finds every file the CSS and JS refer to.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "src" / "kehu" / "web" / "static" / "vendor"

# (package, file inside the package, destination under vendor/)
FILES: list[tuple[str, str, str]] = [
    ("@tabler/core", "dist/css/tabler.min.css", "tabler/tabler.min.css"),
    ("@tabler/core", "dist/js/tabler.min.js", "tabler/tabler.min.js"),
    ("@tabler/icons-webfont", "dist/tabler-icons.min.css", "tabler-icons/tabler-icons.min.css"),
    ("@tabler/icons-webfont", "dist/fonts/tabler-icons.woff2", "tabler-icons/fonts/tabler-icons.woff2"),
    ("@tabler/icons-webfont", "LICENSE", "tabler-icons/LICENSE"),
    ("htmx.org", "dist/htmx.min.js", "htmx/htmx.min.js"),
    ("htmx.org", "LICENSE", "htmx/LICENSE"),
    ("echarts", "dist/echarts.min.js", "echarts/echarts.min.js"),
    ("echarts", "LICENSE", "echarts/LICENSE"),
    ("tabulator-tables", "dist/js/tabulator.min.js", "tabulator/tabulator.min.js"),
    ("tabulator-tables", "dist/css/tabulator_bootstrap5.min.css", "tabulator/tabulator_bootstrap5.min.css"),
    ("tabulator-tables", "LICENSE", "tabulator/LICENSE"),
]

_SOURCE_MAP = re.compile(r"\n?/[/*]# sourceMappingURL=[^\n]*?(\*/)?\s*$")
_ICON_FONT_SRC = re.compile(r"src:url\(\"\./fonts/tabler-icons\.woff2[^\"]*\"\) format\(\"woff2\"\)[^}]*")


def clean(destination: str, text: str) -> str:
    text = _SOURCE_MAP.sub("\n", text)
    if destination.endswith("tabler-icons.min.css"):
        text, count = _ICON_FONT_SRC.subn('src:url("./fonts/tabler-icons.woff2") format("woff2")', text)
        if count != 1:
            raise SystemExit("tabler-icons.min.css changed shape: update scripts/vendor_assets.py")
    return text


def main() -> int:
    if not MODULES.is_dir():
        print("node_modules/ is missing: run `npm install` first.", file=sys.stderr)
        return 1
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    versions: dict[str, str] = {}
    for package, source, destination in FILES:
        src = MODULES / package / source
        dst = VENDOR / destination
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix in {".css", ".js"}:
            dst.write_text(clean(destination, src.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copyfile(src, dst)
        meta = json.loads((MODULES / package / "package.json").read_text())
        versions[package] = f"{meta['version']} ({meta.get('license', 'see package')})"
    (VENDOR / "VERSIONS.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
    print(f"Vendored {len(FILES)} files into {VENDOR.relative_to(ROOT)}: {versions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
