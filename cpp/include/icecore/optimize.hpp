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

// ---- Trust-region Newton -------------------------------------------------------------------
//
// trust_newton_minimize<N>(objective, x0, options, on_step) minimises f: R^N -> R given
// f(x, grad, hess) (returns f(x), writes the gradient and the row-major N x N Hessian, which may
// be a model: it only shapes the steps). Algorithm (Nocedal & Wright, "Numerical Optimization",
// 2nd ed., ch. 4, with the exact subproblem solution of Moré & Sorensen, SIAM J. Sci. Stat.
// Comput. 4 (1983) 553, done by eigen-decomposition since N is tiny):
//   * the step p minimises the model m(p) = g.p + p.H p / 2 within |p|_2 <= radius: the Newton
//     step when H is positive definite and the step is inside, else the boundary solution
//     p(mu) = -(H + mu I)^-1 g with |p(mu)| = radius, mu >= max(0, -lambda_min) (hard case: an
//     eigenvector of lambda_min fills up the step to the boundary);
//   * rho = (f(x) - f(x + p)) / (m(0) - m(p)); the step is accepted when rho > 1e-4 and f finite;
//     the radius shrinks to |p| / 4 when rho < 1/4, doubles (up to max_step) when rho > 3/4 and
//     the step reached the boundary; the first radius is initial_step;
//   * every trial point costs one evaluation (value, gradient and Hessian together).
// Stops with status
//   0  converged: |g|_inf < gtol, or H positive definite and the Newton decrement
//      g.H^-1 g / 2 (the model's predicted remaining improvement) < ftol, or the radius
//      collapsed (< 1e-9 (1 + |x|)) with |g|_inf < stall_gtol, or on_step(x, f) returned true;
//   1  max_iter evaluations (trial points) done;
//   2  the radius collapsed elsewhere (no decrease found).
// The options are those of BFGS (BfgsOptions): max_iter, gtol, ftol, initial_step (first
// radius), max_step (largest radius), stall_gtol.

namespace trust_detail {

/// Eigen-decomposition of a symmetric N x N matrix A (row-major) by cyclic Jacobi rotations:
/// A = Q diag(w) Q^T, column k of Q (Q[i * N + k]) the k-th eigenvector.
template <std::size_t N>
inline void symmetric_eigen(const double* A_in, double* w, double* Q) {
    std::array<double, N * N> A;
    for (std::size_t i = 0; i < N * N; ++i) A[i] = A_in[i];
    bfgs_detail::set_diagonal<N>(Q, 1.0);
    for (int sweep = 0; sweep < 30; ++sweep) {
        double off = 0.0, diag = 0.0;
        for (std::size_t i = 0; i < N; ++i) {
            diag += A[N * i + i] * A[N * i + i];
            for (std::size_t j = i + 1; j < N; ++j) off += A[N * i + j] * A[N * i + j];
        }
        if (off <= 1e-30 * diag || off == 0.0) break;
        for (std::size_t p = 0; p < N; ++p) {
            for (std::size_t q = p + 1; q < N; ++q) {
                const double apq = A[N * p + q];
                if (apq == 0.0) continue;
                const double theta = (A[N * q + q] - A[N * p + p]) / (2.0 * apq);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (std::size_t k = 0; k < N; ++k) {  // A <- J^T A J
                    const double akp = A[N * k + p], akq = A[N * k + q];
                    A[N * k + p] = c * akp - s * akq;
                    A[N * k + q] = s * akp + c * akq;
                }
                for (std::size_t k = 0; k < N; ++k) {
                    const double apk = A[N * p + k], aqk = A[N * q + k];
                    A[N * p + k] = c * apk - s * aqk;
                    A[N * q + k] = s * apk + c * aqk;
                }
                for (std::size_t k = 0; k < N; ++k) {
                    const double qkp = Q[N * k + p], qkq = Q[N * k + q];
                    Q[N * k + p] = c * qkp - s * qkq;
                    Q[N * k + q] = s * qkp + c * qkq;
                }
            }
        }
    }
    for (std::size_t i = 0; i < N; ++i) w[i] = A[N * i + i];
}

/// The trust-region step for gradient g, eigen-decomposition (w, Q) of H and radius r. Sets
/// `interior` when it is the unconstrained Newton step (H positive definite, |p| < r), and
/// returns the model decrease m(0) - m(p) >= 0.
template <std::size_t N>
inline double tr_step(const double* g, const double* w, const double* Q, double r, double* p, bool& interior) {
    std::array<double, N> gq;  // g in the eigenbasis
    double wmin = w[0];
    std::size_t kmin = 0;
    for (std::size_t k = 0; k < N; ++k) {
        double s = 0.0;
        for (std::size_t i = 0; i < N; ++i) s += Q[N * i + k] * g[i];
        gq[k] = s;
        if (w[k] < wmin) {
            wmin = w[k];
            kmin = k;
        }
    }
    double gnorm2 = 0.0;
    for (std::size_t k = 0; k < N; ++k) gnorm2 += gq[k] * gq[k];
    const double gnorm = std::sqrt(gnorm2);
    double wmax = 0.0;
    for (std::size_t k = 0; k < N; ++k) wmax = std::max(wmax, std::fabs(w[k]));
    const double eps = 1e-12 * std::max(wmax, 1e-300);
    auto norm_at = [&](double mu) {
        double s = 0.0;
        for (std::size_t k = 0; k < N; ++k) {
            const double den = w[k] + mu;
            s += gq[k] * gq[k] / (den * den);
        }
        return std::sqrt(s);
    };
    std::array<double, N> pq{};  // the step in the eigenbasis
    interior = false;
    if (wmin > eps && norm_at(0.0) <= r) {
        for (std::size_t k = 0; k < N; ++k) pq[k] = -gq[k] / w[k];
        interior = true;
    } else {
        const double lo0 = std::max(0.0, -wmin);
        // hard case: g (nearly) orthogonal to the lowest eigenvector and the step at mu = -wmin
        // (that component left out) inside the ball
        double s_hard = 0.0;
        for (std::size_t k = 0; k < N; ++k) {
            if (k == kmin) continue;
            const double den = w[k] + lo0;
            if (den > 0) s_hard += gq[k] * gq[k] / (den * den);
        }
        const bool hard = std::fabs(gq[kmin]) <= 1e-10 * std::max(gnorm, 1e-300) && std::sqrt(s_hard) < r &&
                          wmin <= eps;
        if (hard) {
            for (std::size_t k = 0; k < N; ++k) {
                if (k == kmin) continue;
                const double den = w[k] + lo0;
                pq[k] = den > 0 ? -gq[k] / den : 0.0;
            }
            pq[kmin] = std::sqrt(std::max(0.0, r * r - s_hard));
        } else {
            // |p(mu)| is decreasing on (lo0, inf); |p(mu)| <= |g| / (wmin + mu) gives hi
            double lo = lo0, hi = lo0 + gnorm / r + wmax + 1e-300;
            // Newton on the secular equation converges monotonically from the left of the root
            double mu = lo0 + 1e-10 * (1.0 + wmax + gnorm / r);
            for (int it = 0; it < 60; ++it) {
                const double nrm = norm_at(mu);
                if (nrm > r)
                    lo = mu;
                else
                    hi = mu;
                if (std::fabs(nrm - r) <= 1e-6 * r) break;
                // Newton on 1/r - 1/|p(mu)| (nearly linear in mu; More & Sorensen)
                double dn = 0.0;  // d|p|^2/dmu / 2 = -sum g^2/(w+mu)^3
                for (std::size_t k = 0; k < N; ++k) {
                    const double den = w[k] + mu;
                    dn -= gq[k] * gq[k] / (den * den * den);
                }
                double mun = mu - (1.0 / r - 1.0 / nrm) * nrm * nrm * nrm / dn;
                if (!(mun > lo && mun < hi)) mun = 0.5 * (lo + hi);
                if (hi - lo <= 1e-14 * (1.0 + hi)) break;
                mu = mun;
            }
            for (std::size_t k = 0; k < N; ++k) pq[k] = -gq[k] / (w[k] + mu);
        }
    }
    double dec = 0.0;  // m(0) - m(p) = -(g.p + p.H p / 2)
    for (std::size_t k = 0; k < N; ++k) dec -= gq[k] * pq[k] + 0.5 * w[k] * pq[k] * pq[k];
    for (std::size_t i = 0; i < N; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < N; ++k) s += Q[N * i + k] * pq[k];
        p[i] = s;
    }
    return dec;
}

}  // namespace trust_detail

/// Minimise objective(const double* x, double* grad, double* hess) -> f from x0 (see the section
/// comment). BfgsResult's fields: n_iter counts accepted steps.
template <std::size_t N, class Objective, class OnStep = BfgsNoStop>
BfgsResult<N> trust_newton_minimize(Objective&& objective, const std::array<double, N>& x0, const BfgsOptions& opt,
                                    OnStep&& on_step = OnStep{}) {
    static_assert(N >= 1, "trust_newton_minimize needs at least one parameter");
    using namespace bfgs_detail;
    BfgsResult<N> res{};
    std::array<double, N> x = x0, g{}, xn, gn;
    std::array<double, N * N> H{}, Hn, Q;
    std::array<double, N> w, p;
    int n_eval = 1, n_iter = 0, status = 1;
    double f = objective(x.data(), g.data(), H.data());
    double radius = opt.initial_step;
    bool have_eig = false;
    for (;;) {
        const double gmax = max_abs<N>(g.data());
        if (!std::isfinite(f)) {
            status = 2;
            break;
        }
        if (gmax < opt.gtol) {
            status = 0;
            break;
        }
        if (!have_eig) {
            trust_detail::symmetric_eigen<N>(H.data(), w.data(), Q.data());
            have_eig = true;
            double wmin = w[0];
            for (std::size_t k = 1; k < N; ++k) wmin = std::min(wmin, w[k]);
            if (wmin > 0.0) {  // Newton decrement g.H^-1 g / 2: the improvement left in the model
                double dec = 0.0;
                for (std::size_t k = 0; k < N; ++k) {
                    double s = 0.0;
                    for (std::size_t i = 0; i < N; ++i) s += Q[N * i + k] * g[i];
                    dec += s * s / w[k];
                }
                if (0.5 * dec < opt.ftol) {
                    status = 0;
                    break;
                }
            }
        }
        if (n_eval >= opt.max_iter) break;  // status 1
        bool interior = false;
        const double pred = trust_detail::tr_step<N>(g.data(), w.data(), Q.data(), radius, p.data(), interior);
        double pnorm = 0.0;
        for (std::size_t i = 0; i < N; ++i) pnorm += p[i] * p[i];
        pnorm = std::sqrt(pnorm);
        for (std::size_t i = 0; i < N; ++i) xn[i] = x[i] + p[i];
        const double fn = objective(xn.data(), gn.data(), Hn.data());
        ++n_eval;
        const double ratio = (std::isfinite(fn) && pred > 0.0) ? (f - fn) / pred : -1.0;
        if (ratio < 0.25)
            radius = 0.25 * pnorm;
        else if (ratio > 0.75 && !interior)
            radius = std::min(2.0 * radius, opt.max_step);
        if (ratio > 1e-4 && fn < f) {
            x = xn;
            g = gn;
            H = Hn;
            f = fn;
            have_eig = false;
            ++n_iter;
            if (on_step(x, f)) {
                status = 0;
                break;
            }
        } else {
            double xs = 0.0;
            for (std::size_t i = 0; i < N; ++i) xs = std::max(xs, std::fabs(x[i]));
            if (radius < 1e-9 * (1.0 + xs)) {
                status = gmax < opt.stall_gtol ? 0 : 2;
                break;
            }
        }
    }
    res.x = x;
    res.f = f;
    res.n_eval = n_eval;
    res.n_iter = n_iter;
    res.status = status;
    return res;
}

// ---- end trust-region Newton ---------------------------------------------------------------

}  // namespace icecore
