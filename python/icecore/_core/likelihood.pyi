# Stubs for icecore._core.likelihood (cpp/python/bind_likelihood.cpp).
import numpy as np
import numpy.typing as npt

from .scan import DirectionFitter

class IceParams:
    absorption_m: float
    tau_ns: float
    scattering_m: float
    n_phase: float
    n_group: float
    c_m_per_ns: float
    def __init__(self) -> None: ...
    @property
    def deff_coefficients(self) -> tuple[float, float, float, float]: ...
    @deff_coefficients.setter
    def deff_coefficients(self, value: list[float] | tuple[float, ...]) -> None: ...
    @property
    def rho(self) -> float: ...
    @property
    def problem(self) -> str | None: ...

class LikelihoodOptions:
    sigma_ns: float
    noise_rate_hz: float
    window_ns: float
    n_ring: int
    ring_radius_m: float
    max_iter: int
    gtol: float
    ftol: float
    mode: str
    likelihood: str
    max_step: float
    n_ring_near: int
    near_m: float
    near_ns: float
    minimizer: str
    seed_minimizer: str
    initial_step: float
    level_seeds: list[tuple[int, int, int]]
    def __init__(self, mode: str = "mpe") -> None: ...
    @property
    def problem(self) -> str | None: ...

def pandel_eval(
    kind: int,
    t: npt.ArrayLike,
    nu: npt.ArrayLike,
    rho: float,
    sigma: float,
    n: npt.ArrayLike,
    threads: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
PANDEL_TABLE_STEPS: tuple[float, float]

def pandel_table_eval(
    t: npt.ArrayLike,
    nu: npt.ArrayLike,
    rho: float,
    sigma: float,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
]: ...
def pandel_table_mix(
    t: npt.ArrayLike,
    nu: npt.ArrayLike,
    m: npt.ArrayLike,
    rho: float,
    sigma: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def softplus_log_add(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def track_geometry(
    positions: npt.ArrayLike,
    x: float,
    y: float,
    z: float,
    t: float,
    zenith: float,
    azimuth: float,
    n_phase: float,
    n_group: float,
    c: float,
) -> npt.NDArray[np.void]: ...

class PandelTrackLikelihood(DirectionFitter):
    def __init__(
        self,
        positions: npt.ArrayLike,
        times: npt.ArrayLike,
        charges: npt.ArrayLike,
        ice: IceParams = ...,
        options: LikelihoodOptions = ...,
    ) -> None: ...
    def neg_llh(
        self, x: float, y: float, z: float, t: float, zenith: float, azimuth: float
    ) -> tuple[float, npt.NDArray[np.float64]]: ...
    def neg_llh_transverse(
        self,
        zenith: float,
        azimuth: float,
        seed: tuple[float, float, float, float] | list[float] | npt.ArrayLike,
        alpha: float,
        beta: float,
        t0: float,
        hessian: bool = False,
    ) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64] | None]: ...
    @property
    def n_doms(self) -> int: ...
