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
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return dec[a] < dec[b]; });
    x_.resize(n); y_.resize(n); z_.resize(n); log_prior_.resize(n); weight_.resize(n);
    moments_.resize(n * n_moment);
    caller_index_ = idx;
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t j = idx[k];
        const double cd = std::cos(dec[j]);
        x_[k] = cd * std::cos(ra[j]);
        y_[k] = cd * std::sin(ra[j]);
        z_[k] = std::sin(dec[j]);
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

void LvkSearch::collect(const LvkEventsView& ev, std::vector<Entry>& entries) const {
    entries.clear();
    for (std::size_t i = 0; i < ev.n; ++i) {
        const double sig = ev.sigma[i];
        const double cut = std::min(settings_.n_sigma * sig, kPi);
        const double cos_cut = std::cos(cut);
        const double zlo = std::sin(std::max(-0.5 * kPi, ev.dec[i] - cut));
        const double zhi = std::sin(std::min(0.5 * kPi, ev.dec[i] + cut));
        const double cd = std::cos(ev.dec[i]);
        const double ex = cd * std::cos(ev.ra[i]), ey = cd * std::sin(ev.ra[i]), ez = std::sin(ev.dec[i]);
        const auto first = static_cast<std::size_t>(std::lower_bound(z_.begin(), z_.end(), zlo) - z_.begin());
        const auto last = static_cast<std::size_t>(std::upper_bound(z_.begin(), z_.end(), zhi) - z_.begin());
        const double norm = ev.inv_bg[i] / (2.0 * kPi * sig * sig);
        const double inv2s2 = 0.5 / (sig * sig);
        for (std::size_t k = first; k < last; ++k) {
            const double c = ex * x_[k] + ey * y_[k] + ez * z_[k];
            if (c < cos_cut) continue;
            const double psi = std::acos(std::min(1.0, std::max(-1.0, c)));
            const double s = norm * std::exp(-psi * psi * inv2s2);
            if (s > 0.0) entries.push_back({static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(i), s});
        }
    }
}

LvkResult LvkSearch::reduce(const LvkEventsView& ev, std::vector<Entry>& entries, double* ts_map,
                            double* ns_map) const {
    LvkResult res;
    res.pixel = static_cast<std::int64_t>(best_prior_pixel_);
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.pix != b.pix ? a.pix < b.pix : a.ev < b.ev;
    });
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
    collect(events, entries);
    return reduce(events, entries, nullptr, nullptr);
}

void LvkSearch::ts_map(const LvkEventsView& events, double* ts_out, double* ns_out) const {
    for (std::size_t k = 0; k < z_.size(); ++k) {
        ts_out[caller_index_[k]] = log_prior_[k];
        ns_out[caller_index_[k]] = 0.0;
    }
    std::vector<Entry> entries;
    collect(events, entries);
    reduce(events, entries, ts_out, ns_out);
}

void LvkSearch::trials(const LvkEventsView& pool, double mean_n, std::int64_t fixed_n, std::size_t n_trials,
                       std::uint64_t seed, int threads, LvkResult* out) const {
    if (pool.n == 0) throw std::invalid_argument("LvkSearch.trials: the background pool is empty");
    if (fixed_n < 0 && !(mean_n >= 0.0 && std::isfinite(mean_n)))
        throw std::invalid_argument("LvkSearch.trials: mean_n must be finite and >= 0");
    const std::size_t ng = settings_.n_gamma;
    parallel_for(n_trials, threads, [&](std::size_t begin, std::size_t end) {
        std::vector<double> ra, dec, sig, ib, er;
        std::vector<Entry> entries;
        for (std::size_t t = begin; t < end; ++t) {
            std::mt19937_64 rng(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(t) + 1)));
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
            collect(v, entries);
            out[t] = reduce(v, entries, nullptr, nullptr);
        }
    });
}

}  // namespace icecore
