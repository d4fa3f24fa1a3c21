import pytest
import torch

from jsdm_hot import InputDataError
from jsdm_hot.training import autocast, resolve_device


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device("cpu")
    assert resolve_device(dev) is dev
    with pytest.raises(InputDataError, match="device must be 'auto', 'cpu' or 'cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputDataError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_autocast_is_off_on_cpu_unless_forced():
    a = torch.ones(2, 2)
    with autocast(torch.device("cpu")):
        assert (a @ a).dtype == torch.float32
    with autocast(torch.device("cpu"), bf16=True):
        assert (a @ a).dtype == torch.bfloat16
