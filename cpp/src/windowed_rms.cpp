#include "icecore/windowed_rms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "icecore/parallel.hpp"

namespace icecore {
namespace {

// Integer samples: the running sum of squares is exact in int64 (|x| < 2^31, so x^2 < 2^62,
// and a window of up to 2^31 int16 samples stays far below 2^63).
template <class T>
double row_min_rms_integer(const T* x, std::size_t n, std::size_t w) {
    std::int64_t s = 0;
    for (std::size_t k = 0; k < w; ++k) s += static_cast<std::int64_t>(x[k]) * x[k];
    std::int64_t best = s;
    for (std::size_t i = w; i < n; ++i) {
        s += static_cast<std::int64_t>(x[i]) * x[i] - static_cast<std::int64_t>(x[i - w]) * x[i - w];
        if (s < best) best = s;
    }
    return std::sqrt(static_cast<double>(best) / static_cast<double>(w));
}

// Four integer rows at once: the running sums of different rows are independent, so
// interleaving them hides the add/compare latency of the single-row loop. Exact, so the results
// are identical to row_min_rms_integer row by row.
template <class T>
void rows4_min_rms_integer(const T* x, std::size_t n, std::size_t w, double* out) {
    const T* x0 = x;
    const T* x1 = x + n;
    const T* x2 = x + 2 * n;
    const T* x3 = x + 3 * n;
    auto sq = [](T v) { return static_cast<std::int64_t>(v) * v; };
    std::int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (std::size_t k = 0; k < w; ++k) {
        s0 += sq(x0[k]);
        s1 += sq(x1[k]);
        s2 += sq(x2[k]);
        s3 += sq(x3[k]);
    }
    std::int64_t b0 = s0, b1 = s1, b2 = s2, b3 = s3;
    for (std::size_t i = w; i < n; ++i) {
        s0 += sq(x0[i]) - sq(x0[i - w]);
        s1 += sq(x1[i]) - sq(x1[i - w]);
        s2 += sq(x2[i]) - sq(x2[i - w]);
        s3 += sq(x3[i]) - sq(x3[i - w]);
        b0 = s0 < b0 ? s0 : b0;
        b1 = s1 < b1 ? s1 : b1;
        b2 = s2 < b2 ? s2 : b2;
        b3 = s3 < b3 ? s3 : b3;
    }
    const double wd = static_cast<double>(w);
    out[0] = std::sqrt(static_cast<double>(b0) / wd);
    out[1] = std::sqrt(static_cast<double>(b1) / wd);
    out[2] = std::sqrt(static_cast<double>(b2) / wd);
    out[3] = std::sqrt(static_cast<double>(b3) / wd);
}

template <class T>
double row_min_rms_float(const T* x, std::size_t n, std::size_t w) {
    auto sq = [x](std::size_t k) {
        const double v = static_cast<double>(x[k]);
        return v * v;
    };
    auto exact = [&](std::size_t first) {
        double acc = 0.0;
        for (std::size_t k = first; k < first + w; ++k) acc += sq(k);
        return acc;
    };
    double s = exact(0);
    double best = s;
    // Rounding error of the running sum is bounded by ~(steps since the last exact sum) * eps *
    // (largest sum seen since then). Re-sum exactly every kResumInterval steps, and whenever the
    // sum has dropped far below that largest value (a loud pulse left the window), so the
    // relative error of every value compared stays below ~1e-10.
    double scale = s;
    std::size_t since_resum = 0;
    for (std::size_t i = w; i < n; ++i) {
        s += sq(i) - sq(i - w);
        if (s > scale) scale = s;
        if (++since_resum == kResumInterval || s < scale * kResumDrop) {
            s = exact(i + 1 - w);
            scale = s;
            since_resum = 0;
        }
        if (s < best) best = s;
    }
    if (best < 0.0) best = 0.0;  // rounding of an all-zero stretch
    return std::sqrt(best / static_cast<double>(w));
}

template <class T>
double row_min_rms(const T* x, std::size_t n, std::size_t w) {
    if constexpr (std::is_integral_v<T>) {
        return row_min_rms_integer(x, n, w);
    } else {
        return row_min_rms_float(x, n, w);
    }
}

// RMS of one sub-trace: exact integer sum of squares for integer input, double otherwise.
template <class T>
double segment_rms(const T* x, std::size_t w) {
    if constexpr (std::is_integral_v<T>) {
        std::int64_t s = 0;
        for (std::size_t k = 0; k < w; ++k) s += static_cast<std::int64_t>(x[k]) * x[k];
        return std::sqrt(static_cast<double>(s) / static_cast<double>(w));
    } else {
        double s = 0.0;
        for (std::size_t k = 0; k < w; ++k) {
            const double v = static_cast<double>(x[k]);
            s += v * v;
        }
        return std::sqrt(s / static_cast<double>(w));
    }
}

}  // namespace

template <class T>
void windowed_rms_spread(const T* data, std::size_t rows, std::size_t samples, std::size_t block,
                         std::size_t window, std::size_t n_smallest, double* out_rms,
                         double* out_spread, int threads) {
    if (window == 0) throw std::invalid_argument("window must be at least 1 sample");
    if (block == 0 || samples % block != 0)
        throw std::invalid_argument("samples must be a whole number of blocks");
    if (window > block) throw std::invalid_argument("window is longer than a block");
    if (n_smallest == 0) throw std::invalid_argument("n_smallest must be at least 1");
    const std::size_t nblocks = samples / block;
    const std::size_t per_block = block / window;
    parallel_for(rows, threads, [&](std::size_t begin, std::size_t end) {
        std::vector<double> seg(nblocks * per_block);
        for (std::size_t r = begin; r < end; ++r) {
            const T* x = data + r * samples;
            double best = std::numeric_limits<double>::infinity();
            for (std::size_t b = 0; b < nblocks; ++b) {
                const T* xb = x + b * block;
                best = std::min(best, row_min_rms(xb, block, window));
                for (std::size_t k = 0; k < per_block; ++k)
                    seg[b * per_block + k] = segment_rms(xb + k * window, window);
            }
            out_rms[r] = best;
            const std::size_t m = std::min(n_smallest, seg.size());
            std::partial_sort(seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(m), seg.end());
            double mean = 0.0;
            for (std::size_t k = 0; k < m; ++k) mean += seg[k];
            mean /= static_cast<double>(m);
            double var = 0.0;
            for (std::size_t k = 0; k < m; ++k) var += (seg[k] - mean) * (seg[k] - mean);
            out_spread[r] = std::sqrt(var / static_cast<double>(m));
        }
    });
}

#define ICECORE_RMS_SPREAD_INSTANTIATE(T)                                                       \
    template void windowed_rms_spread<T>(const T*, std::size_t, std::size_t, std::size_t,       \
                                         std::size_t, std::size_t, double*, double*, int);
ICECORE_RMS_SPREAD_INSTANTIATE(std::int16_t)
ICECORE_RMS_SPREAD_INSTANTIATE(std::int32_t)
ICECORE_RMS_SPREAD_INSTANTIATE(float)
ICECORE_RMS_SPREAD_INSTANTIATE(double)
#undef ICECORE_RMS_SPREAD_INSTANTIATE

template <class T>
void windowed_rms_min(const T* data, std::size_t rows, std::size_t samples, std::size_t window,
                      double* out, int threads) {
    if (window == 0) throw std::invalid_argument("window must be at least 1 sample");
    if (window > samples) throw std::invalid_argument("window is longer than the trace");
    parallel_for(rows, threads, [&](std::size_t begin, std::size_t end) {
        std::size_t r = begin;
        if constexpr (std::is_integral_v<T>) {
            for (; r + 4 <= end; r += 4) rows4_min_rms_integer(data + r * samples, samples, window, out + r);
        }
        for (; r < end; ++r) out[r] = row_min_rms(data + r * samples, samples, window);
    });
}

template void windowed_rms_min<std::int16_t>(const std::int16_t*, std::size_t, std::size_t,
                                             std::size_t, double*, int);
template void windowed_rms_min<std::int32_t>(const std::int32_t*, std::size_t, std::size_t,
                                             std::size_t, double*, int);
template void windowed_rms_min<float>(const float*, std::size_t, std::size_t, std::size_t,
                                      double*, int);
template void windowed_rms_min<double>(const double*, std::size_t, std::size_t, std::size_t,
                                       double*, int);

}  // namespace icecore
