"""Next line: which of four lines follows a given line of a speech? (640/160 questions; chance is 25%.)

    python examples/demos/multiple_choice.py --backend pt
"""

from _common import parser, run
from shakespeare_tasks import next_line_choice, write_task_files


def main() -> None:
    args = parser(__doc__.splitlines()[0], epochs=3, learning_rate=1e-4, batch_size=8, max_length=64).parse_args()
    run("multiple_choice", "multiple-choice", args,
        lambda text, d: write_task_files(d, "next_line", *next_line_choice(text, seed=args.seed)))


if __name__ == "__main__":
    main()
