# Stubs for icecore._core.radio (cpp/python/bind_radio.cpp). One name per kernel, one overload
# per sample type; an array of exactly that dtype (C-contiguous) selects its overload. The
# windowed-RMS kernels convert any other array to float64; the cleaning kernels take int16/int32 only.
from typing import overload

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]
_I32 = npt.NDArray[np.int32]

@overload
def windowed_rms_min(traces: npt.NDArray[np.int16], window: int, threads: int = 0) -> _F64: ...
@overload
def windowed_rms_min(traces: npt.NDArray[np.int32], window: int, threads: int = 0) -> _F64: ...
@overload
def windowed_rms_min(traces: npt.NDArray[np.float32], window: int, threads: int = 0) -> _F64: ...
@overload
def windowed_rms_min(traces: npt.ArrayLike, window: int, threads: int = 0) -> _F64: ...
@overload
def windowed_rms_spread(
    traces: npt.NDArray[np.int16], block: int, window: int, n_smallest: int, threads: int = 0
) -> tuple[_F64, _F64]: ...
@overload
def windowed_rms_spread(
    traces: npt.NDArray[np.int32], block: int, window: int, n_smallest: int, threads: int = 0
) -> tuple[_F64, _F64]: ...
@overload
def windowed_rms_spread(
    traces: npt.NDArray[np.float32], block: int, window: int, n_smallest: int, threads: int = 0
) -> tuple[_F64, _F64]: ...
@overload
def windowed_rms_spread(
    traces: npt.ArrayLike, block: int, window: int, n_smallest: int, threads: int = 0
) -> tuple[_F64, _F64]: ...
@overload
def compare_copies(traces: npt.NDArray[np.int16], threads: int = 0) -> tuple[npt.NDArray[np.int16], _I32, _I32]: ...
@overload
def compare_copies(traces: npt.NDArray[np.int32], threads: int = 0) -> tuple[npt.NDArray[np.int32], _I32, _I32]: ...
_U8 = npt.NDArray[np.uint8]

@overload
def find_spikes(traces: npt.NDArray[np.int16], amp_k: float, jump_k: float, threads: int = 0) -> _U8: ...
@overload
def find_spikes(traces: npt.NDArray[np.int32], amp_k: float, jump_k: float, threads: int = 0) -> _U8: ...
@overload
def correct_spikes(
    traces: npt.NDArray[np.int16], mask: npt.ArrayLike, msb_bit: int, keep_k: float, threads: int = 0
) -> tuple[npt.NDArray[np.int16], _I32, _I32, _I32]: ...
@overload
def correct_spikes(
    traces: npt.NDArray[np.int32], mask: npt.ArrayLike, msb_bit: int, keep_k: float, threads: int = 0
) -> tuple[npt.NDArray[np.int32], _I32, _I32, _I32]: ...
@overload
def robust_stats(traces: npt.NDArray[np.int16]) -> tuple[_F64, _F64]: ...
@overload
def robust_stats(traces: npt.NDArray[np.int32]) -> tuple[_F64, _F64]: ...
