// Synthetic DirectionFitter (see analytic_fitter.hpp): a smooth known -lnL on the sphere.
#include "icecore/analytic_fitter.hpp"

#include <cmath>
#include <stdexcept>

#include "icecore/parallel.hpp"

namespace icecore {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

AnalyticDirectionFitter::AnalyticDirectionFitter(const AnalyticFitterParams& p) : p_(p) {
    if (!(p.zenith >= 0.0 && p.zenith <= kPi)) throw std::invalid_argument("zenith must be within [0, pi] radians");
    if (!std::isfinite(p.azimuth)) throw std::invalid_argument("azimuth must be finite");
    if (!(p.kappa > 0.0) || !std::isfinite(p.kappa)) throw std::invalid_argument("kappa must be finite and > 0");
    const VertexSeed& v = p.vertex;
    if (!std::isfinite(v.x) || !std::isfinite(v.y) || !std::isfinite(v.z) || !std::isfinite(v.t))
        throw std::invalid_argument("vertex must be finite");
    if (!(p.vertex_pull >= 0.0 && p.vertex_pull <= 1.0))
        throw std::invalid_argument("vertex_pull must be within [0, 1]");
    if (!(p.vertex_weight >= 0.0) || !std::isfinite(p.vertex_weight))
        throw std::invalid_argument("vertex_weight must be finite and >= 0");
    if (p.work < 0) throw std::invalid_argument("work must be >= 0");
    u_[0] = std::sin(p.zenith) * std::cos(p.azimuth);
    u_[1] = std::sin(p.zenith) * std::sin(p.azimuth);
    u_[2] = std::cos(p.zenith);
}

void AnalyticDirectionFitter::fit_batch(const double* zenith, const double* azimuth,
                                        const VertexSeed* seeds, std::size_t n,
                                        DirectionFitResult* out, int threads, std::int64_t /*nside*/) const {
    parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            const double sz = std::sin(zenith[i]);
            const double v[3] = {sz * std::cos(azimuth[i]), sz * std::sin(azimuth[i]),
                                 std::cos(zenith[i])};
            // 1 - cos psi = |u - v|^2 / 2, accurate at small angles
            const double dx = v[0] - u_[0], dy = v[1] - u_[1], dz = v[2] - u_[2];
            const double one_minus_cos = 0.5 * (dx * dx + dy * dy + dz * dz);
            const VertexSeed& s = seeds[i];
            const double a = p_.vertex_pull;
            DirectionFitResult r{};
            r.x = s.x + a * (p_.vertex.x - s.x);
            r.y = s.y + a * (p_.vertex.y - s.y);
            r.z = s.z + a * (p_.vertex.z - s.z);
            r.t = s.t + a * (p_.vertex.t - s.t);
            const double ex = r.x - p_.vertex.x, ey = r.y - p_.vertex.y, ez = r.z - p_.vertex.z;
            double acc = 0.0;  // emulated likelihood work (kept observable so it is not elided)
            for (int k = 0; k < p_.work; ++k) acc += std::exp(-acc * 1e-3 - one_minus_cos * k);
            r.neg_llh = p_.kappa * one_minus_cos + p_.vertex_weight * (ex * ex + ey * ey + ez * ez) +
                        0.0 * acc;
            r.n_eval = 1 + p_.work;
            r.status = 0;
            out[i] = r;
        }
    });
}

}  // namespace icecore
