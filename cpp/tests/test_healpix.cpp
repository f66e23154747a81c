// HEALPix NESTED primitives against values that follow from the definition (Gorski et al. 2005):
// base-pixel centres at nside 1, pixel counts, parent/child arithmetic, round trips.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "check.hpp"
#include "icecore/healpix.hpp"

namespace hp = icecore::healpix;

ICECORE_TEST(counts_and_areas) {
    CHECK(hp::npix(1) == 12);
    CHECK(hp::npix(512) == 12 * 512 * 512);
    CHECK_NEAR(hp::pixel_area(8) * static_cast<double>(hp::npix(8)), 4 * M_PI, 1e-12);
    CHECK_THROWS(hp::check_nside(3), std::invalid_argument);
    CHECK_THROWS(hp::check_nside(0), std::invalid_argument);
}

ICECORE_TEST(base_pixel_centres_at_nside_1) {
    // Base pixels 0-3 are centred at z = 2/3, 4-7 on the equator, 8-11 at z = -2/3;
    // phi = pi/4 + k pi/2 (north/south), k pi/2 on the equator.
    for (std::int64_t p = 0; p < 12; ++p) {
        double th = 0, ph = 0;
        hp::pix2ang_nest(1, p, th, ph);
        const double z = std::cos(th);
        const double zexp = p < 4 ? 2.0 / 3.0 : (p < 8 ? 0.0 : -2.0 / 3.0);
        CHECK_NEAR(z, zexp, 1e-14);
        const double k = static_cast<double>(p % 4);
        const double phexp = p >= 4 && p < 8 ? k * M_PI / 2 : M_PI / 4 + k * M_PI / 2;
        CHECK_NEAR(ph, phexp, 1e-14);
    }
}

ICECORE_TEST(pixel_centre_round_trip_and_parents) {
    const std::int64_t nside = 64;
    for (std::int64_t p = 0; p < hp::npix(nside); p += 37) {
        double v[3];
        hp::pix2vec_nest(nside, p, v);
        CHECK(hp::vec2pix_nest(nside, v) == p);
        CHECK(hp::parent_nest(nside, p, 8) == p >> 6);  // 4^3 children per nside-8 pixel
        const auto kids = hp::children_nest(nside, p, 256);
        CHECK(kids.size() == 16);
        CHECK(kids.front() == p * 16 && kids.back() == p * 16 + 15);
    }
}

ICECORE_TEST(disc_contains_its_centre_pixel_and_grows) {
    double c[3] = {0.3, -0.4, 0.866};
    const auto small = hp::query_disc_nest(128, c, 0.01);
    const auto large = hp::query_disc_nest(128, c, 0.1);
    const auto centre = hp::vec2pix_nest(128, c);
    bool found = false;
    for (auto p : large) found = found || p == centre;
    CHECK(found);
    CHECK(large.size() > small.size());
    // The disc's pixel count approaches its solid angle over the pixel area.
    const double expect = 2 * M_PI * (1 - std::cos(0.1)) / hp::pixel_area(128);
    CHECK_NEAR(static_cast<double>(large.size()) / expect, 1.0, 0.03);
}

ICECORE_TEST_MAIN()
