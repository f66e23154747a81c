#include "icecore/radio_cleaning.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "icecore/parallel.hpp"

namespace icecore {
namespace {

// Per-thread work space, reused across rows.
struct Scratch {
    std::vector<std::int64_t> work;   // nth_element copy (wide ranges only)
    std::vector<std::int32_t> hist;   // counting-sort histogram (narrow ranges)
};

// Twice the median (sum of the two middle order statistics) and four times the MAD (sum of the
// two middle order statistics of |2 v - med2| = 2 |v - median|) of integers v[0..n), exact.
// Counting sort over [min, max] when that range is small compared with n, which is the normal
// case for ADC traces (noise of a few tens of counts plus rare spikes): one pass to fill the
// histogram, then the median is found by accumulating counts and the MAD by walking outward
// from the median, with no second pass over the data. nth_element otherwise.
template <class V>
void median_mad(const V* v, std::size_t n, Scratch& s, std::int64_t* med2_out, std::int64_t* mad4_out) {
    const std::size_t lo_rank = (n - 1) / 2, hi_rank = n / 2;
    std::int64_t mn = static_cast<std::int64_t>(v[0]), mx = mn;
    for (std::size_t i = 1; i < n; ++i) {
        const auto x = static_cast<std::int64_t>(v[i]);
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
    }
    const auto range = static_cast<std::uint64_t>(mx - mn);
    if (range <= 8 * static_cast<std::uint64_t>(n) + 4096) {
        const std::size_t bins = static_cast<std::size_t>(range) + 1;
        if (s.hist.size() < bins) s.hist.resize(bins);
        std::int32_t* h = s.hist.data();
        std::fill(h, h + bins, 0);
        for (std::size_t i = 0; i < n; ++i) ++h[static_cast<std::size_t>(static_cast<std::int64_t>(v[i]) - mn)];
        std::size_t cum = 0;
        std::int64_t lo = 0, med2 = 2 * mx;
        bool have_lo = false;
        for (std::size_t b = 0; b < bins; ++b) {
            cum += static_cast<std::size_t>(h[b]);
            if (!have_lo && cum > lo_rank) {
                lo = mn + static_cast<std::int64_t>(b);
                have_lo = true;
            }
            if (cum > hi_rank) {
                med2 = lo + mn + static_cast<std::int64_t>(b);
                break;
            }
        }
        // Outward walk: bin b holds value mn + b at distance |2 (mn + b) - med2|.
        const std::int64_t bins64 = static_cast<std::int64_t>(bins);
        std::int64_t l = (med2 - 2 * mn) / 2;  // largest b with 2 (mn + b) <= med2 (numerator >= 0)
        std::int64_t r = l + 1;
        cum = 0;
        have_lo = false;
        std::int64_t lo_d = 0;
        for (;;) {
            const std::int64_t dl = l >= 0 ? med2 - 2 * (mn + l) : std::numeric_limits<std::int64_t>::max();
            const std::int64_t dr = r < bins64 ? 2 * (mn + r) - med2 : std::numeric_limits<std::int64_t>::max();
            std::int64_t d;
            if (dl <= dr) {
                d = dl;
                cum += static_cast<std::size_t>(h[static_cast<std::size_t>(l--)]);
            } else {
                d = dr;
                cum += static_cast<std::size_t>(h[static_cast<std::size_t>(r++)]);
            }
            if (!have_lo && cum > lo_rank) {
                lo_d = d;
                have_lo = true;
            }
            if (cum > hi_rank) {
                *med2_out = med2;
                *mad4_out = lo_d + d;
                return;
            }
        }
    }
    auto twice_median = [&](std::vector<std::int64_t>& w) {
        auto hi_it = w.begin() + static_cast<std::ptrdiff_t>(hi_rank);
        std::nth_element(w.begin(), hi_it, w.end());
        const std::int64_t hi = *hi_it;
        if (lo_rank == hi_rank) return 2 * hi;
        return *std::max_element(w.begin(), hi_it) + hi;  // lower middle: largest before hi_rank
    };
    s.work.resize(n);
    for (std::size_t i = 0; i < n; ++i) s.work[i] = static_cast<std::int64_t>(v[i]);
    const std::int64_t med2 = twice_median(s.work);
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t d = 2 * static_cast<std::int64_t>(v[i]) - med2;
        s.work[i] = d < 0 ? -d : d;
    }
    *med2_out = med2;
    *mad4_out = twice_median(s.work);
}

inline double sigma_from_mad4(std::int64_t mad4) {
    return std::max(kMadToSigma * (static_cast<double>(mad4) / 4.0), kMinSigma);
}

// floor(t) for t >= 0, saturated so that any integer deviation compares correctly.
inline std::int64_t int_threshold(double t) {
    constexpr double cap = 4.0e18;
    return t >= cap ? static_cast<std::int64_t>(cap) : static_cast<std::int64_t>(std::floor(t));
}

// int_threshold saturated to the range of W (any deviation representable in W compares right).
template <class W>
W clamp_threshold(double t) {
    const std::int64_t v = int_threshold(t);
    const std::int64_t cap = static_cast<std::int64_t>(std::numeric_limits<W>::max());
    return static_cast<W>(v > cap ? cap : v);
}

template <class T>
std::int64_t trace_location_scale(const T* x, std::size_t n, Scratch& s, double* median, double* sigma) {
    std::int64_t med2 = 0, mad4 = 0;
    median_mad(x, n, s, &med2, &mad4);
    *median = static_cast<double>(med2) / 2.0;
    *sigma = sigma_from_mad4(mad4);
    return med2;
}

inline double absd(double v) { return v < 0 ? -v : v; }

// Rounded half away from zero: (a + b) / 2 for integers.
inline std::int64_t mean_half_away(std::int64_t a, std::int64_t b) {
    const std::int64_t s = a + b;
    return s >= 0 ? (s + 1) / 2 : -((-s + 1) / 2);
}

}  // namespace

template <class T>
void robust_location_scale(const T* x, std::size_t n, double* median, double* sigma) {
    if (n == 0) throw std::invalid_argument("robust_location_scale needs at least one value");
    Scratch s;
    static_cast<void>(trace_location_scale(x, n, s, median, sigma));
}

template <class T>
void compare_copies(T* data, std::size_t events, std::size_t copies, std::size_t samples,
                    std::int32_t* changed, std::int32_t* unresolved, int threads) {
    if (copies < 2) throw std::invalid_argument("copy comparison needs at least two copies");
    parallel_for(events, threads, [&](std::size_t begin, std::size_t end) {
        std::vector<T> vals(copies);
        std::vector<std::size_t> count(copies);
        for (std::size_t e = begin; e < end; ++e) {
            T* ev = data + e * copies * samples;
            std::int32_t* ch = changed + e * copies;
            for (std::size_t c = 0; c < copies; ++c) ch[c] = 0;
            std::int32_t unres = 0;
            for (std::size_t i = 0; i < samples; ++i) {
                const T first = ev[i];
                bool same = true;
                for (std::size_t c = 1; c < copies; ++c) same = same && (ev[c * samples + i] == first);
                if (same) continue;
                for (std::size_t c = 0; c < copies; ++c) vals[c] = ev[c * samples + i];
                std::size_t best = 0, best_count = 0, second_count = 0;
                for (std::size_t c = 0; c < copies; ++c) {
                    count[c] = 0;
                    for (std::size_t k = 0; k < copies; ++k) count[c] += (vals[k] == vals[c]) ? 1u : 0u;
                }
                for (std::size_t c = 0; c < copies; ++c) {
                    if (count[c] > best_count) {
                        best_count = count[c];
                        best = c;
                    }
                }
                for (std::size_t c = 0; c < copies; ++c) {
                    if (vals[c] != vals[best] && count[c] > second_count) second_count = count[c];
                }
                if (best_count >= 2 && best_count > second_count) {
                    const T winner = vals[best];
                    for (std::size_t c = 0; c < copies; ++c) {
                        if (vals[c] != winner) {
                            ev[c * samples + i] = winner;
                            ++ch[c];
                        }
                    }
                } else {
                    ++unres;
                }
            }
            unresolved[e] = unres;
        }
    });
}

template <class T>
void find_spikes(const T* data, std::size_t rows, std::size_t samples, double amp_k,
                 double jump_k, std::uint8_t* mask, int threads) {
    if (samples < 3) throw std::invalid_argument("spike finding needs at least 3 samples per trace");
    if (!(amp_k > 0) || !(jump_k > 0)) throw std::invalid_argument("thresholds must be positive");
    // Doubled deviations of 16-bit samples fit in 32 bits (|2x - 2m| <= 2^17, doubled centred
    // differences <= 2^19), which lets the compiler vectorise the flag loops.
    using W = std::conditional_t<(sizeof(T) <= 2), std::int32_t, std::int64_t>;
    parallel_for(rows, threads, [&](std::size_t begin, std::size_t end) {
        Scratch s;
        std::vector<W> diffs(samples);
        for (std::size_t r = begin; r < end; ++r) {
            const T* x = data + r * samples;
            std::uint8_t* m = mask + r * samples;
            double med = 0, sig = 0;
            const W med2 = static_cast<W>(trace_location_scale(x, samples, s, &med, &sig));
            // differences d_i = x_i - x_{i-1}, i = 1..n-1, stored at diffs[i-1]
            W* d = diffs.data();
            for (std::size_t i = 1; i < samples; ++i) d[i - 1] = static_cast<W>(static_cast<W>(x[i]) - static_cast<W>(x[i - 1]));
            std::int64_t med2_d64 = 0, mad4_d = 0;
            median_mad(d, samples - 1, s, &med2_d64, &mad4_d);
            const W med2_d = static_cast<W>(med2_d64);
            // All comparisons on doubled integers (2|x - m| = |2x - 2m|) against doubled
            // thresholds: exact, and identical to |x - m| > k * sigma in floating point. For an
            // integer v and a real t >= 0, v > t <=> v > floor(t), so integer thresholds are used.
            const W amp_t = clamp_threshold<W>(2.0 * (amp_k * sig));
            const W jump_t = clamp_threshold<W>(2.0 * (jump_k * sigma_from_mad4(mad4_d)));
            auto dev2 = [&](std::size_t i) {
                const W v = static_cast<W>(2 * static_cast<W>(x[i]) - med2);
                return v < 0 ? static_cast<W>(-v) : v;
            };
            for (std::size_t i = 0; i < samples; ++i) m[i] = dev2(i) > amp_t ? kSpikeAmplitude : 0;
            // e2(i) = 2 (d_i - median(d)) for i = 1..n-1
            auto e2 = [&](std::size_t i) { return static_cast<W>(2 * d[i - 1] - med2_d); };
            auto big = [&](W e) { return (e < 0 ? -e : e) > jump_t; };
            if (big(e2(1)) && dev2(0) > dev2(1)) m[0] = static_cast<std::uint8_t>(m[0] | kSpikeJump);
            bool prev_big = big(e2(1));
            for (std::size_t i = 1; i + 1 < samples; ++i) {
                const W b = e2(i + 1);
                const bool next_big = big(b);
                if (prev_big && next_big) {
                    const W a = e2(i);
                    if (((a < 0 && b > 0) || (a > 0 && b < 0)) && !((m[i - 1] & kSpikeAmplitude) && (m[i + 1] & kSpikeAmplitude)))
                        m[i] = static_cast<std::uint8_t>(m[i] | kSpikeJump);
                }
                prev_big = next_big;
            }
            const std::size_t last = samples - 1;
            if (big(e2(last)) && dev2(last) > dev2(last - 1)) m[last] = static_cast<std::uint8_t>(m[last] | kSpikeJump);
        }
    });
}

template <class T>
void correct_spikes(T* data, std::size_t rows, std::size_t samples, const std::uint8_t* mask,
                    int msb_bit, double keep_k, std::int32_t* flipped, std::int32_t* replaced,
                    std::int32_t* unresolved, int threads) {
    constexpr int max_bit = std::numeric_limits<T>::digits - 1;  // digits excludes the sign bit
    if (msb_bit < 0 || msb_bit > max_bit)
        throw std::invalid_argument("msb_bit is outside the value bits of the sample type");
    if (!(keep_k > 0)) throw std::invalid_argument("keep threshold must be positive");
    const std::int64_t flip = std::int64_t{1} << msb_bit;
    parallel_for(rows, threads, [&](std::size_t begin, std::size_t end) {
        Scratch s;
        std::vector<std::ptrdiff_t> prev(samples), next(samples);  // nearest clean index <= / >= i
        std::vector<std::size_t> spikes;
        for (std::size_t r = begin; r < end; ++r) {
            T* x = data + r * samples;
            const std::uint8_t* m = mask + r * samples;
            flipped[r] = replaced[r] = unresolved[r] = 0;
            spikes.clear();
            for (std::size_t i = 0; i < samples; ++i)
                if (m[i]) spikes.push_back(i);
            if (spikes.empty()) continue;
            double med = 0, sig = 0;
            static_cast<void>(trace_location_scale(x, samples, s, &med, &sig));
            const double keep_thr = keep_k * sig;
            std::ptrdiff_t last = -1;
            for (std::size_t i = 0; i < samples; ++i) {
                if (!m[i]) last = static_cast<std::ptrdiff_t>(i);
                prev[i] = last;
            }
            last = -1;
            for (std::size_t i = samples; i-- > 0;) {
                if (!m[i]) last = static_cast<std::ptrdiff_t>(i);
                next[i] = last;
            }
            auto at = [&](std::ptrdiff_t k) { return static_cast<std::int64_t>(x[static_cast<std::size_t>(k)]); };
            // Non-spike samples are never modified, so neighbour values read below are originals;
            // the new values of spikes are written after all decisions of the row are made.
            std::vector<std::int64_t> fixed(spikes.size());
            std::vector<char> ok(spikes.size(), 1);
            for (std::size_t k = 0; k < spikes.size(); ++k) {
                const std::size_t i = spikes[k];
                const std::int64_t y = static_cast<std::int64_t>(x[i]) ^ flip;
                if (absd(static_cast<double>(y) - med) <= keep_thr) {
                    fixed[k] = y;
                    ++flipped[r];
                    continue;
                }
                const std::ptrdiff_t left = prev[i], right = next[i];
                if (left >= 0 && right >= 0) {
                    fixed[k] = mean_half_away(at(left), at(right));
                } else if (left < 0 && right >= 0) {
                    const std::size_t after = static_cast<std::size_t>(right) + 1;
                    const std::ptrdiff_t right2 = after < samples ? next[after] : -1;
                    if (right2 < 0) { ok[k] = 0; continue; }
                    fixed[k] = mean_half_away(at(right), at(right2));
                } else if (right < 0 && left >= 0) {
                    const std::ptrdiff_t left2 = left >= 1 ? prev[static_cast<std::size_t>(left - 1)] : -1;
                    if (left2 < 0) { ok[k] = 0; continue; }
                    fixed[k] = mean_half_away(at(left), at(left2));
                } else {
                    ok[k] = 0;
                    continue;
                }
                ++replaced[r];
            }
            for (std::size_t k = 0; k < spikes.size(); ++k) {
                if (ok[k]) {
                    x[spikes[k]] = static_cast<T>(fixed[k]);
                } else {
                    ++unresolved[r];
                }
            }
        }
    });
}

#define ICECORE_CLEANING_INSTANTIATE(T)                                                         \
    template void robust_location_scale<T>(const T*, std::size_t, double*, double*);           \
    template void compare_copies<T>(T*, std::size_t, std::size_t, std::size_t, std::int32_t*,   \
                                    std::int32_t*, int);                                        \
    template void find_spikes<T>(const T*, std::size_t, std::size_t, double, double,            \
                                 std::uint8_t*, int);                                           \
    template void correct_spikes<T>(T*, std::size_t, std::size_t, const std::uint8_t*, int,     \
                                    double, std::int32_t*, std::int32_t*, std::int32_t*, int);
ICECORE_CLEANING_INSTANTIATE(std::int16_t)
ICECORE_CLEANING_INSTANTIATE(std::int32_t)
#undef ICECORE_CLEANING_INSTANTIATE

}  // namespace icecore
