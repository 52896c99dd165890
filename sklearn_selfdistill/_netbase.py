"""Plumbing shared by the package's skorch nets."""

import inspect

import numpy as np
import torch
from skorch.utils import is_dataset


class _DistillNetMixin:
    """Shared plumbing: float32 inputs, module sizes from the data, bf16 autocast."""

    def _as_float32(self, X):
        if isinstance(X, np.ndarray) and X.dtype != np.float32:
            return X.astype(np.float32)
        return X

    def _infer_input_sizes(self, X):
        shape = getattr(X, "shape", None)
        if shape is None and is_dataset(X):
            # A Dataset: the shape of its first sample, plus a batch axis.
            sample = getattr(X, "sample_shape", None)
            if sample is None and len(X):
                first = X[0]
                first = first[0] if isinstance(first, (tuple, list)) else first
                sample = getattr(first, "shape", None)
            shape = None if sample is None else (len(X),) + tuple(sample)
        if shape is None or len(shape) < 2:
            return
        self.n_features_in_ = int(np.prod(shape[1:]))
        if len(shape) == 4:  # images (N, C, H, W)
            self.n_channels_in_ = int(shape[1])

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        if isinstance(module, type):
            accepted = inspect.signature(module).parameters
            inferred = {
                "n_features": getattr(self, "n_features_in_", None),
                "n_outputs": getattr(self, "n_outputs_", None),
                "in_channels": getattr(self, "n_channels_in_", None),
            }
            for name, value in inferred.items():
                if name in accepted and name not in kwargs and value is not None:
                    kwargs[name] = value
        self.module_ = self.initialized_instance(module, kwargs)
        return self

    def _autocast_device_type(self):
        if self.device is not None:
            return torch.device(self.device).type
        for param in self.module_.parameters():
            return param.device.type
        return "cpu"

    def infer(self, x, **fit_params):
        if not self.bf16_autocast:
            return super().infer(x, **fit_params)
        with torch.autocast(device_type=self._autocast_device_type(),
                            dtype=torch.bfloat16):
            out = super().infer(x, **fit_params)
        return out.float()
