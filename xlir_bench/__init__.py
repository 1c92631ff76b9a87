"""xlir-bench: exact monolingual, cross-lingual and multilingual retrieval evaluation on XQuAD-R and MLQA-R.

The face of the package: what users import. Everything else lives in layered
subpackages (docs/development/architecture.md).
"""

from xlir_bench.core.errors import XlirError
from xlir_bench.data.selection import Selection
from xlir_bench.data.tasks import enumerate_settings, get_spec, load_task, registry
from xlir_bench.encode.options import CacheOptions
from xlir_bench.evaluation.pipeline import EvalOptions, evaluate
from xlir_bench.records.build import EvaluationResult
from xlir_bench.records.schema import RunRecord, load_record

__version__ = "0.2.0"
__all__ = [
    "CacheOptions", "EvalOptions", "EvaluationResult", "RunRecord", "Selection", "XlirError", "enumerate_settings",
    "evaluate", "get_spec", "load_record", "load_task", "registry",
]  # fmt: skip
