// Sky-scan refinement state machine (see scan.hpp).
#include "icecore/scan.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

#include "icecore/healpix.hpp"

namespace icecore {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kC = 0.299792458;  // m/ns: the muon's speed along the track

/// The point of the track through `f` (direction of origin zenith/azimuth, radians) closest to
/// the detector centre, and the time the muon passes it.
VertexSeed closest_approach(const DirectionFitResult& f, double zenith, double azimuth) {
    const double d[3] = {-std::sin(zenith) * std::cos(azimuth), -std::sin(zenith) * std::sin(azimuth),
                         -std::cos(zenith)};  // direction of travel
    const double s = f.x * d[0] + f.y * d[1] + f.z * d[2];
    return {f.x - s * d[0], f.y - s * d[1], f.z - s * d[2], f.t - s / kC};
}

int ilog2(std::int64_t v) {
    int k = 0;
    while ((std::int64_t{1} << k) < v) ++k;
    return k;
}

}  // namespace

ScanDriver::ScanDriver(const ScanSettings& settings) : settings_(settings) {
    const auto& ns = settings_.nsides;
    if (ns.empty()) throw std::invalid_argument("nsides must not be empty");
    for (std::size_t k = 0; k < ns.size(); ++k) {
        healpix::check_nside(ns[k]);
        if (k > 0 && ns[k] <= ns[k - 1])
            throw std::invalid_argument("nsides must be strictly increasing");
    }
    if (settings_.extensions.size() != ns.size() - 1)
        throw std::invalid_argument("extensions needs one value per refinement level (" +
                                    std::to_string(ns.size() - 1) + ")");
    for (double e : settings_.extensions)
        if (!(e > 0.0) || !std::isfinite(e))
            throw std::invalid_argument("extensions must be finite and > 0");
    if (settings_.max_rounds_per_level < 1)
        throw std::invalid_argument("max_rounds_per_level must be >= 1");
    for (double r : settings_.rotation)
        if (!std::isfinite(r)) throw std::invalid_argument("rotation must be finite");
    const VertexSeed& s = settings_.initial_seed;
    if (!std::isfinite(s.x) || !std::isfinite(s.y) || !std::isfinite(s.z) || !std::isfinite(s.t))
        throw std::invalid_argument("initial_seed must be finite");
    if (!std::isfinite(settings_.llh_diff_threshold))
        throw std::invalid_argument("llh_diff_threshold must be finite");
    if (!std::isfinite(settings_.max_refine_radius) || settings_.max_refine_radius < 0.0)
        throw std::invalid_argument("max_refine_radius must be finite and >= 0");
    if (!std::isfinite(settings_.polish_threshold))
        throw std::invalid_argument("polish_threshold must be finite");
    if (!(settings_.polish_window > 0.0)) throw std::invalid_argument("polish_window must be > 0");
    if (settings_.max_polish_rounds < 1) throw std::invalid_argument("max_polish_rounds must be >= 1");
    const int l0 = ilog2(ns[0]);
    for (auto n : ns) shifts_.push_back(2 * (ilog2(n) - l0));
    evaluated_.resize(ns.size());
    rounds_.assign(ns.size(), 0);
    tried_.resize(ns.size());
    polish_rounds_.assign(ns.size(), 0);
    polish_fits_.assign(ns.size(), 0);
    polish_improved_.assign(ns.size(), 0);
    polish_evals_.assign(ns.size(), 0);
}

void ScanDriver::local_direction(std::int64_t nside, std::int64_t pix, double& zenith,
                                 double& azimuth) const {
    double v[3];
    healpix::pix2vec_nest(nside, pix, v);  // (ra, dec) unit vector on the equatorial sky
    const double* R = settings_.rotation;
    double w[3];
    for (int i = 0; i < 3; ++i) w[i] = R[3 * i] * v[0] + R[3 * i + 1] * v[1] + R[3 * i + 2] * v[2];
    const double rxy = std::hypot(w[0], w[1]);
    zenith = std::atan2(rxy, w[2]);
    azimuth = std::atan2(w[1], w[0]);
    if (azimuth < 0) azimuth += 2.0 * kPi;
}

long ScanDriver::best_index() const {
    long best = -1;
    for (std::size_t i = 0; i < records_.size(); ++i) {
        const double v = records_[i].fit.neg_llh;
        if (!std::isfinite(v)) continue;
        // strict '<': ties keep the earlier record (coarser level, then lower pixel order)
        if (best < 0 || v < records_[static_cast<std::size_t>(best)].fit.neg_llh)
            best = static_cast<long>(i);
    }
    return best;
}

bool ScanDriver::seed_for(int level, std::int64_t pixel, VertexSeed& seed) const {
    for (int j = level - 1; j >= 0; --j) {
        const int shift = shifts_[static_cast<std::size_t>(level)] - shifts_[static_cast<std::size_t>(j)];
        const std::int64_t anc = pixel >> shift;
        const auto& m = evaluated_[static_cast<std::size_t>(j)];
        const auto it = m.find(anc);
        if (it != m.end()) {
            const auto& f = records_[it->second].fit;
            if (std::isfinite(f.x) && std::isfinite(f.y) && std::isfinite(f.z) && std::isfinite(f.t)) {
                seed = {f.x, f.y, f.z, f.t};
                return true;
            }
        }
    }
    seed = settings_.initial_seed;
    return false;
}

void ScanDriver::make_level0() {
    const std::int64_t nside = settings_.nsides[0];
    const std::int64_t n = healpix::npix(nside);
    pending_.reserve(static_cast<std::size_t>(n));
    for (std::int64_t p = 0; p < n; ++p) {
        ScanTask t{0, nside, p, 0.0, 0.0, settings_.initial_seed};
        local_direction(nside, p, t.zenith, t.azimuth);
        pending_.push_back(t);
    }
}

void ScanDriver::make_refinement() {
    const auto nlev = static_cast<int>(settings_.nsides.size());
    while (level_ < nlev) {
        const auto k = static_cast<std::size_t>(level_);
        if (rounds_[k] >= settings_.max_rounds_per_level) {
            ++level_;
            continue;
        }
        const long b = best_index();
        if (b < 0) {  // nothing finite to refine around
            level_ = nlev;
            break;
        }
        const ScanRecord& best = records_[static_cast<std::size_t>(b)];
        double c[3];
        healpix::pix2vec_nest(best.nside, best.pixel, c);
        const std::int64_t pn = settings_.nsides[k - 1];
        const double area = settings_.extensions[k - 1] * healpix::pixel_area(pn);
        const double cosr = std::max(-1.0, 1.0 - area / (2.0 * kPi));
        std::vector<std::int64_t> parents = healpix::query_disc_nest(pn, c, std::acos(cosr));
        parents.push_back(healpix::vec2pix_nest(pn, c));
        if (settings_.llh_diff_threshold > 0.0 && settings_.max_refine_radius > 0.0) {
            const auto& prev = evaluated_[k - 1];
            const double spacing = std::sqrt(healpix::pixel_area(pn));
            for (std::int64_t p : healpix::query_disc_nest(pn, c, settings_.max_refine_radius)) {
                const auto it = prev.find(p);
                if (it == prev.end()) continue;
                const double v = records_[it->second].fit.neg_llh;
                double pc[3];
                healpix::pix2vec_nest(pn, p, pc);
                for (std::int64_t q : healpix::query_disc_nest(pn, pc, 1.5 * spacing)) {
                    const auto jt = prev.find(q);
                    if (q == p || jt == prev.end()) continue;
                    const double w = records_[jt->second].fit.neg_llh;
                    if (!(std::fabs(w - v) <= settings_.llh_diff_threshold)) {
                        parents.push_back(p);
                        break;
                    }
                }
            }
        }
        std::sort(parents.begin(), parents.end());
        parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
        const int shift = shifts_[k] - shifts_[k - 1];
        const std::int64_t nchild = std::int64_t{1} << shift;
        const auto& done = evaluated_[k];
        for (std::int64_t p : parents) {
            for (std::int64_t j = 0; j < nchild; ++j) {
                const std::int64_t child = (p << shift) + j;
                if (done.count(child)) continue;
                ScanTask t{level_, settings_.nsides[k], child, 0.0, 0.0, {}};
                local_direction(t.nside, child, t.zenith, t.azimuth);
                seed_for(level_, child, t.seed);
                pending_.push_back(t);
            }
        }
        if (!pending_.empty()) return;
        ++level_;  // the level converged: no new pixel
    }
}

void ScanDriver::make_polish(int level) {
    const auto k = static_cast<std::size_t>(level);
    const std::int64_t nside = settings_.nsides[k];
    const double spacing = std::sqrt(healpix::pixel_area(nside));
    const auto& done = evaluated_[k];
    auto& tried = tried_[k];
    double level_best = INFINITY;
    for (const auto& [p, ip] : done) {
        const double v = records_[ip].fit.neg_llh;
        if (std::isfinite(v) && v < level_best) level_best = v;
    }
    if (!std::isfinite(level_best)) return;
    for (const auto& [p, ip] : done) {
        const ScanRecord& rp = records_[ip];
        const double v = rp.fit.neg_llh;
        double pc[3];
        healpix::pix2vec_nest(nside, p, pc);
        // evaluated neighbours with finite -lnL and their tangent directions at p
        struct Nb {
            std::int64_t pix;
            std::size_t rec;
            double value, dir[3], dist;  // dist: angle p-q (radians)
        };
        std::vector<Nb> nbs;
        for (std::int64_t q : healpix::query_disc_nest(nside, pc, 1.5 * spacing)) {
            if (q == p) continue;
            const auto it = done.find(q);
            if (it == done.end()) continue;
            const double w = records_[it->second].fit.neg_llh;
            if (!std::isfinite(w)) continue;
            Nb nb{q, it->second, w, {0, 0, 0}, 0.0};
            double qc[3];
            healpix::pix2vec_nest(nside, q, qc);
            const double dot = qc[0] * pc[0] + qc[1] * pc[1] + qc[2] * pc[2];
            nb.dist = std::acos(std::clamp(dot, -1.0, 1.0));
            double norm = 0.0;
            for (int i = 0; i < 3; ++i) {
                nb.dir[i] = qc[i] - dot * pc[i];
                norm += nb.dir[i] * nb.dir[i];
            }
            norm = std::sqrt(norm);
            if (!(norm > 0.0)) continue;
            for (double& c : nb.dir) c /= norm;
            nbs.push_back(nb);
        }
        if (nbs.empty()) continue;
        const Nb* q = &nbs[0];
        for (const Nb& nb : nbs)
            if (nb.value < q->value) q = &nb;
        if (!(q->value - level_best <= settings_.polish_window)) continue;
        if (std::isfinite(v)) {
            if (!(v - q->value > settings_.polish_threshold)) continue;
            const Nb* r = nullptr;
            double best_cos = -0.5;  // opposite: angle > 120 deg
            for (const Nb& nb : nbs) {
                const double c = nb.dir[0] * q->dir[0] + nb.dir[1] * q->dir[1] + nb.dir[2] * q->dir[2];
                if (c < best_cos) {
                    best_cos = c;
                    r = &nb;
                }
            }
            if (r == nullptr) continue;  // no neighbour on the other side: cannot tell a slope
            // a plane through p falling toward q rises toward r by (v - v(q)) (-cos) d_r / d_q
            const double rise = (r->value - v) * q->dist / (r->dist * -best_cos);
            if (!((v - q->value) - rise > settings_.polish_threshold)) continue;
        }
        const auto t = tried.find(p);
        if (t != tried.end() && t->second.from == q->pix && t->second.value == q->value) continue;
        tried[p] = {q->pix, q->value};
        const ScanRecord& rq = records_[q->rec];
        ScanTask task{level, nside, p, rp.zenith, rp.azimuth, closest_approach(rq.fit, rq.zenith, rq.azimuth)};
        if (!(std::isfinite(task.seed.x) && std::isfinite(task.seed.y) && std::isfinite(task.seed.z) &&
              std::isfinite(task.seed.t)))
            continue;
        pending_.push_back(task);
    }
}

const std::vector<ScanTask>& ScanDriver::next_batch() {
    if (!pending_.empty())
        throw std::invalid_argument("the pending batch must be submitted before asking for the next");
    if (finished_) return pending_;
    pending_polish_ = false;
    if (settings_.polish_threshold > 0.0 && last_level_ >= 0 && !polish_pass_done_) {
        if (polish_pass_rounds_ < settings_.max_polish_rounds) make_polish(last_level_);
        if (!pending_.empty()) {
            pending_polish_ = true;
            ++polish_pass_rounds_;
            ++polish_rounds_[static_cast<std::size_t>(last_level_)];
            return pending_;
        }
        polish_pass_done_ = true;
    }
    if (level_ == 0 && rounds_[0] == 0) {
        make_level0();
    } else {
        if (level_ == 0) level_ = 1;
        make_refinement();
    }
    if (pending_.empty()) finished_ = true;
    return pending_;
}

void ScanDriver::submit(const DirectionFitResult* results, std::size_t n) {
    if (pending_.empty()) throw std::invalid_argument("no batch is pending: call next_batch() first");
    if (n != pending_.size())
        throw std::invalid_argument("expected " + std::to_string(pending_.size()) +
                                    " results (neg_llh values) for the pending batch, got " +
                                    std::to_string(n));
    const int level = pending_.front().level;
    const auto k = static_cast<std::size_t>(level);
    if (pending_polish_) {
        int improved = 0;
        for (std::size_t i = 0; i < n; ++i) {
            ScanRecord& rec = records_[evaluated_[k].at(pending_[i].pixel)];
            const DirectionFitResult& r = results[i];
            const int total = rec.fit.n_eval + r.n_eval;
            polish_evals_[k] += r.n_eval;
            // keep the lower minimum (a finite value beats a failed fit)
            if (std::isfinite(r.neg_llh) && !(rec.fit.neg_llh <= r.neg_llh)) {
                rec.fit = r;
                ++improved;
            }
            rec.fit.n_eval = total;
        }
        polish_fits_[k] += static_cast<int>(n);
        polish_improved_[k] += improved;
        if (improved == 0) polish_pass_done_ = true;  // nothing moved: the pass has converged
        pending_polish_ = false;
        pending_.clear();
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const ScanTask& t = pending_[i];
        records_.push_back({t.level, t.nside, t.pixel, t.zenith, t.azimuth, results[i]});
        evaluated_[static_cast<std::size_t>(t.level)][t.pixel] = records_.size() - 1;
    }
    ++rounds_[k];
    last_level_ = level;
    polish_pass_rounds_ = 0;
    polish_pass_done_ = false;
    pending_.clear();
}

std::size_t ScanDriver::run_step(const DirectionFitter& fitter, int threads) {
    const auto& batch = next_batch();
    const std::size_t n = batch.size();
    if (n == 0) return 0;
    std::vector<double> zen(n), az(n);
    std::vector<VertexSeed> seeds(n);
    for (std::size_t i = 0; i < n; ++i) {
        zen[i] = batch[i].zenith;
        az[i] = batch[i].azimuth;
        seeds[i] = batch[i].seed;
    }
    std::vector<DirectionFitResult> res(n);
    fitter.fit_batch(zen.data(), az.data(), seeds.data(), n, res.data(), threads, batch.front().nside);
    submit(res.data(), n);
    return n;
}

}  // namespace icecore
