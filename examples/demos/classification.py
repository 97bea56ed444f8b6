"""Speaker classification: is a line ROMEO's or MENENIUS's? (500 lines each from Tiny Shakespeare, 80/20 split.)

    python examples/demos/classification.py --backend pt
    python examples/demos/classification.py --backend tf
"""

from _common import parser, run
from shakespeare_tasks import speaker_classification, write_task_files


def main() -> None:
    args = parser(__doc__.splitlines()[0], epochs=3, learning_rate=1e-4, batch_size=16, max_length=48).parse_args()
    run("classification", "text-classification", args,
        lambda text, d: write_task_files(d, "speakers", *speaker_classification(text, seed=args.seed)))


if __name__ == "__main__":
    main()
