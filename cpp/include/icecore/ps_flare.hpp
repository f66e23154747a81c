// Time-dependent (flare) point-source likelihood for one source and one data sample.
//
// The caller supplies, per stored event i, its time t_i [MJD] and its time-independent signal over
// background ratio x_i(g) = S_spatial S_energy(g) / (B_spatial B_energy) tabulated on a gamma grid
// (g0 + k dg, k < n_gamma; linear interpolation in gamma between nodes). Events of the sample not
// stored have x = 0 and enter through (N - n) log(1 - ns/N).
//
//   log Lambda(ns, g, theta) = sum_i log(1 + ns/N (x_i(g) R_i(theta) - 1)) + (N - n) log(1 - ns/N)
//
// with R_i = S_time(t_i | theta) / B_time(t_i), B_time = 1/T_live on the good runs (the uptime), and
//   Gaussian theta = (mu, sigma): S_time = N(t; mu, sigma) / Z, Z = integral of N over the good runs;
//   box      theta = (t1, t2):    S_time = 1 / L(t1, t2) on [t1, t2], L the live time inside;
//   none:                          R = 1 (time-integrated).
// The test statistic includes IceCube's marginalisation term for the flare length (Braun et al.,
// Astropart. Phys. 33 (2010) 175), and it is that penalised TS which the search maximises:
//   Gaussian: TS = 2 log Lambda + 2 log(sqrt(2 pi) sigma / T_live),
//   box:      TS = 2 log Lambda + 2 log(L(t1, t2) / T_live),
//   fixed window or none: TS = 2 log Lambda.
// Search (global): Gaussian -- mu on the times of the most signal-like events x sigma on a
// logarithmic grid, gamma on the grid nodes, ns profiled (safeguarded Newton; log Lambda is
// concave in ns); then Nelder-Mead in (mu, log sigma, gamma) from the best grid points.
// Box -- both edges on the times of the most signal-like events (every pair), gamma on the grid
// nodes, then golden-section in gamma. Background trials scramble the times uniformly in live
// time (the x_i are kept, or rescaled per trial by caller-given spatial factors), one xoshiro256** stream per trial: same seeds, same results, whatever
// the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace icecore {

enum class FlareKind : std::int32_t { none = 0, gauss = 1, box = 2 };

struct FlareSettings {
    double gamma_min = 1.0, gamma_max = 4.0;
    double ns_max = 1000.0;
    double sigma_min = 1.0;      // smallest Gaussian width [days]
    double sigma_max = 0.0;      // largest width [days]; <= 0: a quarter of the sample span
    std::size_t n_sigma = 30;    // log grid of widths
    std::size_t n_seed = 60;     // candidate flare times: the n_seed most signal-like events (at gamma 2)
    std::size_t n_refine = 3;    // grid maxima refined by Nelder-Mead
    double box_min = 0.0;        // shortest box [days]
};

struct FlareFitResult {
    double ts = 0.0, ns = 0.0, gamma = 0.0;
    double t_a = 0.0, t_b = 0.0;  // Gaussian: (mu, sigma); box: (start, end) [MJD]
    double log_lambda = 0.0;      // 2 log Lambda = ts - penalty
    std::int32_t status = 0;      // 0 ok, 1 ns at upper bound, 2 no signal-like event
    std::int32_t n_eval = 0;
};

class FlareModel {
public:
    /// t: n times; x: n_gamma x n ratios (row per gamma node); runs: sorted, disjoint good runs.
    FlareModel(std::vector<double> t, std::vector<double> x, std::size_t n_gamma, double gamma0, double dgamma,
               double n_total, std::vector<double> run_start, std::vector<double> run_stop, FlareSettings settings);

    std::size_t n_events() const { return t_.size(); }
    double livetime() const { return cum_.back(); }
    /// Live time inside [a, b] [days].
    double live_between(double a, double b) const;
    /// Integral over the good runs of a normal density N(mu, sigma).
    double gauss_norm(double mu, double sigma) const;

    /// Global best flare of the given kind with the stored times.
    FlareFitResult fit(FlareKind kind) const;
    /// Fit ns and gamma with a fixed time PDF: gauss (mu, sigma), box (start, end) or none.
    FlareFitResult fit_fixed(FlareKind kind, double a, double b) const;
    /// log Lambda at fixed (ns, gamma, theta) with the stored times.
    double log_lambda(FlareKind kind, double a, double b, double ns, double gamma) const;
    /// Background trials: times scrambled uniformly in live time, one seed per trial.
    void trials(FlareKind kind, const std::uint64_t* seeds, std::size_t n_trials, FlareFitResult* out,
                int threads) const;
    /// Same, with a fixed window (a, b) (kind gauss/box/none).
    void trials_fixed(FlareKind kind, double a, double b, const std::uint64_t* seeds, std::size_t n_trials,
                      FlareFitResult* out, int threads) const;
    /// Trials whose events also moved in space: for trial k the table is x_i(g) * spatial[k * n + i]
    /// (e.g. the ratio of a scrambled to the recorded spatial signal PDF, computed by the caller), times
    /// scrambled as above; a = NaN searches, otherwise (a, b) is the fixed window. spatial: n_trials x n.
    void trials_spatial(FlareKind kind, double a, double b, const double* spatial, const std::uint64_t* seeds,
                        std::size_t n_trials, FlareFitResult* out, int threads) const;

private:
    struct Work;
    Work work() const;
    void candidates(const double* x, std::vector<std::size_t>& out) const;
    double live_until(double t) const;
    double scramble_time(double u) const;
    void time_ratio(FlareKind kind, double a, double b, const std::vector<double>& t, std::vector<double>& r) const;
    double penalty(FlareKind kind, double a, double b) const;
    void x_at(const double* x, double gamma, std::vector<double>& out) const;
    double profile_ns(const std::vector<double>& xr, double& ns, int& status) const;
    double best_gamma(const std::vector<double>& r, Work& w, double& gamma, double& ns, int& status) const;
    FlareFitResult search(FlareKind kind, const std::vector<double>& t, Work& w) const;
    FlareFitResult fixed(FlareKind kind, double a, double b, const std::vector<double>& t, Work& w) const;
    FlareFitResult search_gauss(const std::vector<double>& t, Work& w) const;
    FlareFitResult search_box(const std::vector<double>& t, Work& w) const;

    std::vector<double> t_, x_;
    std::size_t n_gamma_;
    double gamma0_, dgamma_, n_total_;
    std::vector<double> rs_, re_, cum_;  // runs and live time before each run start (cum_[k], plus total)
    FlareSettings s_;
    std::vector<std::size_t> seed_order_;  // events sorted by x at gamma ~ 2, descending
};

}  // namespace icecore
