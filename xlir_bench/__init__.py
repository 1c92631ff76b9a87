"""xlir-bench: exact monolingual, cross-lingual and multilingual retrieval evaluation on XQuAD-R and MLQA-R."""

from xlir_bench.core.errors import XlirError
from xlir_bench.data.tasks import enumerate_settings, get_spec, load_task, registry
from xlir_bench.evaluation.pipeline import evaluate
from xlir_bench.records.build import EvaluationResult

__version__ = "0.1.0"
__all__ = ["EvaluationResult", "XlirError", "enumerate_settings", "evaluate", "get_spec", "load_task", "registry"]
