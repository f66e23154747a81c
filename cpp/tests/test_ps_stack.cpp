// Pure-C++ checks of the stacking and flare trial kernels (run under ASan + UBSan + LSan in CI):
// results independent of the thread count, a trial's scramble reproduced by fit(), bad input rejected.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "icecore/ps_flare.hpp"
#include "icecore/ps_stack.hpp"

namespace {

icecore::StackModel small_stack(std::size_t n_events, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const std::size_t k = 3, g = 13, ne = 20;
    icecore::StackSettings st;
    icecore::StackModel m({0.5, 2.0, 4.0}, {0.1, -0.3, 0.6}, {1.0, 2.0, 0.5}, 1.0, 0.25, g, st);
    std::vector<icecore::StackEvent> ev(n_events);
    for (auto& e : ev) {
        e.ra = 6.283185307179586 * u(rng);
        e.dec = std::asin(2.0 * u(rng) - 1.0);
        e.sigma = 0.005 + 0.02 * u(rng);
        e.inv_b = 4.0 * 3.14159 * (0.5 + u(rng));
        e.ebin = static_cast<std::int32_t>(1 + (ne - 2) * u(rng));
        e.efrac = u(rng);
    }
    std::vector<double> tables(k * g * ne), y(k * g);
    for (std::size_t q = 0; q < tables.size(); ++q) tables[q] = 0.2 + 2.0 * u(rng);
    for (std::size_t q = 0; q < y.size(); ++q) y[q] = 1.0 + u(rng);
    m.add_season(ev, tables, ne, y);
    return m;
}

}  // namespace

ICECORE_TEST(stack_trials_thread_independent) {
    std::mt19937 rng(3);
    auto m = small_stack(400, rng);
    std::vector<std::uint64_t> seeds{1, 2, 3, 4, 5};
    std::vector<icecore::StackFitResult> a(seeds.size()), b(seeds.size());
    m.trials(seeds.data(), seeds.size(), {}, a.data(), 1);
    m.trials(seeds.data(), seeds.size(), {}, b.data(), 3);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        CHECK(a[i].ts == b[i].ts && a[i].ns == b[i].ns && a[i].gamma == b[i].gamma);
        CHECK(std::isfinite(a[i].ts) && a[i].ts >= 0);
    }
    // a trial is the fit of its own scramble
    auto ra = m.scramble(seeds[2]);
    std::vector<const double*> p{ra[0].data()};
    const auto f = m.fit(p);
    CHECK_NEAR(f.ts, a[2].ts, 1e-12);
    // injected events: sorted by trial, else rejected
    std::vector<icecore::StackEvent> inj(2);
    inj[0].trial = 1;
    inj[0].sigma = 0.01;
    inj[0].ebin = 3;
    inj[1] = inj[0];
    inj[1].trial = 0;
    auto unsorted = [&] { m.trials(seeds.data(), seeds.size(), {inj}, a.data(), 1); };
    CHECK_THROWS(unsorted(), std::invalid_argument);
}

ICECORE_TEST(flare_trials_spatial_thread_independent) {
    const std::size_t n = 120, ng = 7;
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> t(n), x(ng * n), rs{0.0, 60.0}, re{50.0, 120.0};
    for (std::size_t i = 0; i < n; ++i) t[i] = i % 2 ? 60.0 + 60.0 * u(rng) : 50.0 * u(rng);
    for (double& v : x) v = 3.0 * u(rng);
    icecore::FlareSettings st;
    st.n_seed = 10;
    st.n_sigma = 6;
    icecore::FlareModel m(t, x, ng, 1.0, 0.5, static_cast<double>(n), rs, re, st);
    std::vector<std::uint64_t> seeds{7, 8, 9, 10};
    std::vector<double> sp(seeds.size() * n);
    for (double& v : sp) v = u(rng);
    std::vector<icecore::FlareFitResult> a(seeds.size()), b(seeds.size());
    m.trials_spatial(icecore::FlareKind::gauss, std::nan(""), 0.0, sp.data(), seeds.data(), seeds.size(), a.data(), 1);
    m.trials_spatial(icecore::FlareKind::gauss, std::nan(""), 0.0, sp.data(), seeds.data(), seeds.size(), b.data(), 2);
    for (std::size_t i = 0; i < seeds.size(); ++i) CHECK(a[i].ts == b[i].ts && std::isfinite(a[i].ts));
    sp[3] = -1.0;
    auto negative = [&] {
        m.trials_spatial(icecore::FlareKind::box, std::nan(""), 0.0, sp.data(), seeds.data(), seeds.size(), a.data(), 1);
    };
    CHECK_THROWS(negative(), std::invalid_argument);
}

ICECORE_TEST_MAIN()
