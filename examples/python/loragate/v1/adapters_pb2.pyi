from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DiagnoseRequest(_message.Message):
    __slots__ = ("adapter_id", "file", "layers", "max_examples", "reference_file")
    ADAPTER_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    MAX_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FILE_FIELD_NUMBER: _ClassVar[int]
    adapter_id: str
    file: str
    layers: _containers.RepeatedScalarFieldContainer[int]
    max_examples: int
    reference_file: str
    def __init__(self, adapter_id: _Optional[str] = ..., file: _Optional[str] = ..., layers: _Optional[_Iterable[int]] = ..., max_examples: _Optional[int] = ..., reference_file: _Optional[str] = ...) -> None: ...

class ListAdaptersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAdaptersResponse(_message.Message):
    __slots__ = ("adapters",)
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    adapters: _containers.RepeatedCompositeFieldContainer[Adapter]
    def __init__(self, adapters: _Optional[_Iterable[_Union[Adapter, _Mapping]]] = ...) -> None: ...

class GetAdapterRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RegisterAdapterRequest(_message.Message):
    __slots__ = ("name", "adapter_config_json", "adapter_model_safetensors")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_MODEL_SAFETENSORS_FIELD_NUMBER: _ClassVar[int]
    name: str
    adapter_config_json: bytes
    adapter_model_safetensors: bytes
    def __init__(self, name: _Optional[str] = ..., adapter_config_json: _Optional[bytes] = ..., adapter_model_safetensors: _Optional[bytes] = ...) -> None: ...

class SetActiveVersionRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class AdapterRef(_message.Message):
    __slots__ = ("adapter_id",)
    ADAPTER_ID_FIELD_NUMBER: _ClassVar[int]
    adapter_id: str
    def __init__(self, adapter_id: _Optional[str] = ...) -> None: ...

class DeleteVersionResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Adapter(_message.Message):
    __slots__ = ("name", "active_version", "pinned", "versions", "active_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    active_version: int
    pinned: bool
    versions: _containers.RepeatedCompositeFieldContainer[AdapterVersion]
    active_id: str
    def __init__(self, name: _Optional[str] = ..., active_version: _Optional[int] = ..., pinned: _Optional[bool] = ..., versions: _Optional[_Iterable[_Union[AdapterVersion, _Mapping]]] = ..., active_id: _Optional[str] = ...) -> None: ...

class AdapterVersion(_message.Message):
    __slots__ = ("id", "name", "version", "peft_type", "rank", "bytes", "sha256", "created_at", "active", "state", "error", "pinned", "loaded", "active_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PEFT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    version: int
    peft_type: str
    rank: int
    bytes: int
    sha256: str
    created_at: int
    active: bool
    state: str
    error: str
    pinned: bool
    loaded: bool
    active_version: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[int] = ..., peft_type: _Optional[str] = ..., rank: _Optional[int] = ..., bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., created_at: _Optional[int] = ..., active: _Optional[bool] = ..., state: _Optional[str] = ..., error: _Optional[str] = ..., pinned: _Optional[bool] = ..., loaded: _Optional[bool] = ..., active_version: _Optional[int] = ...) -> None: ...
