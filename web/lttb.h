/// Largest-Triangle-Three-Buckets down-sampling (Steinarsson, 2013) for the
/// dashboard's line charts: a series of any length becomes at most
/// `max_points` points that keep its shape, so a chart never draws more than
/// about 2,000 points per line however long a run reported.
///
/// The first and last points are always kept; each bucket in between keeps
/// the point that spans the largest triangle with its neighbours, which keeps
/// spikes and dips. Points must be ordered by x. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

namespace orchard::web {

struct XY {
  double x = 0;
  double y = 0;
};

// The indices (ascending) of the points to keep. All of them when
// points.size() <= max_points; max_points below 3 is taken as 3.
std::vector<size_t> LttbIndices(const std::vector<XY>& points, size_t max_points);

// The kept points themselves.
std::vector<XY> Lttb(const std::vector<XY>& points, size_t max_points);

}  // namespace orchard::web
