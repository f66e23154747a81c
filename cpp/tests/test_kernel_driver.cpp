// A pure-C++ driver of the kernels: every entry point the bindings use runs once on small inputs,
// outside Python, so that CI can run it under AddressSanitizer with LeakSanitizer on (CPython and
// numpy keep allocations alive at exit, so leak checking is off in the Python sanitizer run).
// The checks here are about memory and sanity (finite outputs, shapes); the physics is tested in
// tests/ (Python) against independent oracles.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "icecore/analytic_fitter.hpp"
#include "icecore/healpix.hpp"
#include "icecore/pandel.hpp"
#include "icecore/radio_cleaning.hpp"
#include "icecore/scan.hpp"
#include "icecore/track_llh.hpp"
#include "icecore/windowed_rms.hpp"

ICECORE_TEST(radio_kernels) {
    const std::size_t events = 6, copies = 4, samples = 256;
    std::mt19937 rng(7);
    std::normal_distribution<double> g(0.0, 20.0);
    std::vector<std::int16_t> traces(events * copies * samples);
    for (auto& v : traces) v = static_cast<std::int16_t>(std::lround(g(rng)));
    traces[3 * samples + 17] = 4000;  // a spike in one copy
    std::vector<std::int32_t> changed(events * copies), unresolved(events);  // per copy, per event
    icecore::compare_copies(traces.data(), events, copies, samples, changed.data(), unresolved.data(), 2);
    const std::size_t rows = events * copies;
    std::vector<std::uint8_t> mask(rows * samples);
    icecore::find_spikes(traces.data(), rows, samples, 6.0, 6.0, mask.data(), 2);
    std::vector<std::int32_t> flipped(rows), replaced(rows), unres(rows);
    icecore::correct_spikes(traces.data(), rows, samples, mask.data(), 11, 5.0, flipped.data(), replaced.data(),
                            unres.data(), 2);
    double med = 0, sig = 0;
    icecore::robust_location_scale(traces.data(), samples, &med, &sig);
    CHECK(std::isfinite(med) && sig > 0);
    std::vector<double> rms(rows), spread(events);
    icecore::windowed_rms_min(traces.data(), rows, samples, 32, rms.data(), 2);
    for (double r : rms) CHECK(std::isfinite(r) && r > 0);
    std::vector<double> rms_e(events);
    icecore::windowed_rms_spread(traces.data(), events, copies * samples, samples, 32, 10, rms_e.data(),
                                 spread.data(), 2);
    for (std::size_t e = 0; e < events; ++e) CHECK(std::isfinite(rms_e[e]) && std::isfinite(spread[e]));
    std::vector<float> f(rows * samples, 1.5f);
    icecore::windowed_rms_min(f.data(), rows, samples, 16, rms.data(), 1);
    CHECK_NEAR(rms[0], 1.5, 1e-6);
}

ICECORE_TEST(pandel_functions) {
    for (double t : {-40.0, -5.0, 0.0, 3.0, 50.0, 800.0}) {
        const auto a = icecore::cpandel_log_pdf(t, 4.0, 0.004, 15.0);
        const auto b = icecore::cpandel_log_sf(t, 4.0, 0.004, 15.0);
        const auto c = icecore::mpe_log_pdf(t, 4.0, 0.004, 4.0, 5.0);
        CHECK(std::isfinite(a.value) && std::isfinite(b.value) && std::isfinite(c.value));
        if (t > 0) {
            const auto p = icecore::pandel_log_pdf(t, 4.0, 0.004);
            const auto s = icecore::pandel_log_sf(t, 4.0, 0.004);
            CHECK(std::isfinite(p.value) && std::isfinite(s.value));
        }
    }
}

namespace {

// A straight up-going track through a small 3 x 3 string patch; hit times from the Cherenkov
// geometry plus a fixed delay, so the likelihood has a clear minimum.
struct ToyEvent {
    std::vector<double> pos, t, q;
};

ToyEvent toy_event() {
    ToyEvent ev;
    const double zen = 2.4, azi = 1.0;  // arrives from below
    icecore::TrackFrame fr(zen, azi, 1.3195, 1.3570, 0.299792458);
    for (int sx = -1; sx <= 1; ++sx)
        for (int sy = -1; sy <= 1; ++sy)
            for (int k = 0; k < 12; ++k) {
                const double r[3] = {125.0 * sx, 125.0 * sy, -300.0 + 50.0 * k};
                const auto p = fr.point(r, 0.0, 0.0, 0.0, 0.0, 1.0);
                if (p.d > 150) continue;
                ev.pos.insert(ev.pos.end(), r, r + 3);
                ev.t.push_back(p.t_geo + 0.05 * p.d);
                ev.q.push_back(1.0 + p.d < 60 ? 3.0 : 1.0);
            }
    return ev;
}

}  // namespace

ICECORE_TEST(track_likelihood_fit_and_scan) {
    const auto ev = toy_event();
    CHECK(ev.t.size() > 20);
    icecore::IceParams ice;
    const auto opt = icecore::LikelihoodOptions::for_mode(true);
    icecore::PandelTrackLikelihood llh(ev.pos.data(), ev.t.data(), ev.q.data(), ev.t.size(), ice, opt);
    double grad[6];
    const double v = llh.neg_llh(0, 0, 0, 0, 2.4, 1.0, grad);
    CHECK(std::isfinite(v));
    for (double gi : grad) CHECK(std::isfinite(gi));
    const auto fit = llh.fit_direction(2.4, 1.0, icecore::VertexSeed{5.0, -5.0, 0.0, 10.0});
    CHECK(std::isfinite(fit.neg_llh) && fit.neg_llh <= v + 1e-9);
    // the Newton minimiser (tables' Hessian model) and per-level seeds through fit_batch's nside
    auto opt_n = opt;
    opt_n.seed_minimizer = icecore::VertexMinimizer::newton;
    opt_n.level_seeds = {{4, 1, 0}};
    icecore::PandelTrackLikelihood llh_n(ev.pos.data(), ev.t.data(), ev.q.data(), ev.t.size(), ice, opt_n);
    double g3[3], h9[9];
    CHECK(std::isfinite(llh_n.neg_llh_transverse(2.4, 1.0, icecore::VertexSeed{5.0, -5.0, 0.0, 10.0}, 1.0, 2.0, 10.0,
                                                 g3, h9)));
    for (double hi : h9) CHECK(std::isfinite(hi));
    const double zen1[1] = {2.4}, azi1[1] = {1.0};
    const icecore::VertexSeed seed1[1] = {{5.0, -5.0, 0.0, 10.0}};
    icecore::DirectionFitResult r4[1], r0[1];
    llh_n.fit_batch(zen1, azi1, seed1, 1, r4, 1, 4);
    llh_n.fit_batch(zen1, azi1, seed1, 1, r0, 1, 0);
    CHECK(std::isfinite(r4[0].neg_llh) && r4[0].n_eval < r0[0].n_eval);

    icecore::ScanSettings s;
    s.nsides = {2, 4};
    s.extensions = {8.0};
    icecore::ScanDriver d(s);
    std::size_t fitted = 0;
    while (const std::size_t n = d.run_step(llh, 2)) fitted += n;
    CHECK(d.finished() && fitted == d.records().size());
    CHECK(d.best_index() >= 0);
}

ICECORE_TEST(healpix_and_synthetic_fitter) {
    double c[3] = {0.0, 0.6, 0.8};
    const auto disc = icecore::healpix::query_disc_nest(64, c, 0.2);
    CHECK(!disc.empty());
    const auto kids = icecore::healpix::children_nest(4, 5, 64);
    CHECK(kids.size() == 256);
    icecore::AnalyticFitterParams p;
    icecore::AnalyticDirectionFitter f(p);
    std::vector<double> zen{0.5, 1.0}, azi{2.0, 2.0};
    std::vector<icecore::VertexSeed> seeds(2, icecore::VertexSeed{0, 0, 0, 0});
    std::vector<icecore::DirectionFitResult> out(2);
    f.fit_batch(zen.data(), azi.data(), seeds.data(), 2, out.data(), 2, 0);
    CHECK(out[1].neg_llh < out[0].neg_llh);
}

ICECORE_TEST_MAIN()
