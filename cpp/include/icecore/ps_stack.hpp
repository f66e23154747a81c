// Stacked time-integrated point-source likelihood: one ns shared by K weighted sources, and its
// RA-scrambled background / signal-injection trials (the per-trial loop of icecore.ps.stacking).
//
// Per season j and event i (declination dec_i, angular error sigma_i, 1/B_i = inverse background
// PDF, energy index ebin_i with fraction efrac_i on the season's fine log E grid):
//
//   x_ij(g) = sum_k m_jk(g) S_sp(psi_ik, sigma_i) / B_i * max(0, E_jk(g; ebin_i, efrac_i)),
//   m_jk(g) = W_jk(g) / sum_k W_jk(g),   W_jk(g) = w_k Y_jk(g),
//
// with S_sp the 2-d Rayleigh density times psi/sin(psi), E_jk the source's signal energy table
// (n_gamma x n_e, linear in log E, E = 0 for ebin 0) interpolated in gamma by the parabola through the
// three nearest nodes, and Y_jk (expected events per unit flux) log-linear between nodes. Only events
// within `radius` of source k and within `band` of its declination contribute to source k.
//
//   log Lambda(ns, g) = sum_j [ sum_i log(1 + ns a_j (x_ij - 1)) + (N_j - n_j^x) log(1 - ns a_j) ],
//   a_j = f_j(g) / N_j,  f_j = sum_k W_jk / sum_jk W_jk,
//
// the second term for the events with x = 0. ns is profiled by a safeguarded Newton iteration; gamma
// on nodes 0.25 apart from gamma_min, then Brent's method in the two cells around the best node.
// Trials draw every event's right ascension uniformly in [0, 2 pi) (one xoshiro256** stream per trial,
// seasons in order, events in input order), optionally append the trial's injected events, and fit.
// The RA draws and every sum run in a fixed order: results do not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace icecore {

/// One event of a season (recorded or injected) as the stacking kernel needs it.
struct StackEvent {
    double ra = 0.0, dec = 0.0;  // [rad]
    double sigma = 0.0;          // angular error [rad]
    double inv_b = 0.0;          // 1 / background PDF (spatial x energy)
    double efrac = 0.0;          // fraction inside the fine log E bin
    std::int32_t ebin = 0;       // fine log E bin (0: outside the table, no signal)
    std::int32_t trial = 0;      // injected events: the trial they belong to
};

struct StackSettings {
    double gamma_min = 1.0, gamma_max = 4.0;
    double ns_max = 1000.0;
    double radius = 0.5235987755982988;  // [rad] (30 deg)
    double band = 0.17453292519943295;   // [rad] (10 deg)
    double gamma_xtol = 1e-3;            // Brent tolerance in gamma
};

struct StackFitResult {
    double ts = 0.0, ns = 0.0, gamma = 0.0;
    std::int32_t n_injected = 0;
    std::int32_t status = 0;  // 0 ok, 1 ns at its upper bound
};

class StackModel {
public:
    /// src_ra, src_dec [rad], weights w_k (> 0); gamma grid gamma0 + q dgamma, q < n_gamma.
    StackModel(std::vector<double> src_ra, std::vector<double> src_dec, std::vector<double> weights,
               double gamma0, double dgamma, std::size_t n_gamma, StackSettings settings);

    /// Add a season: its events (ra is ignored by trials), the per-source energy tables
    /// (K x n_gamma x n_e, row-major) and acceptances Y (K x n_gamma).
    void add_season(std::vector<StackEvent> events, std::vector<double> tables, std::size_t n_e,
                    std::vector<double> y);

    std::size_t n_seasons() const { return seasons_.size(); }
    std::size_t n_sources() const { return sra_.size(); }

    /// Fit with the given right ascensions per season (ra[j] has the season's event count) [rad].
    StackFitResult fit(const std::vector<const double*>& ra) const;
    /// log Lambda(ns, gamma) with the given right ascensions.
    double log_lambda(const std::vector<const double*>& ra, double ns, double gamma) const;
    /// The right ascensions trial `seed` draws, season by season (for tests).
    std::vector<std::vector<double>> scramble(std::uint64_t seed) const;
    /// Trials: RA-scrambled events plus, per season, the injected events of each trial
    /// (injected[j], sorted by trial; may be empty). out has n_trials entries.
    void trials(const std::uint64_t* seeds, std::size_t n_trials,
                const std::vector<std::vector<StackEvent>>& injected, StackFitResult* out, int threads) const;

private:
    struct Season {
        std::vector<StackEvent> ev;      // sorted by declination
        std::vector<std::size_t> order;  // ev[q] is input event order[q]
        std::vector<double> tables, y;
        std::size_t n_e = 0;
        std::vector<std::size_t> lo, hi;  // per source: the declination-band range of ev
    };
    struct Terms;  // per season, per source: (event, spatial factor, energy fine index) of one trial
    void collect(std::size_t j, const double* ra_sorted, const StackEvent* extra, std::size_t n_extra,
                 Terms& terms) const;
    double profile(const std::vector<Terms>& terms, double gamma, double& ns, int& status) const;
    StackFitResult fit_terms(const std::vector<Terms>& terms) const;
    std::vector<Terms> terms_of(const std::vector<const double*>& ra) const;  // one RA array per season

    std::vector<double> sra_, sdec_, w_, su_;  // su_: source unit vectors (K x 3)
    double gamma0_, dgamma_;
    std::size_t n_gamma_;
    StackSettings s_;
    std::vector<Season> seasons_;
};

}  // namespace icecore
