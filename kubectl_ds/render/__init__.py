"""Every output format in one place: a registry from result type to (document, text) renderers.

json and yaml render the same document (the stable, camelCase contract); table and wide are text,
rendered from the result with its control characters escaped (render.common.escaped).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from kubectl_ds.core.versions import KubeVersion
from kubectl_ds.render.common import dump, escaped

_REGISTRY: Dict[Any, Tuple[Callable, Callable, str]] = {}

# where a text output says which Kubernetes version's rules it applied
INLINE, ABOVE = "inline", "above"   # at the end of its first line / on a line of its own above it


def register(result_type: Any, document: Callable, text: Callable, version_at: str = ABOVE) -> None:
    _REGISTRY[result_type] = (document, text, version_at)


def render(result, fmt: str, color: bool = False, item_type: Optional[type] = None,
           version: Optional[KubeVersion] = None) -> str:
    """Render `result` (a core result, or a list of `item_type`) as table, wide, json or yaml.

    With `version` (the rules a judging command applied) the document gains `kubernetesVersion`
    and `kubernetesVersionSource`, and the text says "rules of Kubernetes v1.X, from ...".
    """
    key: Any
    if isinstance(result, list):
        key = (list, item_type or type(result[0]))
    else:
        key = type(result)
    document, text, version_at = _REGISTRY[key]
    if fmt in ("json", "yaml"):
        doc = document(result)
        if version is not None:
            doc = {**doc, **version.to_dict()}
        return dump(doc, fmt)
    out = text(escaped(result), fmt == "wide", color)   # no control character of the data reaches the terminal
    if version is None:
        return out
    note = version.describe()
    if version_at == INLINE:
        first, _, rest = out.partition("\n")
        return f"{first}    ({note})" + (f"\n{rest}" if rest else "")
    return f"({note[0].upper()}{note[1:]})\n{out}"


def _register_builtins() -> None:
    from kubectl_ds.core.coverage import Coverage
    from kubectl_ds.core.history import Revision
    from kubectl_ds.core.node_report import NodeReport
    from kubectl_ds.core.rollout import RolloutStatus
    from kubectl_ds.render import diff, rollout, why
    register(RolloutStatus, rollout.rollout_document, rollout.rollout_text, INLINE)
    register((list, Revision), rollout.history_document, rollout.history_text)
    from kubectl_ds.core.migration import Plan, WhatIf
    from kubectl_ds.render import migrate as migrate_render
    register(Plan, migrate_render.document, migrate_render.plan_text)
    register(WhatIf, migrate_render.what_if_document, migrate_render.what_if_text)
    register(NodeReport, why.why_document, why.why_text, INLINE)
    register(Coverage, diff.diff_document, diff.diff_text, INLINE)
    register((list, Coverage), diff.diff_list_document, diff.diff_list_text)
    from kubectl_ds.core.footprint import Footprint, NodeFootprints
    from kubectl_ds.core.lint import LintReport
    from kubectl_ds.render import footprint as footprint_render
    from kubectl_ds.render import lint as lint_render
    register(LintReport, lint_render.lint_document, lint_render.lint_text)
    register(Footprint, footprint_render.footprint_document, footprint_render.footprint_text)
    register(NodeFootprints, footprint_render.by_node_document, footprint_render.by_node_text)


_register_builtins()
