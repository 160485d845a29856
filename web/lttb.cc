#include "web/lttb.h"

#include <cmath>

namespace orchard::web {

std::vector<size_t> LttbIndices(const std::vector<XY>& points, size_t max_points) {
  const size_t n = points.size();
  if (max_points < 3) max_points = 3;
  std::vector<size_t> out;
  if (n <= max_points) {
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  out.reserve(max_points);
  // The n - 2 inner points fall into max_points - 2 buckets of (about) equal count.
  const double every = static_cast<double>(n - 2) / static_cast<double>(max_points - 2);
  size_t a = 0;  // the point kept in the previous bucket
  out.push_back(0);
  for (size_t b = 0; b < max_points - 2; ++b) {
    size_t start = static_cast<size_t>(std::floor(b * every)) + 1;
    size_t end = static_cast<size_t>(std::floor((b + 1) * every)) + 1;
    if (end > n - 1) end = n - 1;
    // The average of the next bucket (the last point for the last bucket).
    size_t next_start = end;
    size_t next_end = static_cast<size_t>(std::floor((b + 2) * every)) + 1;
    if (next_end > n - 1 || b + 1 == max_points - 2) next_end = n;
    if (next_start >= next_end) next_start = next_end - 1;
    double avg_x = 0, avg_y = 0;
    for (size_t i = next_start; i < next_end; ++i) {
      avg_x += points[i].x;
      avg_y += points[i].y;
    }
    const double count = static_cast<double>(next_end - next_start);
    avg_x /= count;
    avg_y /= count;

    double best_area = -1;
    size_t best = start;
    const XY& pa = points[a];
    for (size_t i = start; i < end; ++i) {
      double area = std::fabs((pa.x - avg_x) * (points[i].y - pa.y) -
                              (pa.x - points[i].x) * (avg_y - pa.y));
      if (std::isnan(area)) area = 0;  // a NaN value never wins over a real one
      if (area > best_area) {
        best_area = area;
        best = i;
      }
    }
    out.push_back(best);
    a = best;
  }
  out.push_back(n - 1);
  return out;
}

std::vector<XY> Lttb(const std::vector<XY>& points, size_t max_points) {
  std::vector<XY> out;
  for (size_t i : LttbIndices(points, max_points)) out.push_back(points[i]);
  return out;
}

}  // namespace orchard::web
