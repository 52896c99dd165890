"""Network modules for self-distillation: an MLP and CIFAR-sized ResNet and VGG.

Re-exported by :mod:`sklearn_selfdistill.nets`; torchvision is imported only
when a ResNet or VGG is built.
"""

import math
from numbers import Integral, Real

import torch
from torch import nn

# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------


class NTKLinear(nn.Module):
    """Affine layer in the NTK parameterization (Jacot et al., 2018).

    The parameters are drawn from N(0, 1) and the scales are applied in the
    forward pass: ``y = weight_std / sqrt(in_features) * x W^T + bias_std * b``.
    Gradient descent then moves every parameter by O(1 / sqrt(width)), so a
    wide network trained with a small learning rate stays close to its
    linearisation, whose kernel is :func:`~sklearn_selfdistill.kernels.ntk_kernel`.

    Parameters
    ----------
    in_features, out_features : int
        Input and output sizes.
    weight_std : float, default=sqrt(2)
        Scale of the weights (neural-tangents' ``W_std``).
    bias_std : float, default=0.0
        Scale of the biases (``b_std``); with 0 the bias gets no gradient and
        does not change the function.
    """

    def __init__(self, in_features, out_features, weight_std=math.sqrt(2.0),
                 bias_std=0.0):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight_std = float(weight_std)
        self.bias_std = float(bias_std)
        self.weight = nn.Parameter(torch.empty(self.out_features, self.in_features))
        self.bias = nn.Parameter(torch.empty(self.out_features))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.weight)
        nn.init.normal_(self.bias)

    def forward(self, X):
        scale = self.weight_std / math.sqrt(self.in_features)
        return nn.functional.linear(X, self.weight * scale, self.bias * self.bias_std)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"weight_std={self.weight_std:g}, bias_std={self.bias_std:g}")


class MLPModule(nn.Module):
    """Multilayer perceptron: Linear, ReLU (and dropout) per hidden layer, then Linear.

    Parameters
    ----------
    n_features : int
        Input size. The nets of this module fill it in from ``X`` at fit time.
    n_outputs : int
        Output size (classes or regression targets), filled in from ``y``.
    hidden_units : int or tuple of int, default=(64,)
        Width of each hidden layer; an int means one hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    parameterization : {"standard", "ntk"}, default="standard"
        ``"standard"``: :class:`torch.nn.Linear` layers with PyTorch's
        initialisation. ``"ntk"``: :class:`NTKLinear` layers, parameters drawn
        from N(0, 1) and scaled in the forward pass by ``weight_std /
        sqrt(fan_in)`` (weights) and ``bias_std`` (biases). With
        ``len(hidden_units)`` hidden layers this is the network whose kernel
        at infinite width is ``ntk_kernel(depth=len(hidden_units),
        weight_std=weight_std, bias_std=bias_std)``
        (:func:`~sklearn_selfdistill.kernels.ntk_kernel`; neural-tangents'
        ``stax.serial(Dense, [Relu, Dense] * depth)``), which Sec. 5 of
        Mobahi et al. (2020) appeals to: trained with plain gradient descent
        on the l2 loss at a small learning rate, a wide one behaves as kernel
        regression with that kernel.
    weight_std : float, default=sqrt(2)
        Weight scale of the ``"ntk"`` parameterization (ignored otherwise).
    bias_std : float, default=0.0
        Bias scale of the ``"ntk"`` parameterization (ignored otherwise).
    """

    def __init__(self, n_features, n_outputs, hidden_units=(64,), dropout=0.0,
                 parameterization="standard", weight_std=math.sqrt(2.0),
                 bias_std=0.0):
        super().__init__()
        if parameterization not in ("standard", "ntk"):
            raise ValueError(
                "parameterization must be 'standard' (torch.nn.Linear layers) or "
                f"'ntk' (the NTK parameterization); got {parameterization!r}."
            )
        if parameterization == "ntk":
            for name, value, low in (("weight_std", weight_std, "positive"),
                                     ("bias_std", bias_std, "non-negative")):
                ok = isinstance(value, Real) and not isinstance(value, bool)
                ok = ok and math.isfinite(value) and (
                    value > 0 if low == "positive" else value >= 0)
                if not ok:
                    raise ValueError(
                        f"{name} must be a {low} finite number for "
                        f"parameterization='ntk'; got {value!r}."
                    )
        if isinstance(hidden_units, Integral):
            hidden_units = (int(hidden_units),)
        self.parameterization = parameterization

        def linear(n_in, n_out):
            if parameterization == "ntk":
                return NTKLinear(n_in, n_out, weight_std, bias_std)
            return nn.Linear(n_in, n_out)

        layers = []
        width = int(n_features)
        for units in hidden_units:
            layers += [linear(width, int(units)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(units)
        layers.append(linear(width, int(n_outputs)))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X.reshape(len(X), -1))


def _torchvision_models():
    try:
        import torchvision.models as models
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The ResNet and VGG modules need torchvision: pip install "
            '"sklearn-selfdistill[torch]" (or pip install torchvision).'
        ) from exc
    return models


_RESNET_DEPTHS = {18: "resnet18", 34: "resnet34", 50: "resnet50"}
_VGG_DEPTHS = {11: "vgg11", 16: "vgg16"}


class CIFARResNet(nn.Module):
    """torchvision's ResNet with the CIFAR stem, for 32x32 inputs.

    The ImageNet stem (7x7 convolution with stride 2 and a max-pool) would
    shrink a 32x32 image to 8x8 before the first block; the CIFAR stem is one
    3x3 convolution with stride 1 and no max-pool, as in He et al. (2016,
    Sec. 4.2) and the ResNet-50 of Mobahi et al. (2020, Sec. 5).

    Parameters
    ----------
    n_outputs : int, default=10
        Number of classes.
    depth : {18, 34, 50}, default=18
        ResNet depth.
    in_channels : int, default=3
        Input channels (filled in from ``X`` by the nets of this module).
    """

    def __init__(self, n_outputs=10, depth=18, in_channels=3):
        super().__init__()
        if depth not in _RESNET_DEPTHS:
            raise ValueError(
                f"depth must be one of {sorted(_RESNET_DEPTHS)} for a ResNet; "
                f"got {depth!r}."
            )
        models = _torchvision_models()
        net = getattr(models, _RESNET_DEPTHS[depth])(weights=None,
                                                     num_classes=int(n_outputs))
        net.conv1 = nn.Conv2d(int(in_channels), 64, kernel_size=3, stride=1,
                              padding=1, bias=False)
        net.maxpool = nn.Identity()
        self.net = net

    def forward(self, X):
        return self.net(X)


class CIFARVGG(nn.Module):
    """torchvision's VGG (with batch normalisation) adapted to 32x32 inputs.

    Five max-pools leave a 1x1x512 map for a 32x32 image, so the 7x7 average
    pool and the 4096-wide classifier of the ImageNet model are replaced by a
    flatten and one linear layer 512 -> ``n_outputs`` (the usual CIFAR VGG).

    Parameters
    ----------
    n_outputs : int, default=10
        Number of classes.
    depth : {11, 16}, default=16
        VGG depth.
    in_channels : int, default=3
        Input channels (filled in from ``X`` by the nets of this module).
    batch_norm : bool, default=True
        Use the batch-normalised variant (``vgg11_bn``, ``vgg16_bn``).
    """

    def __init__(self, n_outputs=10, depth=16, in_channels=3, batch_norm=True):
        super().__init__()
        if depth not in _VGG_DEPTHS:
            raise ValueError(
                f"depth must be one of {sorted(_VGG_DEPTHS)} for a VGG; "
                f"got {depth!r}."
            )
        models = _torchvision_models()
        name = _VGG_DEPTHS[depth] + ("_bn" if batch_norm else "")
        net = getattr(models, name)(weights=None)
        first = net.features[0]
        net.features[0] = nn.Conv2d(int(in_channels), first.out_channels,
                                    kernel_size=3, padding=1)
        self.features = net.features
        self.classifier = nn.Linear(512, int(n_outputs))

    def forward(self, X):
        return self.classifier(torch.flatten(self.features(X), 1))


def make_mlp(n_features, n_outputs, hidden_units=(64,), dropout=0.0,
             parameterization="standard", weight_std=math.sqrt(2.0), bias_std=0.0):
    """Build an :class:`MLPModule` (see there for the parameters)."""
    return MLPModule(n_features, n_outputs, hidden_units=hidden_units,
                     dropout=dropout, parameterization=parameterization,
                     weight_std=weight_std, bias_std=bias_std)


def make_resnet(depth=18, n_classes=10, in_channels=3):
    """Build a ResNet 18, 34 or 50 for 32x32 inputs (:class:`CIFARResNet`).

    Parameters
    ----------
    depth : {18, 34, 50}, default=18
    n_classes : int, default=10
    in_channels : int, default=3

    Returns
    -------
    module : CIFARResNet
    """
    return CIFARResNet(n_outputs=n_classes, depth=depth, in_channels=in_channels)


def make_vgg(depth=16, n_classes=10, in_channels=3, batch_norm=True):
    """Build a VGG 11 or 16 for 32x32 inputs (:class:`CIFARVGG`).

    Parameters
    ----------
    depth : {11, 16}, default=16
    n_classes : int, default=10
    in_channels : int, default=3
    batch_norm : bool, default=True

    Returns
    -------
    module : CIFARVGG
    """
    return CIFARVGG(n_outputs=n_classes, depth=depth, in_channels=in_channels,
                    batch_norm=batch_norm)
