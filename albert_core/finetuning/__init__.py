"""Fine-tuning, framework-free: the run settings (:class:`FinetuneConfig`), data readers for the usual layouts
(:mod:`~albert_core.finetuning.data`), examples -> numpy rows and outputs -> metrics
(:mod:`~albert_core.finetuning.features`, on :mod:`albert_core.tasks` and :mod:`albert_core.metrics`), and the
bookkeeping both backends share (:mod:`~albert_core.finetuning.run`: batch order, schedule, best epoch, history).

The training loops are :func:`albert_pt.finetune.finetune` (PyTorch) and :func:`albert_tf.finetune.finetune`
(Keras ``fit``); ``albert finetune`` runs either.
"""

from .config import DEFAULT_METRICS, TASK_HEADS, FinetuneConfig, canonical_task
from .data import load_examples, read_conll, read_records, records_from, squad_records, write_jsonl
from .features import LabelSpace, TaskFeatures, build_features, evaluate_outputs, infer_labels
from .run import (BEST_DIR, BestTracker, FinetuneResult, RunData, RunRecorder, epoch_batches, make_schedule,
                  prepare_run,
                  save_best)

__all__ = [
    "BEST_DIR",
    "DEFAULT_METRICS",
    "TASK_HEADS",
    "BestTracker",
    "FinetuneConfig",
    "FinetuneResult",
    "LabelSpace",
    "RunData",
    "RunRecorder",
    "TaskFeatures",
    "build_features",
    "canonical_task",
    "epoch_batches",
    "evaluate_outputs",
    "infer_labels",
    "load_examples",
    "make_schedule",
    "prepare_run",
    "read_conll",
    "read_records",
    "records_from",
    "save_best",
    "squad_records",
    "write_jsonl",
]
