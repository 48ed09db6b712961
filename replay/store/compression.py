"""Compression of stored event states: zstd with a dictionary shipped in the package.

Each stored event is a small JSON document (about 1.4 KB) whose keys and much of
whose text repeat from event to event; compressed one by one without a dictionary
they barely shrink (2x), with a dictionary trained on Canvas event states they
shrink 5-7x at about 3 microseconds each way. That is what keeps the log smaller
than the dumps it came from.

A dictionary can never change once states were written with it: a new one gets a
new id (and file) beside the old, and every frame names the dictionary it needs.
States written before compression (plain JSON, first byte `{`) are read as they are.
"""

from __future__ import annotations

from importlib.resources import files

import zstandard
from eventsourcing.persistence import Compressor

CURRENT_DICTIONARY_ID = 0x6F6D0001
_DICTIONARY_FILES = {CURRENT_DICTIONARY_ID: "state-dictionary-1.zstd"}
LEVEL = 3


def _dictionary(dictionary_id: int) -> zstandard.ZstdCompressionDict:
    data = files("replay.store").joinpath(_DICTIONARY_FILES[dictionary_id]).read_bytes()
    return zstandard.ZstdCompressionDict(data)


class StateCompressor(Compressor):
    """The log's compressor (see the module docstring for why a dictionary)."""

    def __init__(self) -> None:
        current = _dictionary(CURRENT_DICTIONARY_ID)
        self._compressor = zstandard.ZstdCompressor(level=LEVEL, dict_data=current)
        self._decompressors = {CURRENT_DICTIONARY_ID: zstandard.ZstdDecompressor(dict_data=current)}

    def compress(self, data: bytes) -> bytes:
        return self._compressor.compress(data)

    def decompress(self, data: bytes) -> bytes:
        if data[:1] == b"{":
            return data  # written before states were compressed
        dictionary_id = zstandard.get_frame_parameters(data).dict_id
        decompressor = self._decompressors.get(dictionary_id)
        if decompressor is None:
            if dictionary_id not in _DICTIONARY_FILES:
                raise ValueError(
                    f"stored state compressed with unknown dictionary {dictionary_id:#x}: "
                    "the log was written by a newer outcome-mastery"
                )
            decompressor = zstandard.ZstdDecompressor(dict_data=_dictionary(dictionary_id))
            self._decompressors[dictionary_id] = decompressor
        return decompressor.decompress(data)
