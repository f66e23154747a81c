# Type stubs for the compiled module icecore._core (mirrors cpp/python/bind_*.cpp).
# Each area keeps its own section; call the Python wrappers in icecore.* rather than these.
import numpy as np
import numpy.typing as npt

__version__: str

# --- radio (bind_radio.cpp) ---------------------------------------------------------------
def windowed_rms_min_i16(traces: npt.ArrayLike, window: int, threads: int = 0) -> npt.NDArray[np.float64]: ...
def windowed_rms_min_i32(traces: npt.ArrayLike, window: int, threads: int = 0) -> npt.NDArray[np.float64]: ...
def windowed_rms_min_f32(traces: npt.ArrayLike, window: int, threads: int = 0) -> npt.NDArray[np.float64]: ...
def windowed_rms_min_f64(traces: npt.ArrayLike, window: int, threads: int = 0) -> npt.NDArray[np.float64]: ...

# --- common (bind_common.cpp) -------------------------------------------------------------
class DirectionFitter:
    def fit_batch(
        self, zenith: npt.ArrayLike, azimuth: npt.ArrayLike, seeds: npt.ArrayLike, threads: int = 0
    ) -> dict[str, npt.NDArray[np.generic]]: ...

# --- ps (bind_ps.cpp) ---------------------------------------------------------------------
class PsModel:
    def __init__(self, seasons: list[dict[str, object]], settings: dict[str, object]) -> None: ...
    def fit(self, ra: float, dec: float, cls: npt.ArrayLike) -> dict[str, npt.NDArray[np.generic]]: ...
    def trials(
        self,
        ra: float,
        dec: float,
        cls: npt.ArrayLike,
        seeds: npt.ArrayLike,
        injected: dict[str, npt.ArrayLike] | None = None,
        threads: int = 0,
    ) -> dict[str, npt.NDArray[np.generic]]: ...
    def scan(
        self, ra: npt.ArrayLike, dec: npt.ArrayLike, cls: npt.ArrayLike, threads: int = 0
    ) -> dict[str, npt.NDArray[np.generic]]: ...
    def log_lambda(self, ra: float, dec: float, cls: npt.ArrayLike, ns: float, gamma: float) -> float: ...
