// HEALPix primitives in NESTED ordering (Gorski et al. 2005, ApJ 622, 759), std only.
//
// Angles are radians: theta = colatitude in [0, pi], phi = longitude (any value; wrapped).
// Pixel numbers are int64 in [0, 12 nside^2). nside must be a power of two in [1, 2^29].
// Every function checks its nside (and pixel numbers) and throws std::invalid_argument; this is
// the one place that rule is enforced below Python (the bindings only convert arrays).
// These are what the sky scan needs: pixel <-> direction, children, and a disc selection by
// pixel centre. healpy is the oracle in the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace icecore::healpix {

/// Throws std::invalid_argument unless nside is a power of two in [1, 2^29].
void check_nside(std::int64_t nside);

/// Largest selection query_disc_nest / children_nest return by default (2^26 pixels, 512 MiB);
/// a larger one throws std::invalid_argument before any work instead of exhausting memory.
inline constexpr std::size_t kMaxSelectedPixels = std::size_t{1} << 26;

/// Number of pixels, 12 nside^2 (checks nside).
std::int64_t npix(std::int64_t nside);

/// Pixel solid angle (sr), 4 pi / npix (checks nside).
double pixel_area(std::int64_t nside);

/// Upper bound (radians) of the angular distance between a pixel centre and its corners.
double max_pixrad(std::int64_t nside);

/// Unit vector of the centre of NESTED pixel `pix`.
void pix2vec_nest(std::int64_t nside, std::int64_t pix, double vec[3]);

/// (theta, phi) of the centre of NESTED pixel `pix`; phi in [0, 2 pi).
void pix2ang_nest(std::int64_t nside, std::int64_t pix, double& theta, double& phi);

/// NESTED pixel containing the direction (theta, phi). Throws if theta is outside [0, pi].
std::int64_t ang2pix_nest(std::int64_t nside, double theta, double phi);

/// NESTED pixel containing the direction of vector v (need not be normalised, must be non-zero
/// and finite; any finite magnitude up to DBL_MAX works).
std::int64_t vec2pix_nest(std::int64_t nside, const double v[3]);

/// NESTED pixel at the coarser `nside_parent` (<= nside) that contains `pix`.
std::int64_t parent_nest(std::int64_t nside, std::int64_t pix, std::int64_t nside_parent);

/// All NESTED pixels at `nside_child` (>= nside) inside `pix`, ascending (a contiguous range).
/// Throws if there would be more than `max_pixels` of them.
std::vector<std::int64_t> children_nest(std::int64_t nside, std::int64_t pix,
                                        std::int64_t nside_child,
                                        std::size_t max_pixels = kMaxSelectedPixels);

/// NESTED pixels at `nside` whose centres lie within `radius` (radians) of unit vector `centre`,
/// ascending. The same selection as healpy.query_disc(nside, centre, radius, nest=True,
/// inclusive=False), computed by descending the NESTED hierarchy (cost ~ selected pixels).
/// Throws std::invalid_argument, before descending, if the disc may hold more than `max_pixels`
/// pixels (the bound query_disc_bound gives), and radius > pi is treated as pi.
std::vector<std::int64_t> query_disc_nest(std::int64_t nside, const double centre[3],
                                          double radius,
                                          std::size_t max_pixels = kMaxSelectedPixels);

/// Upper bound of the number of pixels query_disc_nest(nside, ., radius) can return: the
/// pixels of a disc widened by max_pixrad, counted by area with a 1 % + 16 pixel margin.
double query_disc_bound(std::int64_t nside, double radius);

}  // namespace icecore::healpix
