// LVK gravitational-wave follow-up: the two searches over the pixels of a GW sky map.
//
// Events i (in the +-500 s window) enter through
//
//   X_i(pix, g) = K(psi_i, sigma_i) * eratio_i(g) * inv_bg_i
//
// with K(psi, sigma) = exp(-psi^2 / 2 sigma^2) / (2 pi sigma^2) [1/sr] the signal kernel,
// eratio_i(g) = S_energy / B_energy of the event for spectral index number g, and
// inv_bg_i = 1 / (n_b * B_spatial(dec_i)) with n_b the expected background count of the window and
// B_spatial [1/sr]. Pixels farther than n_sigma * sigma_i from event i get X_i = 0.
//
// Generic search (Poisson-extended unbinned likelihood, GW map as a spatial prior):
//   ln Lambda(pix, ns, g) = -ns + sum_i ln(1 + ns X_i(pix, g))
//   TS(pix) = max_{ns >= 0, g} 2 ln Lambda + log_prior(pix),   log_prior = 2 ln(P_GW(pix) / max P_GW)
//   TS = max over the pixels (at least 0: ns = 0 at the most probable pixel).
// Bayesian search (LLAMA-style odds ratio, marginalised over source direction, distance and
// emission energy): with mu the expected signal count,
//   <Lambda> = sum_pix w(pix) < e^-mu prod_i (1 + mu X_i(pix, g_b)) >_{r, E}
//            = sum_pix w(pix) sum_k e_k(X(pix)) M_k(pix),      M_k = < mu^k e^-mu >_{r, E}
// where e_k are the elementary symmetric polynomials of the X_i and M_k is tabulated per pixel by
// the caller (k = 0 .. n_moment - 1; more coincident events than that are truncated at the table).
//
// Trials draw N ~ Poisson(mean_n) (or a fixed N) events from a background pool with uniform RA,
// each trial from its own generator seeded by (seed, first_trial + trial index): results do not
// depend on the thread count, and trials run in batches (first_trial = 0, B, 2B, ...) equal one run.
//
// Pixel look-up: the region's pixels are kept in declination strips of kStripRad, sorted by RA in
// each strip; an event visits only the strips its cut-off circle crosses and, in each, the RA range
// the circle spans there (a conservative bound, then the exact angular test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace icecore {

struct LvkSettings {
    std::size_t n_gamma = 1;            // columns of eratio
    std::size_t bayes_gamma_index = 0;  // eratio column used by the Bayesian search
    double n_sigma = 5.0;               // kernel cut-off in units of sigma
    double ns_max = 1000.0;             // upper bound of the ns fit
};

/// Events of one window (angles in radians; eratio row-major n x n_gamma).
struct LvkEventsView {
    const double* ra = nullptr;
    const double* dec = nullptr;
    const double* sigma = nullptr;
    const double* inv_bg = nullptr;
    const double* eratio = nullptr;
    std::size_t n = 0;
};

struct LvkResult {
    double ts = 0.0;            // generic TS (maximised over the pixels)
    double ns = 0.0;            // its ns
    std::int64_t gamma_index = -1;  // its spectral index number (-1: ns = 0)
    std::int64_t pixel = -1;    // index of its pixel in the search region
    double odds_lambda = 0.0;   // Bayesian <Lambda> (likelihood ratio averaged over the priors)
    std::int64_t n_near = 0;    // events within n_sigma of at least one region pixel
};

class LvkSearch {
public:
    /// Pixels of the search region (any order; sorted internally by sin dec). `moments` is
    /// n_pix x n_moment row-major. Throws std::invalid_argument on inconsistent input.
    LvkSearch(std::vector<double> ra, std::vector<double> dec, std::vector<double> log_prior,
              std::vector<double> weight, std::vector<double> moments, std::size_t n_moment,
              LvkSettings settings);

    std::size_t n_pixels() const { return z_.size(); }
    const LvkSettings& settings() const { return settings_; }

    /// Both searches on one window.
    LvkResult evaluate(const LvkEventsView& events) const;

    /// Generic TS of every region pixel (in the caller's pixel order) for one window, and its ns.
    void ts_map(const LvkEventsView& events, double* ts_out, double* ns_out) const;

    /// Background (or fixed-N) trials: `pool` holds candidate events (its ra is ignored).
    /// fixed_n >= 0 uses exactly that many events per trial, else N ~ Poisson(mean_n).
    void trials(const LvkEventsView& pool, double mean_n, std::int64_t fixed_n, std::size_t n_trials,
                std::uint64_t seed, int threads, LvkResult* out, std::uint64_t first_trial = 0) const;

    /// Declination strip width of the pixel look-up [rad].
    static constexpr double kStripRad = 3.14159265358979323846 / 720.0;

private:
    struct Entry {
        std::uint32_t pix;
        std::uint32_t ev;
        double s;  // K * inv_bg
    };
    void collect(const LvkEventsView& ev, std::vector<Entry>& entries, std::vector<std::size_t>& runs) const;
    void visit_range(std::size_t first, std::size_t last, double ex, double ey, double ez, double cos_cut,
                     double norm, double inv2s2, std::uint32_t ev, std::vector<Entry>& entries) const;
    LvkResult reduce(const LvkEventsView& ev, std::vector<Entry>& entries, double* ts_map,
                     double* ns_map) const;

    LvkSettings settings_;
    std::vector<double> x_, y_, z_, ra_, log_prior_, weight_, moments_;
    std::vector<std::size_t> strip_begin_;   // pixels of strip s: [strip_begin_[s], strip_begin_[s + 1])
    std::vector<std::size_t> caller_index_;  // sorted position -> caller's pixel index
    std::size_t n_moment_ = 0;
    std::size_t best_prior_pixel_ = 0;       // caller's index of the largest prior
    double base_odds_ = 0.0;                 // sum_pix w M_0
};

/// Maximise -ns + sum ln(1 + ns x_i) over ns in [0, ns_max]; returns ns, writes the maximum.
double lvk_fit_ns(const double* x, std::size_t n, double ns_max, double* value);

/// Per-pixel average of tabulated moments M_k(c) over a distance ansatz (the Bayesian prior):
///   out[p, k] = sum_j w_j M_k(kdec[p] / r_j^2) / sum_j w_j,
///   r_j = max(mu + sigma t_j, 1e-3 mu), t_j = -5 .. 5 (n_nodes even steps), w_j = r_j^2 N(r_j; mu, sigma),
/// with M_k linearly interpolated in ln c on the uniform grid grid_lo + i grid_step (i < n_grid;
/// clamped at its ends). `table` is n_grid x n_moment row-major. Throws on inconsistent input.
void lvk_distance_moments(const double* kdec, const double* mu, const double* sigma, std::size_t n_pix,
                          std::size_t n_nodes, const double* table, std::size_t n_grid, double grid_lo,
                          double grid_step, std::size_t n_moment, double* out, int threads);

}  // namespace icecore
