# Stubs for icecore._core.lvk (cpp/python/bind_lvk.cpp).
import numpy as np
import numpy.typing as npt

class LvkSearch:
    def __init__(
        self,
        ra: npt.ArrayLike,
        dec: npt.ArrayLike,
        log_prior: npt.ArrayLike,
        weight: npt.ArrayLike,
        moments: npt.ArrayLike,
        n_gamma: int = 1,
        bayes_gamma_index: int = 0,
        n_sigma: float = 5.0,
        ns_max: float = 1000.0,
    ) -> None: ...
    @property
    def n_pixels(self) -> int: ...
    def evaluate(
        self, ra: npt.ArrayLike, dec: npt.ArrayLike, sigma: npt.ArrayLike, inv_bg: npt.ArrayLike, eratio: npt.ArrayLike
    ) -> npt.NDArray[np.void]: ...
    def ts_map(
        self, ra: npt.ArrayLike, dec: npt.ArrayLike, sigma: npt.ArrayLike, inv_bg: npt.ArrayLike, eratio: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def trials(
        self,
        dec: npt.ArrayLike,
        sigma: npt.ArrayLike,
        inv_bg: npt.ArrayLike,
        eratio: npt.ArrayLike,
        mean_n: float,
        fixed_n: int = -1,
        n_trials: int = 1000,
        seed: int = 0,
        threads: int = 0,
        first_trial: int = 0,
    ) -> npt.NDArray[np.void]: ...

def distance_moments(
    kdec: npt.ArrayLike,
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    n_nodes: int,
    table: npt.ArrayLike,
    grid_lo: float,
    grid_step: float,
    threads: int = 0,
) -> npt.NDArray[np.float64]: ...
def fit_ns(x: npt.ArrayLike, ns_max: float = 1000.0) -> tuple[float, float]: ...
