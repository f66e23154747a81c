// HEALPix NESTED primitives; the geometry follows Gorski et al. (2005), sections 4 and 5:
// base-resolution faces, the (x, y) coordinates within a face interleaved bit by bit, the
// equatorial belt |z| <= 2/3 and the polar caps.
#include "icecore/healpix.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace icecore::healpix {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;
constexpr double kHalfPi = 0.5 * kPi;

// Ring index (in units of nside) of the northernmost corner of each base face, and its
// longitude index (in units of pi/4).
constexpr int kJrll[12] = {2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4};
constexpr int kJpll[12] = {1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7};

// Spread the low 32 bits of v to the even bits of the result.
std::uint64_t spread_bits(std::uint64_t v) {
    v &= 0xffffffffULL;
    v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
    v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
    v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
    v = (v | (v << 2)) & 0x3333333333333333ULL;
    v = (v | (v << 1)) & 0x5555555555555555ULL;
    return v;
}

// Inverse of spread_bits: collect the even bits.
std::uint64_t compress_bits(std::uint64_t v) {
    v &= 0x5555555555555555ULL;
    v = (v | (v >> 1)) & 0x3333333333333333ULL;
    v = (v | (v >> 2)) & 0x0f0f0f0f0f0f0f0fULL;
    v = (v | (v >> 4)) & 0x00ff00ff00ff00ffULL;
    v = (v | (v >> 8)) & 0x0000ffff0000ffffULL;
    v = (v | (v >> 16)) & 0x00000000ffffffffULL;
    return v;
}

int ilog2(std::int64_t nside) {
    int k = 0;
    while ((std::int64_t{1} << k) < nside) ++k;
    return k;
}

void check_pix(std::int64_t nside, std::int64_t pix) {
    if (pix < 0 || pix >= npix(nside))
        throw std::invalid_argument("pixel " + std::to_string(pix) + " out of range for nside " +
                                    std::to_string(nside));
}

// Centre of pixel (face, ix, iy): z = cos(theta), s = sin(theta) (accurate near the poles), phi.
void xyf2loc(std::int64_t nside, std::int64_t ix, std::int64_t iy, int face, double& z,
             double& s, double& phi) {
    const std::int64_t jr = kJrll[face] * nside - ix - iy - 1;
    std::int64_t nr;
    int kshift;
    const auto nd = static_cast<double>(nside);
    if (jr < nside) {  // north polar cap
        nr = jr;
        const double tmp = static_cast<double>(nr * nr) / (3.0 * nd * nd);
        z = 1.0 - tmp;
        s = std::sqrt(tmp * (2.0 - tmp));
        kshift = 0;
    } else if (jr > 3 * nside) {  // south polar cap
        nr = 4 * nside - jr;
        const double tmp = static_cast<double>(nr * nr) / (3.0 * nd * nd);
        z = tmp - 1.0;
        s = std::sqrt(tmp * (2.0 - tmp));
        kshift = 0;
    } else {  // equatorial belt
        nr = nside;
        z = static_cast<double>(2 * nside - jr) * 2.0 / (3.0 * nd);
        s = std::sqrt((1.0 - z) * (1.0 + z));
        kshift = static_cast<int>((jr - nside) & 1);
    }
    std::int64_t jp = (kJpll[face] * nr + ix - iy + 1 + kshift) / 2;
    if (jp > 4 * nside) jp -= 4 * nside;
    if (jp < 1) jp += 4 * nside;
    phi = (static_cast<double>(jp) - 0.5 * (kshift + 1)) * (kHalfPi / static_cast<double>(nr));
}

void nest2xyf(std::int64_t nside, std::int64_t pix, std::int64_t& ix, std::int64_t& iy,
              int& face) {
    const std::int64_t npface = nside * nside;
    face = static_cast<int>(pix / npface);
    const auto ipf = static_cast<std::uint64_t>(pix % npface);
    ix = static_cast<std::int64_t>(compress_bits(ipf));
    iy = static_cast<std::int64_t>(compress_bits(ipf >> 1));
}

// z = cos(theta), s = sin(theta) >= 0, phi any.
std::int64_t loc2pix(std::int64_t nside, double z, double s, double phi) {
    const double za = std::fabs(z);
    double tt = std::fmod(phi * (2.0 / kPi), 4.0);  // in [0, 4)
    if (tt < 0) tt += 4.0;
    if (tt >= 4.0) tt = 0.0;
    const auto nd = static_cast<double>(nside);
    int face;
    std::int64_t ix, iy;
    if (za <= 2.0 / 3.0) {
        const double t1 = nd * (0.5 + tt);
        const double t2 = nd * (z * 0.75);
        const auto jp = static_cast<std::int64_t>(t1 - t2);  // ascending edge line index
        const auto jm = static_cast<std::int64_t>(t1 + t2);  // descending edge line index
        const std::int64_t ifp = jp / nside;
        const std::int64_t ifm = jm / nside;
        if (ifp == ifm)
            face = static_cast<int>(ifp | 4);
        else if (ifp < ifm)
            face = static_cast<int>(ifp);
        else
            face = static_cast<int>(ifm + 8);
        ix = jm & (nside - 1);
        iy = nside - (jp & (nside - 1)) - 1;
    } else {
        int ntt = static_cast<int>(tt);
        if (ntt > 3) ntt = 3;
        const double tp = tt - ntt;
        // nside * sqrt(3 (1 - |z|)), written with sin(theta) to stay accurate near the poles
        const double tmp = (za < 0.99) ? nd * std::sqrt(3.0 * (1.0 - za))
                                       : nd * s / std::sqrt((1.0 + za) / 3.0);
        auto jp = static_cast<std::int64_t>(tp * tmp);
        auto jm = static_cast<std::int64_t>((1.0 - tp) * tmp);
        jp = std::min(jp, nside - 1);
        jm = std::min(jm, nside - 1);
        if (z >= 0) {
            face = ntt;
            ix = nside - jm - 1;
            iy = nside - jp - 1;
        } else {
            face = ntt + 8;
            ix = jp;
            iy = jm;
        }
    }
    return static_cast<std::int64_t>(face) * nside * nside +
           static_cast<std::int64_t>(spread_bits(static_cast<std::uint64_t>(ix)) |
                                     (spread_bits(static_cast<std::uint64_t>(iy)) << 1));
}

double angle_between(const double a[3], const double b[3]) {
    const double cx = a[1] * b[2] - a[2] * b[1];
    const double cy = a[2] * b[0] - a[0] * b[2];
    const double cz = a[0] * b[1] - a[1] * b[0];
    return std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), a[0] * b[0] + a[1] * b[1] + a[2] * b[2]);
}

// a = v * 2^-e with 2^e near the largest component: an exact rescaling (directions, ratios and
// atan2 are unchanged bit for bit) after which |a| cannot overflow, whereas |v| itself does for
// finite components above ~1e308 / sqrt(3). False if v is zero or not finite.
bool rescaled(const double v[3], double a[3]) {
    if (!std::isfinite(v[0]) || !std::isfinite(v[1]) || !std::isfinite(v[2])) return false;
    const double m = std::max({std::fabs(v[0]), std::fabs(v[1]), std::fabs(v[2])});
    if (!(m > 0.0)) return false;
    const int e = std::ilogb(m);
    for (int i = 0; i < 3; ++i) a[i] = std::ldexp(v[i], -e);
    return true;
}

void disc_descend(std::int64_t nside, int depth, int target_depth, std::int64_t pix,
                  const double c[3], double cos_radius, double radius,
                  const std::vector<double>& margin, std::size_t max_pixels,
                  std::vector<std::int64_t>& out) {
    double v[3];
    pix2vec_nest(nside, pix, v);
    if (depth == target_depth) {
        if (v[0] * c[0] + v[1] * c[1] + v[2] * c[2] >= cos_radius) {
            if (out.size() >= max_pixels)  // cannot happen below the a-priori bound; a guard
                throw std::invalid_argument("query_disc: more than " + std::to_string(max_pixels) +
                                            " pixels selected");
            out.push_back(pix);
        }
        return;
    }
    if (angle_between(v, c) > radius + margin[static_cast<std::size_t>(depth)]) return;
    for (std::int64_t k = 0; k < 4; ++k)
        disc_descend(2 * nside, depth + 1, target_depth, 4 * pix + k, c, cos_radius, radius, margin,
                     max_pixels, out);
}

}  // namespace

void check_nside(std::int64_t nside) {
    if (nside < 1 || nside > (std::int64_t{1} << 29) || (nside & (nside - 1)) != 0)
        throw std::invalid_argument("nside must be a power of two in [1, 2^29], got " +
                                    std::to_string(nside));
}

std::int64_t npix(std::int64_t nside) {
    check_nside(nside);  // 12 * (2^29)^2 = 3 * 2^60 fits in int64; larger nsides would overflow
    return 12 * nside * nside;
}

double pixel_area(std::int64_t nside) { return 4.0 * kPi / static_cast<double>(npix(nside)); }

double max_pixrad(std::int64_t nside) {
    check_nside(nside);
    // Largest centre-corner distance: between the corner at z = 2/3, phi = pi/(4 nside) and the
    // centre of the nearest polar pixel (HEALPix C++ library's bound); 2 % safety margin.
    const auto nd = static_cast<double>(nside);
    const double za = 2.0 / 3.0, pa = kPi / (4.0 * nd);
    double t1 = 1.0 - 1.0 / nd;
    t1 *= t1;
    const double zb = 1.0 - t1 / 3.0, pb = 0.0;
    const double sa = std::sqrt((1 - za) * (1 + za)), sb = std::sqrt((1 - zb) * (1 + zb));
    const double a[3] = {sa * std::cos(pa), sa * std::sin(pa), za};
    const double b[3] = {sb * std::cos(pb), sb * std::sin(pb), zb};
    return 1.02 * angle_between(a, b);
}

void pix2vec_nest(std::int64_t nside, std::int64_t pix, double vec[3]) {
    check_nside(nside);
    check_pix(nside, pix);
    std::int64_t ix, iy;
    int face;
    nest2xyf(nside, pix, ix, iy, face);
    double z, s, phi;
    xyf2loc(nside, ix, iy, face, z, s, phi);
    vec[0] = s * std::cos(phi);
    vec[1] = s * std::sin(phi);
    vec[2] = z;
}

void pix2ang_nest(std::int64_t nside, std::int64_t pix, double& theta, double& phi) {
    check_nside(nside);
    check_pix(nside, pix);
    std::int64_t ix, iy;
    int face;
    nest2xyf(nside, pix, ix, iy, face);
    double z, s;
    xyf2loc(nside, ix, iy, face, z, s, phi);
    theta = std::atan2(s, z);
    if (phi >= kTwoPi) phi -= kTwoPi;
    if (phi < 0) phi += kTwoPi;
}

std::int64_t ang2pix_nest(std::int64_t nside, double theta, double phi) {
    check_nside(nside);
    if (!(theta >= 0.0 && theta <= kPi) || !std::isfinite(phi))
        throw std::invalid_argument("theta must be within [0, pi] and phi finite");
    return loc2pix(nside, std::cos(theta), std::sin(theta), phi);
}

std::int64_t vec2pix_nest(std::int64_t nside, const double v[3]) {
    check_nside(nside);
    double a[3];
    if (!rescaled(v, a)) throw std::invalid_argument("vector must be finite and non-zero");
    const double rxy = std::hypot(a[0], a[1]);
    const double r = std::hypot(rxy, a[2]);
    return loc2pix(nside, a[2] / r, rxy / r, std::atan2(a[1], a[0]));
}

std::int64_t parent_nest(std::int64_t nside, std::int64_t pix, std::int64_t nside_parent) {
    check_nside(nside);
    check_nside(nside_parent);
    check_pix(nside, pix);
    if (nside_parent > nside)
        throw std::invalid_argument("nside_parent must be <= nside");
    const int shift = 2 * (ilog2(nside) - ilog2(nside_parent));
    return pix >> shift;
}

std::vector<std::int64_t> children_nest(std::int64_t nside, std::int64_t pix,
                                        std::int64_t nside_child, std::size_t max_pixels) {
    check_nside(nside);
    check_nside(nside_child);
    check_pix(nside, pix);
    if (nside_child < nside) throw std::invalid_argument("nside_child must be >= nside");
    const int shift = 2 * (ilog2(nside_child) - ilog2(nside));
    const std::int64_t count = std::int64_t{1} << shift;  // <= 2^58
    if (static_cast<std::uint64_t>(count) > max_pixels)
        throw std::invalid_argument("children_nest: " + std::to_string(count) +
                                    " children exceed the limit of " + std::to_string(max_pixels));
    std::vector<std::int64_t> out(static_cast<std::size_t>(count));
    for (std::int64_t k = 0; k < count; ++k) out[static_cast<std::size_t>(k)] = (pix << shift) + k;
    return out;
}

double query_disc_bound(std::int64_t nside, double radius) {
    check_nside(nside);
    if (!(radius >= 0.0) || !std::isfinite(radius))
        throw std::invalid_argument("radius must be finite and >= 0");
    const double wide = std::min(radius + max_pixrad(nside), kPi);
    const double count = static_cast<double>(npix(nside)) * 0.5 * (1.0 - std::cos(wide));
    return std::min(1.01 * count + 16.0, static_cast<double>(npix(nside)));
}

std::vector<std::int64_t> query_disc_nest(std::int64_t nside, const double centre[3],
                                          double radius, std::size_t max_pixels) {
    check_nside(nside);
    double a[3];
    if (!rescaled(centre, a))
        throw std::invalid_argument("centre must be a finite non-zero vector");
    const double r = std::hypot(std::hypot(a[0], a[1]), a[2]);
    const double c[3] = {a[0] / r, a[1] / r, a[2] / r};
    const double bound = query_disc_bound(nside, radius);  // checks radius
    if (bound > static_cast<double>(max_pixels))
        throw std::invalid_argument(
            "query_disc: a disc of radius " + std::to_string(radius) + " rad at nside " +
            std::to_string(nside) + " may select up to " + std::to_string(static_cast<long long>(bound)) +
            " pixels, more than the limit of " + std::to_string(max_pixels));
    const int target = ilog2(nside);
    std::vector<double> margin(static_cast<std::size_t>(target) + 1);
    for (int d = 0; d <= target; ++d)
        margin[static_cast<std::size_t>(d)] = max_pixrad(std::int64_t{1} << d);
    std::vector<std::int64_t> out;
    const double rad = std::min(radius, kPi);
    const double cos_radius = std::cos(rad);
    for (std::int64_t face = 0; face < 12; ++face)
        disc_descend(1, 0, target, face, c, cos_radius, rad, margin, max_pixels, out);
    return out;
}

}  // namespace icecore::healpix
