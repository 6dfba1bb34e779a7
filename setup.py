"""The package list for setuptools (everything else is in pyproject.toml).

``scrambler_core*`` as found on disk, plus ``scrambler_core.pretrained``: the repository's top-level
``pretrained/`` folder (``package-dir`` in pyproject.toml), shipped in the wheel as package data.
"""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["scrambler_core*"]) + ["scrambler_core.pretrained"])
