// Pandel track likelihood of one event (SPE or MPE first-hit times with a noise floor) and the
// per-direction vertex fit that the sky scan calls for every pixel (a DirectionFitter).
//
// Geometry (infinite track; AMANDA/IceCube muon reconstruction, NIM A 524 (2004) 169): the muon
// passes the vertex q at time t0 travelling along v = -(sin z cos a, sin z sin a, cos z). For a DOM
// at r, with p = r - q, l = p.v and perpendicular distance d = |p - l v|, direct Cherenkov light
// arrives at t_geo = t0 + (l - d cot(theta_c)) / c + d n_group / (c sin(theta_c)),
// cos(theta_c) = 1 / n_phase, after a path d / sin(theta_c) that reaches the down-facing PMT at
// angle eta. The Pandel shape is nu = d_eff / lambda with
// d_eff = a0 + a1 d/sin(theta_c) + a2 cos(eta) + a3 cos^2(eta).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "icecore/direction_fit.hpp"
#include "icecore/optimize.hpp"
#include "icecore/pandel_table.hpp"

namespace icecore {

// Defaults. The values below (IceParams, LikelihoodOptions) are the only place where the ice
// model and likelihood defaults are written down: the binding exposes these structs with their
// default constructors, and icecore.likelihood (IceModel, TrackLikelihood, fit_track) reads its
// defaults from them.

/// Gaussian jitter defaults of the two likelihood modes (ns): SPE uses a wider jitter than MPE.
inline constexpr double kDefaultSigmaSpeNs = 15.0;
inline constexpr double kDefaultSigmaMpeNs = 4.0;

/// Ice model ("H2" bulk-ice defaults) and effective-distance coefficients.
struct IceParams {
    double absorption_m = 98.0;        ///< absorption length lambda_a (m)
    double tau_ns = 556.7;             ///< Pandel tau (ns)
    double scattering_m = 33.29;       ///< effective scattering length lambda (m): nu = d_eff / lambda
    double n_phase = 1.3195;           ///< phase refractive index (Cherenkov angle)
    double n_group = 1.35634;          ///< group refractive index (photon speed)
    double c_m_per_ns = 0.299792458;   ///< speed of light in vacuum (m/ns)
    double deff_a0 = 3.094, deff_a1 = 0.8395, deff_a2 = -3.946, deff_a3 = 4.636;

    /// Pandel rate rho = 1/tau + c/(n_group lambda_a) (1/ns).
    double rho() const { return 1.0 / tau_ns + c_m_per_ns / (n_group * absorption_m); }
    /// nullptr if valid, else a description of the problem.
    const char* check() const;
};

/// Minimiser of the per-direction vertex fit (optimize.hpp).
enum class VertexMinimizer {
    bfgs,    ///< BFGS with a backtracking line search (gradient only)
    newton,  ///< trust-region Newton with the Hessian model from the Pandel tables
};

/// Vertex seeds of one scan level: fits of a batch at this nside use these ring counts instead
/// of LikelihoodOptions::n_ring / n_ring_near.
struct LevelSeeds {
    std::int64_t nside;  ///< power of two >= 1
    int n_ring;          ///< in [0, 64]
    int n_ring_near;     ///< in [0, 64]
};

/// Likelihood and vertex-fit options.
struct LikelihoodOptions {
    bool mpe = true;                    ///< MPE (first of n photons) or SPE
    double sigma_ns = kDefaultSigmaMpeNs;  ///< Gaussian jitter of the convolved Pandel
    double noise_rate_hz = 500.0;       ///< DOM dark rate (Hz)
    double window_ns = 10000.0;         ///< readout window (ns); noise probability = rate * window
    int n_ring = 6;                     ///< extra seeds on a ring around each given seed
    double ring_radius_m = 150.0;       ///< radius of that ring (m)
    /// Seeds where they matter: when the fit from the given seed ends within near_m (transverse
    /// vertex move, m) and near_ns (time move, ns) of that seed, the seed was already good (e.g.
    /// the parent pixel's vertex at a fine level) and only n_ring_near ring seeds follow
    /// (n_ring_near = n_ring, the default, turns this off). Decided per fit from the fit itself,
    /// so remote workers and in-process scans agree.
    int n_ring_near = 6;
    double near_m = 20.0;
    double near_ns = 60.0;
    /// Per-level seeds: a batch whose nside (fit_batch's argument) equals an entry's nside uses
    /// that entry's n_ring / n_ring_near (at most one entry per nside); other nsides, and
    /// nside 0, the values above.
    std::vector<LevelSeeds> level_seeds{};
    /// Photon term: false = the exact closed form (pandel.hpp, the reference); true = the
    /// bicubic tables of ln cp and ln S (pandel_table.hpp, stated error bound, exact fallback
    /// outside their domain), about 3x cheaper per DOM term.
    bool fast = false;
    /// Minimiser of the vertex fit. newton: trust_newton_minimize (optimize.hpp) on -ln L, its
    /// gradient and a Hessian whose photon-term second partials come from the bicubic tables
    /// (also with fast = false: the Hessian only shapes the steps, the minimum, -ln L and the
    /// gradient are those of the chosen evaluation), max_iter counting evaluations.
    VertexMinimizer minimizer = VertexMinimizer::bfgs;
    /// Minimiser of the fit from the given seed (the first of each direction's seeds; the ring
    /// seeds use `minimizer`). newton pays where the given seed is already near the minimum (the
    /// parent pixel's vertex at refinement levels: ~3 instead of ~12 evaluations).
    VertexMinimizer seed_minimizer = VertexMinimizer::bfgs;
    /// Options of the per-direction vertex fit (max_iter per seed; converged when |grad|_inf < gtol
    /// per m / ns, or -ln L improved by < ftol over an iteration (BFGS) / the Newton decrement is
    /// below ftol (newton); see optimize.hpp).
    BfgsOptions vertex_fit{};

    /// Defaults of one mode (SPE: sigma_ns = kDefaultSigmaSpeNs; MPE: kDefaultSigmaMpeNs).
    static LikelihoodOptions for_mode(bool use_mpe) {
        LikelihoodOptions o;
        o.mpe = use_mpe;
        o.sigma_ns = use_mpe ? kDefaultSigmaMpeNs : kDefaultSigmaSpeNs;
        return o;
    }
    const char* check() const;
};

/// Closest approach / Cherenkov quantities of one DOM.
struct TrackPoint {
    double d, t_geo, cos_eta, along;
};

/// Direction-dependent constants of a track.
class TrackFrame {
public:
    TrackFrame(double zenith, double azimuth, double n_phase, double n_group, double c);
    /// Geometry for DOM at r[3], vertex (x, y, z) at time t0; d0 regularises d near 0.
    TrackPoint point(const double* r, double x, double y, double z, double t0, double d0) const;
    double v[3];          ///< direction of travel
    double e1[3], e2[3];  ///< transverse basis (e1 = dv/dzenith direction, e2 = horizontal)
    double dv_dzen[3], dv_dazi[3];
    double sin_c, cos_c, c, k_perp;  ///< k_perp: d t_geo / d d
};

class PandelTrackLikelihood : public DirectionFitter {
public:
    PandelTrackLikelihood(const double* positions, const double* times, const double* charges,
                          std::size_t n, const IceParams& ice, const LikelihoodOptions& opt);

    /// -ln L and gradient w.r.t. (x, y, z, t, zenith, azimuth) (grad may be nullptr).
    double neg_llh(double x, double y, double z, double t, double zenith, double azimuth,
                   double* grad) const;

    /// -ln L in the vertex fit's coordinates: vertex q = seed + alpha e1 + beta e2 (e1, e2 the
    /// transverse basis of the direction, TrackFrame), time t0; writes the gradient with respect
    /// to (alpha, beta, t0) and, if hess != nullptr, the Hessian model of the Newton fit
    /// (row-major 3 x 3). For tests of the derivatives.
    double neg_llh_transverse(double zenith, double azimuth, const VertexSeed& seed, double alpha, double beta,
                              double t0, double* grad, double* hess) const;

    /// Vertex fit for one fixed direction: BFGS (optimize.hpp, options opt.vertex_fit) over the
    /// vertex offset in the plane transverse to the track and the time (evaluated in that frame:
    /// the along-track geometry of every DOM is computed once per direction), from `seed` and from
    /// n_ring points on a ring of ring_radius_m around it; a seed that walks into a minimum an
    /// earlier seed found (within 0.5 m / 0.5 ns, not better by 1e-3) is stopped there. Returns
    /// the best seed's result; n_eval sums all seeds; status 0 converged, 1 max_iter, 2 line
    /// search failed, 3 no finite likelihood.
    DirectionFitResult fit_direction(double zenith, double azimuth, const VertexSeed& seed) const {
        return fit_direction(zenith, azimuth, seed, opt_.n_ring, opt_.n_ring_near);
    }
    /// fit_direction with n_ring / n_ring_near ring seeds instead of the options' values.
    DirectionFitResult fit_direction(double zenith, double azimuth, const VertexSeed& seed, int n_ring,
                                     int n_ring_near) const;

    /// fit_direction for each direction, on `threads` threads in dynamic chunks of 4 fits
    /// (parallel_for_dynamic): each result depends only on its own inputs (and on nside through
    /// the options' level_seeds).
    void fit_batch(const double* zenith, const double* azimuth, const VertexSeed* seeds,
                   std::size_t n, DirectionFitResult* out, int threads, std::int64_t nside) const override;

    std::size_t n_doms() const { return t_.size(); }

private:
    /// Per-direction constants of every hit DOM for moves of the vertex in the plane transverse
    /// to the track (q = base + alpha e1 + beta e2): the along-track coordinate l does not change,
    /// so only the transverse offsets (p1, p2) = ((r - base).e1, (r - base).e2) and the time
    /// T = t_hit - l / c enter; built once per direction (struct of arrays over DOMs).
    struct Transverse {
        std::vector<double> p1, p2, tt;
        double e1z = 0.0, vz = 0.0;
        /// Scratch of the table path of eval_transverse (per fit, one thread): the live terms'
        /// t_res, nu, m = n - 1, d nu / d(alpha, beta), d t_res / d(alpha, beta) and results.
        mutable std::vector<double> s_t, s_nu, s_m, s_nua, s_nub, s_tra, s_trb;
        mutable std::vector<LogGrad> s_out;
        mutable std::vector<unsigned char> s_live;
    };
    /// eval_transverse<false> with the fast likelihood: geometry of all DOMs first, then the
    /// table terms in one batch (PandelTable::log_pdf_sf_batch), then the noise mixing; the same
    /// per-term arithmetic and summation order as the one-pass loop.
    double eval_transverse_table(const TrackFrame& fr, const Transverse& tr, double alpha, double beta, double t0,
                                 double* grad) const;
    void make_transverse(const TrackFrame& fr, const double* base, Transverse& tr) const;
    /// -ln L at q = base + alpha e1 + beta e2, time t0, and its gradient (alpha, beta, t0).
    /// With WithHess also the Hessian (row-major 3 x 3) for the Newton fit.
    template <bool WithHess>
    double eval_transverse(const TrackFrame& fr, const Transverse& tr, double alpha, double beta, double t0,
                           double* grad, double* hess) const;
    /// ln p of one hit without ln n (ln cp + (n-1) ln S for MPE, ln cp for SPE) and its partials.
    LogGrad photon_term(std::size_t i, double tres, double nu) const;
    /// photon_term with the second partials (the Hessian model: table, exact values when !fast).
    LogHess photon_term_hess(std::size_t i, double tres, double nu) const;
    double eval(const TrackFrame& fr, const double* q, double t0, double* gq, double* gt,
                double* gdir) const;
    std::vector<double> pos_, t_, nphot_, skip_before_;
    std::vector<double> log_signal_n_;  ///< ln(1 - f) + ln n per DOM (ln n only for MPE)
    IceParams ice_;
    LikelihoodOptions opt_;
    double rho_, log_noise_, log_signal_;
    std::shared_ptr<const PandelTable> table_;  ///< set when opt.fast or the Newton minimiser
};

}  // namespace icecore
