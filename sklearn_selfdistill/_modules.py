"""Network modules for self-distillation: an MLP and CIFAR-sized ResNet and VGG.

Re-exported by :mod:`sklearn_selfdistill.nets`; torchvision is imported only
when a ResNet or VGG is built.
"""

from numbers import Integral

import torch
from torch import nn

# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------


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
    """

    def __init__(self, n_features, n_outputs, hidden_units=(64,), dropout=0.0):
        super().__init__()
        if isinstance(hidden_units, Integral):
            hidden_units = (int(hidden_units),)
        layers = []
        width = int(n_features)
        for units in hidden_units:
            layers += [nn.Linear(width, int(units)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(units)
        layers.append(nn.Linear(width, int(n_outputs)))
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


def make_mlp(n_features, n_outputs, hidden_units=(64,), dropout=0.0):
    """Build an :class:`MLPModule` (see there for the parameters)."""
    return MLPModule(n_features, n_outputs, hidden_units=hidden_units,
                     dropout=dropout)


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
