// Small numerical optimisers shared by the kernels (header-only, std only, no allocation).
//
// Sections, each self-contained: 1-D minimisation (Brent, safeguarded Newton; the point-source
// fit) and BFGS (quasi-Newton for smooth objectives with an analytic gradient in a fixed small
// dimension N; the per-direction vertex fit).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
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

// ---- BFGS ----------------------------------------------------------------------------------
//
// bfgs_minimize<N>(objective, x0, options, on_step) minimises f: R^N -> R given
// f(x, grad) (returns f(x), writes the gradient). Algorithm:
//   * inverse-Hessian estimate H = h0 I with h0 = min(1, initial_step / |g0|_inf), so that the
//     first step moves at most `initial_step` along the largest gradient component;
//   * direction p = -H g (reset to -h0 g when it is not a descent direction), scaled down so
//     that |p|_inf <= max_step;
//   * backtracking line search from alpha = 1, halving up to `max_halvings` times, until the
//     Armijo condition f(x + alpha p) <= f(x) + armijo * alpha p.g holds with f finite;
//   * after the first step with curvature s.y > curvature_min, H is rescaled to (s.y / y.y) I,
//     then updated with the BFGS formula whenever s.y > curvature_min.
// Stops with status
//   0  converged: |g|_inf < gtol, or an accepted step improved f by less than ftol (0 <= df),
//      or the line search failed with |g|_inf < stall_gtol, or on_step(x, f) returned true;
//   1  max_iter iterations done;
//   2  the line search failed elsewhere.
// on_step(x, f) is called after every accepted step (x, f the new point) and may stop the
// minimisation early (status 0), e.g. when the point walks into a known minimum.

/// Options of bfgs_minimize (the defaults are those of the Pandel vertex fit).
struct BfgsOptions {
    int max_iter = 100;           ///< iterations (accepted steps)
    double gtol = 1e-3;           ///< converged when |grad|_inf < gtol ...
    double ftol = 1e-6;           ///< ... or f improved by < ftol over an iteration
    double initial_step = 10.0;   ///< largest first step along one coordinate
    /// Largest |p|_inf of a search direction. 500 (m or ns): a wrong direction's best vertex can
    /// lie ~600 m and ~5 us from its seed; with a cap of 50 such fits stopped at max_iter.
    double max_step = 500.0;
    double armijo = 1e-4;         ///< sufficient-decrease constant of the line search
    int max_halvings = 40;        ///< line-search halvings before giving up
    double stall_gtol = 1e-2;     ///< a failed line search counts as converged below this |g|_inf
    double curvature_min = 1e-12; ///< BFGS update only when s.y exceeds this
};

/// Result of bfgs_minimize.
template <std::size_t N>
struct BfgsResult {
    std::array<double, N> x;  ///< final point
    double f;                 ///< objective at x
    int n_eval;               ///< objective evaluations
    int n_iter;               ///< accepted steps
    int status;               ///< 0 converged, 1 max_iter, 2 line search failed (see above)
};

namespace bfgs_detail {

template <std::size_t N>
inline double dot(const double* a, const double* b) {
    double s = a[0] * b[0];
    for (std::size_t i = 1; i < N; ++i) s += a[i] * b[i];
    return s;
}

template <std::size_t N>
inline double max_abs(const double* a) {
    double m = std::fabs(a[0]);
    for (std::size_t i = 1; i < N; ++i) m = std::max(m, std::fabs(a[i]));
    return m;
}

/// out = H v for a row-major N x N matrix H.
template <std::size_t N>
inline void mat_vec(const double* H, const double* v, double* out) {
    for (std::size_t i = 0; i < N; ++i) out[i] = dot<N>(H + N * i, v);
}

template <std::size_t N>
inline void set_diagonal(double* H, double d) {
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < N; ++j) H[N * i + j] = i == j ? d : 0.0;
}

}  // namespace bfgs_detail

/// No early stop (the default on_step of bfgs_minimize).
struct BfgsNoStop {
    template <class X>
    bool operator()(const X&, double) const {
        return false;
    }
};

/// Minimise objective(const double* x, double* grad) -> f from x0 (see the section comment).
template <std::size_t N, class Objective, class OnStep = BfgsNoStop>
BfgsResult<N> bfgs_minimize(Objective&& objective, const std::array<double, N>& x0, const BfgsOptions& opt,
                            OnStep&& on_step = OnStep{}) {
    static_assert(N >= 1, "bfgs_minimize needs at least one parameter");
    using namespace bfgs_detail;
    BfgsResult<N> res{};
    int n_eval = 0;
    auto eval = [&](const double* x, double* g) {
        ++n_eval;
        return objective(x, g);
    };
    std::array<double, N> x = x0, g{};
    double f = eval(x.data(), g.data());
    std::array<double, N * N> H{};
    const double gn0 = max_abs<N>(g.data());
    const double h0 = gn0 > 0 ? std::min(1.0, opt.initial_step / gn0) : 1.0;
    set_diagonal<N>(H.data(), h0);
    int status = 1;
    bool first = true;
    int n_iter = 0;
    for (int it = 0; it < opt.max_iter; ++it) {
        const double gmax = max_abs<N>(g.data());
        if (gmax < opt.gtol) {
            status = 0;
            break;
        }
        std::array<double, N> p;
        mat_vec<N>(H.data(), g.data(), p.data());
        for (double& pi : p) pi = -pi;
        double slope = dot<N>(p.data(), g.data());
        if (!(slope < 0.0)) {  // not a descent direction: reset
            set_diagonal<N>(H.data(), h0);
            for (std::size_t i = 0; i < N; ++i) p[i] = -h0 * g[i];
            slope = dot<N>(p.data(), g.data());
        }
        const double pmax = max_abs<N>(p.data());
        if (pmax > opt.max_step) {
            const double s = opt.max_step / pmax;
            for (double& pi : p) pi *= s;
            slope *= s;
        }
        double alpha = 1.0, fn = f;
        std::array<double, N> xn, gn;
        bool ok = false;
        for (int ls = 0; ls < opt.max_halvings; ++ls) {
            for (std::size_t i = 0; i < N; ++i) xn[i] = x[i] + alpha * p[i];
            fn = eval(xn.data(), gn.data());
            if (std::isfinite(fn) && fn <= f + opt.armijo * alpha * slope) {
                ok = true;
                break;
            }
            alpha *= 0.5;
        }
        if (!ok) {
            status = (gmax < opt.stall_gtol) ? 0 : 2;
            break;
        }
        std::array<double, N> s, y;
        for (std::size_t i = 0; i < N; ++i) {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
        }
        const double df = f - fn;
        ++n_iter;
        x = xn;
        g = gn;
        f = fn;
        if (on_step(x, f)) {
            status = 0;
            break;
        }
        const double sy = dot<N>(s.data(), y.data());
        if (sy > opt.curvature_min) {
            if (first) {
                set_diagonal<N>(H.data(), sy / dot<N>(y.data(), y.data()));
                first = false;
            }
            std::array<double, N> Hy;
            mat_vec<N>(H.data(), y.data(), Hy.data());
            const double yHy = dot<N>(y.data(), Hy.data());
            const double rho = 1.0 / sy;
            for (std::size_t i = 0; i < N; ++i)
                for (std::size_t j = 0; j < N; ++j)
                    H[N * i + j] += (1.0 + yHy * rho) * rho * s[i] * s[j] - rho * (Hy[i] * s[j] + s[i] * Hy[j]);
        }
        if (df >= 0.0 && df < opt.ftol) {
            status = 0;
            break;
        }
    }
    res.x = x;
    res.f = f;
    res.n_eval = n_eval;
    res.n_iter = n_iter;
    res.status = status;
    return res;
}

// ---- end BFGS ------------------------------------------------------------------------------

}  // namespace icecore
