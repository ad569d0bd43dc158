"""Read a Sphinx ``objects.inv`` with a cap on how far its zlib stream may inflate.

sphobjinv inflates the whole stream at once, so a small file that inflates to gigabytes
would fill memory before anything noticed. Here the stream is inflated piece by piece and
given up as soon as it passes the cap; sphobjinv then parses the plaintext.
"""

from __future__ import annotations

import io
import zlib

import sphobjinv as soi

from apipilot.errors import InventoryTooLarge as InventoryTooLarge

MAX_INFLATED_BYTES = 64 * 2**20
_PIECE = 2**20


def read_inventory(
    data: bytes, *, max_inflated: int = MAX_INFLATED_BYTES, where: str = "objects.inv"
) -> soi.Inventory:
    """The inventory in ``data`` (a zlib-compressed version 2 file, or plaintext).

    Raises :class:`InventoryTooLarge` past ``max_inflated`` bytes of plaintext; anything
    else sphobjinv or zlib raise means ``data`` is not an inventory.
    """
    return soi.Inventory(plaintext=inflate_inventory(data, max_inflated=max_inflated, where=where))


def inflate_inventory(
    data: bytes, *, max_inflated: int = MAX_INFLATED_BYTES, where: str = "objects.inv"
) -> bytes:
    """The plaintext of an inventory: its four header lines and the inflated rest."""
    stream = io.BytesIO(data)
    header = [stream.readline() for _ in range(4)]
    compressed = header[0].rstrip().endswith(b"version 2") and b"zlib" in header[3]
    if not compressed:
        _check_size(len(data), max_inflated, where)
        return data
    inflater = zlib.decompressobj()
    plaintext = bytearray(b"".join(header))
    pending = stream.read()
    while True:
        room = max_inflated - len(plaintext) + 1  # one byte more than fits tells it is over
        piece = inflater.decompress(pending, min(_PIECE, room))
        plaintext += piece
        _check_size(len(plaintext), max_inflated, where)
        pending = inflater.unconsumed_tail
        if inflater.eof or not (piece or pending):
            break
    return bytes(plaintext)


def _check_size(size: int, max_inflated: int, where: str) -> None:
    if size > max_inflated:
        raise InventoryTooLarge(
            f"{where}: objects.inv inflates past {max_inflated / 2**20:g} MB, the cap on an "
            "inventory (large projects' inventories inflate to a few MB); it is not read"
        )
