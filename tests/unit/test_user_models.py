"""The "Your model" workflow (scrambler_core.user_models): refusals and a tiny end-to-end run."""
import json
import re
import zipfile

import keras
import numpy as np
import pytest

from scrambler_core import ModelFileError, SequenceError
from scrambler_core import user_models as um

LENGTH = 20
TINY_SETTINGS = {"network_options": {"channels": 4, "groups": 1, "blocks": 1, "width": 3, "dilations": (1,)},
                 "n_samples": 4}


def conv_model(length=LENGTH, channels=4, activation=None, units=1):
    """Conv1D on (length, channels) one-hot input -> Dense(units)."""
    inputs = keras.Input((length, channels))
    h = keras.layers.Conv1D(4, 5, padding="same", activation="relu")(inputs)
    out = keras.layers.Dense(units, activation=activation)(keras.layers.Flatten()(h))
    return keras.Model(inputs, out)


def model_bytes(model, tmp_path, name="model.keras") -> bytes:
    path = tmp_path / "made" / name
    path.parent.mkdir(exist_ok=True)
    model.save(path)
    return path.read_bytes()


def random_sequences(n, length=LENGTH, seed=0, letters="ACGT"):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(letters), length)) for _ in range(n)]


def fasta(seqs) -> bytes:
    return "".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)).encode()


@pytest.fixture(scope="module")
def tiny_model_bytes(tmp_path_factory):
    return model_bytes(conv_model(), tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tiny_predictor(tiny_model_bytes, tmp_path_factory):
    path = um.save_upload("tiny.keras", tiny_model_bytes, tmp_path_factory.mktemp("session"))
    return um.load_user_predictor(path)


# ------------------------------------------------------------------ save_upload

def test_sha256_bytes():
    assert um.sha256_bytes(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_save_upload_writes_inside_directory(tmp_path, tiny_model_bytes):
    path = um.save_upload("My Model.keras", tiny_model_bytes, tmp_path / "session")
    assert path == (tmp_path / "session" / "My_Model.keras").resolve()
    assert path.read_bytes() == tiny_model_bytes
    assert [p.name for p in path.parent.iterdir()] == ["My_Model.keras"]  # no temporary file left


@pytest.mark.parametrize("name", ["../../etc/x.keras", "/abs/x.keras", "..\\..\\x.keras", "a/../../x.keras"])
def test_save_upload_path_traversal_stays_in_directory(tmp_path, name):
    session = tmp_path / "session"
    path = um.save_upload(name, b"data", session)
    assert path.parent == session.resolve()
    assert path.name == "x.keras"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["x.keras"]


def test_safe_file_name_odd_names():
    assert um.safe_file_name("..keras") == "upload.keras"
    assert um.safe_file_name(".keras") == "upload.keras"
    assert um.safe_file_name(".hidden.KERAS") == "hidden.keras"
    assert um.safe_file_name("a b;c$.h5") == "a_b_c.h5"
    assert "/" not in um.safe_file_name("../" * 50 + "x" * 500 + ".keras")


def test_save_upload_refuses_empty(tmp_path):
    with pytest.raises(ModelFileError, match=r"m\.keras: the uploaded model file is empty"):
        um.save_upload("m.keras", b"", tmp_path)
    assert not list(tmp_path.iterdir())


def test_save_upload_refuses_oversize(tmp_path, monkeypatch):
    monkeypatch.setattr(um, "MAX_MODEL_BYTES", 1024)
    with pytest.raises(ModelFileError, match=r"2\.0 kB, above the limit of 1\.0 kB"):
        um.save_upload("m.keras", b"x" * 2048, tmp_path)
    assert not list(tmp_path.iterdir())


def test_max_model_bytes_matches_streamlit_config():
    from pathlib import Path
    config = (Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text()
    assert "maxUploadSize = 20" in config
    assert um.MAX_MODEL_BYTES == 20 * 1024 * 1024


@pytest.mark.parametrize("name,suffix", [("model.pkl", ".pkl"), ("model.keras.zip", ".zip"), ("model", "(none)")])
def test_save_upload_refuses_wrong_suffix(tmp_path, name, suffix):
    with pytest.raises(ModelFileError, match=re.escape(f"the suffix '{suffix}' is not accepted")):
        um.save_upload(name, b"data", tmp_path)


# ------------------------------------------------------------------ load_user_predictor

def test_load_user_predictor(tiny_predictor):
    assert tiny_predictor.sequence_length == LENGTH
    assert tiny_predictor.alphabet.name == "dna"
    assert tiny_predictor.output_kind == "regression"
    summary = um.describe_predictor(tiny_predictor)
    assert summary["input_shape"] == (None, LENGTH, 4)
    assert summary["alphabet_ambiguous"] is True
    assert tiny_predictor.predict(random_sequences(3)).shape == (3,)


def test_overrides_alphabet_and_name(tmp_path, tiny_model_bytes):
    path = um.save_upload("tiny.keras", tiny_model_bytes, tmp_path)
    pred = um.load_user_predictor(path, alphabet="rna", name="mine")
    assert (pred.alphabet.name, pred.name) == ("rna", "mine")
    with pytest.raises(ModelFileError, match="4 channels per position but the protein alphabet has 20"):
        um.load_user_predictor(path, alphabet="protein")
    with pytest.raises(ModelFileError, match="unknown alphabet"):
        um.load_user_predictor(path, alphabet="klingon")


def test_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input((LENGTH, 4))
    doubled = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    out = keras.layers.Dense(1)(keras.layers.Flatten()(doubled))
    path = um.save_upload("lambda.keras", model_bytes(keras.Model(inputs, out), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match=r"Lambda layer.*safe_mode"):
        um.load_user_predictor(path)


def test_non_model_file_is_refused(tmp_path):
    path = um.save_upload("notes.keras", b"just some text, not a zip archive\n" * 10, tmp_path)
    with pytest.raises(ModelFileError, match="notes.keras is not a Keras model file: a .keras file is a zip"):
        um.load_user_predictor(path)
    path = um.save_upload("notes.h5", b"just some text\n" * 10, tmp_path)
    with pytest.raises(ModelFileError, match="notes.h5 is not a Keras model file: a .h5 file is an HDF5"):
        um.load_user_predictor(path)


def test_zip_that_is_not_a_model_is_refused(tmp_path):
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "hello")
    path = um.save_upload("archive.keras", archive.read_bytes(), tmp_path / "s")
    with pytest.raises(ModelFileError, match="archive.keras") as info:
        um.load_user_predictor(path)
    assert str(tmp_path) not in str(info.value)  # no server paths in messages


def test_wrong_channels_are_refused(tmp_path):
    path = um.save_upload("five.keras", model_bytes(conv_model(channels=5), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match="5 channels per position; expected 4 .* or 20"):
        um.load_user_predictor(path)


def test_variable_length_is_refused(tmp_path):
    inputs = keras.Input((None, 4))
    out = keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(1, 3)(inputs))
    path = um.save_upload("anylength.keras", model_bytes(keras.Model(inputs, out), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match="sequences of any length .* needs a fixed length"):
        um.load_user_predictor(path)


def test_wrong_input_rank_is_refused(tmp_path):
    inputs = keras.Input((80,))
    path = um.save_upload("flat.keras", model_bytes(keras.Model(inputs, keras.layers.Dense(1)(inputs)), tmp_path),
                          tmp_path / "s")
    with pytest.raises(ModelFileError, match=r"expected one input of shape \(N, L, A\)"):
        um.load_user_predictor(path)


def test_outputs_must_be_scalar_or_softmax(tmp_path):
    multi = um.save_upload("multi.keras", model_bytes(conv_model(units=3), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match="returns 3 values per sequence"):
        um.load_user_predictor(multi)
    soft = um.save_upload("soft.keras", model_bytes(conv_model(activation="softmax", units=3), tmp_path),
                          tmp_path / "s")
    pred = um.load_user_predictor(soft, output_index=2)
    assert (pred.output_kind, pred.output_index) == ("softmax", 2)
    with pytest.raises(ModelFileError, match="output index 3 is outside the 3 classes"):
        um.load_user_predictor(soft, output_index=3)
    scalar = um.save_upload("scalar.keras", model_bytes(conv_model(), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match="'softmax' needs at least 2 classes"):
        um.load_user_predictor(scalar, output_kind="softmax")
    with pytest.raises(ModelFileError, match="output kind must be one of"):
        um.load_user_predictor(scalar, output_kind="probability")


def test_sigmoid_override_needs_outputs_in_0_1(tmp_path):
    inputs = keras.Input((LENGTH, 4))
    out = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="ones")(keras.layers.Flatten()(inputs))
    path = um.save_upload("big.keras", model_bytes(keras.Model(inputs, out), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match=r"needs outputs in \[0, 1\]"):
        um.load_user_predictor(path, output_kind="sigmoid")


# ------------------------------------------------------------------ read_user_sequences

def test_read_fasta_csv_and_txt(tiny_predictor):
    seqs = random_sequences(40)
    assert um.read_user_sequences("train.fa", fasta(seqs), tiny_predictor) == seqs
    csv = ("id,sequence\n" + "".join(f"r{i},{s.lower()}\n" for i, s in enumerate(seqs))).encode()
    assert um.read_user_sequences("train.csv", csv, tiny_predictor) == seqs
    rna = ("\n".join(s.replace("T", "U") for s in seqs) + "\n").encode()
    assert um.read_user_sequences("train.txt", rna, tiny_predictor) == seqs
    assert um.read_user_sequences("train.txt", fasta(seqs), tiny_predictor) == seqs


def test_sequences_with_wrong_letters_name_the_record(tiny_predictor):
    seqs = random_sequences(40)
    seqs[6] = seqs[6][:4] + "X" + seqs[6][5:]
    with pytest.raises(SequenceError, match=r"sequence 's6': 'X' at position 5 is not one of A, C, G, T"):
        um.read_user_sequences("train.fasta", fasta(seqs), tiny_predictor)


def test_sequences_with_wrong_length_name_the_record(tiny_predictor):
    seqs = random_sequences(40)
    seqs[11] = seqs[11][:15]
    with pytest.raises(SequenceError, match=f"'s11'.*length 15 but this predictor expects {LENGTH}"):
        um.read_user_sequences("train.fa", fasta(seqs), tiny_predictor)
    csv = ("sequence\n" + "\n".join(seqs) + "\n").encode()
    with pytest.raises(SequenceError, match="train.csv: row 12: sequence has length 15"):
        um.read_user_sequences("train.csv", csv, tiny_predictor)


def test_csv_without_sequence_column(tiny_predictor):
    csv = ("id,seq\n" + "".join(f"r{i},{s}\n" for i, s in enumerate(random_sequences(40)))).encode()
    with pytest.raises(SequenceError, match="column 'sequence' not found; columns are: id, seq"):
        um.read_user_sequences("train.csv", csv, tiny_predictor)


def test_too_few_and_too_many_sequences(tiny_predictor):
    with pytest.raises(SequenceError, match=f"holds 10 sequences; training a scrambler needs at least "
                                            f"{um.MIN_TRAINING_SEQUENCES}"):
        um.read_user_sequences("few.fa", fasta(random_sequences(10)), tiny_predictor)
    with pytest.raises(SequenceError, match="holds about 50 sequences; at most 40 are accepted"):
        um.read_user_sequences("many.fa", fasta(random_sequences(50)), tiny_predictor, max_sequences=40)


def test_bad_sequence_uploads(tiny_predictor):
    with pytest.raises(SequenceError, match=r"suffix '\.xlsx' is not accepted"):
        um.read_user_sequences("train.xlsx", b"x", tiny_predictor)
    with pytest.raises(SequenceError, match="the uploaded sequence file is empty"):
        um.read_user_sequences("train.fa", b"", tiny_predictor)
    with pytest.raises(SequenceError, match="not a UTF-8 text file"):
        um.read_user_sequences("train.fa", b"\xff\xfe\x00\x81" * 10, tiny_predictor)
    with pytest.raises(SequenceError, match="no FASTA records"):
        um.read_user_sequences("train.fa", b"ACGT\n", tiny_predictor)


# ------------------------------------------------------------------ training and downloads

def test_train_refuses_too_few(tiny_predictor):
    with pytest.raises(SequenceError, match="needs at least"):
        um.train_user_scrambler(tiny_predictor, random_sequences(5))
    with pytest.raises(ValueError, match="mode must be one of"):
        um.train_user_scrambler(tiny_predictor, random_sequences(64), mode="both")


def test_end_to_end(tmp_path):
    # upload -> load -> read sequences -> train one short epoch -> download -> load back
    session = tmp_path / "session"
    path = um.save_upload("tiny_conv.keras", model_bytes(conv_model(), tmp_path), session)
    predictor = um.load_user_predictor(path)
    seqs = um.read_user_sequences("train.fa", fasta(random_sequences(64, seed=1)), predictor)
    calls = []
    scrambler, history = um.train_user_scrambler(
        predictor, seqs, epochs=1, settings=TINY_SETTINGS, progress=lambda *args: calls.append(args))

    assert calls, "progress was never called"
    epoch, step, steps, logs = calls[-1]
    assert (epoch, step) == (0, steps - 1)
    assert set(logs) == {"loss", "prediction_loss", "bits", "bits_error"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert len(history) == 1 and set(history[0]["tracking"]) == {"0.1", "0.25", "0.5", "1", "1.5"}

    scores = scrambler.scores(seqs, target_bits=0.5)
    assert scores.shape == (64, LENGTH)
    assert np.all(scores >= 0)

    card = scrambler.card
    assert card["data"]["n_sequences"] == 64
    assert card["data"]["sha256"] == um.sha256_bytes("\n".join(seqs).encode())
    assert card["data"]["n_train"] + card["data"]["n_validation"] == 64
    assert card["seed"] == 0 and card["settings"]["epochs"] == 1 and card["mode"] == "inclusion"
    assert card["predictor_sha256"] == um.sha256_bytes(path.read_bytes())
    assert card["history"] == json.loads(json.dumps(card["history"]))
    assert "bits_tracking_requested_vs_realised" in card["metrics_held_out"]
    assert json.loads(um.card_to_json(card)) == card

    data = um.scrambler_to_bytes(scrambler)
    assert data[:2] == b"PK"  # a .keras file is a zip archive
    loaded = um.scrambler_from_bytes(data, predictor, session, file_name="tiny_conv_inclusion.keras")
    assert loaded.path == str(session.resolve() / "tiny_conv_inclusion.keras")
    np.testing.assert_array_equal(loaded.scores(seqs, target_bits=0.5), scores)
    np.testing.assert_array_equal(loaded.scores(seqs, target_bits=1.2), scrambler.scores(seqs, target_bits=1.2))
    assert loaded.network.bits_calibration == scrambler.network.bits_calibration
    assert sorted(p.name for p in session.iterdir()) == ["tiny_conv.keras", "tiny_conv_inclusion.keras"]


def test_scrambler_bytes_need_the_right_predictor(tmp_path, tiny_predictor):
    scrambler, _ = um.train_user_scrambler(tiny_predictor, random_sequences(40), epochs=1, settings=TINY_SETTINGS,
                                           calibrate=False)
    assert scrambler.card["metrics_held_out"] == {}
    other = um.save_upload("other.keras", model_bytes(conv_model(length=30), tmp_path), tmp_path / "s")
    with pytest.raises(ModelFileError, match="scrambler is for length 20 but predictor 'other' takes length 30"):
        um.scrambler_from_bytes(um.scrambler_to_bytes(scrambler), um.load_user_predictor(other))
    with pytest.raises(ModelFileError, match="not a scrambler"):
        um.scrambler_from_bytes(model_bytes(conv_model(), tmp_path), tiny_predictor)


def test_split_sizes_and_penalty_schedule():
    assert um.split_sizes(32) == (28, 4)
    assert um.split_sizes(2000) == (1872, 128)
    assert um.split_sizes(20000) == (4000, 128)
    assert um._penalty_weights({**um.USER_TRAINING_SETTINGS, "epochs": 5}) == [10.0, 10.0, 10.0, 50.0, 50.0]
    assert um._penalty_weights({**um.USER_TRAINING_SETTINGS, "epochs": 1}) == [10.0]
    assert um._penalty_weights({**um.USER_TRAINING_SETTINGS, "penalty_weight": [1, 2]}) == [1.0, 2.0]
