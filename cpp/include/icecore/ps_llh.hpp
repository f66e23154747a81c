// Time-integrated point-source likelihood ratio (IceCube public track data).
//
// For one source position the log-likelihood ratio over seasons j is
//
//   log L(ns, g) = sum_j [ sum_{i in sel_j} log(1 + n_j/N_j (X_i(g) - 1)) + (N_j - N'_j) log(1 - n_j/N_j) ]
//
// with n_j = ns f_j(g), f_j = Y_j(g) / sum_k Y_k(g) the season's share of the signal (Y_j =
// livetime x sum_E A_eff x integral E^-g dE over the effective-area energy bins of the source's
// declination row), N_j the number of events of season j, sel_j the events within `cone_rad` of the
// source's declination whose distance to the source is below their own radius r_i (n_sigma x
// AngErr, where S_spatial is negligible beyond); all others enter only through the last term), and
//
//   X_i(g) = S_spatial(psi_i, sigma_i) * S_energy(logE_i; g) * inv_b_i
//
// S_spatial = exp(-psi^2 / 2 sigma^2) / (2 pi sigma^2) * psi / sin(psi)   [1/sr]
// inv_b_i   = 1 / (B_spatial(sin dec_i) * B_energy(logE_i, sin dec_i))     (precomputed)
// S_energy  : tabulated per season, per energy-table class, on a gamma grid (step dgamma) x a fine
//             log-energy grid; linear in log E, parabola through the three nearest gamma grid points.
//
// The fit profiles ns (log L is concave in ns: safeguarded Newton, icecore/optimize.hpp) and
// maximises over gamma by a coarse scan followed by Brent's method (parabolic interpolation with
// golden-section steps, icecore/optimize.hpp) in the two coarse cells around the best coarse
// point, so the result does not depend on seeds or starting values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace icecore {

/// One season: its candidate events (sorted by declination) and its signal model tables.
struct PsSeason {
    // events, all sorted by ascending dec (radians)
    std::vector<double> dec, ra, sin_dec, cos_dec, sigma, inv_b, efrac;
    std::vector<double> cos_r;       // cos of the event's selection radius (where S/B becomes negligible)
    std::vector<double> ux, uy, uz;  // unit vectors (filled by PsModel)
    std::vector<std::int32_t> ebin;  // index into the fine log-energy grid (row padded with zeros)
    // selection index (filled by PsModel): the dec-sorted events cut into strips of consecutive
    // events, each strip's entries sorted by RA, so that a fixed position visits only the events
    // inside its RA window (the box, and the RA extent of the largest selection radius of the strip)
    std::vector<std::size_t> strip_begin;  // n_strip + 1 offsets into the dec-sorted events
    std::vector<double> strip_ra;          // RA in [0, 2 pi) of each entry, ascending within a strip
    std::vector<std::uint32_t> strip_event;  // the event (index into the dec-sorted arrays) of each entry
    std::vector<double> strip_radius;      // largest selection radius [rad] in each strip (-1: none)
    double n_total = 0.0;            // N_j: all events of the season (also those not stored)
    // signal energy tables: n_class x n_gamma x n_e (n_e includes the zero padding at both ends)
    std::vector<double> etable;
    std::size_t n_class = 0, n_e = 0;
    // acceptance: n_class x n_acc, livetime * A_eff [cm^2 s] per energy bin; energy bins in E/E0
    std::vector<double> acc;
    std::vector<double> acc_x_lo, acc_x_hi;

    std::size_t n_events() const { return dec.size(); }
    /// Throws std::invalid_argument unless the event arrays have one length, dec is sorted, every
    /// ebin indexes a table row (ebin + 1 < n_e) and n_total >= the stored events.
    void validate_events() const;
};

struct PsSettings {
    double gamma_grid0 = 0.9;     // first gamma of the table grid
    double gamma_grid_step = 0.1; // its step
    std::size_t n_gamma_grid = 33;
    double gamma_min = 1.0, gamma_max = 4.0;
    double ns_max = 1000.0;
    double cone_rad = 0.17453292519943295;  // half-width of the declination band (10 deg)
    bool ra_box = false;  // also require |RA - RA_src| < cone_rad / min cos(dec_src -+ cone_rad) (SkyLLH's box)
    double coarse_step = 0.5;               // gamma scan step before refinement
    double gamma_tol = 1e-3;
};

struct PsFitResult {
    double ts = 0.0, ns = 0.0, gamma = 0.0;
    std::int32_t status = 0;  // 0 ok, 1 ns at upper bound, 2 no event selected, 3 non-finite likelihood
    std::int32_t n_selected = 0;
    std::int32_t n_eval = 0;  // profile-likelihood evaluations used
};

/// Injected signal events of a batch of trials (flat, grouped by trial through `offsets`).
struct PsInjected {
    const std::int32_t* season = nullptr;
    const double* ra = nullptr;
    const double* sin_dec = nullptr;
    const double* cos_dec = nullptr;
    const double* sigma = nullptr;
    const double* inv_b = nullptr;
    const double* efrac = nullptr;
    const double* cos_r = nullptr;
    const std::int32_t* ebin = nullptr;
    const std::int64_t* offsets = nullptr;  // n_trials + 1 entries, or nullptr when none
};

class PsModel {
public:
    PsModel(std::vector<PsSeason> seasons, PsSettings settings);

    std::size_t n_seasons() const { return seasons_.size(); }
    const PsSeason& season(std::size_t j) const { return seasons_.at(j); }
    const PsSettings& settings() const { return settings_; }

    /// Fit at one position with the stored right ascensions. `cls` holds one class per season.
    PsFitResult fit(double ra, double dec, const std::int32_t* cls) const;

    /// Trials at one position: right ascensions scrambled uniformly (xoshiro256**, one seed per
    /// trial) and optional injected events. Deterministic for any thread count.
    void trials(double ra, double dec, const std::int32_t* cls, const std::uint64_t* seeds, std::size_t n_trials,
                const PsInjected& inj, PsFitResult* out, int threads) const;

    /// Fits at many positions with the stored right ascensions; cls is (n x n_seasons).
    void scan(const double* ra, const double* dec, const std::int32_t* cls, std::size_t n, PsFitResult* out,
              int threads) const;

    /// log L and the season shares at (ns, gamma) with the stored right ascensions (for tests).
    double log_lambda(double ra, double dec, const std::int32_t* cls, double ns, double gamma) const;

private:
    struct Selected {
        std::vector<double> w;  // S_spatial * inv_b
        std::vector<double> efrac;
        std::vector<std::int32_t> ebin;
        double n_total = 0.0;
        void clear() {
            w.clear();
            efrac.clear();
            ebin.clear();
        }
    };
    struct Work {
        std::vector<Selected> sel;
        std::vector<double> c;       // per selected event coefficient for the current gamma
        std::vector<double> shares;  // f_j
        double g0 = 0.0;             // d logL / d ns at ns = 0 for the last profiled gamma
        int n_eval = 0;
        int n_newton = 0;
        // signal energy PDF of every selected event (seasons concatenated) at gamma-grid nodes,
        // filled on demand for the current selection
        std::vector<std::vector<double>> node;
        std::vector<char> node_ok;
        std::vector<double> x;       // S/B of every selected event at the current gamma
    };
    struct GammaNodes;    // grid nodes and parabola weights of one gamma
    struct ProfileTerms;  // log L(ns) and its derivatives at fixed gamma
    struct CoarseBest;    // best point of the coarse gamma scan
    struct ScramblePlan;  // per-season band of a trial position and the largest |delta RA| per event

    // selection of the events that contribute at a position
    void build_strips(PsSeason& s) const;
    void select_fixed(double ra, double dec, Work& work) const;
    void select_scrambled(const ScramblePlan& plan, std::uint64_t seed, Work& work) const;
    void add_injected(double ra, double dec, const PsInjected& inj, std::size_t t, Work& work) const;
    ScramblePlan scramble_plan(double dec) const;
    double ra_half_width(double dec) const;

    // the fit: maximise over gamma of the profile likelihood in ns
    PsFitResult maximise(const std::int32_t* cls, Work& work) const;
    bool coarse_scan(const std::int32_t* cls, Work& work, CoarseBest& best) const;
    bool refine_gamma(const std::int32_t* cls, Work& work, CoarseBest& best) const;
    double profile(double gamma, const std::int32_t* cls, Work& work, double& ns_io, int& status) const;
    double ns_upper_bound(const Work& work) const;
    void collect_terms(const GammaNodes& gn, const std::int32_t* cls, double ns_hi, Work& work,
                       ProfileTerms& terms) const;
    double maximise_ns(const ProfileTerms& terms, double ns_hi, Work& work, double& ns_io, int& status) const;

    // model ingredients at one gamma
    GammaNodes gamma_nodes(double gamma) const;
    const double* node_values(std::size_t g, const std::int32_t* cls, Work& work) const;
    void season_shares(double gamma, const std::int32_t* cls, std::vector<double>& f) const;

    std::vector<PsSeason> seasons_;
    PsSettings settings_;
};

}  // namespace icecore
