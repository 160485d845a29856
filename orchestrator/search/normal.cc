#include "orchestrator/search/normal.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace orchard::search {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kSqrt2Pi = 2.50662827463100050242;

// P(Z > z), accurate for large z where 1 - Phi(z) would cancel.
double UpperTail(double z) { return 0.5 * std::erfc(z * kInvSqrt2); }

}  // namespace

double NormalCdf(double z) { return 0.5 * std::erfc(-z * kInvSqrt2); }

double NormalQuantile(double p) {
  if (!(p > 0)) return -std::numeric_limits<double>::infinity();
  if (!(p < 1)) return std::numeric_limits<double>::infinity();
  // Acklam (2003): rational approximations in a central and two tail regions.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - kLow) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step against the exact CDF.
  double e = NormalCdf(x) - p;
  double u = e * kSqrt2Pi * std::exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

double LogNormalMass(double a, double b) {
  if (a >= 0) {  // both in the upper tail: subtract upper tails
    return std::log(UpperTail(a) - UpperTail(b));
  }
  if (b <= 0) {  // both in the lower tail
    return std::log(UpperTail(-b) - UpperTail(-a));
  }
  // a < 0 < b: the mass is at least a little; subtract both tails from 1.
  return std::log1p(-(UpperTail(-a) + UpperTail(b)));
}

double TruncatedNormalDraw(double a, double b, double u) {
  // Work on whichever side keeps the probabilities small (and so precise):
  // by symmetry, Z in [a, b] is -Z' with Z' in [-b, -a].
  bool flip = a + b > 0;
  if (flip) {
    double t = a;
    a = -b;
    b = -t;
  }
  double pa = NormalCdf(a), pb = NormalCdf(b);
  double x = NormalQuantile(pa + u * (pb - pa));
  if (!std::isfinite(x)) x = u < 0.5 ? a : b;
  x = std::clamp(x, a, b);
  return flip ? -x : x;
}

}  // namespace orchard::search
