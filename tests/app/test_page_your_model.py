"""The Your model page (pages/your_model.py) driven by Streamlit's AppTest, uploads included."""
from pathlib import Path

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from scrambler_core import user_models as um
from pagetools import live_view

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/your_model.py"
TIMEOUT = 180
LENGTH = 20
MODEL_UPLOADER = "your_model_model_file"
SEQUENCE_UPLOADER = "your_model_sequence_file"
TINY_NETWORK = {"channels": 4, "groups": 1, "blocks": 1, "width": 3, "dilations": (1,)}


def tiny_model_bytes(tmp_path, name="tiny.keras", lambda_layer=False) -> bytes:
    inputs = keras.Input((LENGTH, 4))
    h = keras.layers.Lambda(lambda t: t * 2.0)(inputs) if lambda_layer else inputs
    h = keras.layers.Conv1D(4, 5, padding="same", activation="relu")(h)
    out = keras.layers.Dense(1)(keras.layers.Flatten()(h))
    path = tmp_path / name
    keras.Model(inputs, out).save(path)
    return path.read_bytes()


def fasta_bytes(n=64, length=LENGTH, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    return "".join(f">s{i}\n{''.join(rng.choice(list('ACGT'), length))}\n" for i in range(n)).encode()


def page_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def upload(at, key, file_name, data) -> AppTest:
    at.file_uploader(key=key).set_value((file_name, data, "application/octet-stream")).run()
    assert_clean(at)
    return at


@pytest.fixture(autouse=True)
def session_directories_in_tmp_path(tmp_path, monkeypatch):
    """Each AppTest session's upload directory (tempfile.mkdtemp) goes under pytest's tmp_path."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def tiny_training(monkeypatch):
    """Train the smallest network for one epoch so the page's training run takes seconds."""
    monkeypatch.setitem(um.USER_TRAINING_SETTINGS, "network_options", TINY_NETWORK)
    monkeypatch.setitem(um.USER_TRAINING_SETTINGS, "n_samples", 4)


def test_page_loads_clean():
    at = page_app()
    assert at.title[0].value == "Your model"
    assert not at.error, errors(at)
    assert any(e.label == "What am I looking at?" for e in at.expander)
    assert at.file_uploader(key=MODEL_UPLOADER).allowed_type == [".keras", ".h5"]
    assert any("Upload a model to begin" in i.value for i in at.info)


def test_non_model_upload_gives_a_clear_error():
    at = upload(page_app(), MODEL_UPLOADER, "notes.keras", b"these are my notes, not a model\n")
    assert len(at.error) == 1, errors(at)
    assert "Model refused: notes.keras is not a Keras model file" in at.error[0].value
    assert not at.get("file_uploader") or len(at.file_uploader) == 1  # no sequence step without a model
    # the refused file is not kept
    directory = Path(at.session_state["_session_directory"])
    assert not [p for p in directory.rglob("*") if p.is_file()]


def test_lambda_model_is_refused_with_safe_mode_reason(tmp_path):
    at = upload(page_app(), MODEL_UPLOADER, "lambda.keras", tiny_model_bytes(tmp_path, lambda_layer=True))
    assert len(at.error) == 1, errors(at)
    message = at.error[0].value
    assert "Lambda" in message and "safe_mode" in message, message


def test_path_traversal_name_stays_in_session_directory(tmp_path):
    at = upload(page_app(), MODEL_UPLOADER, "../../../escape.keras", tiny_model_bytes(tmp_path))
    assert not at.error, errors(at)
    directory = Path(at.session_state["_session_directory"])
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["escape.keras"], files
    assert not (directory.parent.parent / "escape.keras").exists()


def test_model_then_bad_sequences(tmp_path):
    at = upload(page_app(), MODEL_UPLOADER, "tiny.keras", tiny_model_bytes(tmp_path))
    assert not at.error, errors(at)
    assert any("tiny.keras" in s.value and "20 nucleotides" in s.value for s in at.success)
    at = upload(at, SEQUENCE_UPLOADER, "short.fa", fasta_bytes(length=18))
    assert len(at.error) == 1, errors(at)
    assert "Sequences refused" in at.error[0].value and "expects 20" in at.error[0].value
    at = upload(at, SEQUENCE_UPLOADER, "few.fa", fasta_bytes(n=5))
    assert "needs at least 32" in at.error[0].value
    assert not [b for b in at.button if b.key == "your_model_train"]


def test_alphabet_override_reloads_the_model(tmp_path):
    at = upload(page_app(), MODEL_UPLOADER, "tiny.keras", tiny_model_bytes(tmp_path))
    at.selectbox(key="your_model.alphabet").set_value("rna").run()
    assert_clean(at)
    assert at.session_state["_your_model_model"]["predictor"].alphabet.name == "rna"
    at.selectbox(key="your_model.alphabet").set_value("protein").run()
    assert "Model refused" in at.error[0].value and "protein alphabet has 20" in at.error[0].value


def test_train_registers_the_model_for_every_page(tmp_path, tiny_training):
    at = upload(page_app(), MODEL_UPLOADER, "tiny.keras", tiny_model_bytes(tmp_path))
    at = upload(at, SEQUENCE_UPLOADER, "train.fa", fasta_bytes())
    assert any("64 sequences" in s.value for s in at.success), [s.value for s in at.success]
    at.number_input(key="your_model.epochs").set_value(1).run()
    at.button(key="your_model_train").click().run()
    assert_clean(at)
    assert not at.error, errors(at)

    name = "tiny (yours)"
    assert name in at.session_state["_user_models"]
    result = at.session_state["_your_model_results"][name]["inclusion"]
    assert result["card"]["data"]["n_sequences"] == 64
    assert result["card"]["data"]["sequence_file"] == "train.fa"
    assert result["curve"] and {"step", "loss", "bits"} <= set(result["curve"][0])
    assert result["keras"][:2] == b"PK"
    labels = [b.label for b in at.get("download_button")]
    assert {"Scrambler (.keras)", "Model card (.json)"} <= set(labels), labels
    assert len(at.get("plotly_chart")) >= 1  # the loss curve

    # the button opens the Explore page on the new model, which it explains
    at.button(key="your_model_explore_0").click().run()
    assert_clean(at)
    assert not at.error, errors(at)
    assert at.title[0].value == "Explore"
    assert any("uploaded tiny.keras" in c.value for c in at.caption), [c.value for c in at.caption]
    assert live_view(at)["realised"] >= 0

    # ... and coming back loses nothing
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert any("uploaded earlier in this session" in c.value for c in at.caption)
    assert {"Scrambler (.keras)", "Model card (.json)"} <= {b.label for b in at.get("download_button")}

    # the sidebar's predictor list (drawn by app.py) offers it on every page of this session; AppTest drops
    # app.py's sidebar after switch_page, so check it on a first run with this session's state
    explore = AppTest.from_file(APP, default_timeout=TIMEOUT)
    explore.session_state["_user_models"] = at.session_state["_user_models"]
    explore.session_state["app.predictor"] = name
    explore.run()
    assert_clean(explore)
    predictors = explore.sidebar.selectbox(key="app.predictor")
    assert name in predictors.options and predictors.value == name
    assert explore.title[0].value == "Explore" and not explore.error, errors(explore)


def test_a_downloaded_scrambler_can_be_loaded_again(tmp_path, tiny_training):
    from scrambler_core import user_models

    model = tiny_model_bytes(tmp_path)
    predictor = user_models.load_user_predictor(user_models.save_upload("tiny.keras", model, tmp_path / "s"))
    sequences = user_models.read_user_sequences("train.fa", fasta_bytes(), predictor)
    scrambler, _ = user_models.train_user_scrambler(predictor, sequences, epochs=1, calibrate=False)
    download = user_models.scrambler_to_bytes(scrambler)

    at = upload(page_app(), MODEL_UPLOADER, "tiny.keras", model)
    at = upload(at, "your_model_scrambler_file", "not_a_scrambler.keras", model)
    assert any("Scrambler refused" in e and "not a scrambler" in e for e in errors(at)), errors(at)
    at = upload(at, "your_model_scrambler_file", "tiny_inclusion_scrambler.keras", download)
    assert not at.error, errors(at)
    entry = at.session_state["_user_models"]["tiny (yours)"]
    loaded = entry["scramblers"]["inclusion"]
    np.testing.assert_array_equal(loaded.scores(sequences[:4], target_bits=0.5),
                                  scrambler.scores(sequences[:4], target_bits=0.5))
    assert "uploaded scrambler file" in " ".join(m.value for m in at.markdown)
