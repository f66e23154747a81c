// Bindings for the photon likelihood: Pandel distributions, track geometry and the Pandel
// track likelihood (a DirectionFitter). Validate, then release the GIL around the C++ loops.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <tuple>
#include <string>
#include <vector>

#include "icecore/direction_fit.hpp"
#include "icecore/pandel.hpp"
#include "icecore/pandel_table.hpp"
#include "icecore/parallel.hpp"
#include "icecore/track_llh.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

py::tuple pandel_eval(int kind, const carray<double>& t, const carray<double>& nu, double rho,
                      double sigma, const carray<double>& n, int threads) {
    require_ndim(t, 1, "t");
    require_ndim(nu, 1, "nu");
    require_ndim(n, 1, "n");
    const auto size = static_cast<std::size_t>(t.shape(0));
    if (static_cast<std::size_t>(nu.shape(0)) != size) fail("nu", "length differs from t");
    if (static_cast<std::size_t>(n.shape(0)) != size) fail("n", "length differs from t");
    if (kind < 0 || kind > 4) fail("kind", "must be 0..4");
    if (!(rho > 0.0)) fail("rho", "must be > 0");
    if (kind >= 2 && !(sigma > 0.0)) fail("sigma", "must be > 0");
    check_threads(threads);
    py::array_t<double> val(static_cast<py::ssize_t>(size)), dnu(static_cast<py::ssize_t>(size)),
        dt(static_cast<py::ssize_t>(size));
    const double *pt = t.data(), *pnu = nu.data(), *pn = n.data();
    double *pv = val.mutable_data(), *pa = dnu.mutable_data(), *pb = dt.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(size, threads, [&](std::size_t lo, std::size_t hi) {
            for (std::size_t i = lo; i < hi; ++i) {
                LogGrad r{};
                switch (kind) {
                    case 0: r = pandel_log_pdf(pt[i], pnu[i], rho); break;
                    case 1: r = pandel_log_sf(pt[i], pnu[i], rho); break;
                    case 2: r = cpandel_log_pdf(pt[i], pnu[i], rho, sigma); break;
                    case 3: r = cpandel_log_sf(pt[i], pnu[i], rho, sigma); break;
                    default: r = mpe_log_pdf(pt[i], pnu[i], rho, sigma, pn[i]); break;
                }
                pv[i] = r.value;
                pa[i] = r.d_nu;
                pb[i] = r.d_t;
            }
        });
    }
    return py::make_tuple(val, dnu, dt);
}

std::string mode_name(const LikelihoodOptions& o) { return o.mpe ? "mpe" : "spe"; }

std::string evaluation_name(const LikelihoodOptions& o) { return o.fast ? "fast" : "exact"; }

bool parse_evaluation(const std::string& name) {
    if (name == "exact") return false;
    if (name == "fast") return true;
    fail("likelihood", "expected 'exact' or 'fast', got '" + name + "'");
}

py::tuple pandel_table_eval(const carray<double>& t, const carray<double>& nu, double rho, double sigma) {
    require_ndim(t, 1, "t");
    require_ndim(nu, 1, "nu");
    const auto size = static_cast<std::size_t>(t.shape(0));
    if (static_cast<std::size_t>(nu.shape(0)) != size) fail("nu", "length differs from t");
    if (!(rho > 0.0) || !std::isfinite(rho)) fail("rho", "must be finite and > 0");
    if (!(sigma > 0.0) || !std::isfinite(sigma)) fail("sigma", "must be finite and > 0");
    std::vector<py::array_t<double>> out;
    for (int k = 0; k < 6; ++k) out.emplace_back(static_cast<py::ssize_t>(size));
    py::array_t<bool> inside(static_cast<py::ssize_t>(size));
    double* o[6];
    for (int k = 0; k < 6; ++k) o[k] = out[static_cast<std::size_t>(k)].mutable_data();
    bool* in = inside.mutable_data();
    const double *pt = t.data(), *pnu = nu.data();
    {
        py::gil_scoped_release release;
        const auto table = PandelTable::shared(rho, sigma);
        for (std::size_t i = 0; i < size; ++i) {
            LogGrad p{}, s{};
            in[i] = table->lookup(pt[i], pnu[i], p, s);
            if (!in[i]) {
                p = cpandel_log_pdf(pt[i], pnu[i], rho, sigma);
                s = cpandel_log_sf(pt[i], pnu[i], rho, sigma);
            }
            o[0][i] = p.value;
            o[1][i] = p.d_nu;
            o[2][i] = p.d_t;
            o[3][i] = s.value;
            o[4][i] = s.d_nu;
            o[5][i] = s.d_t;
        }
    }
    return py::make_tuple(out[0], out[1], out[2], out[3], out[4], out[5], inside);
}

py::tuple pandel_table_mix(const carray<double>& t, const carray<double>& nu, const carray<double>& m, double rho,
                           double sigma) {
    require_ndim(t, 1, "t");
    require_ndim(nu, 1, "nu");
    require_ndim(m, 1, "m");
    const auto size = static_cast<std::size_t>(t.shape(0));
    if (static_cast<std::size_t>(nu.shape(0)) != size) fail("nu", "length differs from t");
    if (static_cast<std::size_t>(m.shape(0)) != size) fail("m", "length differs from t");
    if (!(rho > 0.0) || !std::isfinite(rho)) fail("rho", "must be finite and > 0");
    if (!(sigma > 0.0) || !std::isfinite(sigma)) fail("sigma", "must be finite and > 0");
    const double* pm = m.data();
    for (std::size_t i = 0; i < size; ++i)
        if (!(pm[i] >= 0.0) || !std::isfinite(pm[i])) fail("m", "must be finite and >= 0");
    std::vector<py::array_t<double>> out;
    for (int k = 0; k < 3; ++k) out.emplace_back(static_cast<py::ssize_t>(size));
    std::vector<LogGrad> r(size);
    const double *pt = t.data(), *pnu = nu.data();
    {
        py::gil_scoped_release release;
        PandelTable::shared(rho, sigma)->log_pdf_sf_batch(size, pt, pnu, pm, r.data());
    }
    for (std::size_t i = 0; i < size; ++i) {
        out[0].mutable_data()[i] = r[i].value;
        out[1].mutable_data()[i] = r[i].d_nu;
        out[2].mutable_data()[i] = r[i].d_t;
    }
    return py::make_tuple(out[0], out[1], out[2]);
}

py::tuple softplus_log_add(const carray<double>& a, const carray<double>& b) {
    require_ndim(a, 1, "a");
    require_ndim(b, 1, "b");
    const auto size = static_cast<std::size_t>(a.shape(0));
    if (static_cast<std::size_t>(b.shape(0)) != size) fail("b", "length differs from a");
    py::array_t<double> value(static_cast<py::ssize_t>(size)), weight(static_cast<py::ssize_t>(size));
    double *pv = value.mutable_data(), *pw = weight.mutable_data();
    const double *pa = a.data(), *pb = b.data();
    {
        py::gil_scoped_release release;
        const SoftplusTable& sp = SoftplusTable::instance();
        for (std::size_t i = 0; i < size; ++i) pv[i] = sp.log_add(pa[i], pb[i], pw[i]);
    }
    return py::make_tuple(value, weight);
}

std::string minimizer_name(VertexMinimizer m) { return m == VertexMinimizer::newton ? "newton" : "bfgs"; }

VertexMinimizer parse_minimizer(const std::string& name) {
    if (name == "bfgs") return VertexMinimizer::bfgs;
    if (name == "newton") return VertexMinimizer::newton;
    fail("minimizer", "expected 'bfgs' or 'newton', got '" + name + "'");
}

bool parse_mode(const std::string& mode) {
    if (mode == "spe") return false;
    if (mode == "mpe") return true;
    fail("mode", "expected 'spe' or 'mpe', got '" + mode + "'");
}

py::array_t<TrackPoint> track_geometry(const carray<double>& pos, double x, double y, double z, double t0,
                                       double zenith, double azimuth, double n_phase, double n_group, double c) {
    require_ndim(pos, 2, "positions");
    if (pos.shape(1) != 3) fail("positions", "expected shape (n, 3)");
    require_finite(pos, "positions");
    const auto n = static_cast<std::size_t>(pos.shape(0));
    py::array_t<TrackPoint> out(static_cast<py::ssize_t>(n));
    const double* p = pos.data();
    TrackPoint* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        const TrackFrame fr(zenith, azimuth, n_phase, n_group, c);
        for (std::size_t i = 0; i < n; ++i) o[i] = fr.point(p + 3 * i, x, y, z, t0, 0.0);
    }
    return out;
}

PandelTrackLikelihood* make_track_likelihood(const carray<double>& pos, const carray<double>& times,
                                             const carray<double>& charges, const IceParams& ice,
                                             const LikelihoodOptions& opt) {
    require_ndim(pos, 2, "positions");
    if (pos.shape(1) != 3) fail("positions", "expected shape (n, 3)");
    require_ndim(times, 1, "times");
    require_ndim(charges, 1, "charges");
    require_nonempty(times, "times");
    const auto n = static_cast<std::size_t>(times.shape(0));
    if (static_cast<std::size_t>(pos.shape(0)) != n) fail("positions", "length differs from times");
    if (static_cast<std::size_t>(charges.shape(0)) != n) fail("charges", "length differs from times");
    require_finite(pos, "positions");
    require_finite(times, "times");
    require_finite(charges, "charges");
    if (const char* problem = opt.check()) fail("options", problem);
    if (const char* problem = ice.check()) fail("ice", problem);
    return new PandelTrackLikelihood(pos.data(), times.data(), charges.data(), n, ice, opt);
}

void bind_ice_params(py::module_& m) {
    py::class_<IceParams>(m, "IceParams",
                          R"doc(Ice model of the Pandel likelihood; the default constructor gives the "H2" bulk-ice
defaults (track_llh.hpp is the one place they are written). Lengths in m, times in ns.)doc")
        .def(py::init<>())
        .def_readwrite("absorption_m", &IceParams::absorption_m, "absorption length lambda_a (m)")
        .def_readwrite("tau_ns", &IceParams::tau_ns, "Pandel tau (ns)")
        .def_readwrite("scattering_m", &IceParams::scattering_m, "effective scattering length lambda (m)")
        .def_readwrite("n_phase", &IceParams::n_phase, "phase refractive index")
        .def_readwrite("n_group", &IceParams::n_group, "group refractive index")
        .def_readwrite("c_m_per_ns", &IceParams::c_m_per_ns, "speed of light in vacuum (m/ns)")
        .def_property(
            "deff_coefficients",
            [](const IceParams& p) { return py::make_tuple(p.deff_a0, p.deff_a1, p.deff_a2, p.deff_a3); },
            [](IceParams& p, const std::vector<double>& c) {
                if (c.size() != 4) fail("deff_coefficients", "expected 4 coefficients (a0, a1, a2, a3)");
                p.deff_a0 = c[0];
                p.deff_a1 = c[1];
                p.deff_a2 = c[2];
                p.deff_a3 = c[3];
            },
            "(a0, a1, a2, a3) of d_eff = a0 + a1 d + a2 cos(eta) + a3 cos(eta)**2 (m)")
        .def_property_readonly("rho", &IceParams::rho, "Pandel rate 1/tau + c/(n_group lambda_a) (1/ns)")
        .def_property_readonly(
            "problem", [](const IceParams& p) -> py::object {
                const char* problem = p.check();
                return problem ? py::object(py::str(problem)) : py::object(py::none());
            },
            "None if the parameters are valid, else what is wrong with them");
}

void bind_likelihood_options(py::module_& m) {
    py::class_<LikelihoodOptions>(m, "LikelihoodOptions",
                                  R"doc(Options of PandelTrackLikelihood; LikelihoodOptions(mode) gives the defaults of that
mode (track_llh.hpp is the one place they are written; SPE and MPE differ in sigma_ns).)doc")
        .def(py::init([](const std::string& mode) { return LikelihoodOptions::for_mode(parse_mode(mode)); }),
             py::arg("mode") = "mpe")
        .def_property(
            "mode", &mode_name, [](LikelihoodOptions& o, const std::string& mode) { o.mpe = parse_mode(mode); },
            "'spe' or 'mpe' (setting it leaves sigma_ns unchanged)")
        .def_readwrite("sigma_ns", &LikelihoodOptions::sigma_ns, "Gaussian jitter of the convolved Pandel (ns)")
        .def_readwrite("noise_rate_hz", &LikelihoodOptions::noise_rate_hz, "DOM dark rate (Hz)")
        .def_readwrite("window_ns", &LikelihoodOptions::window_ns, "readout window (ns)")
        .def_readwrite("n_ring", &LikelihoodOptions::n_ring, "extra vertex seeds on a ring around each seed")
        .def_readwrite("ring_radius_m", &LikelihoodOptions::ring_radius_m, "radius of that ring (m)")
        .def_readwrite("n_ring_near", &LikelihoodOptions::n_ring_near,
                       "ring seeds when the fit from the given seed stays within near_m / near_ns of it")
        .def_readwrite("near_m", &LikelihoodOptions::near_m, "transverse vertex move of a 'good' seed (m)")
        .def_readwrite("near_ns", &LikelihoodOptions::near_ns, "time move of a 'good' seed (ns)")
        .def_property(
            "likelihood", &evaluation_name,
            [](LikelihoodOptions& o, const std::string& name) { o.fast = parse_evaluation(name); },
            "'exact' (closed form, the reference) or 'fast' (bicubic tables of ln cp / ln S, exact "
            "outside their domain; error bound in pandel_table.hpp)")
        .def_property(
            "level_seeds",
            [](const LikelihoodOptions& o) {
                std::vector<std::tuple<std::int64_t, int, int>> out;
                for (const LevelSeeds& l : o.level_seeds) out.emplace_back(l.nside, l.n_ring, l.n_ring_near);
                return out;
            },
            [](LikelihoodOptions& o, const std::vector<std::tuple<std::int64_t, int, int>>& v) {
                o.level_seeds.clear();
                for (const auto& [nside, n_ring, n_ring_near] : v) o.level_seeds.push_back({nside, n_ring, n_ring_near});
            },
            "per-level vertex seeds: list of (nside, n_ring, n_ring_near); a fit_batch at that nside uses "
            "these ring counts instead of n_ring / n_ring_near")
        .def_property(
            "minimizer", [](const LikelihoodOptions& o) { return minimizer_name(o.minimizer); },
            [](LikelihoodOptions& o, const std::string& name) { o.minimizer = parse_minimizer(name); },
            "vertex-fit minimiser of the ring seeds: 'bfgs' (line search, gradient only) or 'newton' "
            "(trust region with the tables' Hessian model; max_iter then counts evaluations per seed)")
        .def_property(
            "seed_minimizer", [](const LikelihoodOptions& o) { return minimizer_name(o.seed_minimizer); },
            [](LikelihoodOptions& o, const std::string& name) { o.seed_minimizer = parse_minimizer(name); },
            "minimiser of the fit from the given seed (the ring seeds use minimizer)")
        .def_property(
            "initial_step", [](const LikelihoodOptions& o) { return o.vertex_fit.initial_step; },
            [](LikelihoodOptions& o, double v) { o.vertex_fit.initial_step = v; },
            "first BFGS step along one coordinate / first trust radius of newton (m or ns)")
        .def_property(
            "max_step", [](const LikelihoodOptions& o) { return o.vertex_fit.max_step; },
            [](LikelihoodOptions& o, double v) { o.vertex_fit.max_step = v; },
            "largest BFGS step along one coordinate / largest trust radius of newton (m or ns)")
        .def_property(
            "max_iter", [](const LikelihoodOptions& o) { return o.vertex_fit.max_iter; },
            [](LikelihoodOptions& o, int v) { o.vertex_fit.max_iter = v; }, "BFGS iterations per seed")
        .def_property(
            "gtol", [](const LikelihoodOptions& o) { return o.vertex_fit.gtol; },
            [](LikelihoodOptions& o, double v) { o.vertex_fit.gtol = v; },
            "a seed has converged when the largest gradient component is below gtol (per m, per ns)")
        .def_property(
            "ftol", [](const LikelihoodOptions& o) { return o.vertex_fit.ftol; },
            [](LikelihoodOptions& o, double v) { o.vertex_fit.ftol = v; },
            "... or when an iteration improved -ln L by less than ftol")
        .def_property_readonly(
            "problem", [](const LikelihoodOptions& o) -> py::object {
                const char* problem = o.check();
                return problem ? py::object(py::str(problem)) : py::object(py::none());
            },
            "None if the options are valid, else what is wrong with them");
}

}  // namespace

void bind_likelihood(py::module_& m) {
    PYBIND11_NUMPY_DTYPE_EX(TrackPoint, d, "distance", t_geo, "t_geo", cos_eta, "cos_eta", along, "along");
    bind_ice_params(m);
    bind_likelihood_options(m);

    m.def("pandel_eval", &pandel_eval, py::arg("kind"), py::arg("t"), py::arg("nu"),
          py::arg("rho"), py::arg("sigma"), py::arg("n"), py::arg("threads") = 0,
          R"doc(ln f and its partials d/dnu, d/dt for Pandel-type distributions (1-d float64 arrays).

kind: 0 pandel pdf, 1 pandel sf, 2 cpandel pdf, 3 cpandel sf, 4 mpe pdf (first of n photons).
t: time residual (ns); nu: Pandel shape d_eff/lambda; rho: 1/tau + c_ice/lambda_a (1/ns);
sigma: Gaussian width (ns, kinds 2-4); n: photon count (kind 4, >= 1).
Returns (ln f, d ln f / d nu, d ln f / d t). Invalid inputs give NaN.
)doc");

    m.attr("PANDEL_TABLE_STEPS") = py::make_tuple(PandelTable::kStepX, PandelTable::kStepY);
    m.def("pandel_table_eval", &pandel_table_eval, py::arg("t"), py::arg("nu"), py::arg("rho"), py::arg("sigma"),
          R"doc(The tabulated ("fast") ln cp and ln S of (rho, sigma) at (t ns, nu) (1-d float64 arrays).

Returns (ln cp, d/dnu, d/dt, ln S, d/dnu, d/dt, inside): inside is False where (t, nu) lies
outside the table's domain (there the exact values are returned). The table is built on first
use and cached per (rho, sigma).
)doc");

    m.def("pandel_table_mix", &pandel_table_mix, py::arg("t"), py::arg("nu"), py::arg("m"), py::arg("rho"),
          py::arg("sigma"),
          R"doc(The fast likelihood's photon term ln cp + m ln S of (rho, sigma) at (t ns, nu, m = n - 1 >= 0)
(1-d float64 arrays), as the vertex fit evaluates it (PandelTable::log_pdf_sf_batch: corners mixed,
one bicubic; exact code outside the table's domain). Returns (value, d/dnu, d/dt).
)doc");
    m.def("softplus_log_add", &softplus_log_add, py::arg("a"), py::arg("b"),
          R"doc(The fast likelihood's noise mixing ln(e^a + e^b) and its weight d/da (1-d float64 arrays) from
the softplus table (SoftplusTable, error bound in pandel_table.hpp). Returns (value, weight).
)doc");

    m.def("track_geometry", &track_geometry, py::arg("positions"), py::arg("x"), py::arg("y"), py::arg("z"),
          py::arg("t"), py::arg("zenith"), py::arg("azimuth"), py::arg("n_phase"), py::arg("n_group"),
          py::arg("c"),
          R"doc(Cherenkov geometry of an infinite track (vertex x, y, z in m at time t in ns; zenith,
azimuth in radians, IceCube convention) for DOM positions (n, 3) in m. Returns an (n,) structured
array with float64 fields 'distance' (closest approach, m), 't_geo' (direct-light arrival time,
ns), 'cos_eta' (cosine of the angle between the down-facing PMT axis and the direction the photon
comes from) and 'along' (position of the closest-approach point along the direction of travel, m).
)doc");

    py::class_<PandelTrackLikelihood, DirectionFitter>(
        m, "PandelTrackLikelihood",
        "Pandel (SPE/MPE) track likelihood of one event; a DirectionFitter for the sky scan.")
        .def(py::init(&make_track_likelihood), py::arg("positions"), py::arg("times"), py::arg("charges"),
             py::arg_v("ice", IceParams(), "IceParams()"),
             py::arg_v("options", LikelihoodOptions(), "LikelihoodOptions()"),
             R"doc(Build the likelihood from hit DOMs.

positions (n, 3) m; times (n,) first-hit times ns; charges (n,) PE (MPE uses n = max(1, round(q)));
ice: IceParams; options: LikelihoodOptions (mode, jitter, noise floor, vertex seeds and the BFGS
tolerances of fit_batch).
)doc")
        .def(
            "neg_llh",
            [](const PandelTrackLikelihood& self, double x, double y, double z, double t,
               double zenith, double azimuth) {
                double grad[6];
                double f;
                {
                    py::gil_scoped_release release;
                    f = self.neg_llh(x, y, z, t, zenith, azimuth, grad);
                }
                py::array_t<double> g(6);
                for (py::ssize_t i = 0; i < 6; ++i) g.mutable_data()[i] = grad[i];
                return py::make_tuple(f, g);
            },
            py::arg("x"), py::arg("y"), py::arg("z"), py::arg("t"), py::arg("zenith"),
            py::arg("azimuth"),
            R"doc(-ln L of the track (vertex x, y, z m, time t ns, zenith/azimuth rad) and its
gradient with respect to (x, y, z, t, zenith, azimuth).)doc")
        .def(
            "neg_llh_transverse",
            [](const PandelTrackLikelihood& self, double zenith, double azimuth, const std::array<double, 4>& seed,
               double alpha, double beta, double t0, bool hessian) {
                double grad[3], hess[9];
                double f;
                {
                    py::gil_scoped_release release;
                    f = self.neg_llh_transverse(zenith, azimuth, {seed[0], seed[1], seed[2], seed[3]}, alpha,
                                                beta, t0, grad, hessian ? hess : nullptr);
                }
                py::array_t<double> g(3);
                for (py::ssize_t i = 0; i < 3; ++i) g.mutable_data()[i] = grad[i];
                if (!hessian) return py::tuple(py::make_tuple(f, g, py::none()));
                py::array_t<double> h(std::vector<py::ssize_t>{3, 3});
                for (py::ssize_t i = 0; i < 9; ++i) h.mutable_data()[i] = hess[i];
                return py::tuple(py::make_tuple(f, g, h));
            },
            py::arg("zenith"), py::arg("azimuth"), py::arg("seed"), py::arg("alpha"), py::arg("beta"),
            py::arg("t0"), py::arg("hessian") = false,
            R"doc(-ln L in the vertex fit's coordinates (for tests of its derivatives): vertex = seed[:3] +
alpha e1 + beta e2 (m; e1, e2 the transverse basis of the direction zenith/azimuth, radians),
time t0 (ns). Returns (f, gradient (3,) w.r.t. (alpha, beta, t0), Hessian model (3, 3) of the
Newton fit or None); hessian=True needs minimizer 'newton' or likelihood 'fast'.)doc")
        .def_property_readonly("n_doms", &PandelTrackLikelihood::n_doms, "number of hit DOMs");
}

}  // namespace icecore::python
