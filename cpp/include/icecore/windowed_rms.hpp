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

}  // namespace icecore
