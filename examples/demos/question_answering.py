"""Cloze QA: find the name blanked out (``_``) of a line in the speech it comes from (800/200 questions).

    python examples/demos/question_answering.py --backend pt
"""

from _common import parser, run
from shakespeare_tasks import cloze_qa, write_task_files


def main() -> None:
    args = parser(__doc__.splitlines()[0], epochs=3, learning_rate=2e-4, batch_size=16, max_length=128).parse_args()
    run("question_answering", "question-answering", args,
        lambda text, d: write_task_files(d, "cloze", *cloze_qa(text, seed=args.seed)), doc_stride=32)


if __name__ == "__main__":
    main()
