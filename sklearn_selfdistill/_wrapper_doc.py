"""The docstring of SelfDistillationWrapper (kept apart: the class is long)."""

WRAPPER_DOC = r"""Self-distillation of a neural network (skorch) or of any estimator.

    Sec. 5 of [1]_: train a model on the labels (round 0), then train a fresh
    model of the same kind on the first one's predictions over the training
    set, and repeat; the fitted model is the one of round ``n_rounds``.
    Round ``t + 1`` is trained on the targets

    .. math::

        y_{t+1} = w\, y_0 + (1 - w)\, f_t(X),

    with :math:`f_t(X)` the round-``t`` model's training predictions (its
    class probabilities for a classifier, against one-hot labels
    :math:`y_0`) and :math:`w` = ``ground_truth_weight`` (``0`` in [1]_). For
    kernel ridge with a fixed ``alpha`` the rounds are exactly
    :math:`f_t(X) = (K (K + \alpha I)^{-1})^{t+1} y` (eq. (30)-(32)); the
    fitted ``basis_coefficients_`` measure the same shrinkage on any model.

    Parameters
    ----------
    estimator : estimator object, default=None
        The model to distill, unfitted: any skorch net or any scikit-learn
        regressor or classifier. skorch nets train through their own ``fit``
        on every round's targets, with the user's module, optimizer,
        callbacks, device, ``train_split`` and iterators: a
        ``NeuralNetClassifier`` with ``CrossEntropyLoss`` (logits) on
        probability targets; with skorch's default ``NLLLoss`` on a
        probability output on the soft-target negative log-likelihood
        ``-sum_k w_k p_k log(q_k + eps)``
        (:class:`~sklearn_selfdistill.nets.SoftNLLLoss`, keeping the
        criterion's class ``weight``); a
        ``NeuralNetBinaryClassifier`` on the teacher's probability; a
        ``NeuralNetRegressor`` or other ``NeuralNet`` on real targets; the
        package's :class:`~sklearn_selfdistill.nets.DistillNetClassifier`.
        skorch sees the original labels as ``y``: a stratified ``ValidSplit``
        stratifies on them and ``EpochScoring("accuracy")`` scores against
        them. A criterion that cannot take probabilities (``ignore_index``
        set, or one that fails on two rows of them) raises a ``TypeError`` or
        ``ValueError`` before training. A plain scikit-learn classifier
        trains on the teacher's probabilities by expanding every sample into
        one row per class weighted by its
        probability, so its ``fit`` must accept ``sample_weight`` (for
        log-loss models this is exactly soft-target cross-entropy), and it
        must have ``predict_proba``. ``None``:
        ``DistillNetClassifier()``, a small multilayer perceptron with the
        l2 loss on the softmax output, Adam with lr 0.01 and 10 epochs.
    n_rounds : int, default=1
        Number of self-distillation rounds after the initial fit; ``0``
        fits the estimator once.
    epsilon : float, default=None
        The network analogue of the training-error tolerance of eq. (1) and
        its footnote 2: each round trains until its training loss against
        that round's targets is at or below ``epsilon``, capped by the net's
        ``max_epochs`` (with a :class:`~sklearn.exceptions.ConvergenceWarning`
        when the cap comes first). The training loss is a full evaluation-mode
        pass over the training set after each epoch
        (:class:`sklearn_selfdistill.callbacks.LossThresholdStopping`): the
        squared error summed over classes (outputs) and averaged over
        samples, or the KL divergence to the targets for
        ``loss="cross_entropy"``; recorded as ``train_full_loss`` in the
        net's history (:class:`~sklearn_selfdistill.callbacks.FullPassLoss`).
        skorch nets only. ``None``: the estimator's own training schedule.
    ground_truth_weight : float in [0, 1), default=0.0
        Weight ``w`` of the labels in each round's targets (see above).
    student_init : {"random", "teacher"}, default="random"
        ``"random"``: every round starts from a fresh random initialisation
        (the paper). ``"teacher"``: a skorch student starts from the
        teacher's weights (not available for scikit-learn estimators).
    teacher_targets : {"fixed", "online"}, default="fixed"
        ``"fixed"`` (the paper): round ``t + 1`` trains on round ``t``'s
        predictions at every training sample, computed once by an
        evaluation-mode pass over the training data and paired with the
        samples by index, whatever the dataset returns (a ``Dataset`` that
        augments in ``__getitem__`` gives that pass one random view per
        sample). ``"online"``: the teacher, frozen in evaluation mode on the
        same device, predicts every training batch as the student sees it
        (in skorch's ``get_loss``), so an augmented view gets the teacher's
        output on that view, as in Born-again networks: one extra forward
        pass per batch, no second copy of the data. skorch nets only.
    keep : {"all", "last"}, default="all"
        ``"all"`` keeps every round's model in ``estimators_`` (needed by the
        staged methods); ``"last"`` keeps only the final one.
    basis_kernel : str, callable, Kernel or None, default="rbf"
        Kernel of the eigenbasis of ``basis_coefficients_``: any kernel
        :class:`~sklearn_selfdistill.SelfDistilledKernelRidge` accepts
        except ``"precomputed"``, on the flattened inputs; ``None`` skips
        the computation. With a ``Dataset``, its inputs are read once and
        flattened into memory (``n_samples x n_features`` float64); above
        2 GiB they are not read, ``basis_coefficients_`` is skipped with a
        warning (set ``None`` for such datasets). The kernel and its parameters
        are evaluated on two training rows before any round trains.
    basis_kernel_params : dict, default=None
        Parameters of ``basis_kernel`` (``gamma``, ``degree``, ``coef0``;
        ``depth``, ``weight_std``, ``bias_std`` for ``"ntk"`` and ``"nngp"``,
        the eigenbasis of a network's own infinite-width kernel; or those of
        a callable).
    basis_n_components : int or None, default=50
        Number of eigen-directions of ``basis_coefficients_`` on large
        training sets. The directions are the eigenvectors of the Gram matrix
        of ALL the training inputs (eq. (16)): up to 2000 samples every
        direction, by the dense eigendecomposition (``O(n^3)`` time,
        ``O(n^2)`` memory); beyond, the ``basis_n_components`` leading ones by
        the Lanczos method on kernel products computed in blocks of rows
        (``O(basis_n_components n^2)`` time, ``O(n)`` memory, the ``n x n``
        matrix never stored; on the net's ``device`` when it is not the CPU).
        ``None``: every direction by the dense path, whatever ``n``.
    warm_start : bool, default=False
        ``True``: a fit with a larger ``n_rounds`` trains only the new rounds
        on top of the fitted ones (as ``n_estimators`` in gradient boosting);
        the data and the other parameters must be the same (else a
        ``ValueError``), and a smaller ``n_rounds`` raises. The result equals
        a fresh fit with the same ``random_state``.
    checkpoint_dir : str or path-like, default=None
        Directory where every finished round is saved (``round_0000.pkl``,
        ...: the net, pickled through skorch, its history record and
        training outputs). A fit with the same parameters (``n_rounds``
        aside) and data resumes after the last saved round and gives the
        same model as an uninterrupted run.
    random_state : int, RandomState instance or None, default=None
        Seeds every round reproducibly, with seeds that depend on the round
        and not on ``n_rounds`` (an int ``random_state`` seeds round ``t``
        with a hash of ``(random_state, t)``; round 0 of a skorch classifier
        is then skorch's own training on the labels under that seed):
        torch's generator (inside ``torch.random.fork_rng``, so the global
        state is left alone), a
        skorch ``ValidSplit`` with a fractional ``cv``, the ``random_state``
        of a scikit-learn estimator that has one set to ``None``, and the
        start vector of the basis's Lanczos iteration. Seeded skorch rounds
        running in threads (joblib's threading backend) train one at a time,
        with a
        warning: torch's generator is global. Use a process-based backend
        (loky) for parallel seeded fits.
    verbose : int, default=0
        ``1`` prints one line per round (round, training loss against the
        round's targets, training score against the original labels,
        seconds); ``2`` also the network's epoch log.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted model of every round (``keep="all"``) or only the final
        one (``keep="last"``).
    estimator_ : estimator
        The final round's model.
    n_rounds_ : int
        Rounds fitted after round 0 (``n_rounds`` unless interrupted).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    history_ : list of dict
        One record per round: ``"round"``; ``"train_loss"`` against that
        round's targets (the l2 loss above; the KL divergence for
        ``loss="cross_entropy"`` nets and for scikit-learn classifiers,
        whose expanded fit is soft-target cross-entropy; the mean squared
        error summed over outputs for regressors); ``"train_score"``:
        accuracy (classifiers) or :math:`R^2` (regressors) against the
        ORIGINAL labels; ``"fit_seconds"``; for skorch nets ``"epochs"``
        trained, ``"valid_acc"`` and ``"valid_loss"`` of the last epoch when
        the net has a validation split, and, with ``epsilon``,
        ``"reached_epsilon"``. After an interrupt (Ctrl-C), a last record
        ``{"round": t, "interrupted": True}``.
    basis_eigenvalues_ : ndarray of shape (n_basis,)
        Eigenvalues of ``basis_kernel(X, X) / n_samples`` on the training
        inputs, in descending order (the numerical null space set to 0):
        ``n_basis`` is ``n_samples`` on the dense path, ``basis_n_components``
        on the Lanczos path.
    basis_coefficients_ : ndarray of shape (n_rounds + 1, n_basis) or \
            (n_rounds + 1, n_basis, n_outputs)
        The empirical :math:`B_t` of eq. (46):
        ``(u_k . f_t(X)) / (u_k . y)`` for the eigenvectors ``u_k`` of the
        training Gram matrix, with a trailing class axis for classifiers
        (probabilities against one-hot labels) and multi-output regressors;
        exactly 0 where ``|u_k . y| < 1e-3 ||y||`` (directions that carry no
        information on shrinkage). For kernel ridge with the same kernel it
        equals :math:`(d / (d + \alpha / n))^{t+1}`. Absent when
        ``basis_kernel=None``, and, with a warning, when the inputs of a
        ``Dataset`` are too large to flatten or the kernel's Gram matrix is
        not positive semi-definite (the rounds are kept).

    See Also
    --------
    SelfDistilledKernelRidge : The closed-form, epsilon-constrained kernel model.
    sklearn_selfdistill.nets.DistillNetClassifier : The default network.
    sklearn_selfdistill.callbacks.LossThresholdStopping : The ``epsilon`` rule.

    Notes
    -----
    Teacher predictions are computed once per round, batch-wise on the net's
    device (``estimator__device="cuda"``); the only copy of data per round is
    the targets.

    A fit that raises leaves the wrapper unfitted (with ``warm_start=True``:
    with the rounds it had before the call). Ctrl-C (SIGINT in the main
    thread) stops the chain: the interrupted round is dropped, the finished
    ones are kept with a warning, and ``history_`` records the interruption;
    skorch's own early stopping (a ``KeyboardInterrupt`` inside its fit loop)
    only ends the round, as in skorch. A skorch net with
    ``skorch.hf.AccelerateMixin`` trains data-parallel under ``torchrun``;
    use ``Accelerator(cpu=True)`` on CPUs
    and end the script with ``accelerator.end_training()``.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.kernel_ridge import KernelRidge
    >>> from sklearn_selfdistill import SelfDistillationWrapper
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(30, 1))
    >>> y = np.sin(6 * X[:, 0]) + 0.1 * rng.randn(30)
    >>> model = SelfDistillationWrapper(
    ...     KernelRidge(alpha=0.1, kernel="rbf", gamma=10.0), n_rounds=2,
    ...     basis_kernel_params={"gamma": 10.0}).fit(X, y)
    >>> [round(r["train_score"], 3) for r in model.history_]
    [0.968, 0.965, 0.962]
    >>> d = model.basis_eigenvalues_
    >>> expected = (d / (d + 0.1 / 30)) ** 3
    >>> bool(np.allclose(model.basis_coefficients_[2, :10], expected[:10]))
    True
    """
