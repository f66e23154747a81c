// Pandel photon arrival-time distributions: plain, Gaussian-convolved (cpandel) and MPE.
//
// The Pandel function (Pandel 1996; van Eijndhoven, Fadiran & Japaridze, Astropart. Phys. 28
// (2007) 456) is a Gamma distribution of the time residual t (ns) with shape nu = d/lambda and
// rate rho = 1/tau + c_ice/lambda_a (1/ns):
//     p(t) = rho^nu t^(nu-1) exp(-rho t) / Gamma(nu),  t > 0.
// Its convolution with a Gaussian of width sigma has the closed form
//     cp(t) = (rho sigma)^nu / (sigma sqrt(2 pi)) exp(-t^2 / 2 sigma^2) exp(z^2/4) D_{-nu}(z),
//     z = rho sigma - t / sigma,
// with D the parabolic-cylinder function (a confluent hypergeometric function), evaluated in logs
// by special::log_pcf (special.hpp: the large-|z| asymptotic series, the Kummer (1F1) series, or
// Gauss-Legendre quadrature of the defining integral, whichever is accurate for (nu, z)).
// The survival function uses
//     S(t) = 1 - sum_k cp_{nu+1+k}(t) / rho                (moderate t/sigma, recurrence in nu)
//     S(t) = e^{-b^2/2} sum_k (b^2/2)^k/k! Q(nu-2k, rho(t - rho sigma^2)),  b = rho sigma  (large t/sigma)
// (Q the regularised upper incomplete gamma, special::gamma_q). Every function returns ln f and
// its partial derivatives with respect to nu and t, computed by forward-mode differentiation
// through the same series (analytic gradients; special::Dual).
#pragma once

namespace icecore {

/// ln f and its partials with respect to the Pandel shape nu (= d/lambda) and the time t (ns).
struct LogGrad {
    double value;  ///< ln f (may be -inf where f == 0)
    double d_nu;   ///< d ln f / d nu
    double d_t;    ///< d ln f / d t  (1/ns)
};

/// ln of the Pandel pdf (1/ns); -inf for t <= 0.
LogGrad pandel_log_pdf(double t, double nu, double rho);
/// ln of the Pandel survival function P(T > t); 0 for t <= 0.
LogGrad pandel_log_sf(double t, double nu, double rho);
/// ln of the Gaussian-convolved Pandel pdf (1/ns).
LogGrad cpandel_log_pdf(double t, double nu, double rho, double sigma);
/// ln of the Gaussian-convolved Pandel survival function.
LogGrad cpandel_log_sf(double t, double nu, double rho, double sigma);
/// ln of the pdf of the first of n photons: n cp(t) S(t)^(n-1), n >= 1 (real).
LogGrad mpe_log_pdf(double t, double nu, double rho, double sigma, double n);

}  // namespace icecore
