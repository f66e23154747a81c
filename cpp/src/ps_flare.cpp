// Time-dependent (flare) point-source likelihood: see icecore/ps_flare.hpp.
#include "icecore/ps_flare.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "icecore/parallel.hpp"
#include "icecore/random.hpp"

namespace icecore {

namespace {
constexpr double kSqrt2Pi = 2.5066282746310002;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double norm_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
}  // namespace

struct FlareModel::Work {
    std::vector<double> t, r, xg, xr;
    std::vector<std::size_t> on;
    int n_eval = 0;
    const double* x = nullptr;                     // the S/B table in use (the model's or a trial's)
    const std::vector<std::size_t>* order = nullptr;  // its candidate flare events
    std::vector<double> xbuf;                      // a trial's reweighted table
    std::vector<std::size_t> obuf;                 // ... and its candidate events
};

FlareModel::Work FlareModel::work() const {
    Work w;
    w.x = x_.data();
    w.order = &seed_order_;
    return w;
}

void FlareModel::candidates(const double* x, std::vector<std::size_t>& out) const {
    const std::size_t n = t_.size();
    const auto k2 = static_cast<std::size_t>(
        std::clamp(std::lround((2.0 - gamma0_) / dgamma_), 0L, static_cast<long>(n_gamma_ - 1)));
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    const double* x2 = x + k2 * n;
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return x2[a] > x2[b]; });
    out.clear();
    for (std::size_t i : idx) {
        if (out.size() >= s_.n_seed || !(x2[i] > 1.0)) break;
        out.push_back(i);
    }
}

FlareModel::FlareModel(std::vector<double> t, std::vector<double> x, std::size_t n_gamma, double gamma0,
                       double dgamma, double n_total, std::vector<double> run_start, std::vector<double> run_stop,
                       FlareSettings settings)
    : t_(std::move(t)), x_(std::move(x)), n_gamma_(n_gamma), gamma0_(gamma0), dgamma_(dgamma), n_total_(n_total),
      rs_(std::move(run_start)), re_(std::move(run_stop)), s_(settings) {
    const std::size_t n = t_.size();
    if (n_gamma_ < 2 || !(dgamma_ > 0)) throw std::invalid_argument("need >= 2 gamma nodes and a positive step");
    if (x_.size() != n * n_gamma_) throw std::invalid_argument("x must hold n_gamma x n values");
    if (!(n_total_ >= static_cast<double>(n)) || n_total_ < 1) throw std::invalid_argument("n_total < n events");
    if (rs_.empty() || rs_.size() != re_.size()) throw std::invalid_argument("need >= 1 run, start/stop of one length");
    for (std::size_t k = 0; k < rs_.size(); ++k) {
        if (!(re_[k] > rs_[k])) throw std::invalid_argument("every run must stop after it starts");
        if (k && rs_[k] < re_[k - 1]) throw std::invalid_argument("runs must be sorted and disjoint");
    }
    for (double v : x_)
        if (!(v >= 0) || !std::isfinite(v)) throw std::invalid_argument("x must be finite and >= 0");
    if (!(s_.gamma_min >= gamma0_ - 1e-9) ||
        !(s_.gamma_max <= gamma0_ + dgamma_ * static_cast<double>(n_gamma_ - 1) + 1e-9) ||
        s_.gamma_max < s_.gamma_min)
        throw std::invalid_argument("gamma range must lie within the gamma grid");
    cum_.assign(rs_.size() + 1, 0.0);
    for (std::size_t k = 0; k < rs_.size(); ++k) cum_[k + 1] = cum_[k] + (re_[k] - rs_[k]);
    if (s_.sigma_max <= 0) s_.sigma_max = 0.25 * (re_.back() - rs_.front());
    if (!(s_.sigma_min > 0) || s_.sigma_max < s_.sigma_min) throw std::invalid_argument("bad sigma range");
    // candidate flare times: the most signal-like events at the node nearest gamma = 2
    candidates(x_.data(), seed_order_);
}

double FlareModel::live_until(double t) const {
    const auto it = std::upper_bound(rs_.begin(), rs_.end(), t);
    if (it == rs_.begin()) return 0.0;
    const auto k = static_cast<std::size_t>(it - rs_.begin()) - 1;
    return cum_[k] + (std::min(t, re_[k]) - rs_[k]);
}

double FlareModel::live_between(double a, double b) const { return b > a ? live_until(b) - live_until(a) : 0.0; }

// Integral of N(mu, sigma) over the good runs within mu +- 12 sigma, written as the integral from the
// first run's start to the last run's end minus the gaps between runs: a gap shorter than 0.1 sigma is
// integrated by the midpoint rule with its curvature correction, h phi(m) (1 + h^2 (u^2 - 1) / (24 sigma^2)),
// whose relative error is below 1e-6 of the gap's own (small) integral; longer gaps exactly by erfc.
// (A real season has thousands of runs separated by gaps of minutes: one exp per gap instead of two
// erfc per run.)
double FlareModel::gauss_norm(double mu, double sigma) const {
    const double lo = mu - 12.0 * sigma, hi = mu + 12.0 * sigma;
    const auto k0 = static_cast<std::size_t>(std::upper_bound(re_.begin(), re_.end(), lo) - re_.begin());
    const auto k1 = static_cast<std::size_t>(std::lower_bound(rs_.begin(), rs_.end(), hi) - rs_.begin());
    if (k0 >= k1) return 0.0;
    double z = norm_cdf((re_[k1 - 1] - mu) / sigma) - norm_cdf((rs_[k0] - mu) / sigma);
    const double inv = 1.0 / sigma, c = inv / kSqrt2Pi;
    for (std::size_t k = k0; k + 1 < k1; ++k) {
        const double a = re_[k], b = rs_[k + 1], h = b - a;
        if (!(h > 0)) continue;
        if (h < 0.1 * sigma) {
            const double u = (0.5 * (a + b) - mu) * inv, hs = h * inv;
            z -= h * c * std::exp(-0.5 * u * u) * (1.0 + hs * hs * (u * u - 1.0) / 24.0);
        } else {
            z -= norm_cdf((b - mu) * inv) - norm_cdf((a - mu) * inv);
        }
    }
    return std::max(z, 0.0);
}

double FlareModel::scramble_time(double u) const {
    const double target = u * cum_.back();
    auto k = static_cast<std::size_t>(std::upper_bound(cum_.begin(), cum_.end() - 1, target) - cum_.begin());
    k = k ? k - 1 : 0;
    return std::min(rs_[k] + (target - cum_[k]), re_[k]);
}

void FlareModel::time_ratio(FlareKind kind, double a, double b, const std::vector<double>& t,
                            std::vector<double>& r) const {
    const std::size_t n = t.size();
    r.assign(n, 1.0);
    const double tl = livetime();
    if (kind == FlareKind::gauss) {
        const double z = gauss_norm(a, b);
        if (!(z > 1e-300)) {
            std::fill(r.begin(), r.end(), 0.0);
            return;
        }
        const double c = tl / (kSqrt2Pi * b * z);
        for (std::size_t i = 0; i < n; ++i) {
            const double u = (t[i] - a) / b;
            r[i] = c * std::exp(-0.5 * u * u);
        }
    } else if (kind == FlareKind::box) {
        const double l = live_between(a, b);
        const double c = l > 0 ? tl / l : 0.0;
        for (std::size_t i = 0; i < n; ++i) r[i] = (t[i] >= a && t[i] <= b) ? c : 0.0;
    }
}

double FlareModel::penalty(FlareKind kind, double a, double b) const {
    if (kind == FlareKind::gauss) return 2.0 * std::log(kSqrt2Pi * b / livetime());
    if (kind == FlareKind::box) {
        const double l = live_between(a, b);
        return l > 0 ? 2.0 * std::log(l / livetime()) : kNegInf;
    }
    return 0.0;
}

void FlareModel::x_at(const double* x, double gamma, std::vector<double>& out) const {
    const std::size_t n = t_.size();
    double u = (gamma - gamma0_) / dgamma_;
    u = std::clamp(u, 0.0, static_cast<double>(n_gamma_ - 1));
    auto k = static_cast<std::size_t>(std::floor(u));
    if (k >= n_gamma_ - 1) k = n_gamma_ - 2;
    const double f = u - static_cast<double>(k);
    const double* x0 = x + k * n;
    const double* x1 = x0 + n;
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = (1.0 - f) * x0[i] + f * x1[i];
}

// maximise over ns of log Lambda for the products xr_i = x_i R_i; returns log Lambda
double FlareModel::profile_ns(const std::vector<double>& xr, double& ns, int& status) const {
    const double nn = n_total_;
    const double rest = nn - static_cast<double>(xr.size());
    auto grad = [&](double s, double& h) {
        double g = -rest / (nn - s);
        h = -rest / ((nn - s) * (nn - s));
        for (double x : xr) {
            const double d = x - 1.0, q = nn + s * d;
            g += d / q;
            h -= d * d / (q * q);
        }
        return g;
    };
    auto value = [&](double s) {
        double v = rest * std::log1p(-s / nn);
        for (double x : xr) v += std::log1p(s / nn * (x - 1.0));
        return v;
    };
    double h = 0.0;
    status = 0;
    const double g0 = grad(0.0, h);
    if (g0 <= 0.0) {
        ns = 0.0;
        return 0.0;
    }
    const double h0 = h;
    const double hi = std::min(s_.ns_max, nn * (1.0 - 1e-9));
    if (grad(hi, h) >= 0.0) {
        ns = hi;
        status = 1;
        return value(hi);
    }
    // start: the caller's guess, else the Newton step from ns = 0 (log Lambda is concave in ns)
    const double guess = ns > 0 && ns < hi ? ns : (h0 < 0 ? -g0 / h0 : 0.5 * hi);
    double lo = 0.0, up = hi, s = std::clamp(guess, 1e-12 * hi, 0.5 * hi);
    for (int it = 0; it < 100; ++it) {
        const double g = grad(s, h);
        if (g > 0) lo = s; else up = s;
        double next = (h < 0) ? s - g / h : 0.5 * (lo + up);
        if (!(next > lo && next < up)) next = 0.5 * (lo + up);
        if (std::abs(next - s) < 1e-7 * (1.0 + s) || up - lo < 1e-9) {
            s = next;
            break;
        }
        s = next;
    }
    ns = s;
    return value(s);
}

// best gamma (coarse scan over grid nodes, then golden section) at fixed time ratios r
double FlareModel::best_gamma(const std::vector<double>& r, Work& w, double& gamma, double& ns, int& status) const {
    const std::size_t n = t_.size();
    auto eval = [&](double g, double& s, int& st) {
        x_at(w.x, g, w.xg);
        w.xr.clear();
        for (std::size_t i = 0; i < n; ++i)
            if (r[i] > 0 && w.xg[i] > 0) w.xr.push_back(w.xg[i] * r[i]);  // zeros enter through N - size
        ++w.n_eval;
        return profile_ns(w.xr, s, st);
    };
    const double step = 0.25;
    double best = kNegInf, bg = s_.gamma_min, bs = 0.0;
    int bst = 0;
    for (double g = s_.gamma_min; g <= s_.gamma_max + 1e-9; g += step) {
        double s = 0.0;
        int st = 0;
        const double v = eval(std::min(g, s_.gamma_max), s, st);
        if (v > best) {
            best = v;
            bg = std::min(g, s_.gamma_max);
            bs = s;
            bst = st;
        }
    }
    if (bs > 0) {  // golden section in the two cells around the best node
        double a = std::max(s_.gamma_min, bg - step), b = std::min(s_.gamma_max, bg + step);
        const double gr = 0.6180339887498949;
        double c = b - gr * (b - a), d = a + gr * (b - a);
        double sc = bs, sd = bs;
        int stc = 0, std_ = 0;
        double fc = eval(c, sc, stc), fd = eval(d, sd, std_);
        for (int it = 0; it < 30 && b - a > 1e-4; ++it) {
            if (fc > fd) {
                b = d; d = c; fd = fc; sd = sc; std_ = stc;
                c = b - gr * (b - a);
                fc = eval(c, sc, stc);
            } else {
                a = c; c = d; fc = fd; sc = sd; stc = std_;
                d = a + gr * (b - a);
                fd = eval(d, sd, std_);
            }
        }
        if (fc > best) { best = fc; bg = c; bs = sc; bst = stc; }
        if (fd > best) { best = fd; bg = d; bs = sd; bst = std_; }
    }
    gamma = bg;
    ns = bs;
    status = bst;
    return best;
}

FlareFitResult FlareModel::fixed(FlareKind kind, double a, double b, const std::vector<double>& t, Work& w) const {
    FlareFitResult res;
    time_ratio(kind, a, b, t, w.r);
    int st = 0;
    const double ll = best_gamma(w.r, w, res.gamma, res.ns, st);
    res.log_lambda = 2.0 * ll;
    res.ts = std::max(0.0, 2.0 * ll);
    res.status = st;
    res.t_a = a;
    res.t_b = b;
    res.n_eval = w.n_eval;
    return res;
}

FlareFitResult FlareModel::search_box(const std::vector<double>& t, Work& w) const {
    FlareFitResult res;
    res.status = 2;
    if (w.order->size() < 2) return res;
    std::vector<double> ts;
    for (std::size_t i : *w.order) ts.push_back(t[i]);
    std::sort(ts.begin(), ts.end());
    const std::size_t n = t.size();
    double best = kNegInf, ba = 0, bb = 0;
    for (std::size_t i = 0; i < ts.size(); ++i) {
        for (std::size_t j = i + 1; j < ts.size(); ++j) {
            const double a = ts[i], b = ts[j];
            if (b - a < s_.box_min || !(b > a)) continue;
            const double pen = penalty(FlareKind::box, a, b);
            if (!std::isfinite(pen)) continue;
            time_ratio(FlareKind::box, a, b, t, w.r);
            for (double g = s_.gamma_min; g <= s_.gamma_max + 1e-9; g += 0.25) {
                x_at(w.x, std::min(g, s_.gamma_max), w.xg);
                w.xr.clear();
                for (std::size_t k = 0; k < n; ++k)
                    if (w.r[k] > 0 && w.xg[k] > 0) w.xr.push_back(w.xg[k] * w.r[k]);
                double s = 0;
                int st = 0;
                ++w.n_eval;
                const double v = 2.0 * profile_ns(w.xr, s, st) + pen;
                if (s > 0 && v > best) {
                    best = v;
                    ba = a;
                    bb = b;
                }
            }
        }
    }
    if (!std::isfinite(best)) {
        res.status = 0;
        return res;
    }
    res = fixed(FlareKind::box, ba, bb, t, w);
    res.ts = std::max(0.0, res.log_lambda + penalty(FlareKind::box, ba, bb));
    return res;
}

FlareFitResult FlareModel::search_gauss(const std::vector<double>& t, Work& w) const {
    FlareFitResult res;
    res.status = 2;
    if (w.order->empty()) return res;
    const std::size_t n = t.size();
    const double lmin = std::log(s_.sigma_min), lmax = std::log(s_.sigma_max);
    const std::size_t ns_grid = std::max<std::size_t>(s_.n_sigma, 2);
    struct Cand { double v, mu, ls, g; };
    std::vector<Cand> cands;
    for (std::size_t i : *w.order) {
        for (std::size_t k = 0; k < ns_grid; ++k) {
            const double ls = lmin + (lmax - lmin) * static_cast<double>(k) / static_cast<double>(ns_grid - 1);
            const double sg = std::exp(ls), mu = t[i];
            time_ratio(FlareKind::gauss, mu, sg, t, w.r);
            const double pen = penalty(FlareKind::gauss, mu, sg);
            double bv = kNegInf, bgm = 2.0;
            std::vector<std::size_t>& on = w.on;
            on.clear();
            for (std::size_t q = 0; q < n; ++q)
                if (w.r[q] > 1e-300) on.push_back(q);
            for (double g = s_.gamma_min; g <= s_.gamma_max + 1e-9; g += 0.25) {
                x_at(w.x, std::min(g, s_.gamma_max), w.xg);
                w.xr.clear();
                for (std::size_t q : on)
                    if (w.xg[q] > 0) w.xr.push_back(w.xg[q] * w.r[q]);
                double s = 0;
                int st = 0;
                ++w.n_eval;
                const double v = 2.0 * profile_ns(w.xr, s, st) + pen;
                if (s > 0 && v > bv) { bv = v; bgm = std::min(g, s_.gamma_max); }
            }
            if (std::isfinite(bv)) cands.push_back({bv, mu, ls, bgm});
        }
    }
    if (cands.empty()) {
        res.status = 0;
        return res;
    }
    std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.v > b.v; });
    const double tlo = rs_.front(), thi = re_.back();
    // objective for Nelder-Mead: minus the penalised TS with ns and gamma profiled... gamma is a
    // simplex coordinate here (clamped), ns profiled
    auto objective = [&](const std::array<double, 3>& p) {
        const double mu = std::clamp(p[0], tlo, thi);
        const double ls = std::clamp(p[1], lmin, lmax);
        const double g = std::clamp(p[2], s_.gamma_min, s_.gamma_max);
        const double sg = std::exp(ls);
        time_ratio(FlareKind::gauss, mu, sg, t, w.r);
        x_at(w.x, g, w.xg);
        w.xr.clear();
        for (std::size_t q = 0; q < n; ++q)
            if (w.r[q] > 0 && w.xg[q] > 0) w.xr.push_back(w.xg[q] * w.r[q]);
        double s = 0;
        int st = 0;
        ++w.n_eval;
        const double out = -(2.0 * profile_ns(w.xr, s, st) + penalty(FlareKind::gauss, mu, sg));
        // soft walls keep the simplex inside the box
        return out + 1e3 * (std::abs(p[0] - mu) + std::abs(p[1] - ls) + std::abs(p[2] - g));
    };
    double best = kNegInf;
    std::array<double, 3> bp{};
    const std::size_t nref = std::min(s_.n_refine, cands.size());
    for (std::size_t c = 0; c < nref; ++c) {
        std::array<std::array<double, 3>, 4> sx;
        sx[0] = {cands[c].mu, cands[c].ls, cands[c].g};
        const double sg = std::exp(cands[c].ls);
        sx[1] = {sx[0][0] + 0.5 * sg, sx[0][1], sx[0][2]};
        sx[2] = {sx[0][0], sx[0][1] + 0.3, sx[0][2]};
        sx[3] = {sx[0][0], sx[0][1], sx[0][2] + 0.2};
        std::array<double, 4> f{};
        for (std::size_t q = 0; q < 4; ++q) f[q] = objective(sx[q]);
        for (int it = 0; it < 300; ++it) {
            std::array<std::size_t, 4> o{0, 1, 2, 3};
            std::sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return f[a] < f[b]; });
            if (std::abs(f[o[3]] - f[o[0]]) < 1e-7) break;
            std::array<double, 3> cen{};
            for (std::size_t q = 0; q < 3; ++q)
                for (std::size_t d = 0; d < 3; ++d) cen[d] += sx[o[q]][d] / 3.0;
            auto along = [&](double k) {
                std::array<double, 3> p{};
                for (std::size_t d = 0; d < 3; ++d) p[d] = cen[d] + k * (sx[o[3]][d] - cen[d]);
                return p;
            };
            const auto xr = along(-1.0);
            const double fr = objective(xr);
            if (fr < f[o[0]]) {
                const auto xe = along(-2.0);
                const double fe = objective(xe);
                if (fe < fr) { sx[o[3]] = xe; f[o[3]] = fe; } else { sx[o[3]] = xr; f[o[3]] = fr; }
            } else if (fr < f[o[2]]) {
                sx[o[3]] = xr;
                f[o[3]] = fr;
            } else {
                const auto xc = along(fr < f[o[3]] ? -0.5 : 0.5);
                const double fc = objective(xc);
                if (fc < std::min(fr, f[o[3]])) {
                    sx[o[3]] = xc;
                    f[o[3]] = fc;
                } else {  // shrink towards the best vertex
                    for (std::size_t q = 1; q < 4; ++q) {
                        for (std::size_t d = 0; d < 3; ++d) sx[o[q]][d] = sx[o[0]][d] + 0.5 * (sx[o[q]][d] - sx[o[0]][d]);
                        f[o[q]] = objective(sx[o[q]]);
                    }
                }
            }
        }
        const auto b0 = static_cast<std::size_t>(std::min_element(f.begin(), f.end()) - f.begin());
        if (-f[b0] > best) {
            best = -f[b0];
            bp = sx[b0];
        }
        if (cands[c].v > best) {  // refinement never worse than its start
            best = cands[c].v;
            bp = {cands[c].mu, cands[c].ls, cands[c].g};
        }
    }
    const double mu = std::clamp(bp[0], tlo, thi), sg = std::exp(std::clamp(bp[1], lmin, lmax));
    const int n_eval = w.n_eval;
    res = fixed(FlareKind::gauss, mu, sg, t, w);
    res.n_eval = n_eval + (w.n_eval - n_eval);
    res.ts = std::max(0.0, res.log_lambda + penalty(FlareKind::gauss, mu, sg));
    return res;
}

FlareFitResult FlareModel::search(FlareKind kind, const std::vector<double>& t, Work& w) const {
    if (kind == FlareKind::gauss) return search_gauss(t, w);
    if (kind == FlareKind::box) return search_box(t, w);
    return fixed(FlareKind::none, 0.0, 0.0, t, w);
}

FlareFitResult FlareModel::fit(FlareKind kind) const {
    Work w = work();
    return search(kind, t_, w);
}

FlareFitResult FlareModel::fit_fixed(FlareKind kind, double a, double b) const {
    if (kind == FlareKind::gauss && !(b > 0)) throw std::invalid_argument("Gaussian width must be > 0");
    if (kind == FlareKind::box && !(b > a)) throw std::invalid_argument("box must end after it starts");
    Work w = work();
    return fixed(kind, a, b, t_, w);
}

double FlareModel::log_lambda(FlareKind kind, double a, double b, double ns, double gamma) const {
    std::vector<double> r, xg;
    time_ratio(kind, a, b, t_, r);
    x_at(x_.data(), gamma, xg);
    const double nn = n_total_;
    double v = (nn - static_cast<double>(t_.size())) * std::log1p(-ns / nn);
    for (std::size_t i = 0; i < t_.size(); ++i) v += std::log1p(ns / nn * (xg[i] * r[i] - 1.0));
    return v;
}

void FlareModel::trials(FlareKind kind, const std::uint64_t* seeds, std::size_t n_trials, FlareFitResult* out,
                        int threads) const {
    trials_fixed(kind, std::numeric_limits<double>::quiet_NaN(), 0.0, seeds, n_trials, out, threads);
}

void FlareModel::trials_fixed(FlareKind kind, double a, double b, const std::uint64_t* seeds, std::size_t n_trials,
                              FlareFitResult* out, int threads) const {
    trials_spatial(kind, a, b, nullptr, seeds, n_trials, out, threads);
}

void FlareModel::trials_spatial(FlareKind kind, double a, double b, const double* spatial,
                                const std::uint64_t* seeds, std::size_t n_trials, FlareFitResult* out,
                                int threads) const {
    const bool search_all = std::isnan(a);
    const std::size_t n = t_.size();
    if (spatial)
        for (std::size_t q = 0; q < n_trials * n; ++q)
            if (!(spatial[q] >= 0) || !std::isfinite(spatial[q]))
                throw std::invalid_argument("spatial factors must be finite and >= 0");
    parallel_for(n_trials, threads, [&](std::size_t begin, std::size_t end) {
        Work w = work();
        std::vector<double> t(n);
        if (spatial) w.xbuf.resize(x_.size());
        for (std::size_t k = begin; k < end; ++k) {
            Xoshiro256 rng(seeds[k]);
            for (double& v : t) v = scramble_time(rng.uniform());
            if (spatial) {  // this trial's table: x_i(g) times the trial's factor of event i
                const double* f = spatial + k * n;
                for (std::size_t g = 0; g < n_gamma_; ++g)
                    for (std::size_t i = 0; i < n; ++i) w.xbuf[g * n + i] = x_[g * n + i] * f[i];
                candidates(w.xbuf.data(), w.obuf);
                w.x = w.xbuf.data();
                w.order = &w.obuf;
            }
            w.n_eval = 0;
            out[k] = search_all ? search(kind, t, w) : fixed(kind, a, b, t, w);
        }
    });
}

}  // namespace icecore
