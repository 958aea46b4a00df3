"""STYLE.md's layout rules hold for the code as it is (devtools/layout.py measures them):
no app module over 500 lines, no import cycle (local imports count), no import against
`affiliates ← tracking ← commissions ← payouts`, nothing imports dashboard, config's kernel
imports no app, no `except ImportError` in app code, and each SDK imported by one gateway."""

from __future__ import annotations

from devtools import layout


def test_the_code_keeps_the_layout_rules():
    found = list(layout.breaches())

    assert found == [], "\n".join(found)


def test_the_checker_sees_a_cycle_hidden_in_a_function():
    graph = {"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": set()}

    assert layout.cycles(graph) == [["a.x", "a.y"]]


def test_the_checker_sees_an_import_against_the_app_order(tmp_path, monkeypatch):
    (tmp_path / "affiliates").mkdir()
    (tmp_path / "payouts").mkdir()
    (tmp_path / "affiliates" / "__init__.py").write_text("")
    (tmp_path / "payouts" / "__init__.py").write_text("")
    (tmp_path / "payouts" / "models.py").write_text("")
    (tmp_path / "affiliates" / "views.py").write_text(
        "def f():\n    from payouts.models import X\n    try:\n        pass\n"
        "    except ImportError:\n        pass\n"
    )
    monkeypatch.setattr(layout, "ROOT", tmp_path)

    found = list(layout.breaches())

    assert any("affiliates.views imports payouts.models" in line for line in found), found
    assert any("except ImportError" in line for line in found), found
