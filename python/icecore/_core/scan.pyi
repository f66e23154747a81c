# Stubs for icecore._core.scan (cpp/python/bind_fitter.cpp, bind_scan.cpp).
import numpy as np
import numpy.typing as npt

class DirectionFitter:
    def fit_batch(
        self, zenith: npt.ArrayLike, azimuth: npt.ArrayLike, seeds: npt.ArrayLike, threads: int = 0
    ) -> dict[str, npt.NDArray[np.generic]]: ...

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
    ) -> None: ...
    def next_batch(self) -> dict[str, npt.NDArray[np.generic]]: ...
    def submit(self, neg_llh: npt.ArrayLike, vertex: npt.ArrayLike, n_eval: npt.ArrayLike, status: npt.ArrayLike) -> None: ...
    def step(self, fitter: DirectionFitter, threads: int = 0) -> int: ...
    def run(self, fitter: DirectionFitter, threads: int = 0) -> None: ...
    def records(self) -> dict[str, npt.NDArray[np.generic]]: ...
    def local_direction(self, nside: int, pix: int) -> tuple[float, float]: ...
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
    def params(self) -> dict[str, object]: ...
