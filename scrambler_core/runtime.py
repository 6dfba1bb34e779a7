"""Process-wide TensorFlow settings, applied before TensorFlow is imported.

TensorFlow's C++ start-up lines ("All log messages before absl::InitializeLog()",
"Could not find cuda drivers") ignore ``TF_CPP_MIN_LOG_LEVEL``; they are
swallowed here by pointing file descriptor 2 at /dev/null for the duration of
the import only, so command-line errors stay one line. TensorFlow uses a GPU
when it sees one and the CPU otherwise.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _quiet_import():
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        import tensorflow
        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


tf = _quiet_import()


def device_name() -> str:
    """``"GPU"`` when TensorFlow sees a GPU, else ``"CPU"``."""
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
