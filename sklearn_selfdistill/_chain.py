"""SelfDistillationWrapper's chain of rounds: seeds, warm starts, checkpoints, Ctrl-C.

The chain is a dict kept on the fitted wrapper: ``signature`` (a hash of the
parameters that must not change and of the training data), ``seed_base``,
and per round ``models``, ``history`` records and training ``outputs``.
Functions take the wrapper as ``self`` for its parameters.
"""

import numbers
import os
import pickle
import signal
import threading
import warnings

import joblib
import numpy as np
from sklearn.utils import check_random_state


def round_seed(base, t):
    """Seed of round ``t``: a function of the base seed and ``t`` only."""
    return int(np.random.SeedSequence([base, t]).generate_state(1)[0] % (2**31 - 1))


def fingerprint(obj):
    try:
        return joblib.hash(obj)
    except Exception:  # pragma: no cover - unpicklable parameters
        return repr(obj)


class Interrupt:
    """Catches SIGINT (Ctrl-C) in the main thread during a fit.

    skorch ends training on ``KeyboardInterrupt`` by design (its own early
    stopping raises one), so a Ctrl-C inside a round would only cut the round
    short; the flag tells the wrapper the user asked to stop.
    """

    def __init__(self):
        self.hit = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        # A handler installed outside Python cannot be restored, and an
        # ignored SIGINT stays ignored: then the wrapper leaves SIGINT alone.
        if previous is not None and previous is not signal.SIG_IGN:
            self._previous = previous
            signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        self.hit = True
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def start_chain(self, previous, signature):
    """The rounds kept from a previous fit or a checkpoint, and the seed base."""
    state = previous.get("_chain_state")
    if self.warm_start and state is not None:
        if state["signature"] != signature:
            raise ValueError(
                "warm_start=True continues the previous fit, whose parameters "
                "(other than n_rounds, warm_start, verbose and checkpoint_dir) "
                "or training data differ from this call's. Fit with the same "
                "data and parameters, or set warm_start=False to start again."
            )
        done = len(state["outputs"]) - 1
        if self.n_rounds < done:
            raise ValueError(
                f"n_rounds={self.n_rounds} must be at least the "
                f"{done} rounds already fitted when warm_start=True "
                "(as for n_estimators in gradient boosting); set "
                "warm_start=False to fit fewer rounds."
            )
        chain = {k: list(v) if isinstance(v, list) else v
                 for k, v in state.items()}
        chain["history"] = [r for r in chain["history"]
                            if not r.get("interrupted")]
        return chain
    if isinstance(self.random_state, numbers.Integral):
        base = int(self.random_state)  # round t's seed: round_seed(random_state, t)
    else:
        base = int(check_random_state(self.random_state).randint(2**31 - 1))
    chain = {"signature": signature, "outputs": [], "models": [],
             "history": [], "seed_base": base}
    if self.checkpoint_dir is not None:
        _load_checkpoints(self, chain)
    return chain

def _checkpoint_path(self, t):
    return os.path.join(os.fspath(self.checkpoint_dir), f"round_{t:04d}.pkl")

def _load_checkpoints(self, chain):
    t = 0
    while t <= self.n_rounds and os.path.exists(_checkpoint_path(self, t)):
        with open(_checkpoint_path(self, t), "rb") as f:
            saved = pickle.load(f)
        if saved["signature"] != chain["signature"]:
            break
        chain["seed_base"] = saved["seed_base"]
        add_round(self, chain, saved["model"], saved["record"],
                        saved["outputs"], t, save=False)
        t += 1

def add_round(self, chain, model, record, outputs, t, save=True):
    if self.verbose:
        print(
            f"[SelfDistillationWrapper] round {t}: train_loss "
            f"{record['train_loss']:.6g}, train_score (original labels) "
            f"{record['train_score']:.4f}, {record['fit_seconds']:.2f} s"
        )
    if save and self.checkpoint_dir is not None:
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        path = _checkpoint_path(self, t)
        with open(path + ".tmp", "wb") as f:
            pickle.dump({"signature": chain["signature"], "model": model,
                         "seed_base": chain["seed_base"], "record": record,
                         "outputs": outputs.astype(np.float32)}, f)
        os.replace(path + ".tmp", path)
    if self.keep == "last" and chain["models"]:
        chain["models"][-1] = None
    chain["models"].append(model)
    chain["history"].append(record)
    chain["outputs"].append(np.asarray(outputs, dtype=np.float64))

def interrupted(self, t, chain):
    if not chain["outputs"]:
        raise KeyboardInterrupt
    chain["history"].append({"round": t, "interrupted": True})
    warnings.warn(
        f"Interrupted (SIGINT) in round {t}: that round is dropped and the "
        f"wrapper keeps rounds 0 to {t - 1}. Fit again with warm_start=True "
        "(or the same checkpoint_dir) to train the remaining rounds.",
        UserWarning,
    )
