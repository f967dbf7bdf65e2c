"""The Remote Gymnasium protocol: codecs, spaces and typed errors (docs/protocol.md)."""

from .codecs import CODECS, JSON, MSGPACK, Codec, codec_for_content_type, get_codec
from .errors import ProtocolError, error_from_dict
from .spaces import space_from_dict, space_to_dict

__all__ = [
    "CODECS",
    "JSON",
    "MSGPACK",
    "Codec",
    "ProtocolError",
    "codec_for_content_type",
    "error_from_dict",
    "get_codec",
    "space_from_dict",
    "space_to_dict",
]
