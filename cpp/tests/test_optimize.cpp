// trust_newton_minimize: converges on a curved valley from an indefinite start, reports status 1
// at the evaluation limit and honours on_step; the eigen-decomposition it uses is exact.
#include <array>
#include <cmath>

#include "check.hpp"
#include "icecore/optimize.hpp"

namespace {

// Rosenbrock in (x0, x1) plus a quartic in x2: minimum 0 at (1, 1, 3); indefinite Hessian at the start.
double valley(const double* x, double* g, double* H) {
    const double a = x[0], b = x[1], c = x[2] - 3.0;
    g[0] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
    g[1] = 200.0 * (b - a * a);
    g[2] = 4.0 * c * c * c + 2.0 * c;
    H[0] = 1200.0 * a * a - 400.0 * b + 2.0;
    H[1] = H[3] = -400.0 * a;
    H[4] = 200.0;
    H[2] = H[5] = H[6] = H[7] = 0.0;
    H[8] = 12.0 * c * c + 2.0;
    return 100.0 * (b - a * a) * (b - a * a) + (1.0 - a) * (1.0 - a) + c * c * c * c + c * c;
}

}  // namespace

ICECORE_TEST(trust_newton_converges_from_an_indefinite_start) {
    icecore::BfgsOptions o;
    o.max_iter = 200;
    o.gtol = 1e-8;
    o.ftol = 1e-14;
    o.initial_step = 1.0;
    const auto r = icecore::trust_newton_minimize<3>(valley, std::array<double, 3>{-1.2, 1.0, -5.0}, o);
    CHECK(r.status == 0);
    CHECK(std::fabs(r.x[0] - 1.0) < 1e-5 && std::fabs(r.x[1] - 1.0) < 1e-5 && std::fabs(r.x[2] - 3.0) < 1e-5);
    CHECK(r.n_eval < 60);  // BFGS needs ~55 on the same problem
    o.max_iter = 5;
    const auto s = icecore::trust_newton_minimize<3>(valley, std::array<double, 3>{-1.2, 1.0, -5.0}, o);
    CHECK(s.status == 1 && s.n_eval == 5);
    o.max_iter = 200;
    int steps = 0;
    const auto t = icecore::trust_newton_minimize<3>(valley, std::array<double, 3>{-1.2, 1.0, -5.0}, o,
                                                     [&](const std::array<double, 3>&, double) { return ++steps == 3; });
    CHECK(t.status == 0 && t.n_iter == 3);
}

ICECORE_TEST(symmetric_eigen_reconstructs_the_matrix) {
    const double A[9] = {2.0, -1.0, 0.5, -1.0, -3.0, 0.25, 0.5, 0.25, 1.0};
    double w[3], Q[9];
    icecore::trust_detail::symmetric_eigen<3>(A, w, Q);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double s = 0.0;
            for (int k = 0; k < 3; ++k) s += Q[3 * i + k] * w[k] * Q[3 * j + k];
            CHECK(std::fabs(s - A[3 * i + j]) < 1e-12);
        }
}

ICECORE_TEST_MAIN()
