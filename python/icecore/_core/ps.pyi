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
