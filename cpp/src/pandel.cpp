// Pandel / convolved Pandel / MPE distributions in logs with analytic partial derivatives.
// See pandel.hpp for the formulas. All series carry a forward-mode dual number
// (value, d/dnu, d/dt) so that the gradients are exact derivatives of the values computed.
#include "icecore/pandel.hpp"

#include <array>
#include <cmath>
#include <limits>

namespace icecore {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kLnSqrt2Pi = 0.91893853320467274178;  // ln sqrt(2 pi)
constexpr double kInf = std::numeric_limits<double>::infinity();

// Dual number: value and two partial derivatives (a: d/dnu, b: d/dt or d/dz).
struct D {
    double v, a, b;
};
inline D cst(double v) { return {v, 0.0, 0.0}; }
inline D operator+(D x, D y) { return {x.v + y.v, x.a + y.a, x.b + y.b}; }
inline D operator-(D x, D y) { return {x.v - y.v, x.a - y.a, x.b - y.b}; }
inline D operator-(D x) { return {-x.v, -x.a, -x.b}; }
inline D operator*(D x, D y) { return {x.v * y.v, x.a * y.v + x.v * y.a, x.b * y.v + x.v * y.b}; }
inline D operator/(D x, D y) {
    const double inv = 1.0 / y.v;
    const double q = x.v * inv;
    return {q, (x.a - q * y.a) * inv, (x.b - q * y.b) * inv};
}
inline D operator+(D x, double c) { return {x.v + c, x.a, x.b}; }
inline D operator-(D x, double c) { return {x.v - c, x.a, x.b}; }
inline D operator*(D x, double c) { return {x.v * c, x.a * c, x.b * c}; }
inline D operator/(D x, double c) { return x * (1.0 / c); }
inline D operator*(double c, D x) { return x * c; }
inline D operator+(double c, D x) { return x + c; }
inline D operator-(double c, D x) { return {c - x.v, -x.a, -x.b}; }
inline D dexp(D x) {
    const double e = std::exp(x.v);
    return {e, e * x.a, e * x.b};
}
inline D dlog(D x) { return {std::log(x.v), x.a / x.v, x.b / x.v}; }
inline D dsqrt(D x) {
    const double s = std::sqrt(x.v);
    const double h = 0.5 / s;
    return {s, x.a * h, x.b * h};
}

}  // namespace

double digamma(double x) {
    double acc = 0.0;
    while (x < 8.0) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    const double i2 = 1.0 / (x * x);
    const double series =
        i2 * (1.0 / 12 - i2 * (1.0 / 120 - i2 * (1.0 / 252 - i2 * (1.0 / 240 - i2 * (1.0 / 132)))));
    return acc + std::log(x) - 0.5 / x - series;
}

namespace {

inline D dlgamma(D x) {
    const double p = digamma(x.v);
    return {std::lgamma(x.v), p * x.a, p * x.b};
}

// ---------------------------------------------------------------------------------------------
// Regularised upper incomplete gamma Q(a, x), a > 0, x > 0, dual in both (Numerical-Recipes
// style series / Lentz continued fraction, differentiated forward-mode).
D dgamma_q(D a, D x) {
    if (x.v <= 0.0) return cst(1.0);
    if (x.v < a.v + 1.0) {
        D term = cst(1.0) / a;
        D sum = term;
        D ap = a;
        for (int n = 0; n < 100000; ++n) {
            ap = ap + 1.0;
            term = term * x / ap;
            sum = sum + term;
            if (std::fabs(term.v) < std::fabs(sum.v) * 1e-17) break;
        }
        const D p = sum * dexp(a * dlog(x) - x - dlgamma(a));
        return cst(1.0) - p;
    }
    constexpr double fpmin = 1e-300;
    D b = x + 1.0 - a;
    D c = cst(1.0 / fpmin);
    D d = cst(1.0) / b;
    D h = d;
    for (int i = 1; i < 100000; ++i) {
        const D an = -static_cast<double>(i) * (static_cast<double>(i) - a);
        b = b + 2.0;
        d = an * d + b;
        if (std::fabs(d.v) < fpmin) d.v = fpmin;
        c = b + an / c;
        if (std::fabs(c.v) < fpmin) c.v = fpmin;
        d = cst(1.0) / d;
        const D del = d * c;
        h = h * del;
        if (std::fabs(del.v - 1.0) < 1e-16) break;
    }
    return dexp(a * dlog(x) - x - dlgamma(a)) * h;
}

// ---------------------------------------------------------------------------------------------
// G(nu, z) = ln( e^{-z^2/4} D_{-nu}(z) ) = ln J(nu, z) - z^2/2, where
// J(nu, z) = (1/Gamma(nu)) int_0^inf u^(nu-1) exp(-u^2/2 - z u) du = e^{z^2/4} D_{-nu}(z).

// Gauss-Legendre nodes/weights on [-1, 1] (computed once, Newton on P_n).
constexpr int kGL = 20;
struct GaussLegendre {
    std::array<double, kGL> x{}, w{};
    GaussLegendre() {
        for (int i = 0; i < kGL; ++i) {
            double z = std::cos(kPi * (i + 0.75) / (kGL + 0.5));
            double pp = 0.0;
            for (int it = 0; it < 100; ++it) {
                double p1 = 1.0, p2 = 0.0;
                for (int j = 1; j <= kGL; ++j) {
                    const double p3 = p2;
                    p2 = p1;
                    p1 = ((2.0 * j - 1.0) * z * p2 - (j - 1.0) * p3) / j;
                }
                pp = kGL * (z * p1 - p2) / (z * z - 1.0);
                const double z1 = z;
                z = z1 - p1 / pp;
                if (std::fabs(z - z1) < 1e-16) break;
            }
            x[static_cast<std::size_t>(i)] = z;
            w[static_cast<std::size_t>(i)] = 2.0 / ((1.0 - z * z) * pp * pp);
        }
    }
};
const GaussLegendre& gauss_legendre() {
    static const GaussLegendre gl;
    return gl;
}

// Region A: z -> +inf.  J = z^-nu sum_k (-1)^k (nu)_{2k} / (k! (2 z^2)^k).
bool g_large_positive(D nu, D z, D& out) {
    const D z2 = z * z;
    D term = cst(1.0);
    D sum = term;
    double prev = 1.0;
    for (int k = 0; k < 400; ++k) {
        const double kk = static_cast<double>(k);
        term = -term * (nu + 2.0 * kk) * (nu + (2.0 * kk + 1.0)) / (z2 * (2.0 * (kk + 1.0)));
        const double mag = std::fabs(term.v);
        if (mag >= prev) {  // asymptotic series starts to diverge: accept if the smallest term was tiny
            if (prev < 1e-11 * std::fabs(sum.v) && sum.v > 0.0) {
                out = -0.5 * z2 - nu * dlog(z) + dlog(sum);
                return true;
            }
            return false;
        }
        sum = sum + term;
        if (mag < 1e-15 * std::fabs(sum.v)) {
            if (sum.v <= 0.0) return false;
            out = -0.5 * z2 - nu * dlog(z) + dlog(sum);
            return true;
        }
        prev = mag;
    }
    return false;
}

// Region B: z -> -inf (w = -z).  J = sqrt(2 pi) e^{w^2/2} w^(nu-1) / Gamma(nu) *
//           sum_k (nu-1)(nu-2)...(nu-2k) / (k! 2^k w^{2k})   (Gaussian tail below u = 0 dropped).
bool g_large_negative(D nu, D z, D& out) {
    const D w = -z;
    const D w2 = w * w;
    D term = cst(1.0);
    D sum = term;
    double prev = kInf;
    for (int k = 0; k < 400; ++k) {
        const double kk = static_cast<double>(k);
        term = term * (nu - (2.0 * kk + 1.0)) * (nu - (2.0 * kk + 2.0)) / (w2 * (2.0 * (kk + 1.0)));
        const double mag = std::fabs(term.v);
        if (k > 0 && mag > prev) {
            if (prev < 1e-11 * std::fabs(sum.v) && sum.v > 0.0) {
                out = kLnSqrt2Pi + (nu - 1.0) * dlog(w) - dlgamma(nu) + dlog(sum);
                return true;
            }
            return false;
        }
        sum = sum + term;
        if (mag < 1e-15 * std::fabs(sum.v)) {
            if (sum.v <= 0.0) return false;
            out = kLnSqrt2Pi + (nu - 1.0) * dlog(w) - dlgamma(nu) + dlog(sum);
            return true;
        }
        prev = mag;
    }
    return false;
}

// Region C: Kummer series,
// J = sqrt(pi) 2^{-nu/2} [ M(nu/2, 1/2, x)/Gamma((nu+1)/2) - sqrt(2) z M((nu+1)/2, 3/2, x)/Gamma(nu/2) ],
// x = z^2/2.  Rejected when the two terms cancel by more than 1e5.
D kummer_m(D a, double b, D x) {
    // Sum T_n = (a)_n x^n / ((b)_n n!) with explicit derivative accumulators:
    // dT_n = T_n (H_n da + n/x dx), H_n = sum_{j<n} 1/(a+j).
    double term = 1.0, sum = 1.0, sum_h = 0.0, sum_n = 0.0, h = 0.0;
    const double av = a.v, xv = x.v;
    for (int n = 0; n < 5000; ++n) {
        const double nn = static_cast<double>(n);
        h += 1.0 / (av + nn);
        term *= (av + nn) * xv / ((b + nn) * (nn + 1.0));
        sum += term;
        sum_h += term * h;
        sum_n += (nn + 1.0) * term;
        if (nn > xv && std::fabs(term) < 1e-17 * sum) break;
    }
    const double dx = xv > 1e-300 ? sum_n / xv : av / b;
    return {sum, sum_h * a.a + dx * x.a, sum_h * a.b + dx * x.b};
}

bool g_kummer(D nu, D z, D& out) {
    const D x = 0.5 * (z * z);
    if (x.v > 350.0) return false;
    const D m1 = kummer_m(0.5 * nu, 0.5, x);
    const D m2 = kummer_m(0.5 * (nu + 1.0), 1.5, x);
    const D t1 = m1 * dexp(-dlgamma(0.5 * (nu + 1.0)));
    const D t2 = std::sqrt(2.0) * z * m2 * dexp(-dlgamma(0.5 * nu));
    const D j = t1 - t2;
    if (!(j.v > 1e-5 * (std::fabs(t1.v) + std::fabs(t2.v)))) return false;
    out = 0.5 * std::log(kPi) - (0.5 * std::log(2.0)) * nu + dlog(j) - x;
    return true;
}

// Region D: Gauss-Legendre quadrature of ln J in y = ln u around the saddle point.
D g_quadrature(D nu, D z) {
    const double n = nu.v, zz = z.v;
    const double root = std::sqrt(zz * zz + 4.0 * n);
    const double us = zz >= 0.0 ? 2.0 * n / (zz + root) : 0.5 * (root - zz);
    const double ys = std::log(us);
    auto h = [n, zz](double y) {
        const double u = std::exp(y);
        return n * y - 0.5 * u * u - zz * u;
    };
    const double hs = h(ys);
    const double s = 1.0 / std::sqrt(us * us + n);
    constexpr double drop = 46.0;
    double left = s, right = s;
    for (int i = 0; i < 200 && h(ys - left) > hs - drop; ++i) left *= 2.0;
    for (int i = 0; i < 200 && h(ys + right) > hs - drop; ++i) right *= 2.0;
    const auto& gl = gauss_legendre();
    double sw = 0.0, sy = 0.0, su = 0.0;
    auto panel = [&](double lo, double hi) {
        const double half = 0.5 * (hi - lo), mid = 0.5 * (hi + lo);
        for (std::size_t i = 0; i < static_cast<std::size_t>(kGL); ++i) {
            const double y = mid + half * gl.x[i];
            const double wgt = gl.w[i] * half * std::exp(h(y) - hs);
            sw += wgt;
            sy += wgt * y;
            su += wgt * std::exp(y);
        }
    };
    // Panels: about one peak width near the saddle, growing on the (exponential, slope nu) left
    // tail but never spanning more than a factor e^6 of that tail.
    const double cap = std::max(s, 6.0 / n);
    double width = s, y = ys;
    while (y > ys - left) {
        const double lo = std::max(y - width, ys - left);
        panel(lo, y);
        y = lo;
        width = std::min(2.0 * width, cap);
    }
    for (y = ys; y < ys + right;) {
        const double hi = std::min(y + s, ys + right);
        panel(y, hi);
        y = hi;
    }
    const double lnI = hs + std::log(sw);
    const double dnu = sy / sw - digamma(n);  // d lnJ / d nu
    const double dz = -su / sw;               // d lnJ / d z
    const double val = lnI - std::lgamma(n) - 0.5 * zz * zz;
    return {val, dnu * nu.a + (dz - zz) * z.a, dnu * nu.b + (dz - zz) * z.b};
}

D log_g(D nu, D z) {
    D out{};
    if (z.v >= 0.0) {
        if (z.v >= 4.0 && g_large_positive(nu, z, out)) return out;
        if (g_kummer(nu, z, out)) return out;
        if (z.v >= 1.0 && z.v < 4.0 && g_large_positive(nu, z, out)) return out;
        return g_quadrature(nu, z);
    }
    if (z.v <= -7.0 && g_large_negative(nu, z, out)) return out;
    if (g_kummer(nu, z, out)) return out;
    return g_quadrature(nu, z);
}

inline LogGrad to_loggrad(D x) { return {x.v, x.a, x.b}; }

bool valid(double t, double nu, double rho) {
    return std::isfinite(t) && nu > 0.0 && std::isfinite(nu) && rho > 0.0 && std::isfinite(rho);
}

constexpr LogGrad kNaN{std::numeric_limits<double>::quiet_NaN(), 0.0, 0.0};

// Survival function of the convolved Pandel, dual in (nu, t).
D log_cpandel_sf(double t, double nu_v, double rho, double sigma, const D* g_nu = nullptr) {
    const double beta = rho * sigma;
    const double tau = t / sigma;
    const double w = tau - beta;
    const D nu{nu_v, 1.0, 0.0};
    if (w >= 7.0) {
        // S = e^{-b^2/2} sum_k (b^2/2)^k / k! Q(nu - 2k, x), x = rho (t - rho sigma^2)
        const D x{rho * (t - rho * sigma * sigma), 0.0, rho};
        D q = dgamma_q(nu, x);
        D g = dexp((nu - 1.0) * dlog(x) - x - dlgamma(nu));  // x^(a-1) e^-x / Gamma(a), a = nu
        D a = nu;
        const double c = 0.5 * beta * beta;
        double ck = 1.0;
        D sum = q;
        double prev = std::fabs(q.v);
        bool ok = false;
        for (int k = 1; k < 60; ++k) {
            for (int s = 0; s < 2; ++s) {  // Q(a-1) = Q(a) - x^(a-1) e^-x / Gamma(a)
                q = q - g;
                g = g * (a - 1.0) / x;
                a = a - 1.0;
            }
            ck *= c / k;
            const D term = ck * q;
            const double mag = std::fabs(term.v);
            sum = sum + term;
            if (mag < 1e-16 * std::fabs(sum.v)) {
                ok = true;
                break;
            }
            if (k > 1 && mag > prev) break;
            prev = mag;
        }
        if (ok && sum.v > 0.0) return dlog(sum) - c;
    }
    // S = 1 - e^{b^2/2 - rho t} b^nu / sqrt(2 pi) sum_k b^k exp(G(nu+1+k, z)),  z = b - t/sigma
    const D z{beta - tau, 0.0, -1.0 / sigma};
    const double lb = std::log(beta);
    D sum = cst(0.0);
    double gref = 0.0;
    {
        // Forward recurrence (mu+1) J_{mu+2} = J_mu - z J_{mu+1}. It is stable for z <= 0; for
        // 0 < z <= 8 the loss is below 1e-15 of the weighted sum (checked against mpmath), and for
        // z > 8 the CDF is below 1e-14 so that only its first two terms matter.
        const D g0 = log_g(nu + 1.0, z);
        gref = g0.v;
        D e0 = dexp(g0 - gref), e1{};
        if (g_nu && z.v <= 8.0) {
            // J_{nu+2} = (J_nu - z J_{nu+1}) / (nu+1): reuses the pdf's G(nu, z)
            e1 = (dexp(*g_nu - gref) - z * e0) / (nu + 1.0);
        } else {
            e1 = dexp(log_g(nu + 2.0, z) - gref);
        }
        sum = e0 + beta * e1;
        double bk = beta;
        D mu = nu + 1.0;
        const int kmax = z.v > 8.0 ? 1 : 2000;
        for (int k = 2; k <= kmax; ++k) {
            const D e2 = (e0 - z * e1) / (mu + 1.0);
            bk *= beta;
            const D term = bk * e2;
            sum = sum + term;
            if (std::fabs(term.v) < 1e-17 * std::fabs(sum.v)) break;
            e0 = e1;
            e1 = e2;
            mu = mu + 1.0;
        }
    }
    const D tvar{t, 0.0, 1.0};
    const D log_cdf = nu * lb + (0.5 * beta * beta - kLnSqrt2Pi) - rho * tvar + gref + dlog(sum);
    const D cdf = dexp(log_cdf);
    const D s = cst(1.0) - cdf;
    if (!(s.v > 0.0)) return {-745.0, 0.0, 0.0};  // underflow guard: S below double range
    return dlog(s);
}

D log_cpandel_pdf(double t, double nu_v, double rho, double sigma, D* g_out = nullptr) {
    const double beta = rho * sigma;
    const D nu{nu_v, 1.0, 0.0};
    const D z{beta - t / sigma, 0.0, -1.0 / sigma};
    const D g = log_g(nu, z);
    if (g_out) *g_out = g;
    const D tvar{t, 0.0, 1.0};
    return nu * std::log(beta) - std::log(sigma) - kLnSqrt2Pi + 0.5 * beta * beta - rho * tvar + g;
}

}  // namespace

double gamma_q(double a, double x) { return dgamma_q(cst(a), cst(x)).v; }

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
    const D q = dgamma_q(D{nu, 1.0, 0.0}, D{rho * t, 0.0, rho});
    if (!(q.v > 0.0)) return {-kInf, 0.0, 0.0};
    return to_loggrad(dlog(q));
}

LogGrad cpandel_log_pdf(double t, double nu, double rho, double sigma) {
    if (!valid(t, nu, rho) || !(sigma > 0.0) || !std::isfinite(sigma)) return kNaN;
    return to_loggrad(log_cpandel_pdf(t, nu, rho, sigma));
}

LogGrad cpandel_log_sf(double t, double nu, double rho, double sigma) {
    if (!valid(t, nu, rho) || !(sigma > 0.0) || !std::isfinite(sigma)) return kNaN;
    return to_loggrad(log_cpandel_sf(t, nu, rho, sigma));
}

LogGrad mpe_log_pdf(double t, double nu, double rho, double sigma, double n) {
    if (!valid(t, nu, rho) || !(sigma > 0.0) || !std::isfinite(sigma) || !(n >= 1.0)) return kNaN;
    D g{};
    D out = log_cpandel_pdf(t, nu, rho, sigma, &g) + std::log(n);
    if (n > 1.0) out = out + (n - 1.0) * log_cpandel_sf(t, nu, rho, sigma, &g);
    return to_loggrad(out);
}

}  // namespace icecore
