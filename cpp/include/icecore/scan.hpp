// The sky-scan refinement loop as a state machine (std only).
//
// Pixels live on the equatorial sky in HEALPix NESTED ordering (as in icecube/skymap_scanner).
// Level 0 evaluates every pixel at nsides[0]. Level k >= 1 repeatedly selects the pixels at
// nsides[k-1] whose centres lie in a disc of area extensions[k-1] x pixel_area(nsides[k-1])
// around the best pixel found so far at any nside (plus the nsides[k-1] pixel that contains it),
// splits them into their children at nsides[k], and evaluates the children not yet evaluated,
// each seeded with the fitted vertex of its nearest evaluated ancestor; the level ends when a
// round produces no new pixel. An optional llh_diff threshold also refines every evaluated
// nsides[k-1] pixel that has an evaluated neighbour (centre within 1.5 pixel spacings) whose
// -lnL differs by more than the threshold; it is applied only within the disc of
// max_refine_radius around the best pixel.
//
// Polishing (polish_threshold > 0): a pixel's vertex fit can end in a worse local minimum than
// the one its neighbours found (the -lnL of a fixed direction is multimodal in the vertex).
// After every round of a level (level 0 included) the driver looks, among that level's
// evaluated pixels, for those that stick out of a smooth surface: p with lowest evaluated
// neighbour q (same nside, centre within 1.5 pixel spacings) and the evaluated neighbour r most
// opposite to q seen from p (tangent directions at an angle theta > 120 deg), such that
//   (v(p) - v(q)) - (v(r) - v(p)) d_q / (d_r (-cos theta)) > polish_threshold   (v = -lnL)
// (d_q, d_r the angles p-q, p-r), i.e. p lies above the plane through its neighbours by more
// than the threshold: on a plane falling toward q the two differences balance, a convex
// minimum has p below them; a trapped fit sticks out. (Where the surface is concave across the
// line q-p-r, far from the minimum, pixels qualify too and are re-fitted in vain.)
// A pixel whose own fit failed (non-finite -lnL) qualifies whenever q is finite. Only seeds
// q with v(q) <= (the level's best -lnL) + polish_window are used (pixels far outside every
// contour are left as they are: that bounds the cost). Each such p is
// re-fitted as an ordinary task seeded from q's fitted vertex moved along q's track to its
// closest approach to the detector centre (x, y, z = 0), and the lower of the two minima is
// kept (n_eval adds up). A (p, q, v(q)) combination is tried once. Polishing rounds repeat
// while a round improves something, at most max_polish_rounds after each regular round; they
// do not count in rounds(). Polishing tasks are ordinary tasks of the level's nside, so remote
// workers need nothing special.
//
// The driver never calls a likelihood itself: next_batch() hands out (nside, pixel, local
// direction, seed vertex) tasks and submit() takes their results in the same order. run_step()
// does one next_batch / fit_batch / submit round with an in-process DirectionFitter (no Python
// between pixels). Everything depends only on the submitted results, so the scan is
// deterministic whatever evaluates the batches.
//
// Invariants are checked here and throw std::invalid_argument (the settings in the constructor,
// the next_batch / submit protocol); user-facing checks with argument names live in Python.
//
// ScanTask and ScanRecord are standard-layout structs: the bindings hand them to numpy as
// structured arrays of the same layout (see cpp/python/bind_scan.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "icecore/direction_fit.hpp"

namespace icecore {

struct ScanSettings {
    std::vector<std::int64_t> nsides{8, 64, 512};
    std::vector<double> extensions{12.0, 24.0};  // one per refinement level (nsides.size() - 1)
    double llh_diff_threshold = 0.0;             // finite; <= 0: no neighbour-difference refinement
    double max_refine_radius = 0.0;              // radians, finite >= 0; neighbour refinement only within it
    int max_rounds_per_level = 64;               // safety stop
    double polish_threshold = 0.0;               // finite; <= 0: no polishing (-lnL units)
    int max_polish_rounds = 3;                   // >= 1: polishing rounds after each regular round
    double polish_window = 1e300;                // > 0: only seeds within this of the level's best -lnL
    double rotation[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};  // v_local = R v_equatorial (row-major)
    VertexSeed initial_seed{0.0, 0.0, 0.0, 0.0};
};

struct ScanTask {
    int level;
    std::int64_t nside;
    std::int64_t pixel;  // NESTED
    double zenith, azimuth;  // radians, IceCube local
    VertexSeed seed;
};

struct ScanRecord {
    int level;
    std::int64_t nside;
    std::int64_t pixel;
    double zenith, azimuth;
    DirectionFitResult fit;
};

class ScanDriver {
public:
    explicit ScanDriver(const ScanSettings& settings);

    /// The next tasks (NESTED pixel order within a batch); empty when the scan is finished.
    /// Throws std::invalid_argument if the previous batch has not been submitted.
    const std::vector<ScanTask>& next_batch();

    /// Results of the pending batch, in its order. Throws std::invalid_argument if no batch is
    /// pending or the count does not match.
    void submit(const DirectionFitResult* results, std::size_t n);

    /// One next_batch / fit_batch / submit round (fit_batch gets the batch's nside); returns the
    /// number of pixels fitted (0 = done).
    std::size_t run_step(const DirectionFitter& fitter, int threads);

    bool finished() const { return finished_; }
    bool has_pending() const { return !pending_.empty(); }
    int current_level() const { return level_; }
    const std::vector<ScanRecord>& records() const { return records_; }
    const std::vector<ScanTask>& pending() const { return pending_; }
    const ScanSettings& settings() const { return settings_; }
    /// Index into records() of the best (smallest finite -lnL) pixel, or -1 if none.
    long best_index() const;
    /// Rounds (batches) made so far at each level (polishing rounds not included).
    const std::vector<int>& rounds() const { return rounds_; }
    /// True if the pending batch is a polishing batch (re-fits of evaluated pixels).
    bool pending_is_polish() const { return pending_polish_; }
    /// Per level: polishing rounds, re-fits, re-fits that found a lower minimum, and the
    /// likelihood evaluations the re-fits used.
    const std::vector<int>& polish_rounds() const { return polish_rounds_; }
    const std::vector<int>& polish_fits() const { return polish_fits_; }
    const std::vector<int>& polish_improved() const { return polish_improved_; }
    const std::vector<long long>& polish_evaluations() const { return polish_evals_; }

private:
    /// (zenith, azimuth) in radians of the centre of NESTED pixel `pix` at `nside`.
    void local_direction(std::int64_t nside, std::int64_t pix, double& zenith, double& azimuth) const;
    void make_level0();
    void make_refinement();
    bool seed_for(int level, std::int64_t pixel, VertexSeed& seed) const;
    /// Fill pending_ with the polishing re-fits of level k (may leave it empty).
    void make_polish(int k);

    ScanSettings settings_;
    std::vector<int> shifts_;  // 2 * log2(nsides[k] / nsides[0])
    std::vector<std::map<std::int64_t, std::size_t>> evaluated_;  // per level: pixel -> record
    std::vector<ScanRecord> records_;
    std::vector<ScanTask> pending_;
    std::vector<int> rounds_;
    int level_ = 0;
    bool finished_ = false;
    // polishing state
    int last_level_ = -1;          // level of the last submitted batch
    bool pending_polish_ = false;  // the pending batch is a polishing batch
    int polish_pass_rounds_ = 0;   // polishing rounds since the last regular round
    bool polish_pass_done_ = true; // no more polishing until the next regular round
    struct Tried {
        std::int64_t from;
        double value;
    };
    std::vector<std::map<std::int64_t, Tried>> tried_;  // per level: pixel -> last seed neighbour
    std::vector<int> polish_rounds_, polish_fits_, polish_improved_;
    std::vector<long long> polish_evals_;
};

}  // namespace icecore
