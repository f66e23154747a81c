// Pandel track likelihood and per-direction vertex fit (BFGS of optimize.hpp, analytic gradients).
#include "icecore/track_llh.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "icecore/pandel.hpp"
#include "icecore/parallel.hpp"

namespace icecore {

namespace {
constexpr double kD0 = 0.1;  // m: regularises the distance of a DOM sitting on the track
constexpr double kPi = 3.14159265358979323846;

inline double dot3(const double* a, const double* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
}  // namespace

const char* IceParams::check() const {
    const double vals[] = {absorption_m, tau_ns, scattering_m, c_m_per_ns};
    for (double v : vals)
        if (!(v > 0.0) || !std::isfinite(v)) return "absorption, tau, scattering and c must be finite and > 0";
    if (!(n_phase > 1.0) || !(n_group > 1.0) || !std::isfinite(n_phase) || !std::isfinite(n_group))
        return "refractive indices must be finite and > 1";
    if (!std::isfinite(deff_a0) || !std::isfinite(deff_a1) || !std::isfinite(deff_a2) || !std::isfinite(deff_a3))
        return "effective-distance coefficients must be finite";
    if (!(deff_a1 > 0.0)) return "effective-distance slope a1 must be > 0";
    // d_eff must stay positive for every cos(eta) in [-1, 1] at d = 0
    for (int i = 0; i <= 200; ++i) {
        const double ce = -1.0 + 0.01 * i;
        if (!(deff_a0 + deff_a2 * ce + deff_a3 * ce * ce > 0.0))
            return "effective-distance offset must be > 0 for all cos(eta)";
    }
    return nullptr;
}

const char* LikelihoodOptions::check() const {
    if (!(sigma_ns > 0.0) || !std::isfinite(sigma_ns)) return "sigma_ns must be finite and > 0";
    if (!(noise_rate_hz > 0.0) || !std::isfinite(noise_rate_hz)) return "noise rate must be finite and > 0";
    if (!(window_ns > 0.0) || !std::isfinite(window_ns)) return "window_ns must be finite and > 0";
    if (n_ring < 0 || n_ring > 64) return "n_ring must be in [0, 64]";
    if (!(ring_radius_m >= 0.0) || !std::isfinite(ring_radius_m)) return "ring_radius_m must be finite and >= 0";
    if (n_ring_near < 0 || n_ring_near > 64) return "n_ring_near must be in [0, 64] (above n_ring: n_ring)";
    if (!(near_m >= 0.0) || !(near_ns >= 0.0) || !std::isfinite(near_m) || !std::isfinite(near_ns))
        return "near_m and near_ns must be finite and >= 0";
    for (std::size_t i = 0; i < level_seeds.size(); ++i) {
        const LevelSeeds& l = level_seeds[i];
        if (l.nside < 1 || (l.nside & (l.nside - 1)) != 0) return "level_seeds: nside must be a power of two >= 1";
        if (l.n_ring < 0 || l.n_ring > 64 || l.n_ring_near < 0 || l.n_ring_near > 64)
            return "level_seeds: n_ring and n_ring_near must be in [0, 64]";
        for (std::size_t j = 0; j < i; ++j)
            if (level_seeds[j].nside == l.nside) return "level_seeds: one entry per nside";
    }
    if (vertex_fit.max_iter < 1) return "max_iter must be >= 1";
    if (!(vertex_fit.gtol > 0.0) || !(vertex_fit.ftol >= 0.0)) return "gtol must be > 0 and ftol >= 0";
    if (!(vertex_fit.max_step > 0.0) || !std::isfinite(vertex_fit.max_step)) return "max_step must be finite and > 0";
    if (!(vertex_fit.initial_step > 0.0) || !std::isfinite(vertex_fit.initial_step))
        return "initial_step must be finite and > 0";
    return nullptr;
}

TrackFrame::TrackFrame(double zenith, double azimuth, double n_phase, double n_group, double c_) {
    const double sz = std::sin(zenith), cz = std::cos(zenith), sa = std::sin(azimuth), ca = std::cos(azimuth);
    v[0] = -sz * ca;
    v[1] = -sz * sa;
    v[2] = -cz;
    dv_dzen[0] = -cz * ca;
    dv_dzen[1] = -cz * sa;
    dv_dzen[2] = sz;
    dv_dazi[0] = sz * sa;
    dv_dazi[1] = -sz * ca;
    dv_dazi[2] = 0.0;
    e1[0] = cz * ca;
    e1[1] = cz * sa;
    e1[2] = -sz;
    e2[0] = -sa;
    e2[1] = ca;
    e2[2] = 0.0;
    cos_c = 1.0 / n_phase;
    sin_c = std::sqrt(1.0 - cos_c * cos_c);
    c = c_;
    k_perp = (n_group / sin_c - cos_c / sin_c) / c;
}

TrackPoint TrackFrame::point(const double* r, double x, double y, double z, double t0, double d0) const {
    const double p[3] = {r[0] - x, r[1] - y, r[2] - z};
    const double l = dot3(p, v);
    const double perp[3] = {p[0] - l * v[0], p[1] - l * v[1], p[2] - l * v[2]};
    const double d = std::sqrt(dot3(perp, perp) + d0 * d0);
    const double rz = d > 0.0 ? perp[2] / d : 0.0;
    TrackPoint out{};
    out.d = d;
    out.t_geo = t0 + l / c + k_perp * d;
    out.cos_eta = sin_c * rz + cos_c * v[2];
    out.along = l;
    return out;
}

PandelTrackLikelihood::PandelTrackLikelihood(const double* positions, const double* times,
                                             const double* charges, std::size_t n,
                                             const IceParams& ice, const LikelihoodOptions& opt)
    : pos_(positions, positions + 3 * n), t_(times, times + n), nphot_(n), ice_(ice), opt_(opt) {
    if (n == 0) throw std::invalid_argument("no hit DOMs");
    if (const char* p = ice.check()) throw std::invalid_argument(p);
    if (const char* p = opt.check()) throw std::invalid_argument(p);
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(times[i]) || !std::isfinite(charges[i]) || charges[i] < 0.0)
            throw std::invalid_argument("times must be finite and charges finite and >= 0");
        nphot_[i] = std::max(1.0, std::floor(charges[i] + 0.5));
    }
    rho_ = ice.rho();
    if (opt.fast || opt.minimizer == VertexMinimizer::newton || opt.seed_minimizer == VertexMinimizer::newton)
        table_ = PandelTable::shared(rho_, opt.sigma_ns);
    const double noise_rate_per_ns = opt.noise_rate_hz * 1e-9;
    const double f = std::min(noise_rate_per_ns * opt.window_ns, 0.5);
    log_noise_ = std::log(f / opt.window_ns);
    log_signal_ = std::log1p(-f);
    // ln(n cp) <= ln n - t^2/(2 sigma^2) - ln(sigma sqrt(2 pi)) for t < 0; skip the hit when this
    // bound is 40 below the noise floor (its contribution is then the noise term to 1e-17).
    skip_before_.resize(n);
    log_signal_n_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double lnn = opt.mpe ? std::log(nphot_[i]) : 0.0;
        log_signal_n_[i] = log_signal_ + lnn;
        const double room = log_signal_ + lnn - std::log(opt.sigma_ns * std::sqrt(2.0 * kPi)) - (log_noise_ - 40.0);
        skip_before_[i] = room > 0.0 ? -opt.sigma_ns * std::sqrt(2.0 * room) : 0.0;
    }
}

namespace {
// log(e^a + e^b) and the weight e^a / (e^a + e^b) of a with one exp: log1p(e) by its series
// when e = e^-|a-b| < 1e-3 (8 terms: relative error < 1e-24), else std::log1p.
inline double log_add(double a, double b, double& wa) {
    const double diff = a - b;
    const double e = std::exp(-std::fabs(diff));
    double l1p;
    if (e < 1e-3)
        l1p = e * (1.0 + e * (-0.5 + e * (1.0 / 3.0 + e * (-0.25 + e * (0.2 + e * (-1.0 / 6.0 + e * (1.0 / 7.0 - e * 0.125)))))));
    else
        l1p = std::log1p(e);
    const double inv = 1.0 / (1.0 + e);
    wa = diff >= 0.0 ? inv : e * inv;
    return (diff >= 0.0 ? a : b) + l1p;
}
// The noise mixing: the softplus table with the fast likelihood, the libm log_add with the exact.
inline double mix(const SoftplusTable* spt, double a, double b, double& wa) {
    return spt ? spt->log_add(a, b, wa) : log_add(a, b, wa);
}
}  // namespace

LogGrad PandelTrackLikelihood::photon_term(std::size_t i, double tres, double nu) const {
    const double m = opt_.mpe ? nphot_[i] - 1.0 : 0.0;
    if (opt_.fast) return table_->log_pdf_sf(tres, nu, m);
    if (!opt_.mpe) return cpandel_log_pdf(tres, nu, rho_, opt_.sigma_ns);
    const LogGrad lp = mpe_log_pdf(tres, nu, rho_, opt_.sigma_ns, nphot_[i]);
    return {lp.value - std::log(nphot_[i]), lp.d_nu, lp.d_t};
}

LogHess PandelTrackLikelihood::photon_term_hess(std::size_t i, double tres, double nu) const {
    const double m = opt_.mpe ? nphot_[i] - 1.0 : 0.0;
    LogHess h = table_->log_pdf_sf_hess(tres, nu, m);
    if (!opt_.fast) {  // exact value and gradient; the table's second partials as the model
        const LogGrad e = photon_term(i, tres, nu);
        h.value = e.value;
        h.d_nu = e.d_nu;
        h.d_t = e.d_t;
    }
    return h;
}

void PandelTrackLikelihood::make_transverse(const TrackFrame& fr, const double* base, Transverse& tr) const {
    const std::size_t n = t_.size();
    tr.p1.resize(n);
    tr.p2.resize(n);
    tr.tt.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double* r = &pos_[3 * i];
        const double p[3] = {r[0] - base[0], r[1] - base[1], r[2] - base[2]};
        tr.p1[i] = dot3(p, fr.e1);
        tr.p2[i] = dot3(p, fr.e2);
        tr.tt[i] = t_[i] - dot3(p, fr.v) / fr.c;
    }
    tr.e1z = fr.e1[2];  // e2 is horizontal: e2z = 0
    tr.vz = fr.v[2];
}

double PandelTrackLikelihood::eval_transverse_table(const TrackFrame& fr, const Transverse& tr, double alpha,
                                                    double beta, double t0, double* grad) const {
    const double lam_inv = 1.0 / ice_.scattering_m;
    const double a1s = ice_.deff_a1 / fr.sin_c;
    const double dnu_dd = a1s * lam_inv;
    const double c0 = fr.cos_c * tr.vz;
    const double k = fr.k_perp;
    const double sez = fr.sin_c * tr.e1z;
    const std::size_t n = t_.size();
    if (tr.s_t.size() != n) {
        for (auto* v : {&tr.s_t, &tr.s_nu, &tr.s_m, &tr.s_nua, &tr.s_nub, &tr.s_tra, &tr.s_trb}) v->resize(n);
        tr.s_out.resize(n);
        tr.s_live.resize(n);
    }
    double* st = tr.s_t.data();
    double* snu = tr.s_nu.data();
    double* sm = tr.s_m.data();
    double* snua = tr.s_nua.data();
    double* snub = tr.s_nub.data();
    double* stra = tr.s_tra.data();
    double* strb = tr.s_trb.data();
    unsigned char* live = tr.s_live.data();
    // 1: geometry (as eval_transverse<false>)
    std::size_t nl = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double u1 = tr.p1[i] - alpha, u2 = tr.p2[i] - beta;
        const double d2 = u1 * u1 + u2 * u2 + kD0 * kD0;
        const double d = std::sqrt(d2);
        const double tres = tr.tt[i] - t0 - k * d;
        live[i] = !(tres < skip_before_[i]);
        if (!live[i]) continue;
        const double id = 1.0 / d;
        const double pz = u1 * tr.e1z;
        const double rz = pz * id;
        const double ce = fr.sin_c * rz + c0;
        const double nu = (ice_.deff_a0 + a1s * d + ce * (ice_.deff_a2 + ice_.deff_a3 * ce)) * lam_inv;
        const double dnu_dce = (ice_.deff_a2 + 2.0 * ice_.deff_a3 * ce) * lam_inv;
        const double dd_a = -u1 * id, dd_b = -u2 * id;
        const double id3 = id * id * id;
        const double d_aa = (d2 - u1 * u1) * id3, d_ab = -u1 * u2 * id3;
        const double ce_a = -sez * d_aa, ce_b = -sez * d_ab;
        st[nl] = tres;
        snu[nl] = nu;
        sm[nl] = opt_.mpe ? nphot_[i] - 1.0 : 0.0;
        snua[nl] = dnu_dd * dd_a + dnu_dce * ce_a;
        snub[nl] = dnu_dd * dd_b + dnu_dce * ce_b;
        stra[nl] = -k * dd_a;
        strb[nl] = -k * dd_b;
        ++nl;
    }
    // 2: the table terms
    table_->log_pdf_sf_batch(nl, st, snu, sm, tr.s_out.data());
    // 3: noise mixing (SoftplusTable) and the sums, in DOM order
    const SoftplusTable& spt = SoftplusTable::instance();
    double f = 0.0, ga = 0.0, gb = 0.0, gt = 0.0;
    std::size_t q = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!live[i]) {
            f -= log_noise_;
            continue;
        }
        const LogGrad& lp = tr.s_out[q];
        double wsig;
        f -= spt.log_add(log_signal_n_[i] + lp.value, log_noise_, wsig);
        const double dl_dt = wsig * lp.d_t, dl_dnu = wsig * lp.d_nu;
        ga -= dl_dnu * snua[q] + dl_dt * stra[q];
        gb -= dl_dnu * snub[q] + dl_dt * strb[q];
        gt += dl_dt;
        ++q;
    }
    grad[0] = ga;
    grad[1] = gb;
    grad[2] = gt;
    return f;
}

template <bool WithHess>
double PandelTrackLikelihood::eval_transverse(const TrackFrame& fr, const Transverse& tr, double alpha,
                                              double beta, double t0, double* grad, double* hess) const {
    if (!WithHess && opt_.fast) return eval_transverse_table(fr, tr, alpha, beta, t0, grad);
    const SoftplusTable* spt = opt_.fast ? &SoftplusTable::instance() : nullptr;
    const double lam_inv = 1.0 / ice_.scattering_m;
    const double a1s = ice_.deff_a1 / fr.sin_c;
    const double dnu_dd = a1s * lam_inv;
    const double c0 = fr.cos_c * tr.vz;
    const double k = fr.k_perp;
    const double sez = fr.sin_c * tr.e1z;  // d ce / d (u1 / d)
    double f = 0.0, ga = 0.0, gb = 0.0, gt = 0.0;
    double haa = 0.0, hab = 0.0, hat = 0.0, hbb = 0.0, hbt = 0.0, htt = 0.0;
    const std::size_t n = t_.size();
    for (std::size_t i = 0; i < n; ++i) {
        const double u1 = tr.p1[i] - alpha, u2 = tr.p2[i] - beta;
        const double d2 = u1 * u1 + u2 * u2 + kD0 * kD0;
        const double d = std::sqrt(d2);
        const double tres = tr.tt[i] - t0 - k * d;
        if (tres < skip_before_[i]) {  // early hit below the noise floor (see eval)
            f -= log_noise_;
            continue;
        }
        const double id = 1.0 / d;
        const double pz = u1 * tr.e1z;
        const double rz = pz * id;
        const double ce = fr.sin_c * rz + c0;
        const double nu = (ice_.deff_a0 + a1s * d + ce * (ice_.deff_a2 + ice_.deff_a3 * ce)) * lam_inv;
        const double dnu_dce = (ice_.deff_a2 + 2.0 * ice_.deff_a3 * ce) * lam_inv;  // per unit ce
        // d/dalpha, d/dbeta of d and s = u1 / d (du1/dalpha = du2/dbeta = -1); ce = sin_c e1z s + c0
        const double dd_a = -u1 * id, dd_b = -u2 * id;
        const double id3 = id * id * id;
        const double d_aa = (d2 - u1 * u1) * id3, d_ab = -u1 * u2 * id3, d_bb = (d2 - u2 * u2) * id3;
        const double ce_a = -sez * d_aa, ce_b = -sez * d_ab;
        const double nu_a = dnu_dd * dd_a + dnu_dce * ce_a, nu_b = dnu_dd * dd_b + dnu_dce * ce_b;
        const double tr_a = -k * dd_a, tr_b = -k * dd_b;  // d tres (d tres / d t0 = -1)
        double wsig;
        if (!WithHess) {
            const LogGrad lp = photon_term(i, tres, nu);
            f -= mix(spt, log_signal_n_[i] + lp.value, log_noise_, wsig);
            const double dl_dt = wsig * lp.d_t, dl_dnu = wsig * lp.d_nu;
            ga -= dl_dnu * nu_a + dl_dt * tr_a;
            gb -= dl_dnu * nu_b + dl_dt * tr_b;
            gt += dl_dt;
            continue;
        }
        const LogHess lp = photon_term_hess(i, tres, nu);
        f -= mix(spt, log_signal_n_[i] + lp.value, log_noise_, wsig);
        // l = ln p of the hit; L_i = -ln(e^(A + l) + e^N): grad -w l', Hessian -w l'' - w (1 - w) l' l'^T
        const double la = lp.d_t * tr_a + lp.d_nu * nu_a, lb = lp.d_t * tr_b + lp.d_nu * nu_b, lt = -lp.d_t;
        ga -= wsig * la;
        gb -= wsig * lb;
        gt -= wsig * lt;
        const double id5 = id3 * id * id;
        const double s_aa = -3.0 * u1 * (d2 - u1 * u1) * id5;
        const double s_ab = -u2 * id3 + 3.0 * u1 * u1 * u2 * id5;
        const double s_bb = -u1 * id3 + 3.0 * u1 * u2 * u2 * id5;
        const double a3x2 = 2.0 * ice_.deff_a3 * lam_inv;
        const double nu_aa = dnu_dd * d_aa + dnu_dce * sez * s_aa + a3x2 * ce_a * ce_a;
        const double nu_ab = dnu_dd * d_ab + dnu_dce * sez * s_ab + a3x2 * ce_a * ce_b;
        const double nu_bb = dnu_dd * d_bb + dnu_dce * sez * s_bb + a3x2 * ce_b * ce_b;
        const double l_aa = lp.d_tt * tr_a * tr_a + 2.0 * lp.d_nut * tr_a * nu_a + lp.d_nunu * nu_a * nu_a -
                            lp.d_t * k * d_aa + lp.d_nu * nu_aa;
        const double l_ab = lp.d_tt * tr_a * tr_b + lp.d_nut * (tr_a * nu_b + tr_b * nu_a) +
                            lp.d_nunu * nu_a * nu_b - lp.d_t * k * d_ab + lp.d_nu * nu_ab;
        const double l_bb = lp.d_tt * tr_b * tr_b + 2.0 * lp.d_nut * tr_b * nu_b + lp.d_nunu * nu_b * nu_b -
                            lp.d_t * k * d_bb + lp.d_nu * nu_bb;
        const double l_at = -(lp.d_tt * tr_a + lp.d_nut * nu_a), l_bt = -(lp.d_tt * tr_b + lp.d_nut * nu_b);
        const double l_tt = lp.d_tt;
        const double ww = wsig * (1.0 - wsig);
        haa -= wsig * l_aa + ww * la * la;
        hab -= wsig * l_ab + ww * la * lb;
        hat -= wsig * l_at + ww * la * lt;
        hbb -= wsig * l_bb + ww * lb * lb;
        hbt -= wsig * l_bt + ww * lb * lt;
        htt -= wsig * l_tt + ww * lt * lt;
    }
    grad[0] = ga;
    grad[1] = gb;
    grad[2] = gt;
    if (WithHess) {
        hess[0] = haa;
        hess[1] = hab;
        hess[2] = hat;
        hess[3] = hab;
        hess[4] = hbb;
        hess[5] = hbt;
        hess[6] = hat;
        hess[7] = hbt;
        hess[8] = htt;
    }
    return f;
}

double PandelTrackLikelihood::eval(const TrackFrame& fr, const double* q, double t0, double* gq,
                                   double* gt, double* gdir) const {
    const double lam = ice_.scattering_m;
    const double a1s = ice_.deff_a1 / fr.sin_c;
    double f = 0.0;
    double g[3] = {0.0, 0.0, 0.0}, gtime = 0.0, gd[2] = {0.0, 0.0};
    const SoftplusTable* spt = opt_.fast ? &SoftplusTable::instance() : nullptr;
    const std::size_t n = t_.size();
    for (std::size_t i = 0; i < n; ++i) {
        const double* r = &pos_[3 * i];
        const double p[3] = {r[0] - q[0], r[1] - q[1], r[2] - q[2]};
        const double l = dot3(p, fr.v);
        const double perp[3] = {p[0] - l * fr.v[0], p[1] - l * fr.v[1], p[2] - l * fr.v[2]};
        const double d = std::sqrt(dot3(perp, perp) + kD0 * kD0);
        const double rz = perp[2] / d;
        const double ce = fr.sin_c * rz + fr.cos_c * fr.v[2];
        const double deff = ice_.deff_a0 + a1s * d + ice_.deff_a2 * ce + ice_.deff_a3 * ce * ce;
        const double nu = deff / lam;
        const double tres = t_[i] - (t0 + l / fr.c + fr.k_perp * d);
        if (tres < skip_before_[i]) {
            // Early hit: cp(t) <= phi(t/sigma)/sigma for t < 0 (the Pandel delay is >= 0), so the
            // physics term is below e^-40 of the noise floor: L_i = noise, zero gradient.
            f -= log_noise_;
            continue;
        }
        const LogGrad lp = photon_term(i, tres, nu);
        double wsig;
        f -= mix(spt, log_signal_n_[i] + lp.value, log_noise_, wsig);
        if (!gq && !gt && !gdir) continue;
        const double dl_dt = wsig * lp.d_t;    // dL_i / d t_res
        const double dl_dnu = wsig * lp.d_nu;  // dL_i / d nu
        const double dnu_dd = a1s / lam;
        const double dnu_dce = (ice_.deff_a2 + 2.0 * ice_.deff_a3 * ce) / lam;
        const double d3 = d * d * d;
        if (gq || gt) {
            for (int j = 0; j < 3; ++j) {
                const double dd = -perp[j] / d;  // d d / d q_j
                const double drz = -((j == 2 ? 1.0 : 0.0) - fr.v[2] * fr.v[j]) / d + perp[2] * perp[j] / d3;
                const double dce = fr.sin_c * drz;
                const double dtres = fr.v[j] / fr.c - fr.k_perp * dd;  // -d t_geo / d q_j
                g[j] -= dl_dt * dtres + dl_dnu * (dnu_dd * dd + dnu_dce * dce);
            }
            gtime += dl_dt;  // d t_res / d t0 = -1
        }
        if (gdir) {
            const double* dvs[2] = {fr.dv_dzen, fr.dv_dazi};
            for (int k = 0; k < 2; ++k) {
                const double* dv = dvs[k];
                const double dl = dot3(p, dv);
                const double dperp_z = -dl * fr.v[2] - l * dv[2];
                const double dd = -l * dot3(perp, dv) / d;
                const double drz = dperp_z / d - perp[2] * dd / (d * d);
                const double dce = fr.sin_c * drz + fr.cos_c * dv[2];
                const double dtgeo = dl / fr.c + fr.k_perp * dd;
                gd[k] -= -dl_dt * dtgeo + dl_dnu * (dnu_dd * dd + dnu_dce * dce);
            }
        }
    }
    if (gq)
        for (int j = 0; j < 3; ++j) gq[j] = g[j];
    if (gt) *gt = gtime;
    if (gdir) {
        gdir[0] = gd[0];
        gdir[1] = gd[1];
    }
    return f;
}

double PandelTrackLikelihood::neg_llh(double x, double y, double z, double t, double zenith,
                                      double azimuth, double* grad) const {
    const TrackFrame fr(zenith, azimuth, ice_.n_phase, ice_.n_group, ice_.c_m_per_ns);
    const double q[3] = {x, y, z};
    if (!grad) return eval(fr, q, t, nullptr, nullptr, nullptr);
    return eval(fr, q, t, grad, grad + 3, grad + 4);
}

double PandelTrackLikelihood::neg_llh_transverse(double zenith, double azimuth, const VertexSeed& seed,
                                                 double alpha, double beta, double t0, double* grad,
                                                 double* hess) const {
    if (hess && !table_) throw std::invalid_argument("the Hessian model needs minimizer newton or fast");
    const TrackFrame fr(zenith, azimuth, ice_.n_phase, ice_.n_group, ice_.c_m_per_ns);
    const double base[3] = {seed.x, seed.y, seed.z};
    Transverse tr;
    make_transverse(fr, base, tr);
    if (hess) return eval_transverse<true>(fr, tr, alpha, beta, t0, grad, hess);
    return eval_transverse<false>(fr, tr, alpha, beta, t0, grad, nullptr);
}

DirectionFitResult PandelTrackLikelihood::fit_direction(double zenith, double azimuth, const VertexSeed& seed,
                                                        int n_ring_all, int n_ring_near) const {
    const TrackFrame fr(zenith, azimuth, ice_.n_phase, ice_.n_group, ice_.c_m_per_ns);
    const double base[3] = {seed.x, seed.y, seed.z};
    // objective in (alpha, beta, t0): q = base + alpha e1 + beta e2
    Transverse tr;
    make_transverse(fr, base, tr);
    auto objective = [&](const double* x, double* grad) {
        return eval_transverse<false>(fr, tr, x[0], x[1], x[2], grad, nullptr);
    };
    auto objective_h = [&](const double* x, double* grad, double* hess) {
        return eval_transverse<true>(fr, tr, x[0], x[1], x[2], grad, hess);
    };
    const bool newton_ring = opt_.minimizer == VertexMinimizer::newton;
    const bool newton_seed = opt_.seed_minimizer == VertexMinimizer::newton;
    // Minima already found from earlier seeds of this direction: a seed that walks into one of
    // them (within 0.5 m / 0.5 ns, not better) is stopped there, as it can only converge to it.
    std::vector<std::array<double, 4>> minima;
    auto known_minimum = [&minima](const std::array<double, 3>& x, double f) {
        for (const auto& m : minima) {
            if (std::fabs(x[0] - m[0]) < 0.5 && std::fabs(x[1] - m[1]) < 0.5 && std::fabs(x[2] - m[2]) < 0.5 &&
                f >= m[3] - 1e-3)
                return true;
        }
        return false;
    };
    DirectionFitResult best{std::numeric_limits<double>::infinity(), seed.x, seed.y, seed.z, seed.t, 0, 3};
    int n_eval = 0;
    int n_ring = n_ring_all;
    for (int k = 0; k < 1 + n_ring; ++k) {
        std::array<double, 3> x0 = {0.0, 0.0, seed.t};
        if (k > 0) {
            const double ang = 2.0 * kPi * (k - 1) / n_ring;
            x0[0] = opt_.ring_radius_m * std::cos(ang);
            x0[1] = opt_.ring_radius_m * std::sin(ang);
        }
        const bool newton = k == 0 ? newton_seed : newton_ring;
        const BfgsResult<3> r = newton ? trust_newton_minimize<3>(objective_h, x0, opt_.vertex_fit, known_minimum)
                                       : bfgs_minimize<3>(objective, x0, opt_.vertex_fit, known_minimum);
        if (k == 0 && r.status == 0 && n_ring_near < n_ring && std::hypot(r.x[0], r.x[1]) <= opt_.near_m &&
            std::fabs(r.x[2] - seed.t) <= opt_.near_ns)
            n_ring = n_ring_near;  // the given seed was already good: fewer ring seeds
        n_eval += r.n_eval;
        if (r.status == 0) minima.push_back({r.x[0], r.x[1], r.x[2], r.f});
        if (r.f < best.neg_llh) {
            best.neg_llh = r.f;
            best.x = base[0] + r.x[0] * fr.e1[0] + r.x[1] * fr.e2[0];
            best.y = base[1] + r.x[0] * fr.e1[1] + r.x[1] * fr.e2[1];
            best.z = base[2] + r.x[0] * fr.e1[2] + r.x[1] * fr.e2[2];
            best.t = r.x[2];
            best.status = r.status;
        }
    }
    best.n_eval = n_eval;
    if (!std::isfinite(best.neg_llh)) best.status = 3;
    return best;
}

void PandelTrackLikelihood::fit_batch(const double* zenith, const double* azimuth,
                                      const VertexSeed* seeds, std::size_t n,
                                      DirectionFitResult* out, int threads, std::int64_t nside) const {
    int n_ring = opt_.n_ring, n_ring_near = opt_.n_ring_near;
    for (const LevelSeeds& l : opt_.level_seeds)
        if (nside > 0 && l.nside == nside) {
            n_ring = l.n_ring;
            n_ring_near = l.n_ring_near;
        }
    // dynamic chunks of 4 fits: a fit costs 1-7 seeds x 10-400 evaluations, so equal static
    // chunks leave one thread idle at the end of a batch
    parallel_for_dynamic(n, threads, 4, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i)
            out[i] = fit_direction(zenith[i], azimuth[i], seeds[i], n_ring, n_ring_near);
    });
}

}  // namespace icecore
