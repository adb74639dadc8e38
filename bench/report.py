"""The printed table: each figure with its ratio, the goal it is held to, and the absolute rates."""

import math
from typing import Any

ROWS: tuple[tuple[str, str, str, float | None, bool], ...] = (
    ("1 ingest (SendGrid batches)", "ingest_ratio", "ingest_events_per_s", 0.3, True),
    ("1 ingest (SES single posts)", "ses_ratio", "ses_requests_per_s", None, True),
    ("2 publish (outbox relay)", "publish_ratio", "publish_events_per_s", 0.5, True),
    ("4 end to end (bounces/s)", "", "e2e_bounces_per_s", 1000.0, True),
    ("4 end to end p50 ms @ half load", "", "e2e_p50_ms", None, False),
    ("4 end to end p99 ms @ half load", "e2e_p99_ratio", "e2e_p99_ms", 500.0, False),
    ("5 raw bounce emails", "dsn_ratio", "dsn_emails_per_s", 1.0, True),
    ("6 POST /v1/runs (runs/s)", "runs_api_ratio", "runs_api_runs_per_s", 1000.0, True),
    ("6 server CPU ms per run", "", "runs_api_server_cpu_ms", None, False),
    ("6 bare endpoint's server CPU ms per request", "", "bare_runs_server_cpu_ms", None, False),
)


def _number(value: Any) -> str:
    """Three significant digits below 100 (a ratio of 0.004 must not print as 0.00), whole numbers above."""
    if not isinstance(value, int | float) or math.isnan(value):
        return "-"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _verdict(value: Any, goal: float | None, higher_is_better: bool) -> str:
    if goal is None or not isinstance(value, int | float) or math.isnan(value):
        return ""
    met = value >= goal if higher_is_better else value <= goal
    return "ok" if met else "SHORT"


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{'figure':<44} {'ratio':>7} {'absolute':>11}  {'goal':>8}",
        "-" * 80,
    ]

    def row(name: str, ratio_value: Any, absolute: Any, goal: float | None, on_ratio: bool, up: bool) -> None:
        judged = ratio_value if on_ratio else absolute
        goal_text = "" if goal is None else (f">= {goal:g}" if up else f"<= {goal:g}")
        lines.append(
            f"{name:<44} {_number(ratio_value):>7} {_number(absolute):>11}  {goal_text:>8} "
            f"{_verdict(judged, goal, up)}"
        )

    for name, ratio_key, absolute_key, goal, up in ROWS[:3]:
        row(name, results.get(ratio_key), results.get(absolute_key), goal, True, up)
    for service, value in sorted((results.get("consume_ratio") or {}).items()):
        absolute = (results.get("consume_events_per_s") or {}).get(service)
        row(f"3 consume {service}", value, absolute, 0.5, True, True)
    if "publish_ratio_postgres" in results:
        ratio_value, absolute = (
            results["publish_ratio_postgres"],
            results.get("publish_events_per_s_postgres"),
        )
        row("2 publish, PostgreSQL", ratio_value, absolute, 0.5, True, True)
    for service, value in sorted((results.get("consume_ratio_postgres") or {}).items()):
        absolute = (results.get("consume_events_per_s_postgres") or {}).get(service)
        row(f"3 consume {service}, PostgreSQL", value, absolute, 0.5, True, True)
    for name, ratio_key, absolute_key, goal, up in ROWS[3:]:
        on_ratio = absolute_key == "dsn_emails_per_s"  # figure 6's goal is absolute, as 4's
        row(name, results.get(ratio_key), results.get(absolute_key), goal, on_ratio, up)
    machine = results.get("machine", {})
    lines.append("-" * 80)
    for name, error in sorted((results.get("failed") or {}).items()):
        lines.append(f"FAILED {name}: {error}")
    lines.append(
        f"{results.get('mode')} run, {results.get('date')}: {machine.get('cores')} cores, "
        f"Python {machine.get('python')}, Kafka {machine.get('kafka')}; seconds {results.get('seconds')}"
    )
    return "\n".join(lines)
