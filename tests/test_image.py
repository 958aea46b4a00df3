"""The Docker image ships the apps, not the tools around them: .dockerignore keeps out the
tests, the local payment peers (devtools/) and the benchmarks, so nothing the image holds
may import them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the image holds of our Python (Dockerfile `COPY . .` minus .dockerignore).
SHIPPED = ("affiliates", "tracking", "commissions", "payouts", "dashboard", "config")
NOT_SHIPPED = ("devtools", "tests", "bench")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_nothing_the_image_ships_imports_the_peers_tests_or_bench():
    # given every module of the apps and config (imports inside functions count)
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & set(NOT_SHIPPED))
        for app in SHIPPED
        for path in sorted((ROOT / app).rglob("*.py"))
    }

    # then none reaches what .dockerignore keeps out of the image
    assert {path: roots for path, roots in offenders.items() if roots} == {}


def test_the_docker_image_leaves_out_the_peers_tests_bench_and_secrets():
    # given the patterns .dockerignore lists
    ignored = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    # then the tools and a local .env (secrets) stay out of the build context
    assert {*NOT_SHIPPED, ".env"} <= ignored
