// The standard normal distribution's functions that TPE's truncated
// Gaussians need, written to stay accurate in the tails (where a naive
// log(Phi(b) - Phi(a)) would round to log(0)). Pure; thread-safe.
#pragma once

namespace orchard::search {

// Phi(z): P(Z <= z) for a standard normal Z.
double NormalCdf(double z);

// Phi^-1(p) for 0 < p < 1 (Acklam's rational approximation refined by one
// Halley step: about 1e-15 relative error). Returns -inf/+inf at 0/1.
double NormalQuantile(double p);

// log(Phi(b) - Phi(a)) for a <= b: the log of the mass in [a, b]. -inf when
// the mass underflows.
double LogNormalMass(double a, double b);

// A draw from the standard normal truncated to [a, b] (a < b), by inversion
// of the CDF from the uniform u in [0, 1). The result lies in [a, b].
double TruncatedNormalDraw(double a, double b, double u);

}  // namespace orchard::search
