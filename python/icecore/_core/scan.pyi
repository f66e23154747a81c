# Stubs for icecore._core.scan (cpp/python/bind_fitter.cpp, bind_scan.cpp).
import numpy as np
import numpy.typing as npt

# (n,) structured arrays with the layout of the C++ structs:
# FIT_RESULT_DTYPE   neg_llh f8, vertex (4,) f8, n_eval i4, status i4       (DirectionFitResult)
# SCAN_TASK_DTYPE    level i4, nside i8, pixel i8, zenith f8, azimuth f8, seeds (4,) f8   (ScanTask)
# SCAN_RECORD_DTYPE  level, nside, pixel, zenith, azimuth, neg_llh, vertex (4,), n_eval, status (ScanRecord)
FIT_RESULT_DTYPE: np.dtype[np.void]
SCAN_TASK_DTYPE: np.dtype[np.void]
SCAN_RECORD_DTYPE: np.dtype[np.void]

class DirectionFitter:
    def fit_batch(
        self, zenith: npt.ArrayLike, azimuth: npt.ArrayLike, seeds: npt.ArrayLike, threads: int = 0,
        nside: int = 0,
    ) -> npt.NDArray[np.void]: ...

class AnalyticDirectionFitter(DirectionFitter):
    """SYNTHETIC fitter for tests and benchmarks (not physics)."""

    def __init__(
        self,
        zenith: float,
        azimuth: float,
        kappa: float = 1000.0,
        vertex: npt.ArrayLike = ...,
        vertex_pull: float = 0.5,
        vertex_weight: float = 0.0,
        work: int = 0,
    ) -> None: ...
    @property
    def zenith(self) -> float: ...
    @property
    def azimuth(self) -> float: ...
    @property
    def kappa(self) -> float: ...
    @property
    def vertex(self) -> list[float]: ...
    @property
    def vertex_pull(self) -> float: ...
    @property
    def vertex_weight(self) -> float: ...
    @property
    def work(self) -> int: ...

class ScanDriver:
    def __init__(
        self,
        nsides: list[int],
        extensions: list[float],
        rotation: npt.ArrayLike,
        initial_seed: npt.ArrayLike,
        llh_diff_threshold: float = 0.0,
        max_refine_radius: float = 0.0,
        max_rounds_per_level: int = 64,
        polish_threshold: float = 0.0,
        max_polish_rounds: int = 3,
        polish_window: float = 1e300,
    ) -> None: ...
    def next_batch(self) -> npt.NDArray[np.void]: ...
    def submit(
        self, neg_llh: npt.ArrayLike, vertex: npt.ArrayLike, n_eval: npt.ArrayLike, status: npt.ArrayLike
    ) -> None: ...
    def step(self, fitter: DirectionFitter, threads: int = 0) -> int: ...
    def records(self) -> npt.NDArray[np.void]: ...
    @property
    def finished(self) -> bool: ...
    @property
    def has_pending(self) -> bool: ...
    @property
    def level(self) -> int: ...
    @property
    def rounds(self) -> list[int]: ...
    @property
    def best_index(self) -> int: ...
    @property
    def pending_is_polish(self) -> bool: ...
    @property
    def polish_rounds(self) -> list[int]: ...
    @property
    def polish_fits(self) -> list[int]: ...
    @property
    def polish_improved(self) -> list[int]: ...
    @property
    def polish_evaluations(self) -> list[int]: ...
