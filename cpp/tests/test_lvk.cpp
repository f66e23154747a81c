// LVK kernel (lvk_llh.hpp): the one-event closed form of the ns fit against a grid maximum, the
// strip/RA pixel look-up against a brute force over every pixel (poles, the RA wrap, wide and
// narrow circles), batched trials equal to one run, and the distance-moment average on a table
// that is linear in ln c (where linear interpolation is exact).
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "icecore/lvk_llh.hpp"

namespace {

const double kPi = 3.14159265358979323846;

// A Fibonacci lattice of n directions over the whole sphere (covers both poles and RA 0/2pi).
void lattice(std::size_t n, std::vector<double>& ra, std::vector<double>& dec) {
    const double golden = kPi * (3.0 - std::sqrt(5.0));
    for (std::size_t i = 0; i < n; ++i) {
        const double z = 1.0 - 2.0 * (static_cast<double>(i) + 0.5) / static_cast<double>(n);
        dec.push_back(std::asin(z));
        ra.push_back(std::fmod(golden * static_cast<double>(i), 2.0 * kPi));
    }
}

// The generic TS of one event at one pixel, written out (ns fit by a fine grid).
double brute_ts(double ra_e, double dec_e, double sig, double ra_p, double dec_p, double log_prior) {
    const double c = std::sin(dec_e) * std::sin(dec_p) + std::cos(dec_e) * std::cos(dec_p) * std::cos(ra_e - ra_p);
    const double psi = std::acos(std::min(1.0, std::max(-1.0, c)));
    if (psi > std::min(5.0 * sig, kPi)) return log_prior;
    const double x = std::exp(-0.5 * psi * psi / (sig * sig)) / (2 * kPi * sig * sig);
    if (x <= 1.0) return log_prior;
    return 2.0 * (-(1.0 - 1.0 / x) + std::log(x)) + log_prior;
}

}  // namespace

ICECORE_TEST(lvk_fit_ns_one_event_closed_form) {
    for (double x : {1.5, 3.0, 40.0, 1e4}) {
        double f = 0.0;
        const double ns = icecore::lvk_fit_ns(&x, 1, 1000.0, &f);
        double best = 0.0, arg = 0.0;
        for (int k = 0; k <= 200000; ++k) {
            const double s = k * 1e-5;
            const double v = -s + std::log1p(s * x);
            if (v > best) { best = v; arg = s; }
        }
        CHECK_NEAR(ns, arg, 2e-5);
        CHECK_NEAR(f, best, 1e-9);
    }
    double x = 0.7, f = 1.0;
    CHECK(icecore::lvk_fit_ns(&x, 1, 1000.0, &f) == 0.0 && f == 0.0);
}

ICECORE_TEST(lvk_strip_lookup_matches_brute_force) {
    std::vector<double> ra, dec;
    lattice(20000, ra, dec);
    const std::size_t n = ra.size();
    std::vector<double> prior(n), weight(n, 1.0 / static_cast<double>(n)), moments(n * 2, 0.5);
    for (std::size_t k = 0; k < n; ++k) prior[k] = -0.1 * static_cast<double>(k % 7);
    icecore::LvkSettings s;
    const icecore::LvkSearch search(ra, dec, prior, weight, moments, 2, s);
    const double ev_ra[] = {6.28, 0.001, 1.0, 3.0, 5.0, 2.0};
    const double ev_dec[] = {0.3, -0.5, 1.565, -1.56, 0.8, 0.0};
    const double ev_sig[] = {0.02, 0.05, 0.03, 0.01, 0.4, 0.004};
    for (int e = 0; e < 6; ++e) {
        const double one = 1.0, er = 1.0;
        const icecore::LvkEventsView v{&ev_ra[e], &ev_dec[e], &ev_sig[e], &one, &er, 1};
        std::vector<double> ts(n), ns(n);
        search.ts_map(v, ts.data(), ns.data());
        double worst = 0.0;
        for (std::size_t k = 0; k < n; ++k)
            worst = std::max(worst, std::fabs(ts[k] - brute_ts(ev_ra[e], ev_dec[e], ev_sig[e], ra[k], dec[k], prior[k])));
        CHECK_NEAR(worst, 0.0, 1e-9);
    }
}

ICECORE_TEST(lvk_batched_trials_equal_one_run) {
    std::vector<double> ra, dec;
    lattice(3000, ra, dec);
    const std::size_t n = ra.size();
    std::vector<double> prior(n, 0.0), weight(n, 1.0 / static_cast<double>(n)), moments(n * 3, 0.2);
    const icecore::LvkSearch search(ra, dec, prior, weight, moments, 3, icecore::LvkSettings{});
    std::vector<double> pdec(50), psig(50, 0.05), pib(50, 30.0), per(50, 2.0);
    for (std::size_t i = 0; i < 50; ++i) pdec[i] = -1.2 + 0.05 * static_cast<double>(i);
    const icecore::LvkEventsView pool{pdec.data(), pdec.data(), psig.data(), pib.data(), per.data(), 50};
    std::vector<icecore::LvkResult> one(40), parts(40);
    search.trials(pool, 5.0, -1, 40, 9, 2, one.data());
    search.trials(pool, 5.0, -1, 25, 9, 1, parts.data(), 0);
    search.trials(pool, 5.0, -1, 15, 9, 1, parts.data() + 25, 25);
    for (std::size_t t = 0; t < 40; ++t) {
        CHECK(one[t].ts == parts[t].ts);
        CHECK(one[t].odds_lambda == parts[t].odds_lambda);
    }
}

ICECORE_TEST(lvk_distance_moments_exact_on_a_linear_table) {
    // M_0(ln c) = 1, M_1(ln c) = a + b ln c: the average is exact, = a + b <ln kdec - 2 ln r>_w
    const std::size_t n_grid = 50;
    const double lo = -30.0, step = 1.0;
    std::vector<double> table(n_grid * 2);
    for (std::size_t i = 0; i < n_grid; ++i) {
        table[2 * i] = 1.0;
        table[2 * i + 1] = 3.0 + 0.5 * (lo + step * static_cast<double>(i));
    }
    const double kdec[] = {1e-6, 2e-5}, mu[] = {400.0, 40.0}, sigma[] = {100.0, 30.0};
    std::vector<double> out(4);
    icecore::lvk_distance_moments(kdec, mu, sigma, 2, 24, table.data(), n_grid, lo, step, 2, out.data(), 2);
    for (std::size_t p = 0; p < 2; ++p) {
        double ws = 0.0, acc = 0.0;
        for (int j = 0; j < 24; ++j) {
            const double t = -5.0 + 10.0 * j / 23.0;
            const double r = std::max(mu[p] + sigma[p] * t, 1e-3 * mu[p]);
            const double w = r * r * std::exp(-0.5 * std::pow((r - mu[p]) / sigma[p], 2));
            ws += w;
            acc += w * (3.0 + 0.5 * std::log(kdec[p] / (r * r)));
        }
        CHECK_NEAR(out[2 * p], 1.0, 1e-12);
        CHECK_NEAR(out[2 * p + 1], acc / ws, 1e-10);
    }
    CHECK_THROWS(icecore::lvk_distance_moments(kdec, mu, sigma, 2, 1, table.data(), n_grid, lo, step, 2, out.data(), 1),
                 std::invalid_argument);
}

ICECORE_TEST_MAIN()
