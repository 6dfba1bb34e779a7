"""Process-wide TensorFlow settings, applied before TensorFlow is imported.

Silences TensorFlow's start-up chatter and reports which device is used: a GPU
when TensorFlow sees one, the CPU otherwise.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402


def device_name() -> str:
    """``"GPU"`` when TensorFlow sees a GPU, else ``"CPU"``."""
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
