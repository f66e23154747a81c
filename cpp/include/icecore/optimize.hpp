// Small dense minimisers used by the kernels (header-only, std only).
//
// Sections: BFGS (quasi-Newton for smooth objectives with an analytic gradient, fixed small
// dimension N). Each section is self-contained.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace icecore {

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
    double max_step = 50.0;       ///< largest |p|_inf of a search direction
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
    res.status = status;
    return res;
}

// ---- end BFGS ------------------------------------------------------------------------------

}  // namespace icecore
