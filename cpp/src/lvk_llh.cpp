#include "icecore/lvk_llh.hpp"

#include "icecore/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace icecore {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

std::size_t strip_of(double dec) {
    const double u = std::floor((dec + 0.5 * kPi) / LvkSearch::kStripRad);
    return u <= 0.0 ? 0 : static_cast<std::size_t>(u);
}

/// Largest RA half-width [rad] of the circle (centre dec0, radius cut) over declinations [a, b];
/// pi when the circle covers every RA somewhere in [a, b] (a pole inside, or a wide circle).
double ra_half_width(double dec0, double cut, double a, double b) {
    const double cc = std::cos(cut), cd0 = std::cos(dec0), sd0 = std::sin(dec0);
    if (cc <= 0.0 || cd0 < 1e-12) return kPi;
    auto width = [&](double d) {
        const double cd = std::cos(d);
        if (cd < 1e-12) return kPi;  // a pole inside the strip
        const double arg = (cc - std::sin(d) * sd0) / (cd * cd0);
        if (arg <= -1.0) return kPi;
        if (arg >= 1.0) return 0.0;
        return std::acos(arg);
    };
    double w = std::max(width(a), width(b));
    const double sstar = sd0 / cc;  // declination of the circle's widest point
    if (std::fabs(sstar) <= 1.0) {
        const double dstar = std::asin(sstar);
        if (dstar > a && dstar < b) w = std::max(w, width(dstar));
    }
    return w;
}

double fvalue(const double* x, std::size_t n, double ns) {
    double f = -ns;
    for (std::size_t i = 0; i < n; ++i) f += std::log1p(ns * x[i]);
    return f;
}

}  // namespace

double lvk_fit_ns(const double* x, std::size_t n, double ns_max, double* value) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += x[i];
    if (sum <= 1.0 || n == 0) {
        *value = 0.0;
        return 0.0;
    }
    if (n == 1) {  // closed form: f'(ns) = -1 + x / (1 + ns x) = 0 at ns = 1 - 1/x (< 1 = n)
        const double ns = std::min(1.0 - 1.0 / x[0], ns_max);
        *value = std::max(0.0, fvalue(x, 1, ns));
        return *value > 0.0 ? ns : 0.0;
    }
    // f is concave with f'(0) = sum - 1 > 0 and f'(n) < 0: the root of f' lies in (0, n).
    double lo = 0.0, hi = std::min(static_cast<double>(n), ns_max);
    double ns = std::min(0.5 * hi, (sum - 1.0) / std::max(1e-300, sum * sum) * sum);
    if (!(ns > lo && ns < hi)) ns = 0.5 * (lo + hi);
    for (int it = 0; it < 100; ++it) {
        double d1 = -1.0, d2 = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double q = x[i] / (1.0 + ns * x[i]);
            d1 += q;
            d2 -= q * q;
        }
        if (d1 > 0.0) lo = ns; else hi = ns;
        double next = (d2 < 0.0) ? ns - d1 / d2 : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        const bool done = std::fabs(next - ns) <= 1e-10 * std::max(1.0, ns) || hi - lo <= 1e-12 * std::max(1.0, ns);
        ns = next;
        if (done) break;
    }
    if (ns_max <= ns) ns = ns_max;
    *value = fvalue(x, n, ns);
    if (*value < 0.0) {  // numerical guard: ns = 0 is always allowed
        *value = 0.0;
        return 0.0;
    }
    return ns;
}

LvkSearch::LvkSearch(std::vector<double> ra, std::vector<double> dec, std::vector<double> log_prior,
                     std::vector<double> weight, std::vector<double> moments, std::size_t n_moment,
                     LvkSettings settings)
    : settings_(settings), n_moment_(n_moment) {
    const std::size_t n = ra.size();
    if (n == 0) throw std::invalid_argument("LvkSearch: the search region has no pixels");
    if (n > std::numeric_limits<std::uint32_t>::max()) throw std::invalid_argument("LvkSearch: too many pixels");
    if (dec.size() != n || log_prior.size() != n || weight.size() != n)
        throw std::invalid_argument("LvkSearch: ra, dec, log_prior and weight must have the same length");
    if (n_moment == 0 || moments.size() != n * n_moment)
        throw std::invalid_argument("LvkSearch: moments must be n_pixels x n_moment with n_moment >= 1");
    if (settings.n_gamma == 0 || settings.bayes_gamma_index >= settings.n_gamma)
        throw std::invalid_argument("LvkSearch: bayes_gamma_index must be < n_gamma");
    if (!(settings.n_sigma > 0.0) || !(settings.ns_max > 0.0))
        throw std::invalid_argument("LvkSearch: n_sigma and ns_max must be > 0");
    const std::size_t n_strips = strip_of(0.5 * kPi) + 1;
    std::vector<std::size_t> strip(n);
    std::vector<double> ra_norm(n);
    for (std::size_t j = 0; j < n; ++j) {
        if (!std::isfinite(ra[j]) || !std::isfinite(dec[j]) || std::fabs(dec[j]) > 0.5 * kPi + 1e-12)
            throw std::invalid_argument("LvkSearch: pixel directions must be finite with |dec| <= pi/2");
        strip[j] = strip_of(dec[j]);
        double a = std::fmod(ra[j], 2.0 * kPi);
        if (a < 0.0) a += 2.0 * kPi;
        ra_norm[j] = a;
    }
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        return strip[a] != strip[b] ? strip[a] < strip[b] : ra_norm[a] < ra_norm[b];
    });
    strip_begin_.assign(n_strips + 1, 0);
    for (std::size_t j = 0; j < n; ++j) ++strip_begin_[strip[j] + 1];
    for (std::size_t s = 0; s < n_strips; ++s) strip_begin_[s + 1] += strip_begin_[s];
    x_.resize(n); y_.resize(n); z_.resize(n); ra_.resize(n); log_prior_.resize(n); weight_.resize(n);
    moments_.resize(n * n_moment);
    caller_index_ = idx;
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t j = idx[k];
        const double cd = std::cos(dec[j]);
        x_[k] = cd * std::cos(ra[j]);
        y_[k] = cd * std::sin(ra[j]);
        z_[k] = std::sin(dec[j]);
        ra_[k] = ra_norm[j];
        log_prior_[k] = log_prior[j];
        weight_[k] = weight[j];
        for (std::size_t m = 0; m < n_moment; ++m) moments_[k * n_moment + m] = moments[j * n_moment + m];
        base_odds_ += weight[j] * moments[j * n_moment];
        if (log_prior[j] > best) {
            best = log_prior[j];
            best_prior_pixel_ = j;
        }
    }
}

void LvkSearch::visit_range(std::size_t first, std::size_t last, double ex, double ey, double ez, double cos_cut,
                            double norm, double inv2s2, std::uint32_t ev, std::vector<Entry>& entries) const {
    for (std::size_t k = first; k < last; ++k) {
        const double c = ex * x_[k] + ey * y_[k] + ez * z_[k];
        if (c < cos_cut) continue;
        const double psi = std::acos(std::min(1.0, std::max(-1.0, c)));
        const double s = norm * std::exp(-psi * psi * inv2s2);
        if (s > 0.0) entries.push_back({static_cast<std::uint32_t>(k), ev, s});
    }
}

void LvkSearch::collect(const LvkEventsView& ev, std::vector<Entry>& entries, std::vector<std::size_t>& runs) const {
    entries.clear();
    runs.assign(1, 0);
    const std::size_t n_strips = strip_begin_.size() - 1;
    for (std::size_t i = 0; i < ev.n; ++i) {
        const double sig = ev.sigma[i];
        const double cut = std::min(settings_.n_sigma * sig, kPi);
        const double cos_cut = std::cos(cut);
        const double cd = std::cos(ev.dec[i]);
        const double ex = cd * std::cos(ev.ra[i]), ey = cd * std::sin(ev.ra[i]), ez = std::sin(ev.dec[i]);
        const double norm = ev.inv_bg[i] / (2.0 * kPi * sig * sig);
        const double inv2s2 = 0.5 / (sig * sig);
        double ra0 = std::fmod(ev.ra[i], 2.0 * kPi);
        if (ra0 < 0.0) ra0 += 2.0 * kPi;
        const double dlo = std::max(-0.5 * kPi, ev.dec[i] - cut), dhi = std::min(0.5 * kPi, ev.dec[i] + cut);
        const std::size_t s_lo = std::min(strip_of(dlo), n_strips - 1), s_hi = std::min(strip_of(dhi), n_strips - 1);
        const auto ev_id = static_cast<std::uint32_t>(i);
        for (std::size_t st = s_lo; st <= s_hi; ++st) {
            const std::size_t b0 = strip_begin_[st], b1 = strip_begin_[st + 1];
            if (b0 == b1) continue;
            const double a = std::max(dlo, -0.5 * kPi + static_cast<double>(st) * kStripRad);
            const double b = std::min(dhi, -0.5 * kPi + static_cast<double>(st + 1) * kStripRad);
            const double w = ra_half_width(ev.dec[i], cut, a, b) + 1e-6;  // margin over acos rounding near 1
            if (w >= kPi) {
                visit_range(b0, b1, ex, ey, ez, cos_cut, norm, inv2s2, ev_id, entries);
                continue;
            }
            auto lower = [&](double r) {
                return static_cast<std::size_t>(std::lower_bound(ra_.begin() + static_cast<std::ptrdiff_t>(b0),
                                                                 ra_.begin() + static_cast<std::ptrdiff_t>(b1), r) -
                                                ra_.begin());
            };
            auto upper = [&](double r) {
                return static_cast<std::size_t>(std::upper_bound(ra_.begin() + static_cast<std::ptrdiff_t>(b0),
                                                                 ra_.begin() + static_cast<std::ptrdiff_t>(b1), r) -
                                                ra_.begin());
            };
            const double lo = ra0 - w, hi = ra0 + w;
            if (lo < 0.0) {  // wraps below 0: [0, hi] then [lo + 2 pi, 2 pi), in index order
                visit_range(b0, upper(hi), ex, ey, ez, cos_cut, norm, inv2s2, ev_id, entries);
                visit_range(lower(lo + 2.0 * kPi), b1, ex, ey, ez, cos_cut, norm, inv2s2, ev_id, entries);
            } else if (hi >= 2.0 * kPi) {
                visit_range(b0, upper(hi - 2.0 * kPi), ex, ey, ez, cos_cut, norm, inv2s2, ev_id, entries);
                visit_range(lower(lo), b1, ex, ey, ez, cos_cut, norm, inv2s2, ev_id, entries);
            } else {
                visit_range(lower(lo), upper(hi), ex, ey, ez, cos_cut, norm, inv2s2, ev_id, entries);
            }
        }
        runs.push_back(entries.size());  // this event's entries, sorted by pixel
    }
}

namespace {

/// Sort entries by (pixel, event): merge the per-event runs (each sorted by pixel) pairwise;
/// std::inplace_merge is stable, so events stay in order within a pixel.
template <class Entry>
void merge_runs(std::vector<Entry>& entries, std::vector<std::size_t>& runs) {
    auto by_pix = [](const Entry& a, const Entry& b) { return a.pix < b.pix; };
    while (runs.size() > 2) {
        std::vector<std::size_t> next{runs[0]};
        for (std::size_t r = 0; r + 1 < runs.size(); r += 2) {
            if (r + 2 < runs.size()) {
                std::inplace_merge(entries.begin() + static_cast<std::ptrdiff_t>(runs[r]),
                                   entries.begin() + static_cast<std::ptrdiff_t>(runs[r + 1]),
                                   entries.begin() + static_cast<std::ptrdiff_t>(runs[r + 2]), by_pix);
                next.push_back(runs[r + 2]);
            } else {
                next.push_back(runs[r + 1]);
            }
        }
        runs.swap(next);
    }
}

}  // namespace

LvkResult LvkSearch::reduce(const LvkEventsView& ev, std::vector<Entry>& entries, double* ts_map,
                            double* ns_map) const {
    // entries are sorted by (pixel, event) (collect + merge_runs)
    LvkResult res;
    res.pixel = static_cast<std::int64_t>(best_prior_pixel_);
    const std::size_t ng = settings_.n_gamma, gb = settings_.bayes_gamma_index;
    double best_ts = 0.0;  // TS of ns = 0 at the most probable pixel
    double extra_odds = 0.0;
    std::vector<double> xs, ek(n_moment_);
    std::vector<char> near(ev.n, 0);
    std::size_t a = 0;
    while (a < entries.size()) {
        std::size_t b = a;
        while (b < entries.size() && entries[b].pix == entries[a].pix) ++b;
        const std::size_t k = entries[a].pix;
        const std::size_t m = b - a;
        xs.resize(m);
        double pix_ts = log_prior_[k], pix_ns = 0.0;
        for (std::size_t g = 0; g < ng; ++g) {
            for (std::size_t j = 0; j < m; ++j) {
                near[entries[a + j].ev] = 1;
                xs[j] = entries[a + j].s * ev.eratio[entries[a + j].ev * ng + g];
            }
            double f = 0.0;
            const double ns = lvk_fit_ns(xs.data(), m, settings_.ns_max, &f);
            const double ts = 2.0 * f + log_prior_[k];
            if (ts > pix_ts) {
                pix_ts = ts;
                pix_ns = ns;
            }
            if (ts > best_ts && ns > 0.0) {
                best_ts = ts;
                res.ns = ns;
                res.gamma_index = static_cast<std::int64_t>(g);
                res.pixel = static_cast<std::int64_t>(caller_index_[k]);
            }
            if (g == gb) {
                // elementary symmetric polynomials e_1..e_K of the X_i (e_0 = 1)
                std::fill(ek.begin(), ek.end(), 0.0);
                ek[0] = 1.0;
                std::size_t top = 0;
                for (std::size_t j = 0; j < m; ++j) {
                    top = std::min(top + 1, n_moment_ - 1);
                    for (std::size_t q = top; q >= 1; --q) ek[q] += ek[q - 1] * xs[j];
                }
                double s = 0.0;
                const double* mk = &moments_[k * n_moment_];
                for (std::size_t q = 1; q <= top; ++q) s += ek[q] * mk[q];
                extra_odds += weight_[k] * s;
            }
        }
        if (ts_map) {
            ts_map[caller_index_[k]] = pix_ts;
            ns_map[caller_index_[k]] = pix_ns;
        }
        a = b;
    }
    res.ts = best_ts;
    res.odds_lambda = base_odds_ + extra_odds;
    for (char c : near) res.n_near += c;
    return res;
}

LvkResult LvkSearch::evaluate(const LvkEventsView& events) const {
    std::vector<Entry> entries;
    std::vector<std::size_t> runs;
    collect(events, entries, runs);
    merge_runs(entries, runs);
    return reduce(events, entries, nullptr, nullptr);
}

void LvkSearch::ts_map(const LvkEventsView& events, double* ts_out, double* ns_out) const {
    for (std::size_t k = 0; k < z_.size(); ++k) {
        ts_out[caller_index_[k]] = log_prior_[k];
        ns_out[caller_index_[k]] = 0.0;
    }
    std::vector<Entry> entries;
    std::vector<std::size_t> runs;
    collect(events, entries, runs);
    merge_runs(entries, runs);
    reduce(events, entries, ts_out, ns_out);
}

void LvkSearch::trials(const LvkEventsView& pool, double mean_n, std::int64_t fixed_n, std::size_t n_trials,
                       std::uint64_t seed, int threads, LvkResult* out, std::uint64_t first_trial) const {
    if (pool.n == 0) throw std::invalid_argument("LvkSearch.trials: the background pool is empty");
    if (fixed_n < 0 && !(mean_n >= 0.0 && std::isfinite(mean_n)))
        throw std::invalid_argument("LvkSearch.trials: mean_n must be finite and >= 0");
    const std::size_t ng = settings_.n_gamma;
    parallel_for(n_trials, threads, [&](std::size_t begin, std::size_t end) {
        std::vector<double> ra, dec, sig, ib, er;
        std::vector<Entry> entries;
        std::vector<std::size_t> runs;
        for (std::size_t t = begin; t < end; ++t) {
            const std::uint64_t trial = first_trial + static_cast<std::uint64_t>(t);
            std::mt19937_64 rng(splitmix64(seed ^ splitmix64(trial + 1)));
            std::size_t n = 0;
            if (fixed_n >= 0) {
                n = static_cast<std::size_t>(fixed_n);
            } else if (mean_n > 0.0) {
                std::poisson_distribution<std::int64_t> pois(mean_n);
                n = static_cast<std::size_t>(pois(rng));
            }
            std::uniform_int_distribution<std::size_t> pick(0, pool.n - 1);
            std::uniform_real_distribution<double> uni(0.0, 2.0 * kPi);
            ra.resize(n); dec.resize(n); sig.resize(n); ib.resize(n); er.resize(n * ng);
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t j = pick(rng);
                ra[i] = uni(rng);
                dec[i] = pool.dec[j];
                sig[i] = pool.sigma[j];
                ib[i] = pool.inv_bg[j];
                for (std::size_t g = 0; g < ng; ++g) er[i * ng + g] = pool.eratio[j * ng + g];
            }
            LvkEventsView v{ra.data(), dec.data(), sig.data(), ib.data(), er.data(), n};
            collect(v, entries, runs);
            merge_runs(entries, runs);
            out[t] = reduce(v, entries, nullptr, nullptr);
        }
    });
}

void lvk_distance_moments(const double* kdec, const double* mu, const double* sigma, std::size_t n_pix,
                          std::size_t n_nodes, const double* table, std::size_t n_grid, double grid_lo,
                          double grid_step, std::size_t n_moment, double* out, int threads) {
    if (n_nodes < 2) throw std::invalid_argument("lvk_distance_moments: n_nodes must be >= 2");
    if (n_grid < 2 || n_moment == 0) throw std::invalid_argument("lvk_distance_moments: the table is empty");
    if (!(grid_step > 0.0) || !std::isfinite(grid_lo))
        throw std::invalid_argument("lvk_distance_moments: grid_step must be > 0 and grid_lo finite");
    for (std::size_t p = 0; p < n_pix; ++p)
        if (!(kdec[p] > 0.0) || !(mu[p] > 0.0) || !(sigma[p] > 0.0) || !std::isfinite(kdec[p]) ||
            !std::isfinite(mu[p]) || !std::isfinite(sigma[p]))
            throw std::invalid_argument("lvk_distance_moments: kdec, mu and sigma must be finite and > 0");
    parallel_for(n_pix, threads, [&](std::size_t begin, std::size_t end) {
        std::vector<double> acc(n_moment);
        for (std::size_t p = begin; p < end; ++p) {
            std::fill(acc.begin(), acc.end(), 0.0);
            double wsum = 0.0;
            for (std::size_t j = 0; j < n_nodes; ++j) {
                const double t = -5.0 + 10.0 * static_cast<double>(j) / static_cast<double>(n_nodes - 1);
                const double r = std::max(mu[p] + sigma[p] * t, 1e-3 * mu[p]);
                const double z = (r - mu[p]) / sigma[p];
                const double w = r * r * std::exp(-0.5 * z * z);
                wsum += w;
                const double u = (std::log(kdec[p] / (r * r)) - grid_lo) / grid_step;
                const double* row0;
                const double* row1;
                double f;
                if (!(u > 0.0)) {
                    row0 = row1 = table;
                    f = 0.0;
                } else if (u >= static_cast<double>(n_grid - 1)) {
                    row0 = row1 = table + (n_grid - 1) * n_moment;
                    f = 0.0;
                } else {
                    const auto i = static_cast<std::size_t>(u);
                    row0 = table + i * n_moment;
                    row1 = row0 + n_moment;
                    f = u - static_cast<double>(i);
                }
                for (std::size_t k = 0; k < n_moment; ++k) acc[k] += w * (row0[k] + f * (row1[k] - row0[k]));
            }
            for (std::size_t k = 0; k < n_moment; ++k) out[p * n_moment + k] = acc[k] / wsum;
        }
    });
}

}  // namespace icecore
