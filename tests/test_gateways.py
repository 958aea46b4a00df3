"""One adapter module per provider SDK (STYLE.md): `stripe` is imported only by
commissions.gateways.stripe and `paypalrestsdk` only by payouts.gateways.paypal; every other
module — app code, config, the dev tools, bench and the tests — talks to the gateways.
Imports inside functions count."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = (
    "affiliates",
    "tracking",
    "commissions",
    "payouts",
    "dashboard",
    "config",
    "devtools",
    "bench",
    "tests",
)
SDKS = ("stripe", "paypalrestsdk")


def _sdk_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(SDKS)
    return found


def test_each_provider_sdk_is_imported_by_its_gateway_alone():
    # given every Python module of the project
    importers: dict[str, list[str]] = {sdk: [] for sdk in SDKS}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            for sdk in _sdk_imports(path):
                importers[sdk].append(str(path.relative_to(ROOT)))

    # then exactly one module imports each SDK: its gateway
    assert importers == {
        "stripe": ["commissions/gateways/stripe.py"],
        "paypalrestsdk": ["payouts/gateways/paypal.py"],
    }
