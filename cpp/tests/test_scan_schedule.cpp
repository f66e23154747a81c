// ScanDriver schedule with the synthetic AnalyticDirectionFitter (a von Mises -lnL around a known
// direction): level 0 covers the whole sky once, refinement stays near the best pixel and never
// repeats a pixel, the best pixel converges on the truth, and the result is independent of the
// thread count; protocol misuse throws std::invalid_argument.
#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "icecore/analytic_fitter.hpp"
#include "icecore/healpix.hpp"
#include "icecore/scan.hpp"

namespace {

icecore::AnalyticFitterParams truth() {
    icecore::AnalyticFitterParams p;
    p.zenith = 1.1;
    p.azimuth = 2.3;
    p.kappa = 5000.0;
    return p;
}

std::vector<icecore::ScanRecord> run(int threads) {
    icecore::ScanSettings s;
    s.nsides = {8, 64, 512};
    s.extensions = {12.0, 24.0};
    icecore::ScanDriver d(s);
    icecore::AnalyticDirectionFitter f(truth());
    while (d.run_step(f, threads) > 0) {
    }
    CHECK(d.finished());
    return d.records();
}

double angle(double z1, double a1, double z2, double a2) {
    const double c = std::sin(z1) * std::sin(z2) * std::cos(a1 - a2) + std::cos(z1) * std::cos(z2);
    return std::acos(std::max(-1.0, std::min(1.0, c)));
}

}  // namespace

ICECORE_TEST(level0_covers_the_sky_once_and_refinement_never_repeats) {
    const auto recs = run(1);
    std::set<std::int64_t> level0;
    std::set<std::pair<std::int64_t, std::int64_t>> seen;
    for (const auto& r : recs) {
        CHECK(seen.insert({r.nside, r.pixel}).second);  // each (nside, pixel) evaluated once
        if (r.level == 0) level0.insert(r.pixel);
        CHECK(r.nside == (r.level == 0 ? 8 : (r.level == 1 ? 64 : 512)));
    }
    CHECK(static_cast<std::int64_t>(level0.size()) == icecore::healpix::npix(8));
    CHECK(recs.size() < static_cast<std::size_t>(icecore::healpix::npix(8)) + 4000);  // refined locally
}

ICECORE_TEST(best_pixel_converges_on_the_truth) {
    const auto recs = run(1);
    std::size_t best = 0;
    for (std::size_t i = 1; i < recs.size(); ++i)
        if (recs[i].fit.neg_llh < recs[best].fit.neg_llh) best = i;
    CHECK(recs[best].nside == 512);
    const auto p = truth();
    // within one nside-512 pixel radius of the true direction
    CHECK(angle(recs[best].zenith, recs[best].azimuth, p.zenith, p.azimuth) <= icecore::healpix::max_pixrad(512));
    // every level-2 pixel lies within the refinement disc around the best nside-64 pixel: a disc
    // of area 24 x pixel_area(64) by centre, plus a parent's and the best pixel's own radius
    const double r_disc = std::acos(1 - 24 * icecore::healpix::pixel_area(64) / (2 * M_PI));
    const double bound = r_disc + 2 * icecore::healpix::max_pixrad(64) + icecore::healpix::max_pixrad(512);
    double worst = 0;
    for (const auto& r : recs)
        if (r.level == 2) worst = std::max(worst, angle(r.zenith, r.azimuth, p.zenith, p.azimuth));
    CHECK(worst > 0);
    CHECK_NEAR(worst, 0.5 * bound, 0.5 * bound);  // 0 < worst <= bound
}

ICECORE_TEST(thread_count_does_not_change_the_scan) {
    const auto a = run(1), b = run(2), c = run(5);
    CHECK(a.size() == b.size() && a.size() == c.size());
    for (std::size_t i = 0; i < a.size() && i < b.size() && i < c.size(); ++i) {
        CHECK(a[i].pixel == b[i].pixel && a[i].pixel == c[i].pixel);
        CHECK(a[i].fit.neg_llh == b[i].fit.neg_llh && a[i].fit.neg_llh == c[i].fit.neg_llh);
    }
}

ICECORE_TEST(protocol_misuse_throws) {
    icecore::ScanSettings s;
    s.nsides = {8, 64};
    s.extensions = {12.0};
    icecore::ScanDriver d(s);
    std::vector<icecore::DirectionFitResult> none;
    CHECK_THROWS(d.submit(none.data(), 0), std::invalid_argument);  // nothing pending yet
    const auto& batch = d.next_batch();
    CHECK(batch.size() == 768);
    CHECK_THROWS(d.next_batch(), std::invalid_argument);  // previous batch not submitted
    std::vector<icecore::DirectionFitResult> wrong(3);
    CHECK_THROWS(d.submit(wrong.data(), wrong.size()), std::invalid_argument);
    icecore::ScanSettings bad;
    bad.nsides = {8, 60};
    CHECK_THROWS(icecore::ScanDriver{bad}, std::invalid_argument);
}

ICECORE_TEST_MAIN()
