// Sliding-window RMS of sampled traces (radio noise level).
//
// For a trace x[0..n) and a window of w samples, the sliding RMS at offset i is
//   r_i = sqrt( (1/w) * sum_{k=i}^{i+w-1} x_k^2 ),  i = 0 .. n-w,
// and the "RMS amplitude" of the trace is min_i r_i (the quietest stretch: it is not raised by
// air-shower pulses or RFI bursts that occupy part of the trace). The RMS is taken about zero:
// remove any baseline before calling. O(n) per trace via a running sum of squares; integer
// input is summed exactly in 64-bit integers, floating input in double with an exact re-sum
// every `kResumInterval` steps, and after any drop of the running sum by more than `kResumDrop`
// of its recent maximum, so rounding cannot drift.
#pragma once

#include <cstddef>
#include <cstdint>

namespace icecore {

inline constexpr std::size_t kResumInterval = 1024;
inline constexpr double kResumDrop = 1e-3;

/// Minimum sliding-window RMS of each row of a row-major (rows, samples) array.
/// out[r] receives the value for row r. Throws std::invalid_argument if window == 0 or
/// window > samples. Floating input must be finite (the caller checks).
template <class T>
void windowed_rms_min(const T* data, std::size_t rows, std::size_t samples, std::size_t window,
                      double* out, int threads);

extern template void windowed_rms_min<std::int16_t>(const std::int16_t*, std::size_t, std::size_t,
                                                    std::size_t, double*, int);
extern template void windowed_rms_min<std::int32_t>(const std::int32_t*, std::size_t, std::size_t,
                                                    std::size_t, double*, int);
extern template void windowed_rms_min<float>(const float*, std::size_t, std::size_t, std::size_t,
                                             double*, int);
extern template void windowed_rms_min<double>(const double*, std::size_t, std::size_t,
                                              std::size_t, double*, int);

/// RMS amplitude and "RMS spread" of each row, with rows made of independent blocks.
///
/// Each row of `samples` values is split into `samples / block` blocks of `block` samples
/// (e.g. the 4 read-out copies of one event concatenated: block = samples per copy). Windows
/// never straddle a block boundary:
///   out_rms[r]    = min over blocks of the minimum sliding-window RMS inside the block;
///   out_spread[r] = population standard deviation (ddof = 0) of the `n_smallest` smallest RMS
///                   values of the non-overlapping sub-traces [k*window, (k+1)*window) of every
///                   block (floor(block / window) per block; all of them if there are fewer
///                   than n_smallest; 0 if there is only one).
/// Throws std::invalid_argument if window == 0, block == 0, samples % block != 0,
/// window > block or n_smallest == 0. Floating input must be finite (the caller checks).
template <class T>
void windowed_rms_spread(const T* data, std::size_t rows, std::size_t samples, std::size_t block,
                         std::size_t window, std::size_t n_smallest, double* out_rms,
                         double* out_spread, int threads);

#define ICECORE_RMS_SPREAD_EXTERN(T)                                                           \
    extern template void windowed_rms_spread<T>(const T*, std::size_t, std::size_t, std::size_t, \
                                                std::size_t, std::size_t, double*, double*, int);
ICECORE_RMS_SPREAD_EXTERN(std::int16_t)
ICECORE_RMS_SPREAD_EXTERN(std::int32_t)
ICECORE_RMS_SPREAD_EXTERN(float)
ICECORE_RMS_SPREAD_EXTERN(double)
#undef ICECORE_RMS_SPREAD_EXTERN

}  // namespace icecore
