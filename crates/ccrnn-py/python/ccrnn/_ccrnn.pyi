"""Type stubs of the compiled module (shapes: trials B, time steps T, neurons N)."""

from os import PathLike
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str
_Path = Union[str, PathLike]
F32 = npt.NDArray[np.float32]

class CcrnnError(ValueError):
    """An error reported by ccrnn (bad shapes, values, files, diverging dynamics or training)."""

class Connectome:
    """Neurons with 64-bit ids, labels and presynaptic signs; synapse counts on W[post, pre]."""

    @staticmethod
    def load(
        source: _Path,
        *,
        nodes: Optional[_Path] = None,
        threshold: float = 0.0,
        self_loops: bool = False,
        glutamate_sign: int = -1,
        unknown_sign: int = 0,
        extent: int = 15,
        n_syn_fill: float = 1.0,
    ) -> "Connectome":
        """A file (.csv[.gz], .npy/.npz, flyvis .json[.gz]) or a bundled name (celegans,
        larva-mb-left, larva-mb-right, flyvis)."""
    @staticmethod
    def from_csr(
        data: npt.NDArray[np.float64],
        indices: npt.NDArray[np.int64],
        indptr: npt.NDArray[np.int64],
        *,
        signs: Optional[npt.NDArray[np.int8]] = None,
        ids: Optional[npt.NDArray[np.uint64]] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> "Connectome": ...
    @property
    def n(self) -> int: ...
    @property
    def n_edges(self) -> int: ...
    @property
    def synapses(self) -> float: ...
    @property
    def ids(self) -> npt.NDArray[np.uint64]:
        """(N,) uint64 body ids."""
    @property
    def signs(self) -> npt.NDArray[np.int8]:
        """(N,) int8: +1 excitatory, -1 inhibitory, 0 unconstrained."""
    @property
    def labels(self) -> list[str]: ...
    @property
    def report_json(self) -> str:
        """What loading read, merged and dropped, with the files' sha256 (JSON)."""
    def csr(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(data, indices, indptr) of W[post, pre] synapse counts, for scipy.sparse.csr_matrix."""

class Model:
    """A connectome-constrained rate network (float32)."""

    def __init__(
        self,
        weights: F32,
        *,
        mask: Optional[npt.NDArray[np.bool_]] = None,
        signs: Optional[npt.NDArray[np.int8]] = None,
        g: Optional[F32] = None,
        b: Optional[F32] = None,
        tau: Optional[F32] = None,
        beta: Union[float, F32, None] = None,
        h0: Optional[F32] = None,
        w_in: Optional[F32] = None,
        w_out: Optional[F32] = None,
        dt: float = 0.05,
        activation: str = "softplus",
        gain: str = "presynaptic",
        backend: str = "dense",
    ) -> None:
        """weights (N, N) W[post, pre]; g, b, tau, h0 (N,); w_in (n_in, N); w_out (N, n_out)."""
    @staticmethod
    def from_connectome(
        connectome: Connectome,
        *,
        scale: float = 1.0,
        g: Optional[F32] = None,
        b: Optional[F32] = None,
        tau: Optional[F32] = None,
        beta: Union[float, F32, None] = None,
        h0: Optional[F32] = None,
        w_in: Optional[F32] = None,
        w_out: Optional[F32] = None,
        dt: float = 0.05,
        activation: str = "softplus",
        gain: str = "presynaptic",
    ) -> "Model":
        """W = sign(pre) * count * scale, ids kept."""
    @staticmethod
    def load(path: _Path) -> "Model": ...
    def save(self, path: _Path) -> None: ...
    def simulate(
        self, inputs: F32, *, h0: Optional[F32] = None, noise: float = 0.0, seed: int = 0
    ) -> dict[str, F32]:
        """inputs (B, T, n_in) -> {'activity', 'h': (B, T, N), 'readout': (B, T, n_out), 'inputs'}."""
    @property
    def n(self) -> int: ...
    @property
    def n_in(self) -> int: ...
    @property
    def n_out(self) -> int: ...
    @property
    def dt(self) -> float: ...
    @property
    def activation(self) -> str: ...
    @property
    def g(self) -> F32: ...
    @property
    def b(self) -> F32: ...
    @property
    def tau(self) -> F32: ...
    @property
    def h0(self) -> F32: ...
    @property
    def beta(self) -> Union[float, F32]: ...
    @property
    def w_in(self) -> F32: ...
    @property
    def w_out(self) -> F32: ...
    @property
    def signs(self) -> npt.NDArray[np.int8]: ...
    @property
    def ids(self) -> Optional[npt.NDArray[np.uint64]]: ...
    @property
    def recorded(self) -> Optional[list[int]]: ...
    def weights(self) -> F32:
        """Dense W[post, pre], (N, N)."""

class FitResult:
    model: Model
    steps: npt.NDArray[np.int64]
    losses: npt.NDArray[np.float64]
    final_step: int
    final_loss: float
    termination: str
    interrupted: bool
    seconds: float
    prediction: Optional[dict[str, Any]]

def sine_task(trials: int = 60, *, seed: int = 0) -> tuple[F32, F32]:
    """(inputs (B, 400, 2), targets (B, 400, 1))."""

def ei_teacher(
    n: int = 300, *, seed: int = 0, steps: int = 700, callback: Optional[Callable[[int, float], Any]] = None
) -> Model: ...
def fit(
    student: Model,
    recording: dict[str, Any],
    *,
    recorded: Optional[Sequence[int]] = None,
    m: Optional[int] = None,
    readout: bool = False,
    method: str = "lbfgs",  # or "adam" (the paper's recipe), "gauss-newton"
    steps: Optional[int] = None,
    lr: Optional[float] = None,
    batch_size: Optional[int] = None,
    clip: Optional[float] = None,
    noise: Optional[float] = None,
    train: Optional[Sequence[str]] = None,
    seed: int = 0,
    init: str = "permuted",
    gain_factor: float = 0.5,
    callback: Optional[Callable[[int, float], Any]] = None,
    report_every: int = 10,
) -> FitResult: ...
def evaluate(
    teacher: Model, student: Model, inputs: F32, *, recorded: Optional[Sequence[int]] = None, h0: Optional[F32] = None
) -> dict[str, float]: ...
def shuffle_baseline(
    teacher: Model, inputs: F32, *, n_perm: int = 20, seed: int = 0, h0: Optional[F32] = None
) -> dict[str, float]: ...
def random_recorded(n: int, m: int, *, seed: int = 0) -> list[int]: ...
def set_reproducible(on: bool) -> None: ...
def reproducible() -> bool: ...
def seeds(seed: int) -> dict[str, int]: ...
def study(
    teacher: Model,
    train_inputs: F32,
    heldout_inputs: F32,
    *,
    ms: Optional[Sequence[int]] = None,
    method: str = "gauss-newton",
    steps: Optional[int] = None,
    lr: Optional[float] = None,
    replicates: int = 1,
    seed: int = 0,
    callback: Optional[Callable[[int, int, float], Any]] = None,
) -> dict[str, Any]: ...
def gauss_newton(
    model: Model,
    inputs: F32,
    *,
    neurons: Optional[Sequence[int]] = None,
    groups: Optional[Sequence[str]] = None,
    time_stride: int = 10,
) -> dict[str, npt.NDArray[np.float64]]:
    """{'H': (P, P), 'eigenvalues': (P,) decreasing, 'eigenvectors': (P, P) columns}."""

def prioritize(
    model: Model,
    inputs: F32,
    *,
    recorded: Optional[Sequence[int]] = None,
    groups: Optional[Sequence[str]] = None,
    time_stride: int = 10,
    k_max: int = 4,
    n_random: int = 10,
    seed: int = 0,
) -> dict[str, Any]: ...

def read_imaging(
    path: Union[str, PathLike[str]],
    *,
    series: Optional[str] = None,
    label_column: Optional[str] = None,
    frame_rate: Optional[float] = None,
    neuropil: float = 0.7,
) -> dict[str, Any]:
    """signal (frames, ROIs) float32, times (frames,) s, labels, unit, source."""

def fit_imaging(
    student: Model,
    files: Sequence[Union[str, PathLike[str]]],
    *,
    inputs: Optional[Sequence[Union[str, PathLike[str]]]] = None,
    label_table: Optional[Union[str, PathLike[str]]] = None,
    series: Optional[str] = None,
    label_column: Optional[str] = None,
    frame_rate: Optional[float] = None,
    neuropil: float = 0.7,
    indicator: str = "gcamp6s",
    tau_ca_s: Optional[float] = None,
    fit_tau_ca: bool = False,
    time_unit_s: float = 1.0,
    sampling: str = "instant",
    one_session: bool = False,
    saturation: Optional[float] = None,
    affine: bool = True,
    method: str = "lbfgs",
    steps: Optional[int] = None,
    train: Optional[Sequence[str]] = None,
    seed: int = 0,
    init: str = "permuted",
    gain_factor: float = 0.5,
    callback: Optional[Callable[[int, float], Any]] = None,
    report_every: int = 10,
) -> FitResult: ...

def cross_validate(
    student: Model,
    files: Sequence[Union[str, PathLike[str]]],
    *,
    folds: int = 5,
    models: Optional[Sequence[str]] = None,  # connectome, shuffled, no-recurrence, unconstrained
    inputs: Optional[Sequence[Union[str, PathLike[str]]]] = None,
    label_table: Optional[Union[str, PathLike[str]]] = None,
    series: Optional[str] = None,
    label_column: Optional[str] = None,
    frame_rate: Optional[float] = None,
    neuropil: float = 0.7,
    indicator: str = "gcamp6s",
    tau_ca_s: Optional[float] = None,
    fit_tau_ca: bool = False,
    time_unit_s: float = 1.0,
    sampling: str = "instant",
    one_session: bool = False,
    saturation: Optional[float] = None,
    affine: bool = True,
    method: str = "gauss-newton",
    steps: Optional[int] = None,
    train: Optional[Sequence[str]] = None,
    seed: int = 0,
    init: str = "permuted",
    gain_factor: float = 0.5,
) -> dict[str, Any]: ...
