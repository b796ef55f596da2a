"""Order groups in the platform's StateStore: one key per group, written at every transition, and
an index, written when a group starts or ends, of the groups still working and the next tag
number of every finished group and purpose (a working group's own document holds its next
number), so a restart never re-uses a tag the broker has already seen.

The persistence layer's journal can fold these documents in; until then they are the record.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.ports import StateStore
from execution.group import OrderGroup

PREFIX = "execution"
INDEX_KEY = f"{PREFIX}/index.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def group_store_key(key: str) -> str:
    return f"{PREFIX}/groups/{_UNSAFE.sub('_', key)}.json"


class StateCorrupt(ValueError):
    """A stored execution document that cannot be read back."""


class GroupStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.active: set[str] = set()
        self.sequences: dict[str, int] = {}

    def save(self, group: OrderGroup) -> None:
        self.store.save(group_store_key(group.key), _dump(group.to_json()))
        was_active = group.key in self.active
        if group.terminal:
            self.active.discard(group.key)
        else:
            self.active.add(group.key)
        if was_active != (group.key in self.active):  # the index changes when a group starts or ends
            self.sequences[group.key] = group.next_seq
            self._save_index()

    def load(self) -> list[OrderGroup]:
        """Every group that was still working when last saved (raises StateCorrupt)."""
        raw = self.store.load(INDEX_KEY)
        if raw is None:
            return []
        try:
            index = json.loads(raw.decode("utf-8"))
            self.active = {str(k) for k in index["active"]}
            self.sequences = {str(k): int(v) for k, v in index["sequences"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateCorrupt(f"{INDEX_KEY}: {exc}") from exc
        groups = []
        for key in sorted(self.active):
            data = self.store.load(group_store_key(key))
            if data is None:
                raise StateCorrupt(f"{group_store_key(key)}: missing for working group {key}")
            try:
                group = OrderGroup.from_json(json.loads(data.decode("utf-8")))
                groups.append(group)
                self.sequences[key] = max(self.sequences.get(key, 0), group.next_seq)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise StateCorrupt(f"{group_store_key(key)}: {exc}") from exc
        return groups

    def _save_index(self) -> None:
        self.store.save(INDEX_KEY, _dump({"active": sorted(self.active), "sequences": self.sequences}))


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
