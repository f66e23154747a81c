// Cleaning of integer radio traces (IceTop surface radio): repair by comparison of the read-out
// copies, spike finding in units of the median absolute deviation (MAD), and correction of
// flipped most-significant bits.
//
// Robust scale. For a trace x[0..n) with median m, the scale is
//   sigma_x = max(kMadToSigma * median_i |x_i - m|, kMinSigma)
// (the MAD scaled to the standard deviation of Gaussian noise, floored at one ADC count so that a
// constant trace does not make every deviation infinitely significant). "k MAD" in the rules
// below means k * sigma_x. Medians of an even number of values are the mean of the two middle
// values (as numpy.median); for integer input every quantity is then a multiple of 1/4 and exact.
//
// Spike rules (find_spikes), for a trace of n >= 3 samples, with d_i = x_i - x_{i-1} (i >= 1),
// m_d the median of the d_i, e_i = d_i - m_d and sigma_d their robust scale as above:
//   amplitude (bit 1): |x_i - m| > amp_k * sigma_x
//   jump      (bit 2): 1 <= i <= n-2:  |e_i| > jump_k * sigma_d, |e_{i+1}| > jump_k * sigma_d,
//                      e_i * e_{i+1} < 0 (the trace jumps away and back), and not both
//                      neighbours are amplitude outliers (so the quiet sample between two
//                      spikes two samples apart is not taken for a spike);
//                      i = 0:    |e_1| > jump_k * sigma_d and |x_0 - m| > |x_1 - m|;
//                      i = n-1:  |e_{n-1}| > jump_k * sigma_d and |x_{n-1} - m| > |x_{n-2} - m|.
//
// Correction (correct_spikes) of every sample whose mask is non-zero:
//   y = x_i XOR 2^msb_bit (the most significant bit below the sign bit: the sign is kept);
//   if |y - m| <= keep_k * sigma_x (m, sigma_x of the uncorrected trace) the sample becomes y;
//   else it becomes the mean of the nearest non-spike sample on each side, or, at a trace end
//   with no non-spike sample on one side, of the two nearest non-spike samples on the inner
//   side; the mean is rounded half away from zero. With fewer than two non-spike samples the
//   sample is left unchanged and counted as unresolved.
//
// Copy comparison (compare_copies), per event of `copies` traces and per sample: if the copies
// disagree, the value held by the most copies wins when it is held by at least two copies and
// by strictly more copies than any other value; every copy is then set to it. Otherwise (e.g. a
// 2-2 split of four copies) the sample is left unchanged and counted as unresolved.
#pragma once

#include <cstddef>
#include <cstdint>

namespace icecore {

inline constexpr double kMadToSigma = 1.482602218505602;  // 1 / Phi^-1(3/4)
inline constexpr double kMinSigma = 1.0;                   // ADC counts

/// Spike flags written by find_spikes (callers may OR in their own bits, e.g. 4).
inline constexpr std::uint8_t kSpikeAmplitude = 1;
inline constexpr std::uint8_t kSpikeJump = 2;

/// Median and robust sigma (see above) of x[0..n); exact for integers. n >= 1.
template <class T>
void robust_location_scale(const T* x, std::size_t n, double* median, double* sigma);

/// In-place repair of `events` events of `copies` x `samples` values (row-major).
/// changed[e * copies + c] receives the number of samples of copy c that were changed,
/// unresolved[e] the number of samples left without a majority. Throws if copies < 2.
template <class T>
void compare_copies(T* data, std::size_t events, std::size_t copies, std::size_t samples,
                    std::int32_t* changed, std::int32_t* unresolved, int threads);

/// Spike mask (rows x samples, 0 = clean, bits kSpikeAmplitude | kSpikeJump) of each row.
/// Throws if samples < 3 or a threshold is not positive.
template <class T>
void find_spikes(const T* data, std::size_t rows, std::size_t samples, double amp_k,
                 double jump_k, std::uint8_t* mask, int threads);

/// In-place correction of the samples flagged in `mask` (see above). Per row: flipped[r]
/// samples restored by the bit flip, replaced[r] by the neighbour mean, unresolved[r] left.
/// Throws if msb_bit is outside [0, bits of T - 2] or keep_k is not positive.
template <class T>
void correct_spikes(T* data, std::size_t rows, std::size_t samples, const std::uint8_t* mask,
                    int msb_bit, double keep_k, std::int32_t* flipped, std::int32_t* replaced,
                    std::int32_t* unresolved, int threads);

#define ICECORE_CLEANING_EXTERN(T)                                                              \
    extern template void robust_location_scale<T>(const T*, std::size_t, double*, double*);    \
    extern template void compare_copies<T>(T*, std::size_t, std::size_t, std::size_t,           \
                                           std::int32_t*, std::int32_t*, int);                  \
    extern template void find_spikes<T>(const T*, std::size_t, std::size_t, double, double,     \
                                        std::uint8_t*, int);                                    \
    extern template void correct_spikes<T>(T*, std::size_t, std::size_t, const std::uint8_t*,   \
                                           int, double, std::int32_t*, std::int32_t*,           \
                                           std::int32_t*, int);
ICECORE_CLEANING_EXTERN(std::int16_t)
ICECORE_CLEANING_EXTERN(std::int32_t)
#undef ICECORE_CLEANING_EXTERN

}  // namespace icecore
