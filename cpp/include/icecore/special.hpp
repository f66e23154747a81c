// Special functions with forward-mode derivatives, as the Pandel distributions need them.
//
// Dual numbers. `Dual` carries a value and two partial derivatives (`a`, `b`) with respect to
// two independent inputs chosen by the caller (the Pandel code uses a = d/dnu and b = d/dt or
// d/dz). The arithmetic below is the chain rule, so a series summed in Duals gives the exact
// derivative of the value it computes (no finite differences).
//
// Functions (all in logs or regularised, so that nothing overflows):
//   digamma(x)                psi(x) = d ln Gamma / dx, x > 0 (recurrence to x >= 8, then the
//                              asymptotic series).
//   lgamma(Dual)              ln Gamma with derivative psi.
//   gamma_q(a, x, lgamma(a))  regularised upper incomplete gamma Q(a, x) = Gamma(a, x)/Gamma(a),
//                              a > 0: the power series of P = 1 - Q for x < a + 1, else the
//                              Lentz continued fraction (Numerical-Recipes style), both in Duals.
//   log_pcf(nu, z, lgamma(nu)) G(nu, z) = ln( e^{-z^2/4} D_{-nu}(z) ), nu > 0, with D the
//                              parabolic-cylinder function; equivalently ln J - z^2/2 with
//                              J(nu, z) = (1/Gamma(nu)) int_0^inf u^(nu-1) exp(-u^2/2 - z u) du.
//                              Evaluated from whichever representation is accurate for (nu, z):
//                              the z -> +inf asymptotic series (z >= 4, or 1 <= z < 4 when the
//                              Kummer form cancels), the z -> -inf series (z <= -7), the Kummer
//                              (1F1) series, else Gauss-Legendre quadrature of the integral in
//                              ln u around its saddle point.
#pragma once

#include <cmath>

namespace icecore {
namespace special {

/// Value and two partial derivatives (with respect to inputs "a" and "b").
struct Dual {
    double v, a, b;
};

/// A constant (both derivatives zero).
inline Dual cst(double v) { return {v, 0.0, 0.0}; }
inline Dual operator+(Dual x, Dual y) { return {x.v + y.v, x.a + y.a, x.b + y.b}; }
inline Dual operator-(Dual x, Dual y) { return {x.v - y.v, x.a - y.a, x.b - y.b}; }
inline Dual operator-(Dual x) { return {-x.v, -x.a, -x.b}; }
inline Dual operator*(Dual x, Dual y) { return {x.v * y.v, x.a * y.v + x.v * y.a, x.b * y.v + x.v * y.b}; }
inline Dual operator/(Dual x, Dual y) {
    const double inv = 1.0 / y.v;
    const double q = x.v * inv;
    return {q, (x.a - q * y.a) * inv, (x.b - q * y.b) * inv};
}
inline Dual operator+(Dual x, double c) { return {x.v + c, x.a, x.b}; }
inline Dual operator-(Dual x, double c) { return {x.v - c, x.a, x.b}; }
inline Dual operator*(Dual x, double c) { return {x.v * c, x.a * c, x.b * c}; }
inline Dual operator/(Dual x, double c) { return x * (1.0 / c); }
inline Dual operator*(double c, Dual x) { return x * c; }
inline Dual operator+(double c, Dual x) { return x + c; }
inline Dual operator-(double c, Dual x) { return {c - x.v, -x.a, -x.b}; }
inline Dual exp(Dual x) {
    const double e = std::exp(x.v);
    return {e, e * x.a, e * x.b};
}
inline Dual log(Dual x) { return {std::log(x.v), x.a / x.v, x.b / x.v}; }
inline Dual sqrt(Dual x) {
    const double s = std::sqrt(x.v);
    const double h = 0.5 / s;
    return {s, x.a * h, x.b * h};
}

/// Digamma function psi(x), x > 0.
double digamma(double x);

/// ln Gamma(x) with derivative psi(x) x'.
inline Dual lgamma(Dual x) {
    const double p = digamma(x.v);
    return {std::lgamma(x.v), p * x.a, p * x.b};
}

/// Regularised upper incomplete gamma Q(a, x) for a > 0 (1 for x <= 0), differentiated in both
/// arguments. `lgamma_a` is ln Gamma(a) as a Dual (callers usually have it already).
Dual gamma_q(Dual a, Dual x, Dual lgamma_a);

/// G(nu, z) = ln( e^{-z^2/4} D_{-nu}(z) ) for nu > 0 (see the file comment), differentiated in
/// nu and z. `lgamma_nu` is ln Gamma(nu) as a Dual. With `next`, G(nu + 1, z) is also written
/// when the Kummer form provides it for free (z <= 0); `*has_next` tells whether it was.
Dual log_pcf(Dual nu, Dual z, Dual lgamma_nu, Dual* next = nullptr, bool* has_next = nullptr);

}  // namespace special
}  // namespace icecore
