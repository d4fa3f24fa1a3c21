"""The package's public names resolve, and the lazy ones load only when asked for."""

import importlib
import subprocess
import sys

import jsdm_hot


def test_every_public_name_resolves():
    for name in jsdm_hot.__all__:
        assert getattr(jsdm_hot, name) is not None, name
    namespace: dict = {}
    exec("from jsdm_hot import *", namespace)  # noqa: S102 - what a user's star import does
    assert set(jsdm_hot.__all__) <= set(namespace)
    assert jsdm_hot.load_model is importlib.import_module("jsdm_hot.registry").load_model


def test_importing_the_package_does_not_import_torch():
    code = "import sys, jsdm_hot; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
