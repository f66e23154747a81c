# Stubs for icecore._core.ps (cpp/python/bind_ps.cpp).
import numpy as np
import numpy.typing as npt

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

