"""The chaos table as printed, and the same facts as JSON under ``chaos/results/``."""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos.faults import FaultRecord
from chaos.verdict import Verdict

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def render(verdict: Verdict, faults: Sequence[FaultRecord], heading: str) -> str:
    lines = [heading, ""]
    lines.append(f"{'check':<46} {'expected':>8} {'found':>8} {'lost':>6} {'doubled':>7} {'wrong':>6}  ")
    lines.append("-" * 88)
    for row in verdict.rows:
        mark = "ok" if row.ok else "FAIL"
        lines.append(
            f"{row.check:<46} {row.expected:>8,} {row.found:>8,} {row.lost:>6,} {row.doubled:>7,} "
            f"{row.wrong:>6,}  {mark}"
        )
    doubled = sum(verdict.doubled_keys.values())
    lines.append(
        f"{'business keys doubled on any output topic':<46} {0:>8} {doubled:>8,}" + _mark(doubled == 0)
    )
    dead = sum(verdict.dead_letters.values())
    lines.append(
        f"{'dead letters (dlq.* topics, outbox_dead_letter)':<46} {0:>8} {dead:>8,}" + _mark(dead == 0)
    )
    hooks = verdict.webhooks
    finally_ok = hooks.get("finally_2xx", 0)
    lines.append(
        f"{'webhook deliveries finally 2xx':<46} {hooks.get('deliveries', 0):>8,} {finally_ok:>8,}"
        + _mark(finally_ok == hooks.get("deliveries"))
    )
    pending = sum(verdict.unpublished_outbox.values())
    lines.append(f"{'outbox rows left unpublished':<46} {0:>8} {pending:>8,}" + _mark(pending == 0))
    lines.append("")
    lines.append(
        f"webhooks: {hooks.get('deliveries', 0):,} deliveries ({hooks.get('duplicates', 0):,} duplicates) "
        f"by provider {hooks.get('by_provider')}, {hooks.get('tries', 0):,} tries, "
        f"{hooks.get('retried', 0):,} retried, gave up {hooks.get('gave_up', 0)}; "
        f"outcomes {hooks.get('outcomes')}"
    )
    kills = [f for f in faults if f.kind == "kill -9"]
    per_kill = verdict.repeats_total / len(kills) if kills else 0.0
    lines.append(
        f"event ids published more than once: {verdict.repeats_total:,} extra copies "
        f"({per_kill:.1f} per kill over {len(kills)} kills)"
    )
    lines.append("")
    lines.append(
        f"{'#':>3} {'fault':<8} {'target':<17} {'in flight':>9} {'back after s':>12} {'re-published':>12}"
    )
    for fault in faults:
        repeats = verdict.repeats_by_fault.get(f"#{fault.number} {fault.target}", 0)
        lines.append(
            f"{fault.number:>3} {fault.kind:<8} {fault.target:<17} {fault.in_flight:>9} "
            f"{fault.back_after_s:>12.1f} {repeats:>12,}  {fault.note}"
        )
    if "before any fault" in verdict.repeats_by_fault:
        lines.append(f"    re-published before any fault: {verdict.repeats_by_fault['before any fault']:,}")
    lines.append("")
    if verdict.passed:
        lines.append("PASSED: nothing lost, doubled or dead-lettered; every webhook ended 2xx")
    else:
        lines.append("FAILED:")
        lines += [f"  - {failure}" for failure in verdict.failures]
    return "\n".join(lines)


def _mark(ok: bool) -> str:
    return "                           ok" if ok else "                           FAIL"


def write(result: dict[str, Any], name: str, results_dir: Path = RESULTS_DIR) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    return path
