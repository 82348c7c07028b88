from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UploadDatasetRequest(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: DatasetMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[DatasetMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets",)
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("dataset_id", "max_length")
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    max_length: int
    def __init__(self, dataset_id: _Optional[str] = ..., max_length: _Optional[int] = ...) -> None: ...

class DownloadDatasetRequest(_message.Message):
    __slots__ = ("dataset_id",)
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    def __init__(self, dataset_id: _Optional[str] = ...) -> None: ...

class DatasetChunk(_message.Message):
    __slots__ = ("chunk",)
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    def __init__(self, chunk: _Optional[bytes] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ("dataset_id",)
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    def __init__(self, dataset_id: _Optional[str] = ...) -> None: ...

class DeleteDatasetResponse(_message.Message):
    __slots__ = ("id", "deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    deleted: bool
    def __init__(self, id: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints",)
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("id", "created_at", "job_id", "step_number", "metrics", "state_kept")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NUMBER_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    STATE_KEPT_FIELD_NUMBER: _ClassVar[int]
    id: str
    created_at: int
    job_id: str
    step_number: int
    metrics: _struct_pb2.Struct
    state_kept: bool
    def __init__(self, id: _Optional[str] = ..., created_at: _Optional[int] = ..., job_id: _Optional[str] = ..., step_number: _Optional[int] = ..., metrics: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., state_kept: _Optional[bool] = ...) -> None: ...

class DatasetMetadata(_message.Message):
    __slots__ = ("filename", "purpose")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    filename: str
    purpose: str
    def __init__(self, filename: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("id", "filename", "bytes", "purpose", "created_at", "report")
    ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    id: str
    filename: str
    bytes: int
    purpose: str
    created_at: int
    report: DatasetReport
    def __init__(self, id: _Optional[str] = ..., filename: _Optional[str] = ..., bytes: _Optional[int] = ..., purpose: _Optional[str] = ..., created_at: _Optional[int] = ..., report: _Optional[_Union[DatasetReport, _Mapping]] = ...) -> None: ...

class DatasetReport(_message.Message):
    __slots__ = ("format", "examples", "tokens", "truncated", "duplicates", "label_counts", "errors", "error_count", "max_length")
    class LabelCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    format: str
    examples: int
    tokens: TokenStats
    truncated: int
    duplicates: int
    label_counts: _containers.ScalarMap[str, int]
    errors: _containers.RepeatedCompositeFieldContainer[LineError]
    error_count: int
    max_length: int
    def __init__(self, format: _Optional[str] = ..., examples: _Optional[int] = ..., tokens: _Optional[_Union[TokenStats, _Mapping]] = ..., truncated: _Optional[int] = ..., duplicates: _Optional[int] = ..., label_counts: _Optional[_Mapping[str, int]] = ..., errors: _Optional[_Iterable[_Union[LineError, _Mapping]]] = ..., error_count: _Optional[int] = ..., max_length: _Optional[int] = ...) -> None: ...

class TokenStats(_message.Message):
    __slots__ = ("min", "max", "mean", "p50", "p95", "total")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    min: int
    max: int
    mean: float
    p50: int
    p95: int
    total: int
    def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ..., mean: _Optional[float] = ..., p50: _Optional[int] = ..., p95: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class LineError(_message.Message):
    __slots__ = ("line", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    reason: str
    def __init__(self, line: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("model", "training_file", "validation_file", "suffix", "seed", "method", "publish_if", "activate", "diagnostics")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_IF_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    model: str
    training_file: str
    validation_file: str
    suffix: str
    seed: int
    method: Method
    publish_if: PublishIf
    activate: bool
    diagnostics: DiagnosticsOptions
    def __init__(self, model: _Optional[str] = ..., training_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., suffix: _Optional[str] = ..., seed: _Optional[int] = ..., method: _Optional[_Union[Method, _Mapping]] = ..., publish_if: _Optional[_Union[PublishIf, _Mapping]] = ..., activate: _Optional[bool] = ..., diagnostics: _Optional[_Union[DiagnosticsOptions, _Mapping]] = ...) -> None: ...

class DiagnosticsOptions(_message.Message):
    __slots__ = ("reference_file", "layers", "max_examples")
    REFERENCE_FILE_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    MAX_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    reference_file: str
    layers: _containers.RepeatedScalarFieldContainer[int]
    max_examples: int
    def __init__(self, reference_file: _Optional[str] = ..., layers: _Optional[_Iterable[int]] = ..., max_examples: _Optional[int] = ...) -> None: ...

class Method(_message.Message):
    __slots__ = ("type", "hyperparameters", "adapter")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    type: str
    hyperparameters: Hyperparameters
    adapter: AdapterSettings
    def __init__(self, type: _Optional[str] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., adapter: _Optional[_Union[AdapterSettings, _Mapping]] = ...) -> None: ...

class Hyperparameters(_message.Message):
    __slots__ = ("epochs", "batch_size", "gradient_accumulation_steps", "learning_rate", "warmup_steps", "schedule", "weight_decay", "max_grad_norm", "max_seq_length", "eval_every_steps", "early_stopping_patience", "checkpoint_every_steps", "validation_split")
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    MAX_GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    EVAL_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_PATIENCE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_SPLIT_FIELD_NUMBER: _ClassVar[int]
    epochs: int
    batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    warmup_steps: int
    schedule: str
    weight_decay: float
    max_grad_norm: float
    max_seq_length: int
    eval_every_steps: int
    early_stopping_patience: int
    checkpoint_every_steps: int
    validation_split: float
    def __init__(self, epochs: _Optional[int] = ..., batch_size: _Optional[int] = ..., gradient_accumulation_steps: _Optional[int] = ..., learning_rate: _Optional[float] = ..., warmup_steps: _Optional[int] = ..., schedule: _Optional[str] = ..., weight_decay: _Optional[float] = ..., max_grad_norm: _Optional[float] = ..., max_seq_length: _Optional[int] = ..., eval_every_steps: _Optional[int] = ..., early_stopping_patience: _Optional[int] = ..., checkpoint_every_steps: _Optional[int] = ..., validation_split: _Optional[float] = ...) -> None: ...

class AdapterSettings(_message.Message):
    __slots__ = ("r", "alpha", "dropout", "target_modules", "use_rslora", "method", "layers_to_transform", "num_virtual_tokens", "prompt_init_text", "bottleneck_size", "placement", "partial_layers")
    R_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    DROPOUT_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    USE_RSLORA_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    LAYERS_TO_TRANSFORM_FIELD_NUMBER: _ClassVar[int]
    NUM_VIRTUAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_INIT_TEXT_FIELD_NUMBER: _ClassVar[int]
    BOTTLENECK_SIZE_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_LAYERS_FIELD_NUMBER: _ClassVar[int]
    r: int
    alpha: float
    dropout: float
    target_modules: _containers.RepeatedScalarFieldContainer[str]
    use_rslora: bool
    method: str
    layers_to_transform: _containers.RepeatedScalarFieldContainer[int]
    num_virtual_tokens: int
    prompt_init_text: str
    bottleneck_size: int
    placement: str
    partial_layers: int
    def __init__(self, r: _Optional[int] = ..., alpha: _Optional[float] = ..., dropout: _Optional[float] = ..., target_modules: _Optional[_Iterable[str]] = ..., use_rslora: _Optional[bool] = ..., method: _Optional[str] = ..., layers_to_transform: _Optional[_Iterable[int]] = ..., num_virtual_tokens: _Optional[int] = ..., prompt_init_text: _Optional[str] = ..., bottleneck_size: _Optional[int] = ..., placement: _Optional[str] = ..., partial_layers: _Optional[int] = ...) -> None: ...

class PublishIf(_message.Message):
    __slots__ = ("min_eval_accuracy", "max_eval_loss_ratio", "max_forgetting", "min_gain_over_baseline")
    MIN_EVAL_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MAX_EVAL_LOSS_RATIO_FIELD_NUMBER: _ClassVar[int]
    MAX_FORGETTING_FIELD_NUMBER: _ClassVar[int]
    MIN_GAIN_OVER_BASELINE_FIELD_NUMBER: _ClassVar[int]
    min_eval_accuracy: float
    max_eval_loss_ratio: float
    max_forgetting: float
    min_gain_over_baseline: float
    def __init__(self, min_eval_accuracy: _Optional[float] = ..., max_eval_loss_ratio: _Optional[float] = ..., max_forgetting: _Optional[float] = ..., min_gain_over_baseline: _Optional[float] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "model", "training_file", "validation_file", "suffix", "status", "fine_tuned_model", "created_at", "finished_at", "error", "method", "seed", "trained_tokens", "publish_if", "diagnostics", "report")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNED_MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TRAINED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_IF_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    id: str
    model: str
    training_file: str
    validation_file: str
    suffix: str
    status: str
    fine_tuned_model: str
    created_at: int
    finished_at: int
    error: str
    method: Method
    seed: int
    trained_tokens: int
    publish_if: PublishIf
    diagnostics: DiagnosticsOptions
    report: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., training_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., suffix: _Optional[str] = ..., status: _Optional[str] = ..., fine_tuned_model: _Optional[str] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., error: _Optional[str] = ..., method: _Optional[_Union[Method, _Mapping]] = ..., seed: _Optional[int] = ..., trained_tokens: _Optional[int] = ..., publish_if: _Optional[_Union[PublishIf, _Mapping]] = ..., diagnostics: _Optional[_Union[DiagnosticsOptions, _Mapping]] = ..., report: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("limit", "after")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    limit: int
    after: str
    def __init__(self, limit: _Optional[int] = ..., after: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "has_more")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    has_more: bool
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "after_event_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_event_id: str
    def __init__(self, job_id: _Optional[str] = ..., after_event_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("id", "created_at", "level", "message", "type", "data", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    created_at: int
    level: str
    message: str
    type: str
    data: JobMetrics
    status: str
    def __init__(self, id: _Optional[str] = ..., created_at: _Optional[int] = ..., level: _Optional[str] = ..., message: _Optional[str] = ..., type: _Optional[str] = ..., data: _Optional[_Union[JobMetrics, _Mapping]] = ..., status: _Optional[str] = ...) -> None: ...

class JobMetrics(_message.Message):
    __slots__ = ("step", "train_loss", "eval_loss", "eval_accuracy", "learning_rate", "tokens_per_second", "eta_seconds")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    EVAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    EVAL_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    step: int
    train_loss: float
    eval_loss: float
    eval_accuracy: float
    learning_rate: float
    tokens_per_second: float
    eta_seconds: float
    def __init__(self, step: _Optional[int] = ..., train_loss: _Optional[float] = ..., eval_loss: _Optional[float] = ..., eval_accuracy: _Optional[float] = ..., learning_rate: _Optional[float] = ..., tokens_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("training_file", "task", "budget", "top_k", "epochs", "sample_size")
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    training_file: str
    task: str
    budget: RecommendBudget
    top_k: int
    epochs: int
    sample_size: int
    def __init__(self, training_file: _Optional[str] = ..., task: _Optional[str] = ..., budget: _Optional[_Union[RecommendBudget, _Mapping]] = ..., top_k: _Optional[int] = ..., epochs: _Optional[int] = ..., sample_size: _Optional[int] = ...) -> None: ...

class RecommendBudget(_message.Message):
    __slots__ = ("max_train_minutes", "max_adapter_bytes")
    MAX_TRAIN_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ADAPTER_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_train_minutes: float
    max_adapter_bytes: int
    def __init__(self, max_train_minutes: _Optional[float] = ..., max_adapter_bytes: _Optional[int] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("training_file", "model", "task", "regime", "dataset", "shift", "methods", "excluded")
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    REGIME_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    SHIFT_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    training_file: str
    model: str
    task: str
    regime: str
    dataset: DatasetFacts
    shift: DomainShift
    methods: _containers.RepeatedCompositeFieldContainer[MethodRecommendation]
    excluded: _containers.RepeatedCompositeFieldContainer[MethodRecommendation]
    def __init__(self, training_file: _Optional[str] = ..., model: _Optional[str] = ..., task: _Optional[str] = ..., regime: _Optional[str] = ..., dataset: _Optional[_Union[DatasetFacts, _Mapping]] = ..., shift: _Optional[_Union[DomainShift, _Mapping]] = ..., methods: _Optional[_Iterable[_Union[MethodRecommendation, _Mapping]]] = ..., excluded: _Optional[_Iterable[_Union[MethodRecommendation, _Mapping]]] = ...) -> None: ...

class DatasetFacts(_message.Message):
    __slots__ = ("format", "examples", "tokens", "mean_tokens", "labels", "label_counts", "majority_rate")
    class LabelCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    MEAN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNTS_FIELD_NUMBER: _ClassVar[int]
    MAJORITY_RATE_FIELD_NUMBER: _ClassVar[int]
    format: str
    examples: int
    tokens: int
    mean_tokens: float
    labels: int
    label_counts: _containers.ScalarMap[str, int]
    majority_rate: float
    def __init__(self, format: _Optional[str] = ..., examples: _Optional[int] = ..., tokens: _Optional[int] = ..., mean_tokens: _Optional[float] = ..., labels: _Optional[int] = ..., label_counts: _Optional[_Mapping[str, int]] = ..., majority_rate: _Optional[float] = ...) -> None: ...

class DomainShift(_message.Message):
    __slots__ = ("measure", "sample_size", "base_loss", "base_perplexity", "probe_accuracy", "majority_rate", "score", "level")
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    BASE_LOSS_FIELD_NUMBER: _ClassVar[int]
    BASE_PERPLEXITY_FIELD_NUMBER: _ClassVar[int]
    PROBE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MAJORITY_RATE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    measure: str
    sample_size: int
    base_loss: float
    base_perplexity: float
    probe_accuracy: float
    majority_rate: float
    score: float
    level: str
    def __init__(self, measure: _Optional[str] = ..., sample_size: _Optional[int] = ..., base_loss: _Optional[float] = ..., base_perplexity: _Optional[float] = ..., probe_accuracy: _Optional[float] = ..., majority_rate: _Optional[float] = ..., score: _Optional[float] = ..., level: _Optional[str] = ...) -> None: ...

class MethodRecommendation(_message.Message):
    __slots__ = ("rank", "method", "settings", "learning_rate", "trainable_params", "adapter_bytes", "train_seconds", "reasons", "diagnostics_seconds", "checkpoint_seconds")
    RANK_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TRAINABLE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_BYTES_FIELD_NUMBER: _ClassVar[int]
    TRAIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    rank: int
    method: str
    settings: AdapterSettings
    learning_rate: float
    trainable_params: int
    adapter_bytes: int
    train_seconds: float
    reasons: _containers.RepeatedScalarFieldContainer[str]
    diagnostics_seconds: float
    checkpoint_seconds: float
    def __init__(self, rank: _Optional[int] = ..., method: _Optional[str] = ..., settings: _Optional[_Union[AdapterSettings, _Mapping]] = ..., learning_rate: _Optional[float] = ..., trainable_params: _Optional[int] = ..., adapter_bytes: _Optional[int] = ..., train_seconds: _Optional[float] = ..., reasons: _Optional[_Iterable[str]] = ..., diagnostics_seconds: _Optional[float] = ..., checkpoint_seconds: _Optional[float] = ...) -> None: ...

class CreateSweepRequest(_message.Message):
    __slots__ = ("model", "training_file", "validation_file", "task", "methods", "top_k", "hyperparameters", "budget", "seed", "suffix")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    model: str
    training_file: str
    validation_file: str
    task: str
    methods: _containers.RepeatedScalarFieldContainer[str]
    top_k: int
    hyperparameters: Hyperparameters
    budget: RecommendBudget
    seed: int
    suffix: str
    def __init__(self, model: _Optional[str] = ..., training_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., task: _Optional[str] = ..., methods: _Optional[_Iterable[str]] = ..., top_k: _Optional[int] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., budget: _Optional[_Union[RecommendBudget, _Mapping]] = ..., seed: _Optional[int] = ..., suffix: _Optional[str] = ...) -> None: ...

class GetSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class ListSweepsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListSweepsResponse(_message.Message):
    __slots__ = ("sweeps",)
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    sweeps: _containers.RepeatedCompositeFieldContainer[Sweep]
    def __init__(self, sweeps: _Optional[_Iterable[_Union[Sweep, _Mapping]]] = ...) -> None: ...

class CancelSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class Sweep(_message.Message):
    __slots__ = ("id", "status", "created_at", "finished_at", "model", "training_file", "validation_file", "task", "methods", "table", "table_markdown")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    TABLE_MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    created_at: int
    finished_at: int
    model: str
    training_file: str
    validation_file: str
    task: str
    methods: _containers.RepeatedScalarFieldContainer[str]
    table: _containers.RepeatedCompositeFieldContainer[SweepRow]
    table_markdown: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., model: _Optional[str] = ..., training_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., task: _Optional[str] = ..., methods: _Optional[_Iterable[str]] = ..., table: _Optional[_Iterable[_Union[SweepRow, _Mapping]]] = ..., table_markdown: _Optional[str] = ...) -> None: ...

class SweepRow(_message.Message):
    __slots__ = ("method", "job_id", "status", "error", "fine_tuned_model", "settings", "learning_rate", "trainable_params", "adapter_bytes", "sizes", "train_seconds", "estimated_train_seconds", "base_eval_loss", "eval_loss", "eval_loss_ratio", "perplexity", "base_accuracy", "accuracy", "macro_f1", "ece", "forgetting", "diagnostics")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNED_MODEL_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TRAINABLE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_BYTES_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    TRAIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TRAIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BASE_EVAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    EVAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    EVAL_LOSS_RATIO_FIELD_NUMBER: _ClassVar[int]
    PERPLEXITY_FIELD_NUMBER: _ClassVar[int]
    BASE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MACRO_F1_FIELD_NUMBER: _ClassVar[int]
    ECE_FIELD_NUMBER: _ClassVar[int]
    FORGETTING_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    method: str
    job_id: str
    status: str
    error: str
    fine_tuned_model: str
    settings: AdapterSettings
    learning_rate: float
    trainable_params: int
    adapter_bytes: int
    sizes: str
    train_seconds: float
    estimated_train_seconds: float
    base_eval_loss: float
    eval_loss: float
    eval_loss_ratio: float
    perplexity: float
    base_accuracy: float
    accuracy: float
    macro_f1: float
    ece: float
    forgetting: _struct_pb2.Struct
    diagnostics: _struct_pb2.Struct
    def __init__(self, method: _Optional[str] = ..., job_id: _Optional[str] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., fine_tuned_model: _Optional[str] = ..., settings: _Optional[_Union[AdapterSettings, _Mapping]] = ..., learning_rate: _Optional[float] = ..., trainable_params: _Optional[int] = ..., adapter_bytes: _Optional[int] = ..., sizes: _Optional[str] = ..., train_seconds: _Optional[float] = ..., estimated_train_seconds: _Optional[float] = ..., base_eval_loss: _Optional[float] = ..., eval_loss: _Optional[float] = ..., eval_loss_ratio: _Optional[float] = ..., perplexity: _Optional[float] = ..., base_accuracy: _Optional[float] = ..., accuracy: _Optional[float] = ..., macro_f1: _Optional[float] = ..., ece: _Optional[float] = ..., forgetting: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., diagnostics: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
