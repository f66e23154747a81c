// Point-source likelihood ratio: selection, profile likelihood in ns, gamma maximisation.
#include "icecore/ps_llh.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "icecore/parallel.hpp"

namespace icecore {

namespace {

constexpr double kPi = 3.14159265358979323846;

// xoshiro256** seeded through splitmix64 (public-domain algorithms by Blackman & Vigna).
class Xoshiro {
public:
    explicit Xoshiro(std::uint64_t seed) {
        for (auto& v : s_) v = splitmix(seed);
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5u, 7) * 9u;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t s_[4]{};
};

// Rayleigh spatial signal PDF [1/sr] from cos(psi): exp(-psi^2 / 2 sigma^2) / (2 pi sigma^2) * psi / sin(psi)
inline double spatial_pdf_cos(double cpsi, double sigma) {
    const double c = std::min(1.0, cpsi);
    const double psi = std::acos(c);
    const double sn = std::sqrt(std::max(0.0, (1.0 - c) * (1.0 + c)));
    const double s2 = sigma * sigma;
    const double r = psi > 1e-6 ? psi / sn : 1.0;
    return std::exp(-0.5 * psi * psi / s2) / (2.0 * kPi * s2) * r;
}

// integral of x^-g dx over [a, b] (x = E / E0)
inline double powerlaw_integral(double a, double b, double g) {
    const double e = 1.0 - g;
    if (std::fabs(e) < 1e-9) return std::log(b / a);
    return (std::pow(b, e) - std::pow(a, e)) / e;
}

inline std::pair<std::size_t, std::size_t> band(const std::vector<double>& dec, double lo, double hi) {
    const auto b = std::lower_bound(dec.begin(), dec.end(), lo);
    const auto e = std::upper_bound(b, dec.end(), hi);
    return {static_cast<std::size_t>(b - dec.begin()), static_cast<std::size_t>(e - dec.begin())};
}

}  // namespace

PsModel::PsModel(std::vector<PsSeason> seasons, PsSettings settings)
    : seasons_(std::move(seasons)), settings_(settings) {
    if (seasons_.empty()) throw std::invalid_argument("PsModel: no season");
    if (seasons_.size() > 64) throw std::invalid_argument("PsModel: at most 64 seasons");
    if (settings_.n_gamma_grid < 3) throw std::invalid_argument("PsModel: gamma grid needs >= 3 points");
    if (!(settings_.gamma_grid_step > 0)) throw std::invalid_argument("PsModel: gamma grid step must be > 0");
    if (!(settings_.gamma_max >= settings_.gamma_min)) throw std::invalid_argument("PsModel: gamma_max < gamma_min");
    const double glo = settings_.gamma_grid0 + settings_.gamma_grid_step * 0.5;
    const double ghi =
        settings_.gamma_grid0 + settings_.gamma_grid_step * (static_cast<double>(settings_.n_gamma_grid) - 1.5);
    if (settings_.gamma_min < glo - 1e-9 || settings_.gamma_max > ghi + 1e-9)
        throw std::invalid_argument("PsModel: gamma range must lie inside the table grid (one extra point each side)");
    if (!(settings_.ns_max > 0)) throw std::invalid_argument("PsModel: ns_max must be > 0");
    if (!(settings_.cone_rad > 0)) throw std::invalid_argument("PsModel: cone_rad must be > 0");
    for (auto& s : seasons_) {
        const std::size_t n = s.dec.size();
        if (s.ra.size() != n || s.sin_dec.size() != n || s.cos_dec.size() != n || s.sigma.size() != n ||
            s.inv_b.size() != n || s.efrac.size() != n || s.ebin.size() != n || s.cos_r.size() != n)
            throw std::invalid_argument("PsModel: event arrays of a season differ in length");
        if (s.n_class == 0 || s.n_e < 2 || s.etable.size() != s.n_class * settings_.n_gamma_grid * s.n_e)
            throw std::invalid_argument("PsModel: energy table has the wrong size");
        if (s.acc_x_lo.size() != s.acc_x_hi.size() || s.acc.size() != s.n_class * s.acc_x_lo.size())
            throw std::invalid_argument("PsModel: acceptance table has the wrong size");
        if (!(s.n_total >= static_cast<double>(n))) throw std::invalid_argument("PsModel: n_total < stored events");
        for (std::size_t i = 0; i < n; ++i) {
            if (s.ebin[i] < 0 || static_cast<std::size_t>(s.ebin[i]) + 1 >= s.n_e)
                throw std::invalid_argument("PsModel: event energy bin out of range");
            if (i && s.dec[i] < s.dec[i - 1]) throw std::invalid_argument("PsModel: events not sorted by dec");
        }
        s.ux.resize(n);
        s.uy.resize(n);
        s.uz.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            s.ux[i] = s.cos_dec[i] * std::cos(s.ra[i]);
            s.uy[i] = s.cos_dec[i] * std::sin(s.ra[i]);
            s.uz[i] = s.sin_dec[i];
        }
    }
}

void PsModel::season_shares(double gamma, const std::int32_t* cls, std::vector<double>& f) const {
    f.assign(seasons_.size(), 0.0);
    double tot = 0.0;
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        const std::size_t na = s.acc_x_lo.size();
        const double* acc = s.acc.data() + static_cast<std::size_t>(cls[j]) * na;
        double y = 0.0;
        for (std::size_t k = 0; k < na; ++k)
            if (acc[k] > 0) y += acc[k] * powerlaw_integral(s.acc_x_lo[k], s.acc_x_hi[k], gamma);
        f[j] = y;
        tot += y;
    }
    if (tot > 0)
        for (auto& v : f) v /= tot;
    else
        for (auto& v : f) v = 1.0 / static_cast<double>(seasons_.size());
}

double PsModel::ra_half_width(double dec) const {
    if (!settings_.ra_box) return 4.0 * kPi;
    const double c = settings_.cone_rad;
    const double lo = std::max(-0.5 * kPi, dec - c), hi = std::min(0.5 * kPi, dec + c);
    const double cosfact = std::min(std::cos(lo), std::cos(hi));
    if (!(cosfact > 0)) return 4.0 * kPi;
    return std::min(2.0 * kPi, c / cosfact);
}

inline double wrap_abs_dra(double a, double b) {
    double d = std::fabs(a - b);
    d = std::fmod(d, 2.0 * kPi);
    return d >= kPi ? 2.0 * kPi - d : d;
}

void PsModel::select_fixed(double ra, double dec, Work& work) const {
    const double cone = settings_.cone_rad;
    const double ss = std::sin(dec), cs = std::cos(dec);
    const double hw = ra_half_width(dec);
    const double sx = cs * std::cos(ra), sy = cs * std::sin(ra), sz = ss;
    work.sel.resize(seasons_.size());
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        auto& out = work.sel[j];
        out.clear();
        out.n_total = s.n_total;
        const auto [b, e] = band(s.dec, dec - cone, dec + cone);
        for (std::size_t i = b; i < e; ++i) {
            const double cpsi = sx * s.ux[i] + sy * s.uy[i] + sz * s.uz[i];
            if (cpsi < s.cos_r[i]) continue;
            if (hw < kPi && !(wrap_abs_dra(s.ra[i], ra) < hw)) continue;
            out.w.push_back(spatial_pdf_cos(cpsi, s.sigma[i]) * s.inv_b[i]);
            out.ebin.push_back(s.ebin[i]);
            out.efrac.push_back(s.efrac[i]);
        }
    }
}

void PsModel::add_injected(double ra, double dec, const PsInjected& inj, std::size_t t, Work& work) const {
    if (inj.offsets == nullptr) return;
    const double cone = settings_.cone_rad;
    const double ss = std::sin(dec), cs = std::cos(dec);
    const double hw = ra_half_width(dec);
    for (std::int64_t k = inj.offsets[t]; k < inj.offsets[t + 1]; ++k) {
        const auto i = static_cast<std::size_t>(k);
        const auto j = static_cast<std::size_t>(inj.season[i]);
        auto& out = work.sel[j];
        out.n_total += 1.0;
        if (std::fabs(std::asin(std::clamp(inj.sin_dec[i], -1.0, 1.0)) - dec) > cone) continue;
        if (hw < kPi && !(wrap_abs_dra(inj.ra[i], ra) < hw)) continue;
        const double cpsi = ss * inj.sin_dec[i] + cs * inj.cos_dec[i] * std::cos(inj.ra[i] - ra);
        if (cpsi < inj.cos_r[i]) continue;
        out.w.push_back(spatial_pdf_cos(cpsi, inj.sigma[i]) * inj.inv_b[i]);
        out.ebin.push_back(inj.ebin[i]);
        out.efrac.push_back(inj.efrac[i]);
    }
}

double PsModel::profile(double gamma, const std::int32_t* cls, Work& work, double& ns_io, int& status) const {
    const auto& st = settings_;
    ++work.n_eval;
    season_shares(gamma, cls, work.shares);
    // gamma-grid parabola weights (nearest grid point and its two neighbours)
    const double u = (gamma - st.gamma_grid0) / st.gamma_grid_step;
    const auto ng = static_cast<long>(st.n_gamma_grid);
    const long i1 = std::clamp(std::lround(u), 1L, ng - 2);
    const double t = u - static_cast<double>(i1);
    const double w0 = 0.5 * t * t - 0.5 * t, w1 = 1.0 - t * t, w2 = 0.5 * t * t + 0.5 * t;

    auto& c = work.c;
    c.clear();
    const std::size_t nseason = seasons_.size();
    double dsum_m[64];
    double dj[64];
    double ns_hi = st.ns_max;
    for (std::size_t j = 0; j < nseason; ++j) {
        const double fj = work.shares[j];
        if (fj > 0) ns_hi = std::min(ns_hi, 0.999999 * work.sel[j].n_total / fj);
    }
    // Events with S/B <= 2 have |ns c_i| <= ns f_j / N_j; where that is <= 0.05 over the whole ns
    // range their log(1 + ns c_i) is summed through the Taylor series to 4th order (power sums of
    // c_i; truncation error < 0.05^5 / 5 per event). The others are kept for exact evaluation.
    double p1 = 0.0, p2 = 0.0, p3 = 0.0, p4 = 0.0;
    const bool on_node = std::fabs(t) < 1e-9;
    const double* n0 = on_node ? nullptr : node_values(static_cast<std::size_t>(i1 - 1), cls, work);
    const double* n1 = node_values(static_cast<std::size_t>(i1), cls, work);
    const double* n2 = on_node ? nullptr : node_values(static_cast<std::size_t>(i1 + 1), cls, work);
    // S/B of every selected event at this gamma
    std::size_t ntot = 0;
    for (std::size_t j = 0; j < nseason; ++j) ntot += work.sel[j].w.size();
    work.x.resize(ntot);
    double* xs = work.x.data();
    if (on_node) {
        for (std::size_t i = 0; i < ntot; ++i) xs[i] = n1[i];
    } else {
        for (std::size_t i = 0; i < ntot; ++i) xs[i] = w0 * n0[i] + w1 * n1[i] + w2 * n2[i];
    }
    std::size_t off = 0;
    for (std::size_t j = 0; j < nseason; ++j) {
        const auto& sel = work.sel[j];
        const std::size_t n = sel.w.size();
        const double fj = work.shares[j], N = sel.n_total;
        const double a = fj / N;
        const double x_taylor = (ns_hi * a <= 0.05) ? 2.0 : -1.0;
        const double* w = sel.w.data();
        double* xj = xs + off;
        double q1 = 0.0, q2 = 0.0, q3 = 0.0, q4 = 0.0;
        std::size_t n_exact = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double se = xj[i] < 0 ? 0 : xj[i];
            double x = w[i] * se;
            x = x < 3.0e38 ? x : 3.0e38;  // S/B capped (float max), never inf/NaN
            xj[i] = x;
            const bool taylor = x <= x_taylor;
            const double y = taylor ? a * (x - 1.0) : 0.0;
            const double y2 = y * y;
            q1 += y;
            q2 += y2;
            q3 += y2 * y;
            q4 += y2 * y2;
            n_exact += taylor ? 0u : 1u;
        }
        p1 += q1;
        p2 += q2;
        p3 += q3;
        p4 += q4;
        if (n_exact)
            for (std::size_t i = 0; i < n; ++i)
                if (xj[i] > x_taylor) c.push_back(a * (xj[i] - 1.0));
        off += n;
        dj[j] = -a;
        dsum_m[j] = N - static_cast<double>(n);
    }
    auto grad = [&](double ns, double& h) {
        double g = p1 - ns * p2 + ns * ns * p3 - ns * ns * ns * p4;
        h = -p2 + 2.0 * ns * p3 - 3.0 * ns * ns * p4;
        for (double ci : c) {
            const double q = ci / (1.0 + ns * ci);
            g += q;
            h -= q * q;
        }
        for (std::size_t j = 0; j < nseason; ++j) {
            const double q = dj[j] / (1.0 + ns * dj[j]);
            g += dsum_m[j] * q;
            h -= dsum_m[j] * q * q;
        }
        return g;
    };
    auto loglike = [&](double ns) {
        const double nsq = ns * ns;
        double l = ns * p1 - 0.5 * nsq * p2 + nsq * ns * p3 / 3.0 - 0.25 * nsq * nsq * p4;
        for (double ci : c) l += std::log1p(ns * ci);
        for (std::size_t j = 0; j < nseason; ++j) l += dsum_m[j] * std::log1p(ns * dj[j]);
        return l;
    };
    double h0 = 0.0;
    const double g0 = grad(0.0, h0);
    work.g0 = g0;
    if (!std::isfinite(g0)) {
        status = 3;
        ns_io = 0.0;
        return 0.0;
    }
    if (g0 <= 0.0) {
        ns_io = 0.0;
        return 0.0;
    }
    double h = 0.0;
    if (grad(ns_hi, h) >= 0.0) {
        ns_io = ns_hi;
        status = 1;
        return loglike(ns_hi);
    }
    double lo = 0.0, hi = ns_hi;
    double x = ns_io;
    if (!(x > lo && x < hi)) x = std::min(0.5 * hi, h0 < 0 ? g0 / -h0 : 0.5 * hi);
    for (int it = 0; it < 200; ++it) {
        const double g = grad(x, h);
        ++work.n_newton;
        if (g > 0)
            lo = x;
        else
            hi = x;
        double xn = (h < 0) ? x - g / h : 0.5 * (lo + hi);
        if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
        const bool done = std::fabs(xn - x) <= 1e-9 * std::max(1.0, x) || (hi - lo) <= 1e-12 * std::max(1.0, x);
        x = xn;
        if (done) break;
    }
    ns_io = x;
    const double l = loglike(x);
    if (!std::isfinite(l)) {
        status = 3;
        return 0.0;
    }
    return l;
}

const double* PsModel::node_values(std::size_t g, const std::int32_t* cls, Work& work) const {
    if (work.node_ok[g]) return work.node[g].data();
    auto& out = work.node[g];
    out.clear();
    const std::size_t G = settings_.n_gamma_grid;
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        const auto& sel = work.sel[j];
        // one contiguous row (n_e values) of the [class][gamma][logE] table: stays in L1
        const double* tab = s.etable.data() + (static_cast<std::size_t>(cls[j]) * G + g) * s.n_e;
        for (std::size_t i = 0; i < sel.w.size(); ++i) {
            const auto k = static_cast<std::size_t>(sel.ebin[i]);
            const double v0 = tab[k], v1 = tab[k + 1];
            out.push_back(v0 + sel.efrac[i] * (v1 - v0));
        }
    }
    work.node_ok[g] = 1;
    return out.data();
}

PsFitResult PsModel::maximise(const std::int32_t* cls, Work& work) const {
    const auto& st = settings_;
    PsFitResult res;
    work.node.resize(st.n_gamma_grid);
    work.node_ok.assign(st.n_gamma_grid, 0);
    work.n_eval = 0;
    work.n_newton = 0;
    std::size_t nsel = 0;
    for (const auto& s : work.sel) nsel += s.w.size();
    res.n_selected = static_cast<std::int32_t>(nsel);
    const double span = st.gamma_max - st.gamma_min;
    const std::size_t ncoarse =
        span > 0 ? static_cast<std::size_t>(std::ceil(span / st.coarse_step - 1e-9)) + 1 : std::size_t{1};
    double best_l = -1.0, best_g = st.gamma_min, best_ns = 0.0, best_g0 = -std::numeric_limits<double>::infinity();
    double g_at_best_g0 = st.gamma_min;
    int best_status = 0;
    double ns_warm = 0.0;
    std::size_t best_k = 0;
    std::vector<double> coarse_l(ncoarse, 0.0);
    for (std::size_t k = 0; k < ncoarse; ++k) {
        const double g = ncoarse > 1 ? st.gamma_min + span * static_cast<double>(k) / static_cast<double>(ncoarse - 1)
                                     : st.gamma_min;
        int status = 0;
        const double l = profile(g, cls, work, ns_warm, status);
        if (status == 3) {
            res.status = 3;
            return res;
        }
        coarse_l[k] = l;
        if (work.g0 > best_g0) {
            best_g0 = work.g0;
            g_at_best_g0 = g;
        }
        if (l > best_l) {
            best_l = l;
            best_g = g;
            best_ns = ns_warm;
            best_k = k;
            best_status = status;
        }
    }
    if (best_l <= 0.0) {  // no signal-like fluctuation at any gamma
        res.ts = 0.0;
        res.ns = 0.0;
        res.gamma = g_at_best_g0;
        res.status = nsel == 0 ? 2 : 0;
        return res;
    }
    if (ncoarse > 1) {
        // Brent's method (parabolic interpolation with golden-section fallback) on -log L within
        // the two coarse cells around the best coarse point
        const double step = span / static_cast<double>(ncoarse - 1);
        double a = std::max(st.gamma_min, best_g - (best_k > 0 ? step : 0.0));
        double b = std::min(st.gamma_max, best_g + (best_k + 1 < ncoarse ? step : 0.0));
        const double cgold = 0.3819660112501051;
        double x = best_g, w = best_g, v = best_g;
        double fx = -best_l, fw = fx, fv = fx;
        double nsx = best_ns;
        int sx = best_status;
        double d = 0.0, e = 0.0;
        const double tol1 = 0.5 * st.gamma_tol, tol2 = 2.0 * tol1;
        for (int it = 0; it < 100; ++it) {
            const double xm = 0.5 * (a + b);
            if (std::fabs(x - xm) <= tol2 - 0.5 * (b - a)) break;
            bool golden = true;
            if (std::fabs(e) > tol1) {
                double r = (x - w) * (fx - fv);
                double q = (x - v) * (fx - fw);
                double p = (x - v) * q - (x - w) * r;
                q = 2.0 * (q - r);
                if (q > 0) p = -p;
                q = std::fabs(q);
                const double etemp = e;
                e = d;
                if (!(std::fabs(p) >= std::fabs(0.5 * q * etemp) || p <= q * (a - x) || p >= q * (b - x))) {
                    d = p / q;
                    const double u = x + d;
                    if (u - a < tol2 || b - u < tol2) d = xm - x >= 0 ? tol1 : -tol1;
                    golden = false;
                }
            }
            if (golden) {
                e = (x >= xm) ? a - x : b - x;
                d = cgold * e;
            }
            const double u = std::fabs(d) >= tol1 ? x + d : x + (d >= 0 ? tol1 : -tol1);
            double nsu = nsx;
            int su = 0;
            const double fu = -profile(u, cls, work, nsu, su);
            if (su == 3) {
                res.status = 3;
                return res;
            }
            if (fu <= fx) {
                if (u >= x)
                    a = x;
                else
                    b = x;
                v = w;
                fv = fw;
                w = x;
                fw = fx;
                x = u;
                fx = fu;
                nsx = nsu;
                sx = su;
            } else {
                if (u < x)
                    a = u;
                else
                    b = u;
                if (fu <= fw || w == x) {
                    v = w;
                    fv = fw;
                    w = u;
                    fw = fu;
                } else if (fu <= fv || v == x || v == w) {
                    v = u;
                    fv = fu;
                }
            }
        }
        if (-fx > best_l) {
            best_l = -fx;
            best_g = x;
            best_ns = nsx;
            best_status = sx;
        }
    }
    res.n_eval = work.n_eval * 1000 + std::min(work.n_newton, 999);
    res.ts = 2.0 * best_l;
    res.ns = best_ns;
    res.gamma = best_g;
    res.status = best_status;
    return res;
}

PsFitResult PsModel::fit(double ra, double dec, const std::int32_t* cls) const {
    Work work;
    select_fixed(ra, dec, work);
    auto r = maximise(cls, work);
    return r;
}

double PsModel::log_lambda(double ra, double dec, const std::int32_t* cls, double ns, double gamma) const {
    // exact evaluation (no Taylor summation), for tests
    Work work;
    select_fixed(ra, dec, work);
    season_shares(gamma, cls, work.shares);
    const auto& st = settings_;
    const double u = (gamma - st.gamma_grid0) / st.gamma_grid_step;
    const auto ng = static_cast<long>(st.n_gamma_grid);
    const long i1 = std::clamp(std::lround(u), 1L, ng - 2);
    const double t = u - static_cast<double>(i1);
    const double w0 = 0.5 * t * t - 0.5 * t, w1 = 1.0 - t * t, w2 = 0.5 * t * t + 0.5 * t;
    double l = 0.0;
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        const auto& sel = work.sel[j];
        const double a = work.shares[j] / sel.n_total;
        const std::size_t G = st.n_gamma_grid;
        const double* tab = s.etable.data() + (static_cast<std::size_t>(cls[j]) * G + static_cast<std::size_t>(i1 - 1)) * s.n_e;
        for (std::size_t i = 0; i < sel.w.size(); ++i) {
            const auto k = static_cast<std::size_t>(sel.ebin[i]);
            const double fr = sel.efrac[i];
            double se = 0.0;
            const double wk[3] = {w0, w1, w2};
            for (std::size_t q = 0; q < 3; ++q) {
                const double* r = tab + q * s.n_e;
                se += wk[q] * (r[k] + fr * (r[k + 1] - r[k]));
            }
            if (se < 0) se = 0;
            double x = sel.w[i] * se;
            if (!(x < 3.0e38)) x = 3.0e38;
            l += std::log1p(ns * a * (x - 1.0));
        }
        l += (sel.n_total - static_cast<double>(sel.w.size())) * std::log1p(-ns * a);
    }
    return l;
}

void PsModel::trials(double ra, double dec, const std::int32_t* cls, const std::uint64_t* seeds, std::size_t n_trials,
                     const PsInjected& inj, PsFitResult* out, int threads) const {
    const double cone = settings_.cone_rad;
    const double ss = std::sin(dec), cs = std::cos(dec);
    const double hw = ra_half_width(dec);
    // per season: band and the maximal |delta RA| that keeps an event inside the cone
    std::vector<std::pair<std::size_t, std::size_t>> bands(seasons_.size());
    std::vector<std::vector<double>> amax(seasons_.size());
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        bands[j] = band(s.dec, dec - cone, dec + cone);
        auto& am = amax[j];
        am.resize(bands[j].second - bands[j].first);
        for (std::size_t i = bands[j].first; i < bands[j].second; ++i) {
            const double den = cs * s.cos_dec[i];
            const double cos_r = s.cos_r[i];
            double a;
            if (den <= 1e-300) {
                a = (ss * s.sin_dec[i] >= cos_r) ? kPi : -1.0;
            } else {
                const double q = (cos_r - ss * s.sin_dec[i]) / den;
                a = q <= -1.0 ? kPi : (q >= 1.0 ? (q == 1.0 ? 0.0 : -1.0) : std::acos(q));
            }
            am[i - bands[j].first] = std::min(a, hw);
        }
    }
    parallel_for(n_trials, threads, [&](std::size_t begin, std::size_t end) {
        Work work;
        work.sel.resize(seasons_.size());
        for (std::size_t t = begin; t < end; ++t) {
            Xoshiro rng(seeds[t]);
            for (std::size_t j = 0; j < seasons_.size(); ++j) {
                const auto& s = seasons_[j];
                auto& sel = work.sel[j];
                sel.clear();
                sel.n_total = s.n_total;
                const auto& am = amax[j];
                for (std::size_t i = bands[j].first; i < bands[j].second; ++i) {
                    const double dra = kPi * rng.uniform();  // |RA - RA_src| of the scrambled event
                    if (!(dra <= am[i - bands[j].first]) || (hw < kPi && !(dra < hw))) continue;
                    const double cpsi = ss * s.sin_dec[i] + cs * s.cos_dec[i] * std::cos(dra);
                    if (cpsi < s.cos_r[i]) continue;
                    sel.w.push_back(spatial_pdf_cos(cpsi, s.sigma[i]) * s.inv_b[i]);
                    sel.ebin.push_back(s.ebin[i]);
                    sel.efrac.push_back(s.efrac[i]);
                }
            }
            add_injected(ra, dec, inj, t, work);
            out[t] = maximise(cls, work);
        }
    });
}

void PsModel::scan(const double* ra, const double* dec, const std::int32_t* cls, std::size_t n, PsFitResult* out,
                   int threads) const {
    const std::size_t ns = seasons_.size();
    parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
        Work work;
        for (std::size_t p = begin; p < end; ++p) {
            select_fixed(ra[p], dec[p], work);
            out[p] = maximise(cls + p * ns, work);
        }
    });
}

}  // namespace icecore
