// The interface between the photon likelihood (per-direction vertex fit) and the sky scan.
//
// The scan's refinement loop only needs "fit these fixed directions from these vertex seeds".
// Any implementation of DirectionFitter can drive it: the Pandel track likelihood
// (icecore/likelihood), or a synthetic fitter in tests. The scan never sees event data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace icecore {

/// A vertex seed / fitted vertex: position in IceCube coordinates (m) and time (ns).
struct VertexSeed {
    double x, y, z, t;
};

/// Result of the vertex fit for one fixed direction. Standard layout (48 bytes): the binding
/// hands arrays of it to numpy as the structured dtype _core.scan.FIT_RESULT_DTYPE.
struct DirectionFitResult {
    double neg_llh;     ///< best -ln L over all vertex seeds tried (smaller is better)
    double x, y, z, t;  ///< best vertex (m, m, m, ns)
    int n_eval;         ///< likelihood evaluations used
    int status;         ///< 0 = converged; > 0 = implementation-defined failure code
};

/// Fits the vertex (position in the plane transverse to the track, and time) for fixed track
/// directions. Implementations must be deterministic and safe to call concurrently on a const
/// object; fit_batch's results must not depend on `threads`.
class DirectionFitter {
public:
    virtual ~DirectionFitter() = default;

    /// Fit n directions. zenith[i], azimuth[i] in radians, IceCube convention (the direction the
    /// particle comes from; it travels along -(sin z cos a, sin z sin a, cos z)). seeds[i] is the
    /// starting vertex for direction i. Writes out[i]. threads <= 0 means all cores. nside is the
    /// HEALPix nside of the scan level the directions belong to (the same for the whole batch;
    /// 0 = not part of a scan): an implementation may choose its settings per level (e.g. vertex
    /// seeds), and must then choose them from nside alone, so that remote workers (which get the
    /// task's nside) and in-process scans agree.
    virtual void fit_batch(const double* zenith, const double* azimuth, const VertexSeed* seeds,
                           std::size_t n, DirectionFitResult* out, int threads, std::int64_t nside) const = 0;
};

}  // namespace icecore
