// Tabulated ln cp(t; nu) and ln S(t; nu) (Gaussian-convolved Pandel pdf and survival function)
// for one (rho, sigma): the "fast" likelihood of PandelTrackLikelihood.
//
// Grid: x = asinh(t / sigma) (fine near the Gaussian core, logarithmic in t for late hits) and
// y = ln nu, uniform steps, on t in [-kTMinSigma sigma, kTMax] ns and nu in [kNuMin, kNuMax].
// At every node the exact closed form (pandel.hpp) gives f, df/dx, df/dy; d2f/dxdy comes from a
// central difference of the exact df/dx in y. Between nodes: bicubic Hermite interpolation
// (tensor product of cubic Hermite bases), so the interpolant is C1 and its gradient is the exact
// derivative of the interpolated value (the BFGS line search sees a consistent function).
//
// Error bound (tests/likelihood/test_pandel_table.py checks it on a dense off-node grid and on
// arguments sampled from a real scan, for the SPE and MPE jitters). In the core t <= 6000 ns,
// nu <= 60 (every hit of directions near the best fit):
//     |ln cp_table - ln cp_exact| <= 2e-6 + 1e-7 |ln cp_exact|
//     |ln S_table  - ln S_exact|  <= 2e-6 + 1e-6 |ln S_exact|
// elsewhere in the domain (late hits of wrong directions, vertex ~1 km away):
//     |ln cp error| <= 2e-5 + 5e-7 |ln cp|,   |ln S error| <= 1e-4 + 1e-6 |ln S|
// and for the partials everywhere |d/dt error| <= 1e-5 / ns + 1e-4 |d/dt|,
// |d/dnu error| <= 2e-5 + 1e-4 |d/dnu| (measured maxima: core values 4e-6 / 1.3e-6, whole domain
// 1.5e-5 / 5.8e-5 (at t ~ 5e4 ns, nu ~ 230), partials 5e-6),
// so that ln p_MPE = ln n + ln cp + (n-1) ln S is within (those bounds) x n. Outside the domain
// `lookup` returns false and the caller uses the exact code.
//
// Evaluation: the gradient path interpolates separably (along y at both x-ends, then along x:
// the same bicubic polynomial as the tensor-product weights, up to rounding), and the photon term
// ln cp + m ln S of the likelihood mixes the four corners' node data first (it is linear in them)
// and interpolates once (log_pdf_sf, log_pdf_sf_batch; equal to ln cp + m ln S of `lookup` to
// 1e-11 relative, tested). The vertex fit calls log_pdf_sf_batch once per evaluation for all live
// DOMs: it locates a block of 32 cells, prefetches their cache lines (nodes are 64-byte aligned,
// a cell's four nodes are four lines), then interpolates them, so the table's memory latency
// overlaps with the arithmetic. The noise mixing of the fast likelihood is SoftplusTable below.
// Tried and dropped (session 5): grid maps without libm (a C2 quintic log2 from the exponent bits
// for both axes; the bounds held) gave no measurable gain over the two libm logs. Note: the
// closed form's d ln S / d nu is off by up to 0.7 % within ~1e-10 of integer nu (seen at nu = 1,
// 2); no node of this grid lies there.
//
// Tables (~150 k nodes, 9.7 MB) are built once per (rho, sigma) (~2-3 s CPU on the loaded shared
// machine, 6 exact evaluations per node, 2 threads) and cached for the process
// (PandelTable::shared, thread-safe); they are immutable after construction.
#pragma once

#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include "icecore/pandel.hpp"

namespace icecore {

/// ln f, its partials and its second partials with respect to (nu, t).
struct LogHess {
    double value, d_nu, d_t;
    double d_nunu, d_nut, d_tt;
};

/// The noise mixing of the fast likelihood: ln(e^a + e^b) = max(a, b) + sp(|a - b|) with the
/// softplus sp(z) = ln(1 + e^-z) from a cubic Hermite table (nodes every 1/32 in z on [0, 40],
/// exact sp and sp' at the nodes, sp = sp' = 0 from z = 40 on: e^-40 = 4e-18 is below the
/// rounding of max(a, b)). The weight wa = d/da ln(e^a + e^b) is the exact derivative of the
/// interpolated value (C1, 1/2 at a = b), so the gradient stays consistent with the value.
/// Error bound (tests/likelihood/test_pandel_table.py, dense grid): |sp error| <= 5e-10 (measured
/// max 3.1e-10), |wa error| <= 5e-8 (measured 3.1e-8); per hit DOM of -ln L the same 5e-10.
/// The exact likelihood keeps the libm exp / log1p (track_llh.cpp log_add).
class SoftplusTable {
public:
    static constexpr int kPerUnit = 32;  ///< nodes per unit of z
    static constexpr double kZMax = 40.0;

    /// The process-wide table (built on first use, ~1300 nodes, 20 kB).
    static const SoftplusTable& instance();

    /// ln(e^a + e^b) with wa = its derivative in a (the weight of a); NaN in, NaN out.
    double log_add(double a, double b, double& wa) const {
        const double diff = a - b;
        const double z = std::fabs(diff);
        double sp = 0.0, dsp = 0.0;
        if (z < kZMax) {
            const double q = z * kPerUnit;
            const int k = static_cast<int>(q);
            const double t = q - k, u = 1.0 - t;
            const double* n = &node_[2 * static_cast<std::size_t>(k)];
            // cubic Hermite on [z_k, z_k+1]: n = (sp_k, h sp'_k, sp_k+1, h sp'_k+1)
            sp = (1.0 + 2.0 * t) * u * u * n[0] + t * u * u * n[1] + t * t * (3.0 - 2.0 * t) * n[2] - t * t * u * n[3];
            dsp = (6.0 * t * u * (n[2] - n[0]) + u * (1.0 - 3.0 * t) * n[1] + t * (3.0 * t - 2.0) * n[3]) * kPerUnit;
        } else if (!(z >= kZMax)) {  // NaN
            wa = z;
            return z;
        }
        wa = diff >= 0.0 ? 1.0 + dsp : -dsp;
        return (diff >= 0.0 ? a : b) + sp;
    }

private:
    SoftplusTable();
    std::vector<double> node_;  ///< (sp(z_k), h sp'(z_k)) for z_k = k h, h = 1 / kPerUnit
};

class PandelTable {
public:
    static constexpr double kTMinSigma = 20.0;  ///< domain starts at t = -20 sigma
    static constexpr double kTMax = 50000.0;    ///< ns (wrong directions: vertex ~1 km away)
    static constexpr double kNuMin = 0.04;
    static constexpr double kNuMax = 250.0;
    static constexpr double kStepX = 0.02;      ///< grid step in asinh(t / sigma)
    static constexpr double kStepY = 0.04;      ///< grid step in ln nu

    PandelTable(double rho, double sigma);

    /// The cached table of (rho, sigma) (built on first use).
    static std::shared_ptr<const PandelTable> shared(double rho, double sigma);

    /// ln cp and ln S with their (nu, t) partials at (t, nu); false (outputs untouched) outside
    /// the domain.
    bool lookup(double t, double nu, LogGrad& log_pdf, LogGrad& log_sf) const;

    /// ln p_MPE = ln n + ln cp + (n-1) ln S (n >= 1), or ln cp when n == 1 / SPE; exact
    /// fallback outside the domain.
    LogGrad mpe_log_pdf(double t, double nu, double n) const;
    LogGrad cpandel_log_pdf(double t, double nu) const;
    /// ln cp + m ln S (m = n - 1 >= 0 photons after the first; m == 0: ln cp only, S is not
    /// interpolated: the MPE pdf of one photon is the SPE pdf) with partials; exact fallback
    /// outside the domain. Without the ln n term (the likelihood adds it once per DOM).
    LogGrad log_pdf_sf(double t, double nu, double m) const;

    /// log_pdf_sf(t[k], nu[k], m[k]) for k < n into out[k], the same values as n calls: the cells
    /// of a block of terms are located (and prefetched) before they are interpolated, so the
    /// table's memory latency overlaps with the arithmetic.
    void log_pdf_sf_batch(std::size_t n, const double* t, const double* nu, const double* m, LogGrad* out) const;

    /// log_pdf_sf with the second partials (d2/dnu2, d2/dnu dt, d2/dt2) of the interpolant: the
    /// Hessian model of the Newton vertex fit. The bicubic's second derivatives are piecewise
    /// continuous (exact to O(grid step) relative); outside the domain the exact values and
    /// forward differences of the exact partials.
    LogHess log_pdf_sf_hess(double t, double nu, double m) const;

    double rho() const { return rho_; }
    double sigma() const { return sigma_; }
    std::size_t bytes() const { return nodes_.size() * sizeof(Node); }

private:
    template <bool WithSf, bool WithHess = false>
    bool interpolate(double t, double nu, LogGrad& log_pdf, LogGrad& log_sf, double* hess_pdf = nullptr,
                     double* hess_sf = nullptr) const;
    /// ln cp + m ln S with its partials (corners mixed, one bicubic); false outside the domain.
    bool interpolate_mix(double t, double nu, double m, LogGrad& out) const;
    LogHess exact_hess(double t, double nu, double m) const;
    /// The cell of (t, nu): node index of its (i, j) corner, the fractional grid coordinates a, b
    /// in [0, 1] (clamped cells at the edges), u = t / sigma and r = sqrt(u^2 + 1) (for d a / d t).
    struct Cell {
        std::size_t index;
        double a, b, u, r;
    };
    /// false outside the domain (cell untouched); the one grid-coordinate rule of every lookup.
    bool locate(double t, double nu, Cell& c) const {
        if (!(t >= -kTMinSigma * sigma_ && t <= kTMax && nu >= kNuMin && nu <= kNuMax)) return false;
        const double u = t * inv_sigma_;
        const double r = std::sqrt(u * u + 1.0);
        const double x = std::copysign(std::log(std::fabs(u) + r), u);  // asinh(u), reusing r
        const double y = std::log(nu);
        const double fx = (x - x0_) * (1.0 / kStepX), fy = (y - y0_) * (1.0 / kStepY);
        int i = static_cast<int>(fx), j = static_cast<int>(fy);
        if (i > nx_ - 2) i = nx_ - 2;
        if (j > ny_ - 2) j = ny_ - 2;
        if (i < 0) i = 0;
        if (j < 0) j = 0;
        c.index = static_cast<std::size_t>(i) * static_cast<std::size_t>(ny_) + static_cast<std::size_t>(j);
        c.a = fx - i;
        c.b = fy - j;
        c.u = u;
        c.r = r;
        return true;
    }
    struct alignas(64) Node {  ///< one cache line
        double f[4];  ///< ln cp: f, f_x, f_y, f_xy (derivatives in grid units)
        double s[4];  ///< ln S: the same
    };
    double rho_, sigma_, inv_sigma_;
    double x0_, y0_;
    int nx_, ny_;
    std::vector<Node> nodes_;
};

}  // namespace icecore
