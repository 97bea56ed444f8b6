"""Name tagging: tag characters' names (``B-PER``) in lines of Tiny Shakespeare (CoNLL files, 960/240 lines).

    python examples/demos/token_classification.py --backend pt
"""

from _common import parser, run
from shakespeare_tasks import name_tagging, write_task_files


def main() -> None:
    args = parser(__doc__.splitlines()[0], epochs=3, learning_rate=2e-4, batch_size=16, max_length=64).parse_args()
    run("token_classification", "token-classification", args,
        lambda text, d: write_task_files(d, "names", *name_tagging(text, seed=args.seed), conll=True))


if __name__ == "__main__":
    main()
