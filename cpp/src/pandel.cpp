// Pandel / convolved Pandel / MPE distributions in logs with analytic partial derivatives.
// See pandel.hpp for the formulas. All series carry a forward-mode dual number
// (value, d/dnu, d/dt; special.hpp) so that the gradients are exact derivatives of the values
// computed. The special functions themselves (Q(a, x), D_{-nu}) live in special.cpp.
#include "icecore/pandel.hpp"

#include <cmath>
#include <limits>

#include "icecore/special.hpp"

namespace icecore {

namespace {

using special::Dual;
using special::cst;
using special::digamma;

constexpr double kLnSqrt2Pi = 0.91893853320467274178;  // ln sqrt(2 pi)
constexpr double kInf = std::numeric_limits<double>::infinity();

inline LogGrad to_loggrad(Dual x) { return {x.v, x.a, x.b}; }

bool valid(double t, double nu, double rho) {
    return std::isfinite(t) && nu > 0.0 && std::isfinite(nu) && rho > 0.0 && std::isfinite(rho);
}

constexpr LogGrad kNaN{std::numeric_limits<double>::quiet_NaN(), 0.0, 0.0};

// Survival function of the convolved Pandel, dual in (nu, t).
Dual log_cpandel_sf(double t, double nu_v, double rho, double sigma, Dual lgnu, const Dual* g_nu = nullptr,
                    const Dual* g_nu1 = nullptr) {
    const double beta = rho * sigma;
    const double tau = t / sigma;
    const double w = tau - beta;
    const Dual nu{nu_v, 1.0, 0.0};
    if (w >= 7.0) {
        // S = e^{-b^2/2} sum_k (b^2/2)^k / k! Q(nu - 2k, x), x = rho (t - rho sigma^2)
        const Dual x{rho * (t - rho * sigma * sigma), 0.0, rho};
        Dual q = special::gamma_q(nu, x, lgnu);
        Dual g = special::exp((nu - 1.0) * special::log(x) - x - lgnu);  // x^(a-1) e^-x / Gamma(a), a = nu
        Dual a = nu;
        const double c = 0.5 * beta * beta;
        double ck = 1.0;
        Dual sum = q;
        double prev = std::fabs(q.v);
        bool ok = false;
        for (int k = 1; k < 60; ++k) {
            for (int s = 0; s < 2; ++s) {  // Q(a-1) = Q(a) - x^(a-1) e^-x / Gamma(a)
                q = q - g;
                g = g * (a - 1.0) / x;
                a = a - 1.0;
            }
            ck *= c / k;
            const Dual term = ck * q;
            const double mag = std::fabs(term.v);
            sum = sum + term;
            if (mag < 1e-16 * std::fabs(sum.v)) {
                ok = true;
                break;
            }
            if (k > 1 && mag > prev) break;
            prev = mag;
        }
        if (ok && sum.v > 0.0) return special::log(sum) - c;
    }
    // S = 1 - e^{b^2/2 - rho t} b^nu / sqrt(2 pi) sum_k b^k exp(G(nu+1+k, z)),  z = b - t/sigma
    const Dual z{beta - tau, 0.0, -1.0 / sigma};
    const double lb = std::log(beta);
    Dual sum = cst(0.0);
    double gref = 0.0;
    {
        // Forward recurrence (mu+1) J_{mu+2} = J_mu - z J_{mu+1}. It is stable for z <= 0; for
        // 0 < z <= 8 the loss is below 1e-15 of the weighted sum (checked against mpmath), and for
        // z > 8 the CDF is below 1e-14 so that only its first two terms matter.
        const Dual lgnu1 = lgnu + special::log(nu);  // ln Gamma(nu + 1)
        const Dual g0 = g_nu1 ? *g_nu1 : special::log_pcf(nu + 1.0, z, lgnu1);
        gref = g0.v;
        Dual e0 = special::exp(g0 - gref), e1{};
        if (g_nu && z.v <= 8.0) {
            // J_{nu+2} = (J_nu - z J_{nu+1}) / (nu+1): reuses the pdf's G(nu, z)
            e1 = (special::exp(*g_nu - gref) - z * e0) / (nu + 1.0);
        } else {
            e1 = special::exp(special::log_pcf(nu + 2.0, z, lgnu1 + special::log(nu + 1.0)) - gref);
        }
        sum = e0 + beta * e1;
        double bk = beta;
        Dual mu = nu + 1.0;
        const int kmax = z.v > 8.0 ? 1 : 2000;
        for (int k = 2; k <= kmax; ++k) {
            const Dual e2 = (e0 - z * e1) / (mu + 1.0);
            bk *= beta;
            const Dual term = bk * e2;
            sum = sum + term;
            if (std::fabs(term.v) < 1e-17 * std::fabs(sum.v)) break;
            e0 = e1;
            e1 = e2;
            mu = mu + 1.0;
        }
    }
    const Dual tvar{t, 0.0, 1.0};
    const Dual log_cdf = nu * lb + (0.5 * beta * beta - kLnSqrt2Pi) - rho * tvar + gref + special::log(sum);
    const Dual cdf = special::exp(log_cdf);
    const Dual s = cst(1.0) - cdf;
    if (!(s.v > 0.0)) return {-745.0, 0.0, 0.0};  // underflow guard: S below double range
    return special::log(s);
}

Dual log_cpandel_pdf(double t, double nu_v, double rho, double sigma, Dual lgnu, Dual* g_out = nullptr,
                  Dual* g_next = nullptr, bool* has_next = nullptr) {
    const double beta = rho * sigma;
    const Dual nu{nu_v, 1.0, 0.0};
    const Dual z{beta - t / sigma, 0.0, -1.0 / sigma};
    const Dual g = special::log_pcf(nu, z, lgnu, g_next, has_next);
    if (g_out) *g_out = g;
    const Dual tvar{t, 0.0, 1.0};
    return nu * std::log(beta) - std::log(sigma) - kLnSqrt2Pi + 0.5 * beta * beta - rho * tvar + g;
}

}  // namespace

LogGrad pandel_log_pdf(double t, double nu, double rho) {
    if (!valid(t, nu, rho)) return kNaN;
    if (t <= 0.0) return {-kInf, 0.0, 0.0};
    const double lt = std::log(t);
    return {nu * std::log(rho) + (nu - 1.0) * lt - rho * t - std::lgamma(nu),
            std::log(rho) + lt - digamma(nu), (nu - 1.0) / t - rho};
}

LogGrad pandel_log_sf(double t, double nu, double rho) {
    if (!valid(t, nu, rho)) return kNaN;
    if (t <= 0.0) return {0.0, 0.0, 0.0};
    const Dual nud{nu, 1.0, 0.0};
    const Dual q = special::gamma_q(nud, Dual{rho * t, 0.0, rho}, special::lgamma(nud));
    if (!(q.v > 0.0)) return {-kInf, 0.0, 0.0};
    return to_loggrad(special::log(q));
}

LogGrad cpandel_log_pdf(double t, double nu, double rho, double sigma) {
    if (!valid(t, nu, rho) || !(sigma > 0.0) || !std::isfinite(sigma)) return kNaN;
    return to_loggrad(log_cpandel_pdf(t, nu, rho, sigma, special::lgamma(Dual{nu, 1.0, 0.0})));
}

LogGrad cpandel_log_sf(double t, double nu, double rho, double sigma) {
    if (!valid(t, nu, rho) || !(sigma > 0.0) || !std::isfinite(sigma)) return kNaN;
    return to_loggrad(log_cpandel_sf(t, nu, rho, sigma, special::lgamma(Dual{nu, 1.0, 0.0})));
}

LogGrad mpe_log_pdf(double t, double nu, double rho, double sigma, double n) {
    if (!valid(t, nu, rho) || !(sigma > 0.0) || !std::isfinite(sigma) || !(n >= 1.0)) return kNaN;
    Dual g{};
    const Dual lgnu = special::lgamma(Dual{nu, 1.0, 0.0});
    Dual g1{};
    bool has1 = false;
    Dual out = log_cpandel_pdf(t, nu, rho, sigma, lgnu, &g, n > 1.0 ? &g1 : nullptr, &has1) + std::log(n);
    if (n > 1.0) out = out + (n - 1.0) * log_cpandel_sf(t, nu, rho, sigma, lgnu, &g, has1 ? &g1 : nullptr);
    return to_loggrad(out);
}

}  // namespace icecore
