// Small numerical optimisers shared by the kernels. Header-only, std only, no allocation.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>

namespace icecore {

// ---- 1-D minimisation: Brent, safeguarded Newton ----
//
// brent_minimise: Brent's method (R. P. Brent, "Algorithms for Minimization without
// Derivatives", 1973, ch. 5): parabolic interpolation through the three best points, with a
// golden-section step whenever the parabola is not trusted. It needs a bracket [a, b] and a first
// point x inside it with its value (e.g. the best point of a coarse scan), so it does not
// re-evaluate f there.
//
// safeguarded_newton: Newton's method for the root of a decreasing function (the derivative of a
// concave objective, whose root is the maximum) kept inside a shrinking bracket; a step that
// leaves the bracket, or a non-negative derivative, is replaced by bisection.

/// Result of brent_minimise.
struct Minimum1D {
    double x = 0.0;        ///< abscissa of the smallest value found
    double fx = 0.0;       ///< f(x)
    int n_eval = 0;        ///< evaluations of f made by the search (the start point excluded)
    bool stopped = false;  ///< f returned no value: the search was abandoned at that point
};

/// Minimise f on [a, b] starting from x (a <= x <= b) with f(x) = fx already known.
///
/// `f(u)` returns `std::optional<double>`; an empty value stops the search at once (e.g. a
/// non-finite likelihood) and the result has `stopped = true`. The search ends when the bracket
/// around x is smaller than about 2 * xtol (absolute), or after `max_iter` evaluations. Ties go
/// to the newest point (`f(u) <= f(x)` moves x to u).
template <class F>
Minimum1D brent_minimise(F&& f, double a, double b, double x, double fx, double xtol, int max_iter = 100) {
    constexpr double cgold = 0.3819660112501051;  // (3 - sqrt 5) / 2
    Minimum1D res;
    double w = x, v = x;
    double fw = fx, fv = fx;
    double d = 0.0, e = 0.0;
    const double tol1 = 0.5 * xtol, tol2 = 2.0 * tol1;
    for (int it = 0; it < max_iter; ++it) {
        const double xm = 0.5 * (a + b);
        if (std::fabs(x - xm) <= tol2 - 0.5 * (b - a)) break;
        bool golden = true;
        if (std::fabs(e) > tol1) {  // try a parabola through x, w, v
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
        const std::optional<double> value = f(u);
        ++res.n_eval;
        if (!value) {
            res.stopped = true;
            break;
        }
        const double fu = *value;
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
    res.x = x;
    res.fx = fx;
    return res;
}

/// Result of safeguarded_newton.
struct Root1D {
    double x = 0.0;  ///< the root estimate
    int n_iter = 0;  ///< evaluations of g
};

/// Root of a decreasing function g inside the bracket (lo, hi), g(lo) > 0 > g(hi), from x.
///
/// `g(x, dg)` returns g(x) and stores g'(x) in `dg`. Each step shrinks the bracket on the sign
/// of g, takes the Newton step when g' < 0 and it stays inside the bracket, and bisects
/// otherwise. Stops when the step is below `rtol * max(1, |x|)`, the bracket below
/// `bracket_rtol * max(1, |x|)`, or after `max_iter` evaluations.
template <class G>
Root1D safeguarded_newton(G&& g, double lo, double hi, double x, double rtol = 1e-9, double bracket_rtol = 1e-12,
                          int max_iter = 200) {
    Root1D res;
    double dg = 0.0;
    for (int it = 0; it < max_iter; ++it) {
        const double gx = g(x, dg);
        ++res.n_iter;
        if (gx > 0)
            lo = x;
        else
            hi = x;
        double xn = (dg < 0) ? x - gx / dg : 0.5 * (lo + hi);
        if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
        const double scale = std::max(1.0, std::fabs(x));
        const bool done = std::fabs(xn - x) <= rtol * scale || (hi - lo) <= bracket_rtol * scale;
        x = xn;
        if (done) break;
    }
    res.x = x;
    return res;
}

// ---- end of 1-D minimisation ----

}  // namespace icecore
