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

# --- likelihood (bind_likelihood.cpp) -----------------------------------------------------
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

def ps_parse_table(text: bytes, n_cols: int) -> tuple[npt.NDArray[np.float64], int, str]: ...

# --- scan (bind_scan.cpp) -----------------------------------------------------------------
def healpix_pix2ang_nest(nside: int, pix: npt.ArrayLike, threads: int = 0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def healpix_pix2vec_nest(nside: int, pix: npt.ArrayLike, threads: int = 0) -> npt.NDArray[np.float64]: ...
def healpix_ang2pix_nest(nside: int, theta: npt.ArrayLike, phi: npt.ArrayLike, threads: int = 0) -> npt.NDArray[np.int64]: ...
def healpix_vec2pix_nest(nside: int, vec: npt.ArrayLike, threads: int = 0) -> npt.NDArray[np.int64]: ...
def healpix_children_nest(nside: int, pix: int, nside_child: int) -> npt.NDArray[np.int64]: ...
def healpix_parent_nest(nside: int, pix: npt.ArrayLike, nside_parent: int) -> npt.NDArray[np.int64]: ...
def healpix_query_disc_nest(nside: int, vec: npt.ArrayLike, radius: float) -> npt.NDArray[np.int64]: ...
def healpix_max_pixrad(nside: int) -> float: ...

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
