// Bicubic Hermite tables of ln cp and ln S (see pandel_table.hpp for the grid and error bound).
#include "icecore/pandel_table.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "icecore/parallel.hpp"

namespace icecore {

namespace {

// Cubic Hermite basis on [0, 1]: h0[k] for the value at end k, h1[k] for the derivative at end k,
// and their first derivatives (all the gradient path needs).
struct Basis2 {
    double h0[2], h1[2], d0[2], d1[2];
    explicit Basis2(double a) {
        const double b = 1.0 - a;
        h0[0] = (1.0 + 2.0 * a) * b * b;
        h0[1] = a * a * (3.0 - 2.0 * a);
        h1[0] = a * b * b;
        h1[1] = -a * a * b;
        d0[0] = -6.0 * a * b;
        d0[1] = 6.0 * a * b;
        d1[0] = b * (1.0 - 3.0 * a);
        d1[1] = a * (3.0 * a - 2.0);
    }
};

// Basis2 with the second derivatives (the Hessian path).
struct Basis : Basis2 {
    double e0[2], e1[2];
    explicit Basis(double a) : Basis2(a) {
        e0[0] = 12.0 * a - 6.0;
        e0[1] = 6.0 - 12.0 * a;
        e1[0] = 6.0 * a - 4.0;
        e1[1] = 6.0 * a - 2.0;
    }
};

// Bicubic Hermite value and its (a, b) partials from the node data (q, q_x, q_y, q_xy) at the
// cell corners q{di}{dj}, evaluated separably: first along b at both a-ends (the value and the
// x-derivative there, and their b-derivatives), then along a. The same polynomial as the
// tensor-product weights of Basis (equal up to rounding), ~40 % of the multiplications.
inline void hermite2(const double* q00, const double* q01, const double* q10, const double* q11, const Basis2& ba,
                     const Basis2& bb, double& v, double& va, double& vb) {
    const double a00 = bb.h0[0] * q00[0] + bb.h1[0] * q00[2] + bb.h0[1] * q01[0] + bb.h1[1] * q01[2];
    const double a01 = bb.h0[0] * q00[1] + bb.h1[0] * q00[3] + bb.h0[1] * q01[1] + bb.h1[1] * q01[3];
    const double a10 = bb.h0[0] * q10[0] + bb.h1[0] * q10[2] + bb.h0[1] * q11[0] + bb.h1[1] * q11[2];
    const double a11 = bb.h0[0] * q10[1] + bb.h1[0] * q10[3] + bb.h0[1] * q11[1] + bb.h1[1] * q11[3];
    const double b00 = bb.d0[0] * q00[0] + bb.d1[0] * q00[2] + bb.d0[1] * q01[0] + bb.d1[1] * q01[2];
    const double b01 = bb.d0[0] * q00[1] + bb.d1[0] * q00[3] + bb.d0[1] * q01[1] + bb.d1[1] * q01[3];
    const double b10 = bb.d0[0] * q10[0] + bb.d1[0] * q10[2] + bb.d0[1] * q11[0] + bb.d1[1] * q11[2];
    const double b11 = bb.d0[0] * q10[1] + bb.d1[0] * q10[3] + bb.d0[1] * q11[1] + bb.d1[1] * q11[3];
    v = ba.h0[0] * a00 + ba.h1[0] * a01 + ba.h0[1] * a10 + ba.h1[1] * a11;
    va = ba.d0[0] * a00 + ba.d1[0] * a01 + ba.d0[1] * a10 + ba.d1[1] * a11;
    vb = ba.h0[0] * b00 + ba.h1[0] * b01 + ba.h0[1] * b10 + ba.h1[1] * b11;
}

constexpr double kCrossStep = 1e-4;  // central-difference step in y for f_xy

}  // namespace

PandelTable::PandelTable(double rho, double sigma) : rho_(rho), sigma_(sigma), inv_sigma_(1.0 / sigma) {
    if (!(rho > 0.0) || !std::isfinite(rho) || !(sigma > 0.0) || !std::isfinite(sigma))
        throw std::invalid_argument("PandelTable: rho and sigma must be finite and > 0");
    x0_ = std::asinh(-kTMinSigma);
    const double x1 = std::asinh(kTMax / sigma);
    y0_ = std::log(kNuMin);
    const double y1 = std::log(kNuMax);
    nx_ = static_cast<int>(std::ceil((x1 - x0_) / kStepX)) + 1;
    ny_ = static_cast<int>(std::ceil((y1 - y0_) / kStepY)) + 1;
    nodes_.resize(static_cast<std::size_t>(nx_) * static_cast<std::size_t>(ny_));
    const std::size_t total = nodes_.size();
    parallel_for(total, 2, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t k = lo; k < hi; ++k) {
            const int i = static_cast<int>(k / static_cast<std::size_t>(ny_));
            const int j = static_cast<int>(k % static_cast<std::size_t>(ny_));
            const double x = x0_ + kStepX * i, y = y0_ + kStepY * j;
            const double t = sigma_ * std::sinh(x), dtdx = sigma_ * std::cosh(x);
            const double nu = std::exp(y);
            const double nup = std::exp(y + kCrossStep), num = std::exp(y - kCrossStep);
            Node& nd = nodes_[k];
            const LogGrad p = icecore::cpandel_log_pdf(t, nu, rho_, sigma_);
            const LogGrad pp = icecore::cpandel_log_pdf(t, nup, rho_, sigma_);
            const LogGrad pm = icecore::cpandel_log_pdf(t, num, rho_, sigma_);
            nd.f[0] = p.value;
            nd.f[1] = p.d_t * dtdx * kStepX;
            nd.f[2] = p.d_nu * nu * kStepY;
            nd.f[3] = (pp.d_t - pm.d_t) * dtdx / (2.0 * kCrossStep) * kStepX * kStepY;
            const LogGrad s = icecore::cpandel_log_sf(t, nu, rho_, sigma_);
            const LogGrad sp = icecore::cpandel_log_sf(t, nup, rho_, sigma_);
            const LogGrad sm = icecore::cpandel_log_sf(t, num, rho_, sigma_);
            nd.s[0] = s.value;
            nd.s[1] = s.d_t * dtdx * kStepX;
            nd.s[2] = s.d_nu * nu * kStepY;
            nd.s[3] = (sp.d_t - sm.d_t) * dtdx / (2.0 * kCrossStep) * kStepX * kStepY;
        }
    });
    for (const Node& nd : nodes_)
        for (int q = 0; q < 4; ++q)
            if (!std::isfinite(nd.f[q]) || !std::isfinite(nd.s[q]))
                throw std::runtime_error("PandelTable: non-finite exact value at a node");
}

SoftplusTable::SoftplusTable() {
    const int nk = static_cast<int>(kZMax) * kPerUnit;  // last node at z = kZMax
    node_.assign(2 * static_cast<std::size_t>(nk + 2), 0.0);  // (and a zero node after it)
    const double h = 1.0 / kPerUnit;
    for (int k = 0; k < nk; ++k) {
        const double z = k * h;
        node_[2 * static_cast<std::size_t>(k)] = std::log1p(std::exp(-z));
        node_[2 * static_cast<std::size_t>(k) + 1] = -h / (1.0 + std::exp(z));  // h sp'(z)
    }
}

const SoftplusTable& SoftplusTable::instance() {
    static const SoftplusTable table;
    return table;
}

std::shared_ptr<const PandelTable> PandelTable::shared(double rho, double sigma) {
    static std::mutex mu;
    static std::map<std::pair<double, double>, std::shared_ptr<const PandelTable>> cache;
    std::lock_guard<std::mutex> lock(mu);
    const auto key = std::make_pair(rho, sigma);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() >= 8) cache.erase(cache.begin());  // bounded: a few ice models / jitters
    auto table = std::make_shared<const PandelTable>(rho, sigma);
    cache.emplace(key, table);
    return table;
}

template <bool WithSf, bool WithHess>
bool PandelTable::interpolate(double t, double nu, LogGrad& log_pdf, LogGrad& log_sf, double* hess_pdf,
                              double* hess_sf) const {
    Cell c;
    if (!locate(t, nu, c)) return false;
    const double u = c.u, r = c.r;
    if constexpr (!WithHess) {
        const Node* n0 = &nodes_[c.index];
        const Node* n1 = n0 + ny_;
        const Basis2 ba(c.a), bb(c.b);
        const double dadt = inv_sigma_ / (kStepX * r);
        const double dbdnu = 1.0 / (kStepY * nu);
        double v, va, vb;
        hermite2(n0[0].f, n0[1].f, n1[0].f, n1[1].f, ba, bb, v, va, vb);
        log_pdf = {v, vb * dbdnu, va * dadt};
        if (WithSf) {
            hermite2(n0[0].s, n0[1].s, n1[0].s, n1[1].s, ba, bb, v, va, vb);
            log_sf = {v, vb * dbdnu, va * dadt};
        }
        return true;
    }
    const Basis ba(c.a), bb(c.b);
    double pv = 0.0, pa = 0.0, pb = 0.0, sv = 0.0, sa = 0.0, sb = 0.0;
    double paa = 0.0, pab = 0.0, pbb = 0.0, saa = 0.0, sab = 0.0, sbb = 0.0;
    for (int di = 0; di < 2; ++di) {
        for (int dj = 0; dj < 2; ++dj) {
            const Node& nd = nodes_[c.index + static_cast<std::size_t>(di) * static_cast<std::size_t>(ny_) +
                                    static_cast<std::size_t>(dj)];
            // weights of (f, f_x, f_y, f_xy) for the value and its a- and b-derivatives
            const double w0 = ba.h0[di] * bb.h0[dj], w1 = ba.h1[di] * bb.h0[dj];
            const double w2 = ba.h0[di] * bb.h1[dj], w3 = ba.h1[di] * bb.h1[dj];
            const double a0 = ba.d0[di] * bb.h0[dj], a1 = ba.d1[di] * bb.h0[dj];
            const double a2 = ba.d0[di] * bb.h1[dj], a3 = ba.d1[di] * bb.h1[dj];
            const double b0 = ba.h0[di] * bb.d0[dj], b1 = ba.h1[di] * bb.d0[dj];
            const double b2 = ba.h0[di] * bb.d1[dj], b3 = ba.h1[di] * bb.d1[dj];
            pv += w0 * nd.f[0] + w1 * nd.f[1] + w2 * nd.f[2] + w3 * nd.f[3];
            pa += a0 * nd.f[0] + a1 * nd.f[1] + a2 * nd.f[2] + a3 * nd.f[3];
            pb += b0 * nd.f[0] + b1 * nd.f[1] + b2 * nd.f[2] + b3 * nd.f[3];
            if (WithSf) {
                sv += w0 * nd.s[0] + w1 * nd.s[1] + w2 * nd.s[2] + w3 * nd.s[3];
                sa += a0 * nd.s[0] + a1 * nd.s[1] + a2 * nd.s[2] + a3 * nd.s[3];
                sb += b0 * nd.s[0] + b1 * nd.s[1] + b2 * nd.s[2] + b3 * nd.s[3];
            }
            if (WithHess) {
                const double c0 = ba.e0[di] * bb.h0[dj], c1 = ba.e1[di] * bb.h0[dj];
                const double c2 = ba.e0[di] * bb.h1[dj], c3 = ba.e1[di] * bb.h1[dj];
                const double m0 = ba.d0[di] * bb.d0[dj], m1 = ba.d1[di] * bb.d0[dj];
                const double m2 = ba.d0[di] * bb.d1[dj], m3 = ba.d1[di] * bb.d1[dj];
                const double q0 = ba.h0[di] * bb.e0[dj], q1 = ba.h1[di] * bb.e0[dj];
                const double q2 = ba.h0[di] * bb.e1[dj], q3 = ba.h1[di] * bb.e1[dj];
                paa += c0 * nd.f[0] + c1 * nd.f[1] + c2 * nd.f[2] + c3 * nd.f[3];
                pab += m0 * nd.f[0] + m1 * nd.f[1] + m2 * nd.f[2] + m3 * nd.f[3];
                pbb += q0 * nd.f[0] + q1 * nd.f[1] + q2 * nd.f[2] + q3 * nd.f[3];
                if (WithSf) {
                    saa += c0 * nd.s[0] + c1 * nd.s[1] + c2 * nd.s[2] + c3 * nd.s[3];
                    sab += m0 * nd.s[0] + m1 * nd.s[1] + m2 * nd.s[2] + m3 * nd.s[3];
                    sbb += q0 * nd.s[0] + q1 * nd.s[1] + q2 * nd.s[2] + q3 * nd.s[3];
                }
            }
        }
    }
    const double dadt = inv_sigma_ / (kStepX * r);
    const double dbdnu = 1.0 / (kStepY * nu);
    log_pdf = {pv, pb * dbdnu, pa * dadt};
    if (WithSf) log_sf = {sv, sb * dbdnu, sa * dadt};
    if (WithHess) {
        // a = (asinh(t / sigma) - x0) / hx: d2a/dt2 = -u / (sigma^2 hx r^3); b = (ln nu - y0) / hy:
        // d2b/dnu2 = -1 / (hy nu^2). Order (nu nu, nu t, t t).
        const double d2adt2 = -u * dadt * inv_sigma_ / (r * r);
        const double d2bdnu2 = -dbdnu / nu;
        hess_pdf[0] = pbb * dbdnu * dbdnu + pb * d2bdnu2;
        hess_pdf[1] = pab * dadt * dbdnu;
        hess_pdf[2] = paa * dadt * dadt + pa * d2adt2;
        if (WithSf) {
            hess_sf[0] = sbb * dbdnu * dbdnu + sb * d2bdnu2;
            hess_sf[1] = sab * dadt * dbdnu;
            hess_sf[2] = saa * dadt * dadt + sa * d2adt2;
        }
    }
    return true;
}

bool PandelTable::interpolate_mix(double t, double nu, double m, LogGrad& out) const {
    Cell cell;
    if (!locate(t, nu, cell)) return false;
    const double r = cell.r;
    const Node* n0 = &nodes_[cell.index];
    const Node* n1 = n0 + ny_;
    // ln cp + m ln S is linear in the node data: mix the corners first, interpolate once
    double g[4][4];
    const Node* corner[4] = {n0, n0 + 1, n1, n1 + 1};
    for (int c = 0; c < 4; ++c)
        for (int k = 0; k < 4; ++k) g[c][k] = corner[c]->f[k] + m * corner[c]->s[k];
    const Basis2 ba(cell.a), bb(cell.b);
    double v, va, vb;
    hermite2(g[0], g[1], g[2], g[3], ba, bb, v, va, vb);
    const double dadt = inv_sigma_ / (kStepX * r), dbdnu = 1.0 / (kStepY * nu);
    out = {v, vb * dbdnu, va * dadt};
    return true;
}

void PandelTable::log_pdf_sf_batch(std::size_t n, const double* t, const double* nu, const double* m,
                                   LogGrad* out) const {
    constexpr std::size_t kBlock = 32;  // 32 x 4 cache lines = 8 kB: stays in L1 until used
    std::size_t cell[kBlock];
    double fa[kBlock], fb[kBlock], rr[kBlock];
    bool in[kBlock];
    const std::size_t ny = static_cast<std::size_t>(ny_);
    for (std::size_t k0 = 0; k0 < n; k0 += kBlock) {
        const std::size_t nb = std::min(kBlock, n - k0);
        for (std::size_t q = 0; q < nb; ++q) {  // locate (the same arithmetic as interpolate_mix)
            Cell c;
            in[q] = locate(t[k0 + q], nu[k0 + q], c);
            if (!in[q]) continue;
            cell[q] = c.index;
            fa[q] = c.a;
            fb[q] = c.b;
            rr[q] = c.r;
            const Node* n0 = &nodes_[cell[q]];
            __builtin_prefetch(n0);
            __builtin_prefetch(n0 + 1);
            __builtin_prefetch(n0 + ny);
            __builtin_prefetch(n0 + ny + 1);
        }
        for (std::size_t q = 0; q < nb; ++q) {
            const std::size_t k = k0 + q;
            const double mk = m[k];
            if (!in[q]) {
                out[k] = log_pdf_sf(t[k], nu[k], mk);  // exact fallback
                continue;
            }
            const Node* n0 = &nodes_[cell[q]];
            const Node* n1 = n0 + ny;
            const Basis2 ba(fa[q]), bb(fb[q]);
            double v, va, vb;
            if (mk > 0.0) {
                double g[4][4];
                const Node* corner[4] = {n0, n0 + 1, n1, n1 + 1};
                for (int c = 0; c < 4; ++c)
                    for (int h = 0; h < 4; ++h) g[c][h] = corner[c]->f[h] + mk * corner[c]->s[h];
                hermite2(g[0], g[1], g[2], g[3], ba, bb, v, va, vb);
            } else {
                hermite2(n0[0].f, n0[1].f, n1[0].f, n1[1].f, ba, bb, v, va, vb);
            }
            const double dadt = inv_sigma_ / (kStepX * rr[q]), dbdnu = 1.0 / (kStepY * nu[k]);
            out[k] = {v, vb * dbdnu, va * dadt};
        }
    }
}

LogHess PandelTable::exact_hess(double t, double nu, double m) const {
    // outside the table: exact value and partials, forward differences of the exact partials
    auto term = [&](double tt, double nn) -> LogGrad {
        if (m > 0.0) {
            const LogGrad e = icecore::mpe_log_pdf(tt, nn, rho_, sigma_, m + 1.0);
            return {e.value - std::log(m + 1.0), e.d_nu, e.d_t};
        }
        return icecore::cpandel_log_pdf(tt, nn, rho_, sigma_);
    };
    const LogGrad c = term(t, nu);
    const double ht = 1e-4 * std::max(sigma_, std::fabs(t)), hn = 1e-4 * nu;
    const LogGrad pt = term(t + ht, nu), pn = term(t, nu + hn);
    LogHess h{c.value, c.d_nu, c.d_t, (pn.d_nu - c.d_nu) / hn,
              0.5 * ((pt.d_nu - c.d_nu) / ht + (pn.d_t - c.d_t) / hn), (pt.d_t - c.d_t) / ht};
    if (!std::isfinite(h.d_nunu) || !std::isfinite(h.d_nut) || !std::isfinite(h.d_tt)) h.d_nunu = h.d_nut = h.d_tt = 0.0;
    return h;
}

LogHess PandelTable::log_pdf_sf_hess(double t, double nu, double m) const {
    LogGrad p{}, s{};
    double hp[3], hs[3];
    // value and gradient from log_pdf_sf (bit-identical to the gradient-only path), the second
    // partials from the tensor-product evaluation
    if (m > 0.0) {
        if (!interpolate<true, true>(t, nu, p, s, hp, hs)) return exact_hess(t, nu, m);
        const LogGrad v = log_pdf_sf(t, nu, m);
        return {v.value, v.d_nu, v.d_t, hp[0] + m * hs[0], hp[1] + m * hs[1], hp[2] + m * hs[2]};
    }
    if (!interpolate<false, true>(t, nu, p, s, hp, hs)) return exact_hess(t, nu, m);
    const LogGrad v = log_pdf_sf(t, nu, m);
    return {v.value, v.d_nu, v.d_t, hp[0], hp[1], hp[2]};
}

bool PandelTable::lookup(double t, double nu, LogGrad& log_pdf, LogGrad& log_sf) const {
    return interpolate<true>(t, nu, log_pdf, log_sf);
}

LogGrad PandelTable::log_pdf_sf(double t, double nu, double m) const {
    LogGrad p{}, s{};
    if (m > 0.0) {
        if (!interpolate_mix(t, nu, m, p)) {
            const LogGrad e = icecore::mpe_log_pdf(t, nu, rho_, sigma_, m + 1.0);
            return {e.value - std::log(m + 1.0), e.d_nu, e.d_t};
        }
        return p;
    }
    if (!interpolate<false>(t, nu, p, s)) return icecore::cpandel_log_pdf(t, nu, rho_, sigma_);
    return p;
}

LogGrad PandelTable::mpe_log_pdf(double t, double nu, double n) const {
    LogGrad p{}, s{};
    if (!lookup(t, nu, p, s)) return icecore::mpe_log_pdf(t, nu, rho_, sigma_, n);
    if (!(n > 1.0)) return {p.value + std::log(n), p.d_nu, p.d_t};
    const double m = n - 1.0;
    return {std::log(n) + p.value + m * s.value, p.d_nu + m * s.d_nu, p.d_t + m * s.d_t};
}

LogGrad PandelTable::cpandel_log_pdf(double t, double nu) const {
    LogGrad p{}, s{};
    if (!lookup(t, nu, p, s)) return icecore::cpandel_log_pdf(t, nu, rho_, sigma_);
    return p;
}

}  // namespace icecore
