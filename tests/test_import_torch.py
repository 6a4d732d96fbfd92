"""The PyTorch importer against PyTorch's own forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import preimage
from preimage import InvalidInputError, UnsupportedLayerError


def randomize_bn(module: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))


def torch_out(model, X):
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float64)).reshape(len(X), -1).numpy()


def test_dense_model_with_batchnorm_dropout_identity():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Dropout(0.3),
        nn.Sequential(nn.Linear(10, 8), nn.Identity(), nn.ReLU()),
        nn.Linear(8, 3),
    ).double().eval()
    randomize_bn(model, 1)
    net = preimage.from_torch(model, (6,))
    assert net.widths == (6, 10, 8, 3)
    assert [lay.relu for lay in net.layers] == [True, True, False]
    X = np.random.default_rng(0).normal(size=(100, 6))
    assert np.allclose(net.forward(X), torch_out(model, X), atol=1e-10)
    # activations at a hidden layer equal PyTorch's intermediate output
    H = torch_out(model[:3], X)
    assert np.allclose(net.activations(X, layer=1), H, atol=1e-10)


def test_conv2d_model_with_batchnorm_and_pooling():
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2, dilation=1, padding=(1, 0), groups=2), nn.ReLU(),
        nn.AvgPool2d(2, stride=1, padding=1), nn.ReLU(),
        nn.Conv2d(6, 3, 2, padding="same"), nn.ReLU(),
        nn.Flatten(), nn.Linear(3 * 5 * 4, 5),
    ).double().eval()
    randomize_bn(model, 2)
    net = preimage.from_torch(model, (1, 8, 8))
    X = np.random.default_rng(1).normal(size=(30, 1, 8, 8))
    assert np.allclose(net.forward(X), torch_out(model, X), atol=1e-9)
    assert net.layers[0].conv is not None and net.layers[0].is_sparse
    # the folded batch-norm is in the kernel kept for cone analysis
    info = net.layers[0].conv
    W_dense = preimage.network.conv_matrix(info.kernel, info.in_shape, padding=info.padding)[0].toarray()
    assert np.allclose(W_dense, net.layers[0].dense_weight)


def test_conv1d_and_avgpool1d_float32_model():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv1d(2, 3, 4, stride=2, padding=2, dilation=2), nn.ReLU(),
        nn.AvgPool1d(3, stride=2, count_include_pad=False, padding=1), nn.Flatten(),
        nn.Linear(3 * 4, 2),
    ).eval()
    net = preimage.from_torch(model, (2, 16))
    X = np.random.default_rng(2).normal(size=(20, 2, 16))
    with torch.no_grad():
        ref = model(torch.as_tensor(X, dtype=torch.float32)).numpy()
    assert np.allclose(net.forward(X), ref, atol=1e-5)


def test_unsupported_module_is_named():
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    with pytest.raises(UnsupportedLayerError, match=r"'1'.*Tanh"):
        preimage.from_torch(model, (3,))


def test_training_mode_batchnorm_is_refused():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    with pytest.raises(InvalidInputError, match="eval"):
        preimage.from_torch(model, (3,))


def test_wrong_input_shape_is_refused():
    model = nn.Sequential(nn.Linear(3, 4))
    with pytest.raises(InvalidInputError, match="width 3"):
        preimage.from_torch(model, (5,))
    with pytest.raises(InvalidInputError, match="input_shape"):
        preimage.from_torch(model, (0,))
