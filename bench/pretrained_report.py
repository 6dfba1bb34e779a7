"""Print the measured figures of everything in pretrained/ as Markdown tables (from the model cards).

    python bench/pretrained_report.py
"""
import json
from pathlib import Path

PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"


def main():
    print("| predictor | parameters | held-out R² vs true grammar | Pearson r | training time |")
    print("|---|---|---|---|---|")
    for name in ("utr5", "polya"):
        card = json.loads((PRETRAINED / f"{name}.json").read_text())
        m = card["metrics_held_out"]
        print(f"| `{name}` | {card['parameters']:,} | {m['r2_vs_true_function']:.3f} | "
              f"{m['pearson_r_vs_true_function']:.3f} | {card['training_seconds'] / 60:.1f} min |")
    print()
    targets = ["0.05", "0.1", "0.25", "0.5", "1", "1.5", "2"]
    print("| scrambler | training time | " + " | ".join(f"{t} bits" for t in targets) + " |")
    print("|---|---|" + "---|" * len(targets))
    for path in sorted(PRETRAINED.glob("*_*.json")):
        card = json.loads(path.read_text())
        tracking = card["metrics_held_out"]["bits_tracking_requested_vs_realised"]
        print(f"| `{path.stem}` | {card['training_seconds'] / 60:.1f} min | "
              + " | ".join(f"{tracking[t]:.3f}" for t in targets) + " |")
    print()
    for path in sorted(PRETRAINED.glob("*_*.json")):
        card = json.loads(path.read_text())
        metrics = card["metrics_held_out"]
        if "sample_agreement" in metrics:
            cells = ", ".join(f"{t} bits: R² {v['r2']:.3f}" for t, v in metrics["sample_agreement"].items())
            print(f"- `{path.stem}` original vs mean sample prediction — {cells}")
        if "occlusion_effect" in metrics:
            cells = ", ".join(f"{t} bits: median |Δ| {v['median_abs_change']:.3f}"
                              + (f", flipped {v['flipped']:.2f}" if "flipped" in v else "")
                              for t, v in metrics["occlusion_effect"].items())
            print(f"- `{path.stem}` effect of occluding — {cells}")
        if "uorf_recall_1start_1stop_n200" in metrics:
            cells = ", ".join(f"{t} bits: uAUG {v['start_recall']:.3f} / stop {v['stop_recall']:.3f}"
                              for t, v in metrics["uorf_recall_1start_1stop_n200"].items())
            print(f"- `{path.stem}` top-6 recall, 200 synthetic in-frame uORF UTRs — {cells}")


if __name__ == "__main__":
    main()
