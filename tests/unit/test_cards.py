"""ModelCard: the one reader/writer of the model card beside every .keras file."""
import json

import pytest

from scrambler_core.cards import ModelCard, scrambler_card

CARDS = [
    {"name": "utr5", "kind": "predictor", "grammar_version": 3, "data": {"n_train": 10}, "seed": 0},
    {"name": "utr5_inclusion", "kind": "scrambler", "predictor": "utr5", "predictor_card": None,
     "settings": {"mode": "inclusion", "bits_range": [0.05, 2.0]}, "history": [{"epoch": 1, "loss": 0.5}],
     "metrics_held_out": {"sample_agreement": {"0.5": 0.9}}, "command": "python -m scrambler_core ..."},
    {"kind": "scrambler", "predictor": "mine"},
]


@pytest.mark.parametrize("card", CARDS)
def test_round_trip_write_read(card, tmp_path):
    path = tmp_path / "model.json"
    written = ModelCard.from_dict(card).write(path)
    assert written == path
    assert path.read_text() == json.dumps(card, indent=2) + "\n"          # same bytes as the dict itself
    again = ModelCard.read(path)
    assert again.to_dict() == card
    assert again == card                                                   # mapping equality with a dict
    assert list(again) == list(card)
    assert not list(tmp_path.glob(".*.tmp"))                               # the temporary file is gone


def test_mapping_access():
    card = ModelCard.from_dict(CARDS[1])
    assert card["kind"] == "scrambler" and card["predictor"] == "utr5"
    assert card.get("missing") is None and card.get("missing", 1) == 1
    assert "settings" in card and "missing" not in card
    card["metrics_held_out"] = {}
    card.update(stages=[])
    assert card.to_dict()["stages"] == [] and card["metrics_held_out"] == {}
    with pytest.raises(KeyError):
        ModelCard()["name"]


BAD = [
    ("no_kind.json", json.dumps({"name": "x", "settings": {}}), "'kind'"),
    ("bad_kind.json", json.dumps({"name": "x", "kind": "weights"}), "'kind'"),
    ("bad_settings.json", json.dumps({"name": "x", "kind": "scrambler", "settings": [1, 2]}), "'settings'"),
    ("bad_data.json", json.dumps({"name": "x", "kind": "predictor", "data": "text"}), "'data'"),
    ("not_json.json", "{not json", "not valid JSON"),
    ("a_list.json", "[1, 2]", "JSON object"),
]


@pytest.mark.parametrize("file_name, text, field", BAD)
def test_validate_rejects_bad_cards_naming_the_file(file_name, text, field, tmp_path):
    path = tmp_path / file_name
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        ModelCard.read(path)
    assert file_name in str(err.value) and field in str(err.value)


def test_read_if_exists_and_scrambler_card(tmp_path):
    assert ModelCard.read_if_exists(tmp_path / "none.json").to_dict() == {}
    card = scrambler_card("p_inclusion", "p", identity={"seed": 1}, training={"history": []}, command="cmd")
    assert list(card.to_dict()) == ["name", "kind", "predictor", "seed", "history", "command"]
    assert card.validate() is card
