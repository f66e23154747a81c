// Bindings for the photon likelihood: Pandel distributions, track geometry and the Pandel
// track likelihood (a DirectionFitter). Validate, then release the GIL around the C++ loops.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "icecore/direction_fit.hpp"
#include "icecore/pandel.hpp"
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

IceParams ice_from_args(double absorption_m, double tau_ns, double scattering_m, double n_phase,
                        double n_group, double c_m_per_ns, const std::vector<double>& deff) {
    if (deff.size() != 4) fail("deff_coefficients", "expected 4 coefficients (a0, a1, a2, a3)");
    IceParams ice{absorption_m, tau_ns, scattering_m, n_phase, n_group, c_m_per_ns,
                  deff[0],      deff[1], deff[2],      deff[3]};
    const char* problem = ice.check();
    if (problem) fail("ice", problem);
    return ice;
}

}  // namespace

void bind_likelihood(py::module_& m) {
    m.def("pandel_eval", &pandel_eval, py::arg("kind"), py::arg("t"), py::arg("nu"),
          py::arg("rho"), py::arg("sigma"), py::arg("n"), py::arg("threads") = 0,
          R"doc(ln f and its partials d/dnu, d/dt for Pandel-type distributions (1-d float64 arrays).

kind: 0 pandel pdf, 1 pandel sf, 2 cpandel pdf, 3 cpandel sf, 4 mpe pdf (first of n photons).
t: time residual (ns); nu: Pandel shape d_eff/lambda; rho: 1/tau + c_ice/lambda_a (1/ns);
sigma: Gaussian width (ns, kinds 2-4); n: photon count (kind 4, >= 1).
Returns (ln f, d ln f / d nu, d ln f / d t). Invalid inputs give NaN.
)doc");

    m.def(
        "track_geometry",
        [](const carray<double>& pos, double x, double y, double z, double t0, double zenith,
           double azimuth, double n_phase, double n_group, double c) {
            require_ndim(pos, 2, "positions");
            if (pos.shape(1) != 3) fail("positions", "expected shape (n, 3)");
            require_finite(pos, "positions");
            const auto n = static_cast<std::size_t>(pos.shape(0));
            py::array_t<double> dist(static_cast<py::ssize_t>(n)), tgeo(static_cast<py::ssize_t>(n)),
                ceta(static_cast<py::ssize_t>(n)), along(static_cast<py::ssize_t>(n));
            const double* p = pos.data();
            double *pd = dist.mutable_data(), *pt = tgeo.mutable_data(), *pc = ceta.mutable_data(),
                   *pl = along.mutable_data();
            {
                py::gil_scoped_release release;
                const TrackFrame fr(zenith, azimuth, n_phase, n_group, c);
                for (std::size_t i = 0; i < n; ++i) {
                    const TrackPoint g = fr.point(p + 3 * i, x, y, z, t0, 0.0);
                    pd[i] = g.d;
                    pt[i] = g.t_geo;
                    pc[i] = g.cos_eta;
                    pl[i] = g.along;
                }
            }
            py::dict out;
            out["distance"] = dist;
            out["t_geo"] = tgeo;
            out["cos_eta"] = ceta;
            out["along"] = along;
            return out;
        },
        py::arg("positions"), py::arg("x"), py::arg("y"), py::arg("z"), py::arg("t"),
        py::arg("zenith"), py::arg("azimuth"), py::arg("n_phase"), py::arg("n_group"),
        py::arg("c"),
        R"doc(Cherenkov geometry of an infinite track (vertex x, y, z in m at time t in ns; zenith,
azimuth in radians, IceCube convention) for DOM positions (n, 3) in m. Returns a dict of
'distance' (closest approach, m), 't_geo' (direct-light arrival time, ns), 'cos_eta' (cosine of
the angle between the down-facing PMT axis and the direction the photon comes from) and 'along'
(position of the closest-approach point along the direction of travel, m).
)doc");

    py::class_<PandelTrackLikelihood, DirectionFitter>(
        m, "PandelTrackLikelihood",
        "Pandel (SPE/MPE) track likelihood of one event; a DirectionFitter for the sky scan.")
        .def(py::init([](const carray<double>& pos, const carray<double>& times,
                         const carray<double>& charges, const std::string& mode, double sigma_ns,
                         double noise_rate_hz, double window_ns, double absorption_m, double tau_ns,
                         double scattering_m, double n_phase, double n_group, double c_m_per_ns,
                         const std::vector<double>& deff, int n_ring, double ring_radius_m,
                         int max_iter, double gtol, double ftol) {
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
                 LikelihoodOptions opt;
                 if (mode == "spe") opt.mpe = false;
                 else if (mode == "mpe") opt.mpe = true;
                 else fail("mode", "expected 'spe' or 'mpe', got '" + mode + "'");
                 opt.sigma_ns = sigma_ns;
                 opt.noise_rate_per_ns = noise_rate_hz * 1e-9;
                 opt.window_ns = window_ns;
                 opt.n_ring = n_ring;
                 opt.ring_radius_m = ring_radius_m;
                 opt.max_iter = max_iter;
                 opt.gtol = gtol;
                 opt.ftol = ftol;
                 const char* problem = opt.check();
                 if (problem) fail("options", problem);
                 const IceParams ice = ice_from_args(absorption_m, tau_ns, scattering_m, n_phase,
                                                     n_group, c_m_per_ns, deff);
                 return new PandelTrackLikelihood(pos.data(), times.data(), charges.data(), n, ice, opt);
             }),
             py::arg("positions"), py::arg("times"), py::arg("charges"), py::arg("mode") = "mpe",
             py::arg("sigma_ns") = 4.0, py::arg("noise_rate_hz") = 500.0,
             py::arg("window_ns") = 10000.0, py::arg("absorption_m") = 98.0,
             py::arg("tau_ns") = 556.7, py::arg("scattering_m") = 33.29,
             py::arg("n_phase") = 1.3195, py::arg("n_group") = 1.35634,
             py::arg("c_m_per_ns") = 0.299792458,
             py::arg("deff_coefficients") = std::vector<double>{3.094, 0.8395, -3.946, 4.636},
             py::arg("n_ring") = 6, py::arg("ring_radius_m") = 150.0, py::arg("max_iter") = 100,
             py::arg("gtol") = 1e-3, py::arg("ftol") = 1e-6,
             R"doc(Build the likelihood from hit DOMs.

positions (n, 3) m; times (n,) first-hit times ns; charges (n,) PE (MPE uses n = max(1, round(q)));
mode 'spe' or 'mpe'; sigma_ns jitter; noise_rate_hz and window_ns give the per-DOM noise floor;
ice parameters (H2 defaults); n_ring seeds on a ring of ring_radius_m around each given seed;
max_iter BFGS iterations per seed; a seed has converged when the largest gradient component
is below gtol (per m, per ns) or an iteration improved -ln L by less than ftol.
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
        .def_property_readonly("n_doms", &PandelTrackLikelihood::n_doms, "number of hit DOMs");
}

}  // namespace icecore::python
