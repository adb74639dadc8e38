"""Score the DSN parser against the labelled development set (``<shared>/corpus/dsn/key.tsv``).

``python -m bounce_ingest.dsn.evaluate [--json] [--misses]`` prints category, reason and recipient
agreement, non-bounces published as bounces, a confusion matrix, emails per second, and per layer of
evidence (``classification.LAYERS``) how many answers it decided and how many of those were right.

The key labels delay warnings (``Action: delayed``, "will keep retrying") as bounces with reason
``expired``; ARCHITECTURE section 4 says they are not bounces. Those rows are counted apart
(``delayed_rows``): ``*_agreement`` covers every bounce row, ``*_agreement_final`` the rest.
"""

import argparse
import csv
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bounce_ingest.classification import LAYERS
from bounce_ingest.dsn.model import Classification, DsnBounce
from bounce_ingest.dsn.parser import parse_bounce_email
from seevee_shared.reference_data import shared_dir

BOUNCE_CATEGORIES = ("mailbox_unknown", "temporary", "spam_policy")


@dataclass
class KeyRow:
    """One labelled (email, failed recipient) row of key.tsv."""

    path: str
    index: int
    reason: str
    category: str
    recipient: str


@dataclass
class Score:
    """Agreement of the parser with the key."""

    emails: int = 0
    bounce_rows: int = 0
    delayed_rows: int = 0
    category_agree: int = 0
    reason_agree: int = 0
    recipient_rows: int = 0
    recipient_agree: int = 0
    non_bounce_rows: int = 0
    non_bounce_agree: int = 0
    non_bounces_published: int = 0
    published_non_bounces: list[str] = field(default_factory=list)
    seconds: float = 0.0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    # layer -> [answers it decided, right reason, right category]
    layers: dict[str, list[int]] = field(default_factory=dict)

    def ratio(self, agree: int, total: int) -> float:
        return agree / total if total else 1.0

    @property
    def final_rows(self) -> int:
        """Bounce rows that are final failures (not delay warnings, see the module docstring)."""
        return self.bounce_rows - self.delayed_rows

    def summary(self) -> dict[str, object]:
        return {
            "emails": self.emails,
            "bounce_rows": self.bounce_rows,
            "delayed_rows": self.delayed_rows,
            "category_agreement": round(self.ratio(self.category_agree, self.bounce_rows), 4),
            "reason_agreement": round(self.ratio(self.reason_agree, self.bounce_rows), 4),
            "category_agreement_final": round(self.ratio(self.category_agree, self.final_rows), 4),
            "reason_agreement_final": round(self.ratio(self.reason_agree, self.final_rows), 4),
            "recipient_rows": self.recipient_rows,
            "recipient_agreement": round(self.ratio(self.recipient_agree, self.recipient_rows), 4),
            "non_bounce_rows": self.non_bounce_rows,
            "non_bounce_kind_agreement": round(self.ratio(self.non_bounce_agree, self.non_bounce_rows), 4),
            "non_bounces_published": self.non_bounces_published,
            "emails_per_second": round(self.emails / self.seconds, 1) if self.seconds else None,
            "confusion": self.confusion,
            "layers": {
                layer: {"decided": n, "reason_right": r, "category_right": c}
                for layer, (n, r, c) in sorted(self.layers.items(), key=lambda kv: LAYERS.index(kv[0]))
            },
        }


def read_key(corpus: Path) -> list[KeyRow]:
    """The labelled rows of the corpus key."""
    with (corpus / "key.tsv").open(newline="", encoding="utf-8") as handle:
        return [
            KeyRow(row["path"], int(row["recipient_index"]), row["reason"], row["category"], row["recipient"])
            for row in csv.DictReader(handle, delimiter="\t")
        ]


def _bounce_for(answer: Classification, row: KeyRow) -> DsnBounce | None:
    """The bounce a key row is about: by its recipient where the key names one, else by position."""
    wanted = {r.strip().lower() for r in row.recipient.split("|") if r.strip()}
    for bounce in answer.bounces:
        if bounce.recipient.lower() in wanted:
            return bounce
    return answer.bounces[row.index - 1] if len(answer.bounces) >= row.index else None


def evaluate(corpus: Path) -> Score:
    """Parse every email of the key once and compare with its rows."""
    rows = read_key(corpus)
    paths = sorted({row.path for row in rows})
    raws = {path: (corpus / path).read_bytes() for path in paths}
    started = time.perf_counter()
    answers: dict[str, Classification] = {path: parse_bounce_email(raws[path]) for path in paths}
    score = Score(emails=len(paths), seconds=time.perf_counter() - started)
    confusion: dict[str, Counter[str]] = {}
    for row in rows:
        answer = answers[row.path]
        bounce = _bounce_for(answer, row)
        if row.category in BOUNCE_CATEGORIES:
            score.bounce_rows += 1
            if answer.kind == "delayed":
                score.delayed_rows += 1
            got_category = bounce.category if bounce else answer.kind
            confusion.setdefault(row.category, Counter())[got_category] += 1
            if row.recipient:
                score.recipient_rows += 1
                wanted = {r.strip().lower() for r in row.recipient.split("|")}
                got = {b.recipient.lower() for b in answer.bounces} | set(answer.recipients)
                if wanted & got:
                    score.recipient_agree += 1
                else:
                    score.misses.append(f"{row.path}\trecipient\t{row.recipient}\t{sorted(got)}")
            if bounce is not None:
                tally = score.layers.setdefault(bounce.decided_by or "fallback", [0, 0, 0])
                tally[0] += 1
                tally[1] += bounce.reason == row.reason
                tally[2] += bounce.category == row.category
            if bounce and bounce.category == row.category:
                score.category_agree += 1
            else:
                score.misses.append(f"{row.path}\tcategory\t{row.category}\t{got_category}")
            if bounce and bounce.reason == row.reason:
                score.reason_agree += 1
            else:
                got_reason = bounce.reason if bounce else answer.kind
                diagnostic = (bounce.diagnostic or "")[:160] if bounce else ""
                layer = bounce.decided_by if bounce else ""
                score.misses.append(f"{row.path}\treason\t{row.reason}\t{got_reason}\t{layer}\t{diagnostic}")
        else:
            score.non_bounce_rows += 1
            confusion.setdefault(row.category, Counter())[answer.kind] += 1
            if answer.kind == row.category:
                score.non_bounce_agree += 1
            else:
                score.misses.append(f"{row.path}\tkind\t{row.category}\t{answer.kind}")
            if answer.kind == "bounce" and row.index == 1:
                score.non_bounces_published += 1
                score.published_non_bounces.append(row.path)
    score.confusion = {k: dict(v) for k, v in sorted(confusion.items())}
    return score


def main(argv: list[str] | None = None) -> int:
    """Print the scores; exit 2 when the corpus is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: shared dsn)")
    args = parser.parse_args(argv)
    corpus = args.corpus or shared_dir() / "corpus" / "dsn"
    if not (corpus / "key.tsv").is_file():
        print(f"no key.tsv under {corpus}", file=sys.stderr)
        return 2
    score = evaluate(corpus)
    summary = score.summary()
    if args.json:
        if args.misses:
            summary["misses"] = score.misses
        print(json.dumps(summary, indent=2))
        return 0
    for key, value in summary.items():
        if key not in ("confusion", "layers"):
            print(f"{key:28} {value}")
    print("decided by (answers, reason right, category right):")
    for layer, tally in score.summary()["layers"].items():  # type: ignore[attr-defined]
        n, r, c = tally["decided"], tally["reason_right"], tally["category_right"]
        print(f"  {layer:10} {n:4}  reason {r:4} ({r / n:6.1%})  category {c:4} ({c / n:6.1%})")
    print("confusion (expected -> got):")
    for expected, got in score.confusion.items():
        print(f"  {expected:16} {dict(sorted(got.items()))}")
    if args.misses:
        print("\n".join(score.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
