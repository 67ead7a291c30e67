"""Every output format in one place: a registry from result type to (document, text) renderers.

json and yaml render the same document (the stable, camelCase contract); table and wide are text.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

from kubectl_ds.render.common import dump

_REGISTRY: Dict[type, Tuple[Callable, Callable]] = {}


def register(result_type: type, document: Callable, text: Callable) -> None:
    _REGISTRY[result_type] = (document, text)


def render(result, fmt: str, color: bool = False, item_type: type = None) -> str:
    """Render `result` (a core result, or a list of `item_type`) as table, wide, json or yaml."""
    if isinstance(result, list):
        key = (list, item_type or type(result[0]))
    else:
        key = type(result)
    document, text = _REGISTRY[key]
    if fmt in ("json", "yaml"):
        return dump(document(result), fmt)
    return text(result, fmt == "wide", color)


def _register_builtins() -> None:
    from kubectl_ds.core.coverage import Coverage
    from kubectl_ds.core.node_report import NodeReport
    from kubectl_ds.core.rollout import Revision, RolloutStatus
    from kubectl_ds.render import diff, rollout, why
    register(RolloutStatus, rollout.rollout_document, rollout.rollout_text)
    register((list, Revision), rollout.history_document, rollout.history_text)
    from kubectl_ds.core.migration import Plan, WhatIf
    from kubectl_ds.render import migrate as migrate_render
    register(Plan, migrate_render.document, migrate_render.plan_text)
    register(WhatIf, migrate_render.what_if_document, migrate_render.what_if_text)
    register(NodeReport, why.why_document, why.why_text)
    register(Coverage, diff.diff_document, diff.diff_text)
    register((list, Coverage), diff.diff_list_document, diff.diff_list_text)
    from kubectl_ds.core.footprint import Footprint, NodeFootprints
    from kubectl_ds.core.lint import LintReport
    from kubectl_ds.render import footprint as footprint_render, lint as lint_render
    register(LintReport, lint_render.lint_document, lint_render.lint_text)
    register(Footprint, footprint_render.footprint_document, footprint_render.footprint_text)
    register(NodeFootprints, footprint_render.by_node_document, footprint_render.by_node_text)


_register_builtins()
