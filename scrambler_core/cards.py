"""Model cards: the JSON beside every ``.keras`` predictor or scrambler (what it is, how it was trained).

:class:`ModelCard` reads, validates and writes one card; :func:`scrambler_card` is the one builder of a
trained scrambler's card (the CLI recipes and the app's upload training both use it).
"""
from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("predictor", "scrambler")


@dataclass(eq=False)
class ModelCard(MutableMapping):
    """One model card: ``kind``, ``name`` and the rest of its fields, in their JSON order.

    Behaves as a mapping (``card["x"]``, ``card.get("x")``, ``"x" in card``, ``card.update(...)``), so
    code that treats a card as a dict keeps working; it compares equal to a dict with the same entries.

    Parameters
    ----------
    kind : str or None — ``"predictor"`` or ``"scrambler"``
    name : str or None — the model's name (the file stem for a trained model)
    fields : dict — every other entry (``seed``, ``data``, ``settings``, ``metrics_held_out``, ...)
    """

    kind: str | None = None
    name: str | None = None
    fields: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, card) -> "ModelCard":
        """A card from a mapping (a copy; ``kind`` and ``name`` taken out of ``fields``)."""
        rest = dict(card)
        return cls(kind=rest.pop("kind", None), name=rest.pop("name", None), fields=rest)

    @classmethod
    def read(cls, path, validate=True) -> "ModelCard":
        """Read the card at ``path`` (a ``.json`` file).

        Raises
        ------
        ValueError — not JSON, not an object, or (``validate``) a missing or bad field; names the file
        OSError — the file cannot be read
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"model card {path.name} is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise ValueError(f"model card {path.name} must hold a JSON object, not {type(data).__name__}")
        card = cls.from_dict(data)
        if validate:
            card.validate(path.name)
        return card

    @classmethod
    def read_if_exists(cls, path) -> "ModelCard":
        """The card at ``path``, or an empty card when there is no such file."""
        return cls.read(path) if Path(path).exists() else cls()

    def validate(self, source="model card") -> "ModelCard":
        """Check the fields every card needs; return the card.

        Raises
        ------
        ValueError — names ``source`` (the file) and the missing or bad field
        """
        if self.kind is None:
            raise ValueError(f"{source}: the model card has no 'kind' (one of {', '.join(KINDS)})")
        if self.kind not in KINDS:
            raise ValueError(f"{source}: model card 'kind' must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.name is not None and not isinstance(self.name, str):
            raise ValueError(f"{source}: model card 'name' must be a string, got {type(self.name).__name__}")
        for key in ("settings", "data", "metrics_held_out"):
            value = self.fields.get(key)
            if value is not None and not isinstance(value, dict):
                raise ValueError(f"{source}: model card '{key}' must be an object, got {type(value).__name__}")
        if "history" in self.fields and not isinstance(self.fields["history"], (list, type(None))):
            raise ValueError(f"{source}: model card 'history' must be a list")
        return self

    def to_dict(self) -> dict:
        """The card as a plain dict: ``name``, ``kind``, then the other fields (absent ones left out)."""
        head = {key: value for key, value in (("name", self.name), ("kind", self.kind)) if value is not None}
        return {**head, **self.fields}

    def to_json(self) -> str:
        """The card's JSON text, indented by 2 and ending in a newline (as written to disk)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path) -> Path:
        """Write the card to ``path`` atomically (a temporary file beside it, then ``os.replace``)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)
        return path

    # mapping access, so cards read like the dicts they were
    def __getitem__(self, key):
        if key in ("kind", "name"):
            value = getattr(self, key)
            if value is None:
                raise KeyError(key)
            return value
        return self.fields[key]

    def __setitem__(self, key, value):
        if key in ("kind", "name"):
            setattr(self, key, value)
        else:
            self.fields[key] = value

    def __delitem__(self, key):
        if key in ("kind", "name"):
            if getattr(self, key) is None:
                raise KeyError(key)
            setattr(self, key, None)
        else:
            del self.fields[key]

    def __iter__(self):
        return iter(self.to_dict())

    def __len__(self):
        return len(self.to_dict())

    def __bool__(self):
        return len(self) > 0


def scrambler_card(name, predictor_name, *, identity, training, command) -> ModelCard:
    """The model card of a trained scrambler (the one builder for every way of training one).

    Parameters
    ----------
    name : str — the scrambler's name (its file stem)
    predictor_name : str — the predictor it explains
    identity : dict — what ties it to that predictor and run (predictor SHA-256 or card, seed, mode, ...)
    training : dict — data, settings, history, held-out metrics, seconds
    command : str — how to train it again

    Returns
    -------
    ModelCard — ``name``, ``kind`` ``"scrambler"``, ``predictor``, then ``identity``, ``training``, ``command``
    """
    return ModelCard(kind="scrambler", name=name,
                     fields={"predictor": predictor_name, **identity, **training, "command": command})
