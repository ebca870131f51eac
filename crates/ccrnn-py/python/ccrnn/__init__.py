"""ccrnn: connectome-constrained recurrent neural networks, from NumPy.

Arrays are float32 and shaped ``(trials, time, neurons)``; weights are ``W[post, pre]``.
Everything here is the Rust toolkit's (``ccrnn`` on the command line): the same models, files
(``.npz``), seeds and numbers. Errors are raised as :class:`CcrnnError` (a ``ValueError``) with
the Rust message.

>>> import ccrnn
>>> teacher = ccrnn.ei_teacher(100, steps=200)
>>> inputs, _ = ccrnn.sine_task(60, seed=200)
>>> rec = teacher.simulate(inputs, noise=0.002, seed=1)
>>> res = ccrnn.fit(teacher, rec, m=16, steps=300)
>>> ccrnn.evaluate(teacher, res.model, ccrnn.sine_task(60, seed=300)[0])["unrecorded_mse"]
"""

import sys as _sys

import numpy as _np

from ._ccrnn import (
    CcrnnError,
    Connectome,
    FitResult,
    Model,
    __version__,
    cross_validate,
    ei_teacher,
    evaluate,
    fit_imaging,
    gauss_newton,
    prioritize,
    random_recorded,
    read_imaging,
    reproducible,
    seeds,
    set_reproducible,
    shuffle_baseline,
    sine_task,
    study,
)
from ._ccrnn import fit as _fit

__all__ = [
    "CcrnnError",
    "Connectome",
    "FitResult",
    "Model",
    "__version__",
    "connectome_from_matrix",
    "cross_validate",
    "ei_teacher",
    "evaluate",
    "fit",
    "fit_imaging",
    "gauss_newton",
    "prioritize",
    "progress_bar",
    "random_recorded",
    "read_imaging",
    "reproducible",
    "seeds",
    "set_reproducible",
    "shuffle_baseline",
    "sine_task",
    "study",
]


def connectome_from_matrix(matrix, signs=None, ids=None, labels=None):
    """A :class:`Connectome` from synapse counts ``W[post, pre]``: a NumPy array or any SciPy
    sparse matrix (converted to CSR), with presynaptic ``signs`` (+1, -1, 0), ``ids`` (uint64)
    and ``labels``."""
    if hasattr(matrix, "tocsr"):
        m = matrix.tocsr()
        m.sort_indices()
        data, indices, indptr = m.data, m.indices, m.indptr
    else:
        a = _np.asarray(matrix, dtype=_np.float64)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise CcrnnError(f"matrix: expected a square (N, N) array, got shape {a.shape}")
        rows, cols = _np.nonzero(a)
        data = a[rows, cols]
        indices = cols
        indptr = _np.concatenate([[0], _np.cumsum(_np.bincount(rows, minlength=a.shape[0]))])
    return Connectome.from_csr(
        _np.ascontiguousarray(data, dtype=_np.float64),
        _np.ascontiguousarray(indices, dtype=_np.int64),
        _np.ascontiguousarray(indptr, dtype=_np.int64),
        signs=None if signs is None else _np.ascontiguousarray(signs, dtype=_np.int8),
        ids=None if ids is None else _np.ascontiguousarray(ids, dtype=_np.uint64),
        labels=None if labels is None else [str(x) for x in labels],
    )


def progress_bar(total, desc="fitting"):
    """A ``callback(step, loss)`` drawing a progress bar: tqdm's (notebook-aware) if installed,
    else one line on stderr."""
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc)
        last = [0]

        def update(step, loss):
            bar.update(step - last[0])
            last[0] = step
            bar.set_postfix(loss=f"{loss:.4g}")
            if step >= total:
                bar.close()

        return update
    except ImportError:

        def line(step, loss):
            end = "\n" if step >= total else ""
            _sys.stderr.write(f"\r{desc}: step {step}/{total}, loss {loss:.4g}{end}")
            _sys.stderr.flush()

        return line


def fit(student, recording, *, progress=False, **kwargs):
    """Fits ``student`` to ``recording`` (see the module's ``_ccrnn.fit`` for every keyword:
    ``recorded``, ``m``, ``readout``, ``method``, ``steps``, ``lr``, ``batch_size``, ``clip``,
    ``noise``, ``train``, ``seed``, ``init``, ``gain_factor``, ``callback``, ``report_every``).
    Arrays in ``recording`` may be any float dtype (converted to float32). ``progress=True``
    shows a progress bar. Ctrl-C stops the fit and returns the best parameters so far
    (``result.interrupted``)."""
    rec = {}
    for key, value in dict(recording).items():
        if key in ("inputs", "activity", "readout", "initial_state"):
            rec[key] = _np.ascontiguousarray(value, dtype=_np.float32)
        elif key == "recorded":
            rec[key] = [int(i) for i in _np.asarray(value).ravel()]
    if progress and kwargs.get("callback") is None:
        kwargs["callback"] = progress_bar(kwargs.get("steps") or 7000)
    return _fit(student, rec, **kwargs)


fit.__doc__ = (fit.__doc__ or "") + "\n\n" + (_fit.__doc__ or "")
