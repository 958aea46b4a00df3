"""The layout rules of STYLE.md, measured from the code itself.

    python -m devtools.layout          # prints every breach, exit 1 if any

Rules: no app module over MAX_LINES (migrations aside); no import cycle between modules —
imports inside functions count, since a local import that dodges a cycle is still one; no
import against the app order `affiliates ← tracking ← commissions ← payouts`, nothing
imports `dashboard`, the shared kernel in config/ imports no app; `apps.get_model()` with a
literal app label obeys the same order; no `except ImportError` in app code; each provider
SDK is imported by exactly one gateway module (everything else talks to the gateway).

A package's submodules import their siblings (`payouts.services.runs` imports
`payouts.services.transitions`), never their own package's `__init__`, which may re-export
them as the package's public face; so the implicit "importing a.b runs a/__init__" is not
counted as an edge. tests/test_layout.py runs this.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500
# webhooks sits below affiliates: every app emits events through it, it imports none.
ORDER = {"webhooks": -1, "affiliates": 0, "tracking": 1, "commissions": 2, "payouts": 3}
# emails sits on top with dashboard: it reads every app (the monthly report reuses the
# dashboard's selectors) and writes only its own sent-markers; nothing imports it (apps send
# through the kernel's config.emails, or queue its tasks by name).
TOP = ("dashboard", "emails")
APPS = (*ORDER, *TOP, "config", "devtools")
# config modules that wire the apps together (URLs, the API router, Celery, settings) sit
# above every app; every other config module is the shared kernel and imports no app.
SDKS = ("stripe", "paypalrestsdk")
CONFIG_WIRING = {
    "config.urls",
    "config.api",
    "config.celery",
    "config.settings",
    "config.schema",
    "config.wsgi",  # the fast lane in front of Django (tracking.fastlane)
}


def modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every project module `module` imports, at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {r for a in node.names if (r := _resolve(a.name, known))}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                keep = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*keep, base] if base else keep)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in known else _resolve(base, known)
                if target:
                    out.add(target)
    out.discard(module)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _against_order(source: str, target_app: str) -> str | None:
    app = source.split(".")[0]
    if target_app == "dashboard" and app not in TOP:
        return "nothing imports dashboard"
    if target_app == "emails" and app != "emails" and source not in CONFIG_WIRING:
        return "nothing imports emails (send through config.emails)"
    if app == "config" and source not in CONFIG_WIRING and target_app in (*ORDER, *TOP):
        return "config's shared kernel imports no app"
    if app in ORDER and target_app in ORDER and ORDER[target_app] > ORDER[app]:
        return "against affiliates ← tracking ← commissions ← payouts"
    return None


def breaches() -> Iterator[str]:
    known = modules()
    graph = {m: imports_of(m, p, known) for m, p in known.items()}
    for module, path in known.items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES and module.split(".")[0] != "devtools":
            yield f"{path.relative_to(ROOT)}: {lines} lines (more than {MAX_LINES})"
    for component in cycles(graph):
        yield f"import cycle: {' ↔ '.join(component)}"
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if why := _against_order(module, target.split(".")[0]):
                yield f"{module} imports {target}: {why}"
    for sdk in SDKS:
        users = sorted(
            m for m, p in known.items() if not m.startswith("devtools.") and _imports_sdk(p, sdk)
        )
        if len(users) > 1:
            yield f"{sdk} is imported by {len(users)} modules ({', '.join(users)}): one gateway only"
    for module, path in known.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and _names_import_error(node.type):
                yield f"{path.relative_to(ROOT)}:{node.lineno}: except ImportError"
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "get_model"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and (why := _against_order(module, str(node.args[0].value)))
            ):
                yield f"{path.relative_to(ROOT)}:{node.lineno}: get_model({node.args[0].value!r}): {why}"


def _imports_sdk(path: Path, sdk: str) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == sdk for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == sdk:
            return True
    return False


def _names_import_error(node: ast.expr | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Tuple):
        return any(_names_import_error(e) for e in node.elts)
    return getattr(node, "id", getattr(node, "attr", "")) in {
        "ImportError",
        "ModuleNotFoundError",
    }


def main() -> int:
    found = list(breaches())
    for line in found:
        print(line)
    print(f"{len(found)} layout breach(es)" if found else "layout OK")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
