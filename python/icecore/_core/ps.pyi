# Stubs for icecore._core.ps (cpp/python/bind_ps.cpp). Angles in radians. Fit results are numpy
# structured arrays with the fields ts, ns, gamma (float64), status, n_selected, n_eval (int32).
import numpy as np
import numpy.typing as npt

class PsSettings:
    gamma_grid0: float
    gamma_grid_step: float
    n_gamma_grid: int
    gamma_min: float
    gamma_max: float
    ns_max: float
    cone_rad: float
    ra_box: bool
    coarse_step: float
    gamma_tol: float
    def __init__(
        self,
        *,
        gamma_grid0: float = 0.9,
        gamma_grid_step: float = 0.1,
        n_gamma_grid: int = 33,
        gamma_min: float = 1.0,
        gamma_max: float = 4.0,
        ns_max: float = 1000.0,
        cone_rad: float = 0.17453292519943295,
        ra_box: bool = False,
        coarse_step: float = 0.5,
        gamma_tol: float = 0.001,
    ) -> None: ...

class PsSeason:
    def __init__(
        self,
        *,
        dec: npt.ArrayLike,
        ra: npt.ArrayLike,
        sin_dec: npt.ArrayLike,
        cos_dec: npt.ArrayLike,
        sigma: npt.ArrayLike,
        inv_b: npt.ArrayLike,
        efrac: npt.ArrayLike,
        cos_r: npt.ArrayLike,
        ebin: npt.ArrayLike,
        etable: npt.ArrayLike,
        acc: npt.ArrayLike,
        acc_x_lo: npt.ArrayLike,
        acc_x_hi: npt.ArrayLike,
        n_total: float,
        n_class: int,
        n_e: int,
    ) -> None: ...
    @property
    def n_events(self) -> int: ...
    @property
    def n_total(self) -> float: ...
    @property
    def n_class(self) -> int: ...
    @property
    def n_e(self) -> int: ...

class PsInjected:
    def __init__(
        self,
        *,
        season: npt.ArrayLike,
        ra: npt.ArrayLike,
        sin_dec: npt.ArrayLike,
        cos_dec: npt.ArrayLike,
        sigma: npt.ArrayLike,
        inv_b: npt.ArrayLike,
        efrac: npt.ArrayLike,
        cos_r: npt.ArrayLike,
        ebin: npt.ArrayLike,
        offsets: npt.ArrayLike,
    ) -> None: ...
    @property
    def n_events(self) -> int: ...
    @property
    def n_trials(self) -> int: ...

class PsModel:
    def __init__(self, seasons: list[PsSeason], settings: PsSettings) -> None: ...
    @property
    def n_seasons(self) -> int: ...
    def fit(self, ra: float, dec: float, cls: npt.ArrayLike) -> npt.NDArray[np.void]: ...
    def trials(
        self,
        ra: float,
        dec: float,
        cls: npt.ArrayLike,
        seeds: npt.ArrayLike,
        injected: PsInjected | None = None,
        threads: int = 0,
    ) -> npt.NDArray[np.void]: ...
    def scan(
        self, ra: npt.ArrayLike, dec: npt.ArrayLike, cls: npt.ArrayLike, threads: int = 0
    ) -> npt.NDArray[np.void]: ...
    def log_lambda(self, ra: float, dec: float, cls: npt.ArrayLike, ns: float, gamma: float) -> float: ...

def ps_parse_table(text: bytes, n_cols: int) -> tuple[npt.NDArray[np.float64], int, str]: ...

# Flare (time-dependent) kernel (cpp/include/icecore/ps_flare.hpp). Times in days / MJD. Results are
# structured arrays with the fields ts, ns, gamma, t_a, t_b, log_lambda (float64), status, n_eval (int32).
class FlareSettings:
    gamma_min: float
    gamma_max: float
    ns_max: float
    sigma_min: float
    sigma_max: float
    n_sigma: int
    n_seed: int
    n_refine: int
    box_min: float
    def __init__(
        self,
        *,
        gamma_min: float = 1.0,
        gamma_max: float = 4.0,
        ns_max: float = 1000.0,
        sigma_min: float = 1.0,
        sigma_max: float = 0.0,
        n_sigma: int = 30,
        n_seed: int = 60,
        n_refine: int = 3,
        box_min: float = 0.0,
    ) -> None: ...

class FlareModel:
    def __init__(
        self,
        *,
        t: npt.ArrayLike,
        x: npt.ArrayLike,
        gamma0: float,
        dgamma: float,
        n_total: float,
        run_start: npt.ArrayLike,
        run_stop: npt.ArrayLike,
        settings: FlareSettings,
    ) -> None: ...
    @property
    def n_events(self) -> int: ...
    @property
    def livetime(self) -> float: ...
    def live_between(self, a: float, b: float) -> float: ...
    def gauss_norm(self, mu: float, sigma: float) -> float: ...
    def fit(self, kind: str) -> npt.NDArray[np.void]: ...
    def fit_fixed(self, kind: str, a: float, b: float) -> npt.NDArray[np.void]: ...
    def log_lambda(self, kind: str, a: float, b: float, ns: float, gamma: float) -> float: ...
    def trials(
        self, kind: str, seeds: npt.ArrayLike, threads: int = 0, window: tuple[float, float] | None = None
    ) -> npt.NDArray[np.void]: ...
    def trials_spatial(
        self,
        kind: str,
        seeds: npt.ArrayLike,
        spatial: npt.ArrayLike,
        threads: int = 0,
        window: tuple[float, float] | None = None,
    ) -> npt.NDArray[np.void]: ...

# Stacking kernel (cpp/include/icecore/ps_stack.hpp). Angles in radians. Results are structured
# arrays with the fields ts, ns, gamma (float64), n_injected, status (int32).
STACK_EVENT_DTYPE: np.dtype[np.void]

class StackSettings:
    gamma_min: float
    gamma_max: float
    ns_max: float
    radius: float
    band: float
    gamma_xtol: float
    def __init__(
        self,
        *,
        gamma_min: float = 1.0,
        gamma_max: float = 4.0,
        ns_max: float = 1000.0,
        radius: float = 0.5235987755982988,
        band: float = 0.17453292519943295,
        gamma_xtol: float = 0.001,
    ) -> None: ...

class StackModel:
    def __init__(
        self,
        *,
        src_ra: npt.ArrayLike,
        src_dec: npt.ArrayLike,
        weights: npt.ArrayLike,
        gamma0: float,
        dgamma: float,
        n_gamma: int,
        settings: StackSettings,
    ) -> None: ...
    @property
    def n_seasons(self) -> int: ...
    @property
    def n_sources(self) -> int: ...
    def add_season(self, events: npt.ArrayLike, tables: npt.ArrayLike, y: npt.ArrayLike) -> None: ...
    def fit(self, ra: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.void]: ...
    def log_lambda(self, ra: list[npt.NDArray[np.float64]], ns: float, gamma: float) -> float: ...
    def scramble(self, seed: int) -> list[npt.NDArray[np.float64]]: ...
    def trials(
        self, seeds: npt.ArrayLike, injected: list[npt.NDArray[np.void]] | None = None, threads: int = 0
    ) -> npt.NDArray[np.void]: ...
