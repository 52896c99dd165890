"""Torch backend of the kernel estimators' spectral solvers (``device=...``).

torch is imported only when an estimator is fitted with ``device`` set, never
by ``import sklearn_selfdistill``. The Gram matrix, its eigendecomposition,
the projections and the dual coefficients are computed on the device in
float64; the root-finding of eq. (21) runs on the host on the eigenvalues and
rotated targets (O(n_components) numbers per output), and results come back
as numpy arrays.
"""

import numpy as np

from .kernels import _arccos_kernel_torch, _pairwise

_TORCH_KERNELS = {"rbf", "laplacian", "linear", "poly", "polynomial", "cosine",
                  "sigmoid", "ntk", "nngp"}


def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a test dependency
        raise ImportError(
            "device is set, which needs PyTorch: install it with "
            "`pip install sklearn-selfdistill[torch]`, or use device=None for "
            "the numpy solvers."
        ) from exc
    return torch


def resolve_device(device):
    """The ``torch.device`` for ``device``, with a clear error if unusable."""
    torch = _import_torch()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use None (numpy), 'cpu', "
            "'cuda' or 'cuda:<index>'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available "
            "(torch.cuda.is_available() is False: no NVIDIA GPU, or a CPU-only "
            "build of torch). Use device=None for the numpy solvers or "
            "device='cpu' for the torch ones."
        )
    if dev.type == "cuda" and dev.index is not None:
        if dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
    # A device must hold float64 data and give it back to the host: "meta"
    # holds none, some accelerators have no float64.
    try:
        torch.ones(1, dtype=torch.float64, device=dev).cpu().numpy()
    except (RuntimeError, TypeError, NotImplementedError, ValueError) as exc:
        raise ValueError(
            f"device={device!r} cannot hold float64 data that can be copied "
            f"back to the host ({exc}); use None (numpy), 'cpu' or 'cuda'."
        ) from exc
    return dev


class TorchOps:
    """The array operations of :mod:`._solvers` on a torch device, in float64."""

    def __init__(self, device, *, kernel, gamma, degree, coef0, kernel_params):
        self.torch = _import_torch()
        self.device = resolve_device(device)
        self.kernel_name = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params

    # conversions
    def asarray(self, a):
        torch = self.torch
        if isinstance(a, torch.Tensor):
            return a.to(device=self.device, dtype=torch.float64)
        return torch.as_tensor(
            np.ascontiguousarray(a, dtype=np.float64), device=self.device
        )

    def to_numpy(self, a):
        if isinstance(a, np.ndarray):
            return a
        return a.detach().cpu().numpy()

    def shares_memory(self, a, b):
        # Tensors made by asarray on a CPU device may share numpy's buffer.
        if isinstance(b, np.ndarray) and self.device.type == "cpu":
            return np.shares_memory(a.numpy(), b)
        return False

    # kernels
    def _params(self, n_features):
        params = {"gamma": self.gamma, "degree": self.degree, "coef0": self.coef0}
        params.update(self.kernel_params or {})
        if params["gamma"] is None:
            params["gamma"] = 1.0 / n_features
        return params

    def kernel(self, A, B=None):
        """The kernel matrix on the device; other kernels via numpy, copied."""
        torch = self.torch
        name = self.kernel_name
        if not (isinstance(name, str) and name in _TORCH_KERNELS):
            K = _pairwise(
                A, B, kernel=name, gamma=self.gamma, degree=self.degree,
                coef0=self.coef0, kernel_params=self.kernel_params,
            )
            if K is A or (isinstance(A, np.ndarray) and np.shares_memory(K, A)):
                K = np.array(K, dtype=np.float64)
            return self.asarray(K)
        if name in ("ntk", "nngp"):
            return _arccos_kernel_torch(
                self.asarray(A), None if B is None else self.asarray(B),
                kernel=name, kernel_params=self.kernel_params,
            )
        p = self._params(A.shape[1])
        a = self.asarray(A)
        b = a if B is None else self.asarray(B)
        if name == "rbf":
            sq_a = (a * a).sum(1)
            sq_b = sq_a if B is None else (b * b).sum(1)
            K = a @ b.T
            K.mul_(-2.0).add_(sq_a[:, None]).add_(sq_b[None, :]).clamp_(min=0.0)
            if B is None:
                K.fill_diagonal_(0.0)
            return K.mul_(-p["gamma"]).exp_()
        if name == "laplacian":
            return torch.cdist(a, b, p=1.0).mul_(-p["gamma"]).exp_()
        if name == "linear":
            return a @ b.T
        if name in ("poly", "polynomial"):
            return (a @ b.T).mul_(p["gamma"]).add_(p["coef0"]).pow_(p["degree"])
        if name == "sigmoid":
            return (a @ b.T).mul_(p["gamma"]).add_(p["coef0"]).tanh_()
        # cosine
        na = a / a.norm(dim=1, keepdim=True).clamp_(min=np.finfo(float).tiny)
        nb = na if B is None else b / b.norm(dim=1, keepdim=True).clamp_(
            min=np.finfo(float).tiny
        )
        return na @ nb.T

    # linear algebra
    def eigh(self, M, *, top=None):
        """Descending eigenpairs; ``M`` is overwritten by the eigenvectors.

        ``torch.linalg.eigh`` has no in-place mode: it always allocates the
        eigenvectors (and its LAPACK / cuSOLVER workspace) beside ``M``. The
        descending reordering then goes back into ``M``'s memory block by
        block instead of through ``U.flip(1)``, a third ``K x K`` array.
        """
        torch = self.torch
        d, U = torch.linalg.eigh(M)
        n = d.shape[0]
        k = n if top is None else min(top, n)
        out = M if k == n else torch.empty((n, k), dtype=U.dtype, device=U.device)
        for start in range(0, k, 256):
            stop = min(start + 256, k)
            out[:, start:stop] = U[:, n - stop:n - start].flip(1)
        del U
        return self.to_numpy(d)[::-1][:k].copy(), out

    def add_gram(self, M, A):
        return M.addmm_(A.T, A)

    def symmetrize_upper(self, M):
        return M

    def qr(self, M):
        return self.torch.linalg.qr(M, mode="reduced")[0]

    def standard_normal(self, rng, shape):
        return self.asarray(rng.standard_normal(shape))

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def sqrt(self, a):
        return self.torch.sqrt(a)
