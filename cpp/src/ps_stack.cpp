// Stacked point-source likelihood and its trials: see icecore/ps_stack.hpp.
#include "icecore/ps_stack.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <utility>

#include "icecore/optimize.hpp"
#include "icecore/parallel.hpp"
#include "icecore/random.hpp"

namespace icecore {

namespace {
constexpr double kTwoPi = 6.283185307179586;
constexpr double kNodeStep = 0.25;
}  // namespace

struct StackModel::Terms {
    struct Entry {
        std::uint32_t slot;  // event slot within this trial's contributing events
        std::uint32_t k;     // source
        double sp;           // S_sp / B
        std::int32_t ebin;
        double efrac;
    };
    std::vector<Entry> entries;  // sorted by slot
    std::size_t n_slots = 0;
    double n_total = 0.0;
    mutable std::vector<double> x;  // workspace: x of each slot
};

StackModel::StackModel(std::vector<double> src_ra, std::vector<double> src_dec, std::vector<double> weights,
                       double gamma0, double dgamma, std::size_t n_gamma, StackSettings settings)
    : sra_(std::move(src_ra)), sdec_(std::move(src_dec)), w_(std::move(weights)), gamma0_(gamma0), dgamma_(dgamma),
      n_gamma_(n_gamma), s_(settings) {
    const std::size_t k = sra_.size();
    if (k == 0 || sdec_.size() != k || w_.size() != k) throw std::invalid_argument("need K >= 1 sources of one length");
    for (double v : w_)
        if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument("source weights must be finite and > 0");
    if (n_gamma_ < 3 || !(dgamma_ > 0)) throw std::invalid_argument("need >= 3 gamma nodes and a positive step");
    const double gend = gamma0_ + dgamma_ * static_cast<double>(n_gamma_ - 1);
    if (!(s_.gamma_min >= gamma0_ - 1e-9) || !(s_.gamma_max <= gend + 1e-9) || s_.gamma_max < s_.gamma_min)
        throw std::invalid_argument("gamma range must lie within the gamma grid");
    if (!(s_.radius > 0) || !(s_.band > 0) || !(s_.ns_max > 0)) throw std::invalid_argument("bad radius/band/ns_max");
    su_.resize(3 * k);
    for (std::size_t q = 0; q < k; ++q) {
        su_[3 * q] = std::cos(sdec_[q]) * std::cos(sra_[q]);
        su_[3 * q + 1] = std::cos(sdec_[q]) * std::sin(sra_[q]);
        su_[3 * q + 2] = std::sin(sdec_[q]);
    }
}

void StackModel::add_season(std::vector<StackEvent> events, std::vector<double> tables, std::size_t n_e,
                            std::vector<double> y) {
    const std::size_t k = sra_.size();
    if (n_e < 2 || tables.size() != k * n_gamma_ * n_e) throw std::invalid_argument("tables must be K x n_gamma x n_e");
    if (y.size() != k * n_gamma_) throw std::invalid_argument("y must be K x n_gamma");
    for (double v : y)
        if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument("acceptances must be finite and > 0");
    for (const auto& e : events)
        if (e.ebin < 0 || static_cast<std::size_t>(e.ebin) >= n_e || !(e.sigma > 0) || !std::isfinite(e.inv_b))
            throw std::invalid_argument("event with a bad energy bin, sigma or 1/B");
    Season s;
    s.order.resize(events.size());
    std::iota(s.order.begin(), s.order.end(), std::size_t{0});
    std::stable_sort(s.order.begin(), s.order.end(),
                     [&](std::size_t a, std::size_t b) { return events[a].dec < events[b].dec; });
    s.ev.reserve(events.size());
    for (std::size_t i : s.order) s.ev.push_back(events[i]);
    s.tables = std::move(tables);
    s.y = std::move(y);
    s.n_e = n_e;
    const double half = std::min(s_.band, s_.radius);
    for (std::size_t q = 0; q < k; ++q) {
        auto lo = std::lower_bound(s.ev.begin(), s.ev.end(), sdec_[q] - half,
                                   [](const StackEvent& e, double v) { return e.dec < v; });
        auto hi = std::upper_bound(s.ev.begin(), s.ev.end(), sdec_[q] + half,
                                   [](double v, const StackEvent& e) { return v < e.dec; });
        s.lo.push_back(static_cast<std::size_t>(lo - s.ev.begin()));
        s.hi.push_back(static_cast<std::size_t>(hi - s.ev.begin()));
    }
    seasons_.push_back(std::move(s));
}

// S_sp / B of every (event, source) pair within the radius and band; events are the season's (in
// declination order, right ascensions ra_sorted) followed by the extra (injected) ones.
void StackModel::collect(std::size_t j, const double* ra_sorted, const StackEvent* extra, std::size_t n_extra,
                         Terms& terms) const {
    const Season& s = seasons_[j];
    const std::size_t k = sra_.size();
    const double cos_r = std::cos(s_.radius);
    struct Raw { std::size_t ev; std::uint32_t k; double sp; std::int32_t ebin; double efrac; };
    std::vector<Raw> raw;
    auto pair = [&](std::size_t id, const StackEvent& e, double ra, std::size_t q) {
        if (std::abs(e.dec - sdec_[q]) > s_.band || e.ebin == 0) return;
        const double cd = std::cos(e.dec);
        const double c = cd * std::cos(ra) * su_[3 * q] + cd * std::sin(ra) * su_[3 * q + 1] +
                         std::sin(e.dec) * su_[3 * q + 2];
        if (c < cos_r) return;
        const double psi = std::acos(std::clamp(c, -1.0, 1.0));
        const double fac = psi > 1e-8 ? psi / std::sin(psi) : 1.0;
        const double sg = e.sigma;
        const double sp = std::exp(-0.5 * (psi / sg) * (psi / sg)) / (kTwoPi * sg * sg) * fac * e.inv_b;
        raw.push_back({id, static_cast<std::uint32_t>(q), sp, e.ebin, e.efrac});
    };
    for (std::size_t q = 0; q < k; ++q)
        for (std::size_t i = s.lo[q]; i < s.hi[q]; ++i) pair(i, s.ev[i], ra_sorted[i], q);
    for (std::size_t i = 0; i < n_extra; ++i)
        for (std::size_t q = 0; q < k; ++q) pair(s.ev.size() + i, extra[i], extra[i].ra, q);
    std::stable_sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) { return a.ev < b.ev; });
    terms.entries.clear();
    terms.n_slots = 0;
    std::size_t last = static_cast<std::size_t>(-1);
    for (const Raw& r : raw) {
        if (r.ev != last) {
            ++terms.n_slots;
            last = r.ev;
        }
        terms.entries.push_back({static_cast<std::uint32_t>(terms.n_slots - 1), r.k, r.sp, r.ebin, r.efrac});
    }
    terms.n_total = static_cast<double>(s.ev.size() + n_extra);
}

double StackModel::profile(const std::vector<Terms>& terms, double gamma, double& ns, int& status) const {
    const std::size_t k = sra_.size(), nj = seasons_.size();
    // acceptance weights, log-linear in gamma between nodes
    double u = std::clamp((gamma - gamma0_) / dgamma_, 0.0, static_cast<double>(n_gamma_ - 1) - 1e-12);
    const auto q0 = static_cast<std::size_t>(u);
    const double fy = u - static_cast<double>(q0);
    std::vector<double> wjk(nj * k), fj(nj, 0.0);
    double tot = 0.0;
    for (std::size_t j = 0; j < nj; ++j) {
        for (std::size_t q = 0; q < k; ++q) {
            const double* y = seasons_[j].y.data() + q * n_gamma_;
            const double v = w_[q] * std::exp((1 - fy) * std::log(y[q0]) + fy * std::log(y[q0 + 1]));
            wjk[j * k + q] = v;
            fj[j] += v;
        }
        tot += fj[j];
    }
    // parabola through the three nearest nodes for the energy tables
    const double ug = (gamma - gamma0_) / dgamma_;
    const auto kc = static_cast<std::size_t>(std::clamp(std::lround(ug), 1L, static_cast<long>(n_gamma_) - 2));
    const double d = ug - static_cast<double>(kc);
    const double wn[3] = {0.5 * d * (d - 1), 1 - d * d, 0.5 * d * (d + 1)};
    std::vector<double> a(nj);
    for (std::size_t j = 0; j < nj; ++j) {
        const Season& s = seasons_[j];
        const Terms& t = terms[j];
        t.x.assign(t.n_slots, 0.0);
        for (const auto& e : t.entries) {
            const double* tab = s.tables.data() + static_cast<std::size_t>(e.k) * n_gamma_ * s.n_e;
            const auto b0 = static_cast<std::size_t>(e.ebin);
            const std::size_t b1 = std::min(b0 + 1, s.n_e - 1);
            double se = 0.0;
            for (int r = 0; r < 3; ++r) {
                const double* row = tab + (kc - 1 + static_cast<std::size_t>(r)) * s.n_e;
                se += wn[r] * (row[b0] * (1 - e.efrac) + row[b1] * e.efrac);
            }
            t.x[e.slot] += std::max(se, 0.0) * e.sp * (wjk[j * k + e.k] / fj[j]);
        }
        fj[j] /= tot;
        a[j] = fj[j] / t.n_total;
    }
    auto grad = [&](double s, double& h) {
        double g = 0.0;
        h = 0.0;
        for (std::size_t j = 0; j < nj; ++j) {
            const Terms& t = terms[j];
            for (double x : t.x) {
                const double z = a[j] * (x - 1.0) / (1.0 + s * a[j] * (x - 1.0));
                g += z;
                h -= z * z;
            }
            const double rest = t.n_total - static_cast<double>(t.x.size());
            g -= rest * a[j] / (1 - s * a[j]);
            h -= rest * a[j] * a[j] / ((1 - s * a[j]) * (1 - s * a[j]));
        }
        return g;
    };
    auto value = [&](double s) {
        double v = 0.0;
        for (std::size_t j = 0; j < nj; ++j) {
            const Terms& t = terms[j];
            for (double x : t.x) v += std::log1p(s * a[j] * (x - 1.0));
            v += (t.n_total - static_cast<double>(t.x.size())) * std::log1p(-s * a[j]);
        }
        return v;
    };
    status = 0;
    double h = 0.0;
    if (grad(0.0, h) <= 0) {
        ns = 0.0;
        return 0.0;
    }
    double cap = s_.ns_max;
    for (std::size_t j = 0; j < nj; ++j) cap = std::min(cap, 0.999 * terms[j].n_total / std::max(fj[j], 1e-300));
    if (grad(cap, h) >= 0) {
        ns = cap;
        status = 1;
        return value(cap);
    }
    double lo = 0.0, up = cap, s = 0.5 * cap;
    for (int it = 0; it < 100; ++it) {
        const double g = grad(s, h);
        if (g > 0) lo = s; else up = s;
        double next = h < 0 ? s - g / h : 0.5 * (lo + up);
        if (!(next > lo && next < up)) next = 0.5 * (lo + up);
        if (std::abs(next - s) < 1e-8 * (1 + s)) {
            s = next;
            break;
        }
        s = next;
    }
    ns = s;
    return value(s);
}

StackFitResult StackModel::fit_terms(const std::vector<Terms>& terms) const {
    StackFitResult res;
    double best = -1e300, bg = s_.gamma_min, bns = 0.0;
    int bst = 0;
    for (double g = s_.gamma_min; g <= s_.gamma_max + 1e-9; g += kNodeStep) {
        double ns = 0.0;
        int st = 0;
        const double v = profile(terms, g, ns, st);
        if (v > best) {
            best = v;
            bg = g;
            bns = ns;
            bst = st;
        }
    }
    if (!(bns > 0)) {
        res.gamma = bg;
        return res;
    }
    const double lo = std::max(s_.gamma_min, bg - kNodeStep), hi = std::min(s_.gamma_max, bg + kNodeStep);
    auto f = [&](double g) -> std::optional<double> {
        double ns = 0.0;
        int st = 0;
        return -profile(terms, g, ns, st);
    };
    const Minimum1D m = brent_minimise(f, lo, hi, bg, -best, s_.gamma_xtol);
    if (-m.fx > best) {
        double ns = 0.0;
        int st = 0;
        best = profile(terms, m.x, ns, st);
        bg = m.x;
        bns = ns;
        bst = st;
    }
    res.ts = std::max(0.0, 2.0 * best);
    res.ns = bns;
    res.gamma = bg;
    res.status = bst;
    return res;
}

std::vector<StackModel::Terms> StackModel::terms_of(const std::vector<const double*>& ra) const {
    if (ra.size() != seasons_.size()) throw std::invalid_argument("need one RA array per season");
    std::vector<Terms> terms(seasons_.size());
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const Season& s = seasons_[j];
        std::vector<double> rs(s.ev.size());
        for (std::size_t q = 0; q < rs.size(); ++q) rs[q] = ra[j][s.order[q]];  // in the season's sorted order
        collect(j, rs.data(), nullptr, 0, terms[j]);
    }
    return terms;
}

StackFitResult StackModel::fit(const std::vector<const double*>& ra) const {
    std::vector<Terms> terms = terms_of(ra);
    return fit_terms(terms);
}

double StackModel::log_lambda(const std::vector<const double*>& ra, double ns, double gamma) const {
    std::vector<Terms> terms = terms_of(ra);
    double unused = 0.0;
    int st = 0;
    profile(terms, gamma, unused, st);  // fills the x of every slot at this gamma
    // recompute the value at the requested ns from the filled x (same a_j as profile)
    const std::size_t k = sra_.size(), nj = seasons_.size();
    double u = std::clamp((gamma - gamma0_) / dgamma_, 0.0, static_cast<double>(n_gamma_ - 1) - 1e-12);
    const auto q0 = static_cast<std::size_t>(u);
    const double fy = u - static_cast<double>(q0);
    std::vector<double> fj(nj, 0.0);
    double tot = 0.0;
    for (std::size_t j = 0; j < nj; ++j) {
        for (std::size_t q = 0; q < k; ++q) {
            const double* y = seasons_[j].y.data() + q * n_gamma_;
            fj[j] += w_[q] * std::exp((1 - fy) * std::log(y[q0]) + fy * std::log(y[q0 + 1]));
        }
        tot += fj[j];
    }
    double v = 0.0;
    for (std::size_t j = 0; j < nj; ++j) {
        const double a = fj[j] / tot / terms[j].n_total;
        for (double x : terms[j].x) v += std::log1p(ns * a * (x - 1.0));
        v += (terms[j].n_total - static_cast<double>(terms[j].x.size())) * std::log1p(-ns * a);
    }
    return v;
}

std::vector<std::vector<double>> StackModel::scramble(std::uint64_t seed) const {
    Xoshiro256 rng(seed);
    std::vector<std::vector<double>> out;
    for (const Season& s : seasons_) {
        std::vector<double> ra(s.ev.size());
        for (double& v : ra) v = kTwoPi * rng.uniform();  // in input order
        out.push_back(std::move(ra));
    }
    return out;
}

void StackModel::trials(const std::uint64_t* seeds, std::size_t n_trials,
                        const std::vector<std::vector<StackEvent>>& injected, StackFitResult* out,
                        int threads) const {
    const std::size_t nj = seasons_.size();
    if (nj == 0) throw std::invalid_argument("no season added");
    if (!injected.empty() && injected.size() != nj) throw std::invalid_argument("injected: one list per season");
    // per season, the range of each trial's injected events
    std::vector<std::vector<std::size_t>> start(nj, std::vector<std::size_t>(n_trials + 1, 0));
    for (std::size_t j = 0; j < injected.size(); ++j) {
        const auto& inj = injected[j];
        for (std::size_t i = 0; i < inj.size(); ++i) {
            if (inj[i].trial < 0 || static_cast<std::size_t>(inj[i].trial) >= n_trials ||
                (i && inj[i].trial < inj[i - 1].trial))
                throw std::invalid_argument("injected events must be sorted by a valid trial index");
            if (inj[i].ebin < 0 || static_cast<std::size_t>(inj[i].ebin) >= seasons_[j].n_e || !(inj[i].sigma > 0))
                throw std::invalid_argument("injected event with a bad energy bin or sigma");
        }
        for (std::size_t t = 0; t <= n_trials; ++t)
            start[j][t] = static_cast<std::size_t>(
                std::lower_bound(inj.begin(), inj.end(), static_cast<std::int32_t>(t),
                                 [](const StackEvent& e, std::int32_t v) { return e.trial < v; }) -
                inj.begin());
    }
    parallel_for(n_trials, threads, [&](std::size_t begin, std::size_t end) {
        std::vector<Terms> terms(nj);
        std::vector<double> ra, rs;
        for (std::size_t t = begin; t < end; ++t) {
            Xoshiro256 rng(seeds[t]);
            std::int32_t n_inj = 0;
            for (std::size_t j = 0; j < nj; ++j) {
                const Season& s = seasons_[j];
                ra.resize(s.ev.size());
                for (double& v : ra) v = kTwoPi * rng.uniform();  // input order, as scramble()
                rs.resize(s.ev.size());
                for (std::size_t q = 0; q < rs.size(); ++q) rs[q] = ra[s.order[q]];
                const StackEvent* extra = nullptr;
                std::size_t n_extra = 0;
                if (!injected.empty()) {
                    extra = injected[j].data() + start[j][t];
                    n_extra = start[j][t + 1] - start[j][t];
                }
                n_inj += static_cast<std::int32_t>(n_extra);
                collect(j, rs.data(), extra, n_extra, terms[j]);
            }
            out[t] = fit_terms(terms);
            out[t].n_injected = n_inj;
        }
    });
}

}  // namespace icecore
