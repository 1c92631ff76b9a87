"""xlir-bench: exact monolingual, cross-lingual and multilingual retrieval evaluation on XQuAD-R and MLQA-R."""

from .errors import XlirError
from .evaluate import evaluate
from .record import EvaluationResult
from .tasks import enumerate_settings, get_spec, load_task, registry

__version__ = "0.1.0"
__all__ = ["EvaluationResult", "XlirError", "enumerate_settings", "evaluate", "get_spec", "load_task", "registry"]
