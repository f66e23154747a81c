// Point-source likelihood ratio: selection, profile likelihood in ns, gamma maximisation.
#include "icecore/ps_llh.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "icecore/optimize.hpp"
#include "icecore/parallel.hpp"
#include "icecore/random.hpp"

namespace icecore {

namespace {

constexpr double kPi = 3.14159265358979323846;

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

// |a - b| folded into [0, pi] (difference of two right ascensions)
inline double wrap_abs_dra(double a, double b) {
    double d = std::fabs(a - b);
    d = std::fmod(d, 2.0 * kPi);
    return d >= kPi ? 2.0 * kPi - d : d;
}

}  // namespace

void PsSeason::validate_events() const {
    const std::size_t n = dec.size();
    if (ra.size() != n || sin_dec.size() != n || cos_dec.size() != n || sigma.size() != n || inv_b.size() != n ||
        efrac.size() != n || ebin.size() != n || cos_r.size() != n)
        throw std::invalid_argument("PsSeason: event arrays differ in length");
    if (!(n_total >= static_cast<double>(n))) throw std::invalid_argument("PsSeason: n_total < stored events");
    for (std::size_t i = 0; i < n; ++i) {
        if (ebin[i] < 0 || static_cast<std::size_t>(ebin[i]) + 1 >= n_e)
            throw std::invalid_argument("PsSeason: event energy bin out of range");
        if (i && dec[i] < dec[i - 1]) throw std::invalid_argument("PsSeason: events not sorted by dec");
    }
}

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
    if (!(settings_.coarse_step > 0)) throw std::invalid_argument("PsModel: coarse_step must be > 0");
    if (!(settings_.gamma_tol > 0)) throw std::invalid_argument("PsModel: gamma_tol must be > 0");
    for (auto& s : seasons_) {
        s.validate_events();
        const std::size_t n = s.dec.size();
        if (s.n_class == 0 || s.n_e < 2 || s.etable.size() != s.n_class * settings_.n_gamma_grid * s.n_e)
            throw std::invalid_argument("PsModel: energy table has the wrong size");
        if (s.acc_x_lo.size() != s.acc_x_hi.size() || s.acc.size() != s.n_class * s.acc_x_lo.size())
            throw std::invalid_argument("PsModel: acceptance table has the wrong size");
        s.ux.resize(n);
        s.uy.resize(n);
        s.uz.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            s.ux[i] = s.cos_dec[i] * std::cos(s.ra[i]);
            s.uy[i] = s.cos_dec[i] * std::sin(s.ra[i]);
            s.uz[i] = s.sin_dec[i];
        }
        build_strips(s);
    }
}

namespace {
constexpr std::size_t kStripEvents = 128;  // events per selection strip (a multiple of 64: bit masks)
constexpr double kWindowMargin = 1e-9;     // [rad] added to every RA window (the exact checks follow)
constexpr double kWideWindow = 0.5 * kPi;  // RA half-width above which a strip is looped over whole

// index of the lowest set bit of m (m != 0)
inline std::size_t lowest_bit(std::uint64_t m) {
#if defined(__GNUC__) || defined(__clang__)
    return static_cast<std::size_t>(__builtin_ctzll(m));
#else
    std::size_t k = 0;
    while (!(m & 1u)) {
        m >>= 1;
        ++k;
    }
    return k;
#endif
}

inline double ra_0_2pi(double ra) {
    double r = std::fmod(ra, 2.0 * kPi);
    if (r < 0) r += 2.0 * kPi;
    return r < 2.0 * kPi ? r : 0.0;
}
}  // namespace

// Strips of kStripEvents consecutive (dec-sorted) events, each sorted by RA, and the largest
// selection radius of each strip (cos_r > 1: never selected; cos_r <= -1 or NaN: always).
void PsModel::build_strips(PsSeason& s) const {
    const std::size_t n = s.dec.size();
    if (n > static_cast<std::size_t>(std::numeric_limits<std::uint32_t>::max()))
        throw std::invalid_argument("PsSeason: too many events");
    s.strip_begin.clear();
    s.strip_radius.clear();
    s.strip_ra.resize(n);
    s.strip_event.resize(n);
    std::vector<double> ra_n(n);
    for (std::size_t i = 0; i < n; ++i) ra_n[i] = ra_0_2pi(s.ra[i]);
    for (std::size_t b = 0; b < n; b += kStripEvents) {
        const std::size_t e = std::min(n, b + kStripEvents);
        s.strip_begin.push_back(b);
        double rmax = -1.0;
        for (std::size_t i = b; i < e; ++i) {
            s.strip_event[i] = static_cast<std::uint32_t>(i);
            const double cr = s.cos_r[i];
            if (!(cr > -1.0)) {
                rmax = kPi;
            } else if (cr <= 1.0 + 1e-12) {
                rmax = std::max(rmax, std::acos(std::min(cr, 1.0)));
            }
        }
        std::sort(s.strip_event.begin() + static_cast<std::ptrdiff_t>(b),
                  s.strip_event.begin() + static_cast<std::ptrdiff_t>(e), [&](std::uint32_t x, std::uint32_t y) {
                      return ra_n[x] < ra_n[y] || (ra_n[x] == ra_n[y] && x < y);
                  });
        for (std::size_t t = b; t < e; ++t) s.strip_ra[t] = ra_n[s.strip_event[t]];
        s.strip_radius.push_back(rmax);
    }
    s.strip_begin.push_back(n);
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

// Events of every season that contribute at (ra, dec): in the declination band, within their own
// selection radius (cos_r) and, with ra_box, inside the RA box. Only the RA window of each strip
// of the band is visited (see build_strips); the result is the same set as a loop over the whole
// band, in strip order (fit() and scan() both select here, so they sum in the same order).
void PsModel::select_fixed(double ra, double dec, Work& work) const {
    const double cone = settings_.cone_rad;
    const double ss = std::sin(dec), cs = std::cos(dec);
    const double hw = ra_half_width(dec);
    const double sx = cs * std::cos(ra), sy = cs * std::sin(ra), sz = ss;
    const double r0 = ra_0_2pi(ra);
    const double pole_gap = 0.5 * kPi - std::fabs(dec);  // a cap of radius >= this contains a pole
    work.sel.resize(seasons_.size());
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        auto& out = work.sel[j];
        out.clear();
        out.n_total = s.n_total;
        const auto [b, e] = band(s.dec, dec - cone, dec + cone);
        if (b >= e) continue;
        const std::size_t k0 = b / kStripEvents, k1 = (e - 1) / kStripEvents;
        for (std::size_t k = k0; k <= k1; ++k) {
            const double rad = s.strip_radius[k];
            if (rad < 0) continue;  // no event of the strip can be selected
            // half-width in RA of the cap of radius rad around the position, and of the box
            double w = (rad >= pole_gap || !(cs > 0)) ? kPi : std::asin(std::min(1.0, std::sin(rad) / cs));
            if (hw < kPi) w = std::min(w, hw);
            w += kWindowMargin;
            const std::size_t sb = s.strip_begin[k], se = s.strip_begin[k + 1];
            auto take = [&](std::size_t i) {
                const double cpsi = sx * s.ux[i] + sy * s.uy[i] + sz * s.uz[i];
                if (cpsi < s.cos_r[i]) return;
                if (hw < kPi && !(wrap_abs_dra(s.ra[i], ra) < hw)) return;
                out.w.push_back(spatial_pdf_cos(cpsi, s.sigma[i]) * s.inv_b[i]);
                out.ebin.push_back(s.ebin[i]);
                out.efrac.push_back(s.efrac[i]);
            };
            const std::size_t ib = std::max(sb, b), ie = std::min(se, e);  // the strip's band events
            if (w >= kWideWindow) {  // most of the strip: a plain loop is cheaper than gather + sort
                for (std::size_t i = ib; i < ie; ++i) take(i);
                continue;
            }
            // the window's events, marked in a bit mask of the strip and visited in declination
            // order (the order of a loop over the band, so that the sums, and the fit, are exactly
            // those of that loop)
            std::uint64_t mask[kStripEvents / 64] = {};
            const auto first = s.strip_ra.begin() + static_cast<std::ptrdiff_t>(sb);
            const auto last = s.strip_ra.begin() + static_cast<std::ptrdiff_t>(se);
            auto pos = [&](double x) {
                return static_cast<std::size_t>(std::lower_bound(first, last, x) - s.strip_ra.begin());
            };
            auto mark = [&](std::size_t tb, std::size_t te) {
                for (std::size_t t = tb; t < te; ++t) {
                    const std::size_t u = s.strip_event[t] - sb;
                    mask[u >> 6] |= std::uint64_t{1} << (u & 63u);
                }
            };
            const double lo = r0 - w, hi = r0 + w;
            if (lo < 0) {  // the window wraps through RA 0
                mark(sb, pos(hi));
                mark(pos(lo + 2.0 * kPi), se);
            } else if (hi >= 2.0 * kPi) {
                mark(sb, pos(hi - 2.0 * kPi));
                mark(pos(lo), se);
            } else {
                mark(pos(lo), pos(hi));
            }
            for (std::size_t q = 0; q < kStripEvents / 64; ++q) {
                for (std::uint64_t m = mask[q]; m != 0; m &= m - 1) {
                    const std::size_t i = sb + 64 * q + lowest_bit(m);
                    if (i >= ib && i < ie) take(i);
                }
            }
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

// ------------------------------------------------------------------------------------------
// The fit. maximise() = coarse_scan() over gamma, then refine_gamma() (Brent); at each gamma,
// profile() = the season shares, collect_terms() (S/B of every selected event, Taylor sums) and
// maximise_ns() (safeguarded Newton on d log L / d ns).

// Nearest gamma-grid node i1 (kept one node away from both ends) and the weights of the parabola
// through the nodes i1 - 1, i1, i1 + 1 at gamma.
struct PsModel::GammaNodes {
    long i1 = 1;
    double t = 0.0;  // (gamma - node i1) / step, in [-0.5, 0.5] inside the grid
    double w0 = 0.0, w1 = 1.0, w2 = 0.0;
};

PsModel::GammaNodes PsModel::gamma_nodes(double gamma) const {
    const auto& st = settings_;
    GammaNodes gn;
    const double u = (gamma - st.gamma_grid0) / st.gamma_grid_step;
    const auto ng = static_cast<long>(st.n_gamma_grid);
    gn.i1 = std::clamp(std::lround(u), 1L, ng - 2);
    const double t = u - static_cast<double>(gn.i1);
    gn.t = t;
    gn.w0 = 0.5 * t * t - 0.5 * t;
    gn.w1 = 1.0 - t * t;
    gn.w2 = 0.5 * t * t + 0.5 * t;
    return gn;
}

// log L(ns) at fixed gamma, in three parts: the power sums p1..p4 of the events summed by their
// Taylor series, the coefficients c_i of the events evaluated exactly (in Work::c), and per season
// the events outside the selection (count n_rest_j, coefficient d_j = -f_j / N_j).
struct PsModel::ProfileTerms {
    double p1 = 0.0, p2 = 0.0, p3 = 0.0, p4 = 0.0;
    const std::vector<double>* c = nullptr;
    std::size_t n_season = 0;
    double dj[64];
    double n_rest[64];

    // d log L / d ns at ns; the second derivative goes to h
    double gradient(double ns, double& h) const {
        double g = p1 - ns * p2 + ns * ns * p3 - ns * ns * ns * p4;
        h = -p2 + 2.0 * ns * p3 - 3.0 * ns * ns * p4;
        for (double ci : *c) {
            const double q = ci / (1.0 + ns * ci);
            g += q;
            h -= q * q;
        }
        for (std::size_t j = 0; j < n_season; ++j) {
            const double q = dj[j] / (1.0 + ns * dj[j]);
            g += n_rest[j] * q;
            h -= n_rest[j] * q * q;
        }
        return g;
    }

    double loglike(double ns) const {
        const double nsq = ns * ns;
        double l = ns * p1 - 0.5 * nsq * p2 + nsq * ns * p3 / 3.0 - 0.25 * nsq * nsq * p4;
        for (double ci : *c) l += std::log1p(ns * ci);
        for (std::size_t j = 0; j < n_season; ++j) l += n_rest[j] * std::log1p(ns * dj[j]);
        return l;
    }
};

// Largest ns allowed: ns_max, and ns f_j < N_j in every season (log(1 - n_j / N_j) finite).
double PsModel::ns_upper_bound(const Work& work) const {
    double ns_hi = settings_.ns_max;
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const double fj = work.shares[j];
        if (fj > 0) ns_hi = std::min(ns_hi, 0.999999 * work.sel[j].n_total / fj);
    }
    return ns_hi;
}

// S/B of every selected event at gamma (into Work::x) and the terms of log L(ns).
//
// Events with S/B <= 2 have |ns c_i| <= ns f_j / N_j; where that is <= 0.05 over the whole ns
// range their log(1 + ns c_i) is summed through the Taylor series to 4th order (power sums of
// c_i; truncation error < 0.05^5 / 5 per event). The others are kept for exact evaluation.
void PsModel::collect_terms(const GammaNodes& gn, const std::int32_t* cls, double ns_hi, Work& work,
                            ProfileTerms& terms) const {
    auto& c = work.c;
    c.clear();
    const std::size_t nseason = seasons_.size();
    terms = ProfileTerms{};
    terms.c = &c;
    terms.n_season = nseason;
    const long i1 = gn.i1;
    const bool on_node = std::fabs(gn.t) < 1e-9;
    const double* n0 = on_node ? nullptr : node_values(static_cast<std::size_t>(i1 - 1), cls, work);
    const double* n1 = node_values(static_cast<std::size_t>(i1), cls, work);
    const double* n2 = on_node ? nullptr : node_values(static_cast<std::size_t>(i1 + 1), cls, work);
    // S/B of every selected event at this gamma goes to work.x (the signal energy PDF interpolated
    // in gamma from the node values in the same pass)
    std::size_t ntot = 0;
    for (std::size_t j = 0; j < nseason; ++j) ntot += work.sel[j].w.size();
    work.x.resize(ntot);
    double* xs = work.x.data();
    const double w0 = gn.w0, w1 = gn.w1, w2 = gn.w2;
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
        const double* m1 = n1 + off;
        const double* m0 = on_node ? m1 : n0 + off;
        const double* m2 = on_node ? m1 : n2 + off;
        for (std::size_t i = 0; i < n; ++i) {
            const double sg = on_node ? m1[i] : w0 * m0[i] + w1 * m1[i] + w2 * m2[i];
            const double se = sg < 0 ? 0 : sg;
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
        terms.p1 += q1;
        terms.p2 += q2;
        terms.p3 += q3;
        terms.p4 += q4;
        if (n_exact)
            for (std::size_t i = 0; i < n; ++i)
                if (xj[i] > x_taylor) c.push_back(a * (xj[i] - 1.0));
        off += n;
        terms.dj[j] = -a;
        terms.n_rest[j] = N - static_cast<double>(n);
    }
}

// Maximum of log L(ns) on [0, ns_hi] (log L is concave in ns); ns_io: warm start in, ns out.
double PsModel::maximise_ns(const ProfileTerms& terms, double ns_hi, Work& work, double& ns_io, int& status) const {
    double h0 = 0.0;
    const double g0 = terms.gradient(0.0, h0);
    work.g0 = g0;
    if (!std::isfinite(g0)) {
        status = 3;
        ns_io = 0.0;
        return 0.0;
    }
    if (g0 <= 0.0) {  // maximum at the boundary ns = 0
        ns_io = 0.0;
        return 0.0;
    }
    double h = 0.0;
    if (terms.gradient(ns_hi, h) >= 0.0) {  // maximum at the upper bound
        ns_io = ns_hi;
        status = 1;
        return terms.loglike(ns_hi);
    }
    const double lo = 0.0, hi = ns_hi;
    double x = ns_io;
    if (!(x > lo && x < hi)) x = std::min(0.5 * hi, h0 < 0 ? g0 / -h0 : 0.5 * hi);
    const Root1D root = safeguarded_newton([&](double ns, double& dg) { return terms.gradient(ns, dg); }, lo, hi, x);
    work.n_newton += root.n_iter;
    x = root.x;
    ns_io = x;
    const double l = terms.loglike(x);
    if (!std::isfinite(l)) {
        status = 3;
        return 0.0;
    }
    return l;
}

// Profile log-likelihood ratio max_ns log L(ns, gamma); ns_io: warm start in, fitted ns out.
double PsModel::profile(double gamma, const std::int32_t* cls, Work& work, double& ns_io, int& status) const {
    ++work.n_eval;
    season_shares(gamma, cls, work.shares);
    const GammaNodes gn = gamma_nodes(gamma);
    const double ns_hi = ns_upper_bound(work);
    ProfileTerms terms;
    collect_terms(gn, cls, ns_hi, work, terms);
    return maximise_ns(terms, ns_hi, work, ns_io, status);
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

// Best point of the coarse scan (and, after refine_gamma, of the whole fit).
struct PsModel::CoarseBest {
    std::size_t n_coarse = 1;
    double span = 0.0;  // gamma_max - gamma_min
    double l = -1.0, gamma = 0.0, ns = 0.0;
    int status = 0;
    std::size_t k = 0;          // index of the best coarse point
    double gamma_at_best_g0 = 0.0;  // where d log L / d ns at 0 is largest (reported when TS = 0)
};

// Profile likelihood at n_coarse evenly spaced gammas over [gamma_min, gamma_max]; false when a
// likelihood is not finite.
bool PsModel::coarse_scan(const std::int32_t* cls, Work& work, CoarseBest& best) const {
    const auto& st = settings_;
    best.span = st.gamma_max - st.gamma_min;
    const double span = best.span;
    best.n_coarse = span > 0 ? static_cast<std::size_t>(std::ceil(span / st.coarse_step - 1e-9)) + 1 : std::size_t{1};
    const std::size_t ncoarse = best.n_coarse;
    best.l = -1.0;
    best.gamma = st.gamma_min;
    best.ns = 0.0;
    best.status = 0;
    best.k = 0;
    best.gamma_at_best_g0 = st.gamma_min;
    double best_g0 = -std::numeric_limits<double>::infinity();
    double ns_warm = 0.0;
    for (std::size_t k = 0; k < ncoarse; ++k) {
        const double g = ncoarse > 1 ? st.gamma_min + span * static_cast<double>(k) / static_cast<double>(ncoarse - 1)
                                     : st.gamma_min;
        int status = 0;
        const double l = profile(g, cls, work, ns_warm, status);
        if (status == 3) return false;
        if (work.g0 > best_g0) {
            best_g0 = work.g0;
            best.gamma_at_best_g0 = g;
        }
        if (l > best.l) {
            best.l = l;
            best.gamma = g;
            best.ns = ns_warm;
            best.k = k;
            best.status = status;
        }
    }
    return true;
}

// Brent's method on -log L within the two coarse cells around the best coarse point; false when a
// likelihood is not finite.
bool PsModel::refine_gamma(const std::int32_t* cls, Work& work, CoarseBest& best) const {
    const auto& st = settings_;
    const std::size_t ncoarse = best.n_coarse;
    const double step = best.span / static_cast<double>(ncoarse - 1);
    const double a = std::max(st.gamma_min, best.gamma - (best.k > 0 ? step : 0.0));
    const double b = std::min(st.gamma_max, best.gamma + (best.k + 1 < ncoarse ? step : 0.0));
    // ns and status at Brent's current point: each profile starts from the ns found there
    double ns_x = best.ns;
    int status_x = best.status;
    double f_x = -best.l;
    auto objective = [&](double u) -> std::optional<double> {
        double ns_u = ns_x;
        int status_u = 0;
        const double fu = -profile(u, cls, work, ns_u, status_u);
        if (status_u == 3) return std::nullopt;
        if (fu <= f_x) {  // brent_minimise moves its point to u exactly when fu <= f(x)
            f_x = fu;
            ns_x = ns_u;
            status_x = status_u;
        }
        return fu;
    };
    const Minimum1D m = brent_minimise(objective, a, b, best.gamma, -best.l, st.gamma_tol);
    if (m.stopped) return false;
    if (-m.fx > best.l) {
        best.l = -m.fx;
        best.gamma = m.x;
        best.ns = ns_x;
        best.status = status_x;
    }
    return true;
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
    CoarseBest best;
    if (!coarse_scan(cls, work, best)) {
        res.status = 3;
        return res;
    }
    if (best.l <= 0.0) {  // no signal-like fluctuation at any gamma
        res.ts = 0.0;
        res.ns = 0.0;
        res.gamma = best.gamma_at_best_g0;
        res.status = nsel == 0 ? 2 : 0;
        return res;
    }
    if (best.n_coarse > 1 && !refine_gamma(cls, work, best)) {
        res.status = 3;
        return res;
    }
    res.n_eval = work.n_eval * 1000 + std::min(work.n_newton, 999);
    res.ts = 2.0 * best.l;
    res.ns = best.ns;
    res.gamma = best.gamma;
    res.status = best.status;
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
    const std::size_t G = settings_.n_gamma_grid;
    const GammaNodes gn = gamma_nodes(gamma);
    const double wk[3] = {gn.w0, gn.w1, gn.w2};
    double l = 0.0;
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        const auto& sel = work.sel[j];
        const double a = work.shares[j] / sel.n_total;
        const double* tab =
            s.etable.data() + (static_cast<std::size_t>(cls[j]) * G + static_cast<std::size_t>(gn.i1 - 1)) * s.n_e;
        for (std::size_t i = 0; i < sel.w.size(); ++i) {
            const auto k = static_cast<std::size_t>(sel.ebin[i]);
            const double fr = sel.efrac[i];
            double se = 0.0;
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

// Per trial position: the declination band of each season and, per band event, the largest
// |RA - RA_src| at which it is still selected (its radius r_i, and the RA box).
struct PsModel::ScramblePlan {
    double sin_dec = 0.0, cos_dec = 1.0, half_width = 0.0;
    std::vector<std::pair<std::size_t, std::size_t>> bands;
    std::vector<std::vector<double>> amax;
};

PsModel::ScramblePlan PsModel::scramble_plan(double dec) const {
    const double cone = settings_.cone_rad;
    ScramblePlan plan;
    const double ss = std::sin(dec), cs = std::cos(dec);
    const double hw = ra_half_width(dec);
    plan.sin_dec = ss;
    plan.cos_dec = cs;
    plan.half_width = hw;
    plan.bands.resize(seasons_.size());
    plan.amax.resize(seasons_.size());
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        plan.bands[j] = band(s.dec, dec - cone, dec + cone);
        const auto [b, e] = plan.bands[j];
        auto& am = plan.amax[j];
        am.resize(e - b);
        for (std::size_t i = b; i < e; ++i) {
            const double den = cs * s.cos_dec[i];
            const double cos_r = s.cos_r[i];
            double a;
            if (den <= 1e-300) {
                a = (ss * s.sin_dec[i] >= cos_r) ? kPi : -1.0;
            } else {
                const double q = (cos_r - ss * s.sin_dec[i]) / den;
                a = q <= -1.0 ? kPi : (q >= 1.0 ? (q == 1.0 ? 0.0 : -1.0) : std::acos(q));
            }
            am[i - b] = std::min(a, hw);
        }
    }
    return plan;
}

// Selection of one trial: every band event gets a uniform |RA - RA_src| from one xoshiro256**
// stream seeded with `seed` (seasons in order, events in declination order).
void PsModel::select_scrambled(const ScramblePlan& plan, std::uint64_t seed, Work& work) const {
    const double ss = plan.sin_dec, cs = plan.cos_dec, hw = plan.half_width;
    Xoshiro256 rng(seed);
    for (std::size_t j = 0; j < seasons_.size(); ++j) {
        const auto& s = seasons_[j];
        auto& sel = work.sel[j];
        sel.clear();
        sel.n_total = s.n_total;
        const auto& am = plan.amax[j];
        const auto [b, e] = plan.bands[j];
        for (std::size_t i = b; i < e; ++i) {
            const double dra = kPi * rng.uniform();  // |RA - RA_src| of the scrambled event
            if (!(dra <= am[i - b]) || (hw < kPi && !(dra < hw))) continue;
            const double cpsi = ss * s.sin_dec[i] + cs * s.cos_dec[i] * std::cos(dra);
            if (cpsi < s.cos_r[i]) continue;
            sel.w.push_back(spatial_pdf_cos(cpsi, s.sigma[i]) * s.inv_b[i]);
            sel.ebin.push_back(s.ebin[i]);
            sel.efrac.push_back(s.efrac[i]);
        }
    }
}

void PsModel::trials(double ra, double dec, const std::int32_t* cls, const std::uint64_t* seeds, std::size_t n_trials,
                     const PsInjected& inj, PsFitResult* out, int threads) const {
    const ScramblePlan plan = scramble_plan(dec);
    parallel_for(n_trials, threads, [&](std::size_t begin, std::size_t end) {
        Work work;
        work.sel.resize(seasons_.size());
        for (std::size_t t = begin; t < end; ++t) {
            select_scrambled(plan, seeds[t], work);
            add_injected(ra, dec, inj, t, work);
            out[t] = maximise(cls, work);
        }
    });
}

void PsModel::scan(const double* ra, const double* dec, const std::int32_t* cls, std::size_t n, PsFitResult* out,
                   int threads) const {
    const std::size_t ns = seasons_.size();
    // dynamic chunks: the cost per position varies ~4x over the sky (more events in the north),
    // so contiguous halves of a RING-ordered map would leave one thread idle; results do not
    // depend on the chunking (each position is fitted from scratch)
    parallel_for_dynamic(n, threads, 16, [&](std::size_t begin, std::size_t end) {
        Work work;
        for (std::size_t p = begin; p < end; ++p) {
            select_fixed(ra[p], dec[p], work);
            out[p] = maximise(cls + p * ns, work);
        }
    });
}

}  // namespace icecore
