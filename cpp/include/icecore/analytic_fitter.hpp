// A SYNTHETIC DirectionFitter with a known answer, for testing and benchmarking the sky scan
// without the photon likelihood. It is not a physics model.
//
//   -lnL(direction) = kappa * (1 - cos psi) + vertex_weight * |v - v_true|^2 / (1 m^2)
//
// psi is the angle between the direction and the true direction, so the minimum is at the true
// direction and 2 Delta(-lnL) = 2 kappa (1 - cos psi): the region 2 Delta <= c is a spherical cap
// of solid angle pi c / kappa sr exactly. The "fitted vertex" v moves a fraction vertex_pull
// from the seed toward v_true (so results depend on the seed vertex the scan passes, which the
// tests use to check seeding), and `work` extra dummy evaluations emulate the cost of a fit.
#pragma once

#include <cstddef>

#include "icecore/direction_fit.hpp"

namespace icecore {

// The constructor checks these and throws std::invalid_argument.
struct AnalyticFitterParams {
    double zenith = 1.0, azimuth = 2.0;  // true direction, radians, IceCube local (zenith in [0, pi])
    double kappa = 1000.0;               // concentration (1/rad^2 for small angles)
    VertexSeed vertex{0.0, 0.0, 0.0, 0.0};  // finite
    double vertex_pull = 0.5;    // in [0, 1]
    double vertex_weight = 0.0;  // >= 0
    int work = 0;                // extra dummy evaluations per fit (>= 0)
};

class AnalyticDirectionFitter : public DirectionFitter {
public:
    explicit AnalyticDirectionFitter(const AnalyticFitterParams& p);
    void fit_batch(const double* zenith, const double* azimuth, const VertexSeed* seeds,
                   std::size_t n, DirectionFitResult* out, int threads, std::int64_t nside) const override;
    const AnalyticFitterParams& params() const { return p_; }

private:
    AnalyticFitterParams p_;
    double u_[3];
};

}  // namespace icecore
