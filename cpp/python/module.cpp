// The one extension module, icecore._core, with one submodule per area. The list below is
// explicit (as boost-histogram and iminuit register theirs): a new area adds its
// bind_<area>.cpp, one declaration in bindings.hpp and one line here.
#include <pybind11/pybind11.h>

#include "bindings.hpp"

#ifndef ICECORE_VERSION_INFO
#define ICECORE_VERSION_INFO "dev"
#endif

PYBIND11_MODULE(_core, m) {
    namespace ip = icecore::python;
    m.doc() = "icecore compiled kernels (C++17). Use the Python API in icecore.* instead of "
              "calling these directly: the wrappers validate input and convert units.";
    m.attr("__version__") = ICECORE_VERSION_INFO;

    auto healpix = m.def_submodule("healpix", "HEALPix NESTED primitives (radians).");
    ip::bind_healpix(healpix);

    auto scan = m.def_submodule("scan", "Sky-scan refinement loop and the DirectionFitter interface.");
    ip::bind_direction_fitter(scan);  // base class of the fitters below and in _core.likelihood
    ip::bind_scan(scan);

    auto likelihood = m.def_submodule("likelihood", "Pandel photon likelihood and track fits.");
    ip::bind_likelihood(likelihood);

    auto ps = m.def_submodule("ps", "Point-source likelihood-ratio kernel.");
    ip::bind_ps(ps);

    auto radio = m.def_submodule("radio", "Radio waveform cleaning and windowed RMS.");
    ip::bind_radio(radio);

    auto lvk = m.def_submodule("lvk", "LVK gravitational-wave follow-up searches over sky-map pixels.");
    ip::bind_lvk(lvk);
}
