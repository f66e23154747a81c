#include "icecore/radio_cleaning.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "icecore/parallel.hpp"

namespace icecore {
namespace {

// Per-thread work space, reused across rows.
struct Scratch {
    std::vector<std::int64_t> values;  // the values whose median is wanted
    std::vector<std::int64_t> work;    // nth_element copy (wide ranges only)
    std::vector<std::int32_t> hist;    // counting-sort histogram (narrow ranges)
};

// Twice the median of v[0..n) (the sum of the two middle order statistics; equal ranks for odd
// n), exact. Counting sort over [min, max] when that range is small compared with n, which is
// the normal case for ADC traces (noise of a few tens of counts plus rare spikes); nth_element
// otherwise.
std::int64_t twice_median(const std::int64_t* v, std::size_t n, Scratch& s) {
    const std::size_t lo_rank = (n - 1) / 2, hi_rank = n / 2;
    const auto [mn_it, mx_it] = std::minmax_element(v, v + n);
    const std::int64_t mn = *mn_it, mx = *mx_it;
    const auto range = static_cast<std::uint64_t>(mx - mn);
    if (range <= 8 * static_cast<std::uint64_t>(n) + 4096) {
        const std::size_t bins = static_cast<std::size_t>(range) + 1;
        if (s.hist.size() < bins) s.hist.resize(bins);
        std::fill(s.hist.begin(), s.hist.begin() + static_cast<std::ptrdiff_t>(bins), 0);
        for (std::size_t i = 0; i < n; ++i) ++s.hist[static_cast<std::size_t>(v[i] - mn)];
        std::size_t cum = 0;
        std::int64_t lo = 0;
        bool have_lo = false;
        for (std::size_t b = 0; b < bins; ++b) {
            cum += static_cast<std::size_t>(s.hist[b]);
            if (!have_lo && cum > lo_rank) {
                lo = mn + static_cast<std::int64_t>(b);
                have_lo = true;
            }
            if (cum > hi_rank) return lo + mn + static_cast<std::int64_t>(b);
        }
        return 2 * mx;  // not reached
    }
    s.work.assign(v, v + n);
    auto hi_it = s.work.begin() + static_cast<std::ptrdiff_t>(hi_rank);
    std::nth_element(s.work.begin(), hi_it, s.work.end());
    const std::int64_t hi = *hi_it;
    if (lo_rank == hi_rank) return 2 * hi;
    // the lower middle value is the largest of the elements before hi_rank
    const std::int64_t lo = *std::max_element(s.work.begin(), hi_it);
    return lo + hi;
}

// Median and robust sigma of v[0..n) (values already in s.values). Returns twice the median.
std::int64_t location_scale(std::size_t n, Scratch& s, double* median, double* sigma) {
    std::int64_t* v = s.values.data();
    const std::int64_t med2 = twice_median(v, n, s);
    // |2 v - med2| = 2 |v - median|; its doubled median is 4 * MAD.
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t d = 2 * v[i] - med2;
        v[i] = d < 0 ? -d : d;
    }
    const std::int64_t mad4 = twice_median(v, n, s);
    *median = static_cast<double>(med2) / 2.0;
    *sigma = std::max(kMadToSigma * (static_cast<double>(mad4) / 4.0), kMinSigma);
    return med2;
}

template <class T>
void trace_location_scale(const T* x, std::size_t n, Scratch& s, double* median, double* sigma) {
    if (s.values.size() < n) s.values.resize(n);
    for (std::size_t i = 0; i < n; ++i) s.values[i] = static_cast<std::int64_t>(x[i]);
    location_scale(n, s, median, sigma);
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
    trace_location_scale(x, n, s, median, sigma);
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
    parallel_for(rows, threads, [&](std::size_t begin, std::size_t end) {
        Scratch s;
        s.values.resize(samples);
        std::vector<double> e(samples);  // centred differences, e[i] for i >= 1
        for (std::size_t r = begin; r < end; ++r) {
            const T* x = data + r * samples;
            std::uint8_t* m = mask + r * samples;
            double med = 0, sig = 0;
            trace_location_scale(x, samples, s, &med, &sig);
            const double amp_thr = amp_k * sig;
            // differences d_i = x_i - x_{i-1}, i = 1..n-1, stored at values[i-1]
            for (std::size_t i = 1; i < samples; ++i)
                s.values[i - 1] = static_cast<std::int64_t>(x[i]) - static_cast<std::int64_t>(x[i - 1]);
            for (std::size_t i = 1; i < samples; ++i) e[i] = static_cast<double>(s.values[i - 1]);
            double med_d = 0, sig_d = 0;
            location_scale(samples - 1, s, &med_d, &sig_d);
            for (std::size_t i = 1; i < samples; ++i) e[i] -= med_d;
            const double jump_thr = jump_k * sig_d;
            auto dev = [&](std::size_t i) { return absd(static_cast<double>(x[i]) - med); };
            for (std::size_t i = 0; i < samples; ++i) {
                std::uint8_t flag = 0;
                if (dev(i) > amp_thr) flag |= kSpikeAmplitude;
                bool jump;
                if (i == 0) {
                    jump = absd(e[1]) > jump_thr && dev(0) > dev(1);
                } else if (i == samples - 1) {
                    jump = absd(e[i]) > jump_thr && dev(i) > dev(i - 1);
                } else {
                    jump = absd(e[i]) > jump_thr && absd(e[i + 1]) > jump_thr && e[i] * e[i + 1] < 0 &&
                           !(dev(i - 1) > amp_thr && dev(i + 1) > amp_thr);
                }
                if (jump) flag |= kSpikeJump;
                m[i] = flag;
            }
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
            trace_location_scale(x, samples, s, &med, &sig);
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
