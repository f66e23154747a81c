// Special functions with forward-mode derivatives (see special.hpp): digamma, the regularised
// incomplete gamma Q(a, x) and the scaled parabolic-cylinder function ln(e^{-z^2/4} D_{-nu}(z)).
// Moved verbatim from pandel.cpp (same operations in the same order, so results are unchanged).
#include "icecore/special.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

namespace icecore {
namespace special {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kLnSqrt2Pi = 0.91893853320467274178;  // ln sqrt(2 pi)
constexpr double kInf = std::numeric_limits<double>::infinity();

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

// ---------------------------------------------------------------------------------------------
// Regularised upper incomplete gamma Q(a, x), a > 0, x > 0, dual in both (Numerical-Recipes
// style series / Lentz continued fraction, differentiated forward-mode).
Dual gamma_q(Dual a, Dual x, Dual lga) {  // lga = ln Gamma(a) (dual)
    if (x.v <= 0.0) return cst(1.0);
    if (x.v < a.v + 1.0) {
        Dual term = cst(1.0) / a;
        Dual sum = term;
        Dual ap = a;
        for (int n = 0; n < 100000; ++n) {
            ap = ap + 1.0;
            term = term * x / ap;
            sum = sum + term;
            if (std::fabs(term.v) < std::fabs(sum.v) * 1e-17) break;
        }
        const Dual p = sum * exp(a * log(x) - x - lga);  // sum starts at 1/a
        return cst(1.0) - p;
    }
    constexpr double fpmin = 1e-300;
    Dual b = x + 1.0 - a;
    Dual c = cst(1.0 / fpmin);
    Dual d = cst(1.0) / b;
    Dual h = d;
    for (int i = 1; i < 100000; ++i) {
        const Dual an = -static_cast<double>(i) * (static_cast<double>(i) - a);
        b = b + 2.0;
        d = an * d + b;
        if (std::fabs(d.v) < fpmin) d.v = fpmin;
        c = b + an / c;
        if (std::fabs(c.v) < fpmin) c.v = fpmin;
        d = cst(1.0) / d;
        const Dual del = d * c;
        h = h * del;
        if (std::fabs(del.v - 1.0) < 1e-16) break;
    }
    return exp(a * log(x) - x - lga) * h;
}

namespace {

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
bool g_large_positive(Dual nu, Dual z, Dual& out) {
    const Dual z2 = z * z;
    Dual term = cst(1.0);
    Dual sum = term;
    double prev = 1.0;
    for (int k = 0; k < 400; ++k) {
        const double kk = static_cast<double>(k);
        term = -term * (nu + 2.0 * kk) * (nu + (2.0 * kk + 1.0)) / (z2 * (2.0 * (kk + 1.0)));
        const double mag = std::fabs(term.v);
        if (mag >= prev) {  // asymptotic series starts to diverge: accept if the smallest term was tiny
            if (prev < 1e-11 * std::fabs(sum.v) && sum.v > 0.0) {
                out = -0.5 * z2 - nu * log(z) + log(sum);
                return true;
            }
            return false;
        }
        sum = sum + term;
        if (mag < 1e-15 * std::fabs(sum.v)) {
            if (sum.v <= 0.0) return false;
            out = -0.5 * z2 - nu * log(z) + log(sum);
            return true;
        }
        prev = mag;
    }
    return false;
}

// Region B: z -> -inf (w = -z).  J = sqrt(2 pi) e^{w^2/2} w^(nu-1) / Gamma(nu) *
//           sum_k (nu-1)(nu-2)...(nu-2k) / (k! 2^k w^{2k})   (Gaussian tail below u = 0 dropped).
bool g_large_negative(Dual nu, Dual z, Dual lgnu, Dual& out) {
    const Dual w = -z;
    const Dual w2 = w * w;
    Dual term = cst(1.0);
    Dual sum = term;
    double prev = kInf;
    for (int k = 0; k < 400; ++k) {
        const double kk = static_cast<double>(k);
        term = term * (nu - (2.0 * kk + 1.0)) * (nu - (2.0 * kk + 2.0)) / (w2 * (2.0 * (kk + 1.0)));
        const double mag = std::fabs(term.v);
        if (k > 0 && mag > prev) {
            if (prev < 1e-11 * std::fabs(sum.v) && sum.v > 0.0) {
                out = kLnSqrt2Pi + (nu - 1.0) * log(w) - lgnu + log(sum);
                return true;
            }
            return false;
        }
        sum = sum + term;
        if (mag < 1e-15 * std::fabs(sum.v)) {
            if (sum.v <= 0.0) return false;
            out = kLnSqrt2Pi + (nu - 1.0) * log(w) - lgnu + log(sum);
            return true;
        }
        prev = mag;
    }
    return false;
}

// Region C: Kummer series,
// J = sqrt(pi) 2^{-nu/2} [ M(nu/2, 1/2, x)/Gamma((nu+1)/2) - sqrt(2) z M((nu+1)/2, 3/2, x)/Gamma(nu/2) ],
// x = z^2/2.  Rejected when the two terms cancel by more than 1e5.
// Reciprocals 1 / ((b + n)(n + 1)) of the two Kummer series (b = 1/2, 3/2), built once.
constexpr int kKummerMax = 4096;
struct KummerTables {
    std::array<double, kKummerMax> r1{}, r2{};
    KummerTables() {
        for (std::size_t n = 0; n < static_cast<std::size_t>(kKummerMax); ++n) {
            const double nn = static_cast<double>(n);
            r1[n] = 1.0 / ((0.5 + nn) * (nn + 1.0));
            r2[n] = 1.0 / ((1.5 + nn) * (nn + 1.0));
        }
    }
};
const KummerTables& kummer_tables() {
    static const KummerTables t;
    return t;
}

// M(a1, 1/2, x) and M(a2, 3/2, x), a1 = nu/2, a2 = (nu+1)/2, summed in one loop (two independent
// dependency chains) with explicit derivative accumulators:
// dT_n = T_n (H_n da + n/x dx), H_n = sum_{j<n} 1/(a+j).
struct KummerPair {
    double m1, m1_a, m1_x, m1_ax, m2, m2_a, m2_x, m2_ax;
};
bool kummer_pair(double a1, double a2, double x, KummerPair& out) {
    const auto& tab = kummer_tables();
    double t1 = 1.0, s1 = 1.0, sh1 = 0.0, sn1 = 0.0, snh1 = 0.0, h1 = 0.0;
    double t2 = 1.0, s2 = 1.0, sh2 = 0.0, sn2 = 0.0, snh2 = 0.0, h2 = 0.0;
    for (std::size_t n = 0; n < static_cast<std::size_t>(kKummerMax); ++n) {
        const double nn = static_cast<double>(n);
        h1 += 1.0 / (a1 + nn);
        h2 += 1.0 / (a2 + nn);
        t1 *= (a1 + nn) * x * tab.r1[n];
        t2 *= (a2 + nn) * x * tab.r2[n];
        s1 += t1;
        s2 += t2;
        sh1 += t1 * h1;
        sh2 += t2 * h2;
        sn1 += (nn + 1.0) * t1;
        sn2 += (nn + 1.0) * t2;
        snh1 += (nn + 1.0) * t1 * h1;
        snh2 += (nn + 1.0) * t2 * h2;
        if (nn > x && t1 < 1e-17 * s1 && t2 < 1e-17 * s2) {
            if (x < 1e-300) {  // derivatives at x = 0: dM/dx = a/b, d2M/dadx = 1/b
                out = {s1, sh1, 2.0 * a1, 2.0, s2, sh2, a2 / 1.5, 1.0 / 1.5};
            } else {
                out = {s1, sh1, sn1 / x, snh1 / x, s2, sh2, sn2 / x, snh2 / x};
            }
            return true;
        }
    }
    return false;
}

// Kummer form of G(nu, z). With `next`, also G(nu + 1, z) for z <= 0 from the identity
// dJ_nu/dz = -nu J_{nu+1}, its nu-derivative from the mixed second derivative of the series
// and its z-derivative from dJ_{nu+1}/dz = -(J_nu - z J_{nu+1}); *has_next tells if it was set.
bool g_kummer(Dual nu, Dual z, Dual lgnu, Dual& out, Dual* next = nullptr, bool* has_next = nullptr) {
    const double zv = z.v, nv = nu.v;
    const double x = 0.5 * zv * zv;
    if (x > 350.0) return false;
    const double a1 = 0.5 * nv, a2 = 0.5 * (nv + 1.0);
    KummerPair k{};
    if (!kummer_pair(a1, a2, x, k)) return false;
    const double ln2 = std::log(2.0), sqrt2 = std::sqrt(2.0);
    // Legendre duplication: ln G(nu/2) + ln G((nu+1)/2) = ln G(nu) + (1-nu) ln 2 + ln(pi)/2
    const double lga2 = std::lgamma(a2), psi2 = digamma(a2);
    const double lga1 = lgnu.v + (1.0 - nv) * ln2 + 0.5 * std::log(kPi) - lga2;
    const double psi_nu = nu.a != 0.0 ? lgnu.a / nu.a : (nu.b != 0.0 ? lgnu.b / nu.b : digamma(nv));
    const double p1 = std::exp(-lga2), p2 = std::exp(-lga1);
    const double p1n = -0.5 * psi2 * p1;                            // dP1/dnu
    const double p2n = -(psi_nu - ln2 - 0.5 * psi2) * p2;           // dP2/dnu
    const double t1 = p1 * k.m1, t2 = sqrt2 * zv * p2 * k.m2;
    const double f = t1 - t2;  // J = K f, K = sqrt(pi) 2^(-nu/2)
    if (!(f > 1e-5 * (std::fabs(t1) + std::fabs(t2)))) return false;
    // partials of f (x = z^2/2, da/dnu = 1/2)
    const double f_nu = p1n * k.m1 + 0.5 * p1 * k.m1_a - sqrt2 * zv * (p2n * k.m2 + 0.5 * p2 * k.m2_a);
    const double f_z = p1 * k.m1_x * zv - sqrt2 * p2 * k.m2 - sqrt2 * zv * zv * p2 * k.m2_x;
    // G = ln K + ln f - x;  d ln K / d nu = -ln2 / 2
    const double g_nu = -0.5 * ln2 + f_nu / f;
    const double g_z = f_z / f - zv;
    const double gv = 0.5 * std::log(kPi) - 0.5 * ln2 * nv + std::log(f) - x;
    out = {gv, g_nu * nu.a + g_z * z.a, g_nu * nu.b + g_z * z.b};
    if (has_next) *has_next = false;
    if (next && zv <= 0.0 && f_z < 0.0) {
        const double f_znu = p1n * k.m1_x * zv + 0.5 * p1 * k.m1_ax * zv -
                             sqrt2 * (p2n * k.m2 + 0.5 * p2 * k.m2_a) -
                             sqrt2 * zv * zv * (p2n * k.m2_x + 0.5 * p2 * k.m2_ax);
        // J1 = -J_z / nu = -K f_z / nu; work with f1 = -f_z / nu (J1 = K f1)
        const double f1 = -f_z / nv;
        // d f1 / d nu = f_z / nu^2 - f_znu / nu ; d J1/dz = -(J - z J1) -> d f1/dz = -(f - z f1)
        const double f1_nu = f_z / (nv * nv) - f_znu / nv;
        const double f1_z = -(f - zv * f1);
        const double h_nu = -0.5 * ln2 + f1_nu / f1;
        const double h_z = f1_z / f1 - zv;
        const double hv = 0.5 * std::log(kPi) - 0.5 * ln2 * nv + std::log(f1) - x;
        *next = {hv, h_nu * nu.a + h_z * z.a, h_nu * nu.b + h_z * z.b};
        if (has_next) *has_next = true;
    }
    return true;
}

// Region D: Gauss-Legendre quadrature of ln J in y = ln u around the saddle point.
Dual g_quadrature(Dual nu, Dual z, Dual lgnu) {
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
    constexpr double drop = 38.0;  // e^-38 ~ 3e-17 of the peak
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
    // Panels of 20-point Gauss-Legendre: 1.5 peak widths near the saddle, doubling outwards; on
    // the left (exponential tail of slope nu) a panel never spans more than a factor e^16, on
    // the right (super-exponential fall) never more than 4 peak widths.
    const double cap_left = std::max(1.5 * s, 16.0 / n);
    double width = 1.5 * s, y = ys;
    while (y > ys - left) {
        const double lo = std::max(y - width, ys - left);
        panel(lo, y);
        y = lo;
        width = std::min(2.0 * width, cap_left);
    }
    width = 1.5 * s;
    for (y = ys; y < ys + right;) {
        const double hi = std::min(y + width, ys + right);
        panel(y, hi);
        y = hi;
        width = std::min(2.0 * width, 4.0 * s);
    }
    const double lnI = hs + std::log(sw);
    const double dnu = sy / sw;  // d lnI / d nu
    const double dz = -su / sw;  // d lnI / d z
    const double val = lnI - lgnu.v - 0.5 * zz * zz;
    return {val, dnu * nu.a + (dz - zz) * z.a - lgnu.a, dnu * nu.b + (dz - zz) * z.b - lgnu.b};
}


}  // namespace

Dual log_pcf(Dual nu, Dual z, Dual lgnu, Dual* next, bool* has_next) {
    Dual out{};
    if (has_next) *has_next = false;
    if (z.v >= 0.0) {
        if (z.v >= 4.0 && g_large_positive(nu, z, out)) return out;
        if (g_kummer(nu, z, lgnu, out, next, has_next)) return out;
        if (z.v >= 1.0 && z.v < 4.0 && g_large_positive(nu, z, out)) return out;
        return g_quadrature(nu, z, lgnu);
    }
    if (z.v <= -7.0 && g_large_negative(nu, z, lgnu, out)) return out;
    if (g_kummer(nu, z, lgnu, out, next, has_next)) return out;
    return g_quadrature(nu, z, lgnu);
}

}  // namespace special
}  // namespace icecore
