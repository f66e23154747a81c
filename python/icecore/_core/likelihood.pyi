# Stubs for icecore._core.likelihood (cpp/python/bind_likelihood.cpp).
import numpy as np
import numpy.typing as npt

from .scan import DirectionFitter

def pandel_eval(
    kind: int,
    t: npt.ArrayLike,
    nu: npt.ArrayLike,
    rho: float,
    sigma: float,
    n: npt.ArrayLike,
    threads: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
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
) -> dict[str, npt.NDArray[np.float64]]: ...

class PandelTrackLikelihood(DirectionFitter):
    def __init__(
        self,
        positions: npt.ArrayLike,
        times: npt.ArrayLike,
        charges: npt.ArrayLike,
        mode: str = "mpe",
        sigma_ns: float = 4.0,
        noise_rate_hz: float = 500.0,
        window_ns: float = 10000.0,
        absorption_m: float = 98.0,
        tau_ns: float = 556.7,
        scattering_m: float = 33.29,
        n_phase: float = 1.3195,
        n_group: float = 1.35634,
        c_m_per_ns: float = 0.299792458,
        deff_coefficients: list[float] = ...,
        n_ring: int = 6,
        ring_radius_m: float = 150.0,
        max_iter: int = 100,
        gtol: float = 1e-3,
        ftol: float = 1e-6,
    ) -> None: ...
    def neg_llh(
        self, x: float, y: float, z: float, t: float, zenith: float, azimuth: float
    ) -> tuple[float, npt.NDArray[np.float64]]: ...
    @property
    def n_doms(self) -> int: ...

