// Special functions (special.hpp) against closed forms: digamma at known points, Q(a, x) where it
// is elementary (a = 1: e^-x; a = 3: e^-x (1 + x + x^2/2); a = 1/2: erfc(sqrt x)), and the
// parabolic-cylinder G(nu, z) = ln(e^{-z^2/4} D_{-nu}(z)) at nu = 1, 2 where
// D_{-1}(z) = sqrt(pi/2) e^{z^2/4} erfc(z/sqrt2) and
// D_{-2}(z) = e^{-z^2/4} (1 - z sqrt(pi/2) e^{z^2/2} erfc(z/sqrt2)); derivatives by the dual parts.
#include <cmath>

#include "check.hpp"
#include "icecore/special.hpp"

namespace sp = icecore::special;

namespace {
const double kEulerGamma = 0.57721566490153286061;
const double kSqrtHalfPi = 1.2533141373155002512;
}  // namespace

ICECORE_TEST(digamma_known_values) {
    // measured accuracy of the recurrence + asymptotic series: 3e-13 absolute at x = 1
    CHECK_NEAR(sp::digamma(1.0), -kEulerGamma, 1e-12);
    CHECK_NEAR(sp::digamma(0.5), -kEulerGamma - 2 * std::log(2.0), 1e-12);
    // psi(n) = H_{n-1} - gamma
    double h = 0;
    for (int k = 1; k < 10; ++k) h += 1.0 / k;
    CHECK_NEAR(sp::digamma(10.0), h - kEulerGamma, 1e-12);
    // recurrence psi(x + 1) = psi(x) + 1/x at a non-integer
    CHECK_NEAR(sp::digamma(3.7), sp::digamma(2.7) + 1 / 2.7, 1e-12);
}

ICECORE_TEST(gamma_q_elementary_cases) {
    for (double x : {0.1, 1.0, 2.5, 7.0, 30.0}) {
        const sp::Dual a1{1.0, 1.0, 0.0}, xs{x, 0.0, 1.0};
        const auto q1 = sp::gamma_q(a1, xs, sp::lgamma(a1));
        CHECK_NEAR(q1.v, std::exp(-x), 1e-13 * std::max(1.0, std::exp(-x)) + 1e-15);
        CHECK_NEAR(q1.b, -std::exp(-x), 1e-12);  // dQ/dx = -x^{a-1} e^-x / Gamma(a)
        const sp::Dual a3{3.0, 1.0, 0.0};
        const auto q3 = sp::gamma_q(a3, xs, sp::lgamma(a3));
        CHECK_NEAR(q3.v, std::exp(-x) * (1 + x + x * x / 2), 1e-12);
        CHECK_NEAR(q3.b, -x * x * std::exp(-x) / 2, 1e-11);
        const sp::Dual ah{0.5, 1.0, 0.0};
        const auto qh = sp::gamma_q(ah, xs, sp::lgamma(ah));
        CHECK_NEAR(qh.v, std::erfc(std::sqrt(x)), 1e-12);
    }
    const sp::Dual a{2.0, 1.0, 0.0}, zero{0.0, 0.0, 1.0};
    CHECK_NEAR(sp::gamma_q(a, zero, sp::lgamma(a)).v, 1.0, 0.0);
}

ICECORE_TEST(log_pcf_closed_forms_nu1_nu2) {
    for (double z : {-25.0, -8.0, -3.0, -0.5, 0.0, 0.7, 2.0, 4.0}) {
        const double ec = std::erfc(z / std::sqrt(2.0));
        const sp::Dual zd{z, 0.0, 1.0};
        const sp::Dual nu1{1.0, 1.0, 0.0};
        const auto g1 = sp::log_pcf(nu1, zd, sp::lgamma(nu1));
        const double g1_exact = std::log(kSqrtHalfPi * ec);
        CHECK_NEAR(g1.v, g1_exact, 1e-9 * std::max(1.0, std::fabs(g1_exact)));
        const double dg1 = -std::sqrt(2.0 / M_PI) * std::exp(-z * z / 2) / ec;  // d/dz ln erfc(z/sqrt2)
        CHECK_NEAR(g1.b, dg1, 1e-7 * std::max(1.0, std::fabs(dg1)));
        if (z <= 2.0) {  // beyond, the closed form for nu = 2 cancels catastrophically
            const sp::Dual nu2{2.0, 1.0, 0.0};
            const auto g2 = sp::log_pcf(nu2, zd, sp::lgamma(nu2));
            const double g2_exact = -z * z / 2 + std::log(1 - z * kSqrtHalfPi * std::exp(z * z / 2) * ec);
            CHECK_NEAR(g2.v, g2_exact, 1e-8 * std::max(1.0, std::fabs(g2_exact)));
        }
    }
}

ICECORE_TEST(dual_arithmetic_derivatives) {
    const sp::Dual x{2.0, 1.0, 0.0}, y{3.0, 0.0, 1.0};
    const auto f = sp::log(x * y) + sp::exp(x / y) - sp::sqrt(x);  // ln(xy) + e^{x/y} - sqrt(x)
    CHECK_NEAR(f.v, std::log(6.0) + std::exp(2.0 / 3.0) - std::sqrt(2.0), 1e-14);
    CHECK_NEAR(f.a, 1 / 2.0 + std::exp(2.0 / 3.0) / 3.0 - 0.5 / std::sqrt(2.0), 1e-14);
    CHECK_NEAR(f.b, 1 / 3.0 - std::exp(2.0 / 3.0) * 2.0 / 9.0, 1e-14);
}

ICECORE_TEST_MAIN()
